'use strict';
// Tests for the safe Python-literal reader/writer that replaces eval() of values the legacy services stored
// with str(obj). Expected values and positions below were checked against CPython's ast.literal_eval.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { parsePythonLiteral, formatPythonLiteral, PythonLiteralError } = require('../../dist/nodes/lib/python-literal');

const RUNS = 5000;

/** Build an object the way the parser does: a "__proto__" key is an own data property. */
function obj(entries) {
  const o = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  return o;
}

function buf(...data) {
  return { type: 'Buffer', data };
}

function ok(text, expected) {
  assert.deepStrictEqual(parsePythonLiteral(text), expected, `parsing ${JSON.stringify(text)}`);
}

/** Expect a PythonLiteralError at line:column whose message matches re. */
function bad(text, line, column, re, opts) {
  assert.throws(
    () => parsePythonLiteral(text, opts),
    (err) => {
      assert.ok(err instanceof PythonLiteralError, `expected PythonLiteralError for ${JSON.stringify(text)}, got ${err}`);
      assert.equal(err.name, 'PythonLiteralError');
      assert.match(err.message, /^python literal: /);
      assert.match(err.message, re);
      assert.equal(err.line, line, `line for ${JSON.stringify(text)}: ${err.message}`);
      assert.equal(err.column, column, `column for ${JSON.stringify(text)}: ${err.message}`);
      assert.ok(err.message.includes(`at line ${line}, column ${column}`), err.message);
      return true;
    },
  );
}

describe('python-literal: parsePythonLiteral', () => {
  describe('constants and whitespace', () => {
    it('reads True, False and None', () => {
      ok('True', true);
      ok('False', false);
      ok('None', null);
    });

    it('allows spaces, tabs, newlines, form feeds and backslash-newline joins between tokens', () => {
      ok(' \t\n[\r\n1 ,\f2\t,\n\n3 ]\n ', [1, 2, 3]);
      ok('[1, \\\n 2]', [1, 2]);
      ok('\n\nNone\n', null);
    });

    it('rejects empty input and trailing content', () => {
      bad('', 1, 1, /unexpected end of input .*\(expected a value\)/);
      bad('   \n  ', 2, 3, /unexpected end of input/);
      bad('1 2', 1, 3, /unexpected character '2' .*\(expected end of input\)/);
      bad('[1] x', 1, 5, /unexpected character 'x' .*expected end of input/);
      bad('None None', 1, 6, /expected end of input/);
    });

    it('names the Python spelling for JSON-style and case-mismatched constants', () => {
      bad('true', 1, 1, /unexpected name 'true'.*Python spells it True/);
      bad('[false]', 1, 2, /unexpected name 'false'.*Python spells it False/);
      bad('null', 1, 1, /unexpected name 'null'.*Python spells it None/);
      bad('NONE', 1, 1, /Python spells it None/);
    });
  });

  describe('integers', () => {
    const cases = [
      ['0', 0],
      ['00', 0],
      ['0_0', 0],
      ['7', 7],
      ['1_000', 1000],
      ['1_000_000', 1000000],
      ['0x1F', 31],
      ['0X1f', 31],
      ['0x_ff', 255],
      ['0o17', 15],
      ['0O17', 15],
      ['0b101', 5],
      ['0B1_0_1', 5],
      ['-5', -5],
      ['+5', 5],
      ['--1', 1],
      ['- - -1', -1],
      ['-+-+7', 7],
      ['-0x10', -16],
      ['9007199254740991', 9007199254740991],
      ['-9007199254740991', -9007199254740991],
    ];
    for (const [text, expected] of cases) {
      it(`${text} -> ${expected}`, () => ok(text, expected));
    }

    it('gives 0, never -0, for a negated int zero', () => {
      assert.ok(Object.is(parsePythonLiteral('-0'), 0));
      assert.ok(Object.is(parsePythonLiteral('-0x0'), 0));
    });

    it('returns ints beyond Number.MAX_SAFE_INTEGER as exact decimal strings', () => {
      ok('9007199254740992', '9007199254740992');
      ok('-9007199254740992', '-9007199254740992');
      ok('123456789012345678901234567890', '123456789012345678901234567890');
      ok('-1_2345_6789_0123_4567_8901', '-123456789012345678901');
      ok('0xFFFFFFFFFFFFFFFFFF', '4722366482869645213695');
      ok('0x0000001', 1);
      ok('0b' + '1'.repeat(64), '18446744073709551615');
      ok('[18446744073709551616, 1]', ['18446744073709551616', 1]);
    });

    it("accepts up to Python's 4300-digit limit and refuses more", () => {
      assert.equal(parsePythonLiteral('9'.repeat(4300)), '9'.repeat(4300));
      bad('9'.repeat(4301), 1, 1, /integer literal too large.*4300/);
      bad('0x' + 'f'.repeat(4000), 1, 1, /integer literal too large/);
    });

    it('rejects malformed ints with the reason', () => {
      bad('01', 1, 1, /leading zeros in decimal integer literals are not permitted/);
      bad('[00_7]', 1, 2, /leading zeros/);
      bad('1__0', 1, 2, /invalid decimal literal.*underscore/);
      bad('1_', 1, 2, /invalid decimal literal.*underscore/);
      bad('0x', 1, 1, /invalid hexadecimal literal.*'0x' must be followed by digits/);
      bad('0x1g', 1, 4, /invalid hexadecimal literal.*'g' is not a base-16 digit/);
      bad('0b102', 1, 5, /invalid binary literal.*'2'/);
      bad('0o8', 1, 1, /invalid octal literal/);
      bad('12abc', 1, 3, /invalid decimal literal.*'a' directly after a number/);
      bad('-', 1, 2, /unexpected end of input.*expected a number after unary '-'/);
      bad('-True', 1, 2, /unexpected character 'T'.*signs apply only to number literals/);
      bad("-'a'", 1, 2, /signs apply only to number literals/);
      bad('-(1)', 1, 2, /expected a number after unary '-'/);
      bad('1+2', 1, 2, /unexpected character '\+'.*operators are not allowed/);
    });
  });

  describe('floats', () => {
    const cases = [
      ['1.5', 1.5],
      ['.5', 0.5],
      ['5.', 5],
      ['1e10', 1e10],
      ['1E-3', 0.001],
      ['1e+21', 1e21],
      ['1_0.0_1', 10.01],
      ['1.e5', 100000],
      ['00.5', 0.5],
      ['007e1', 70],
      ['1_0e1_0', 1e11],
      ['-2.5', -2.5],
      ['--2.5', 2.5],
      ['0.1', 0.1],
      ['1.7976931348623157e308', 1.7976931348623157e308],
      ['5e-324', 5e-324],
      ['1e-400', 0],
    ];
    for (const [text, expected] of cases) {
      it(`${text} -> ${expected}`, () => ok(text, expected));
    }

    it('keeps the sign of -0.0', () => {
      assert.ok(Object.is(parsePythonLiteral('-0.0'), -0));
      assert.ok(Object.is(parsePythonLiteral('0.0'), 0));
    });

    it('rejects inf, nan, overflow and complex numbers with the reason', () => {
      bad('inf', 1, 1, /unexpected name 'inf'.*inf and nan are not Python literals/);
      bad('[1, -inf]', 1, 6, /unexpected character 'i'.*expected a number after unary '-'/);
      bad('nan', 1, 1, /inf and nan are not Python literals/);
      bad("float('inf')", 1, 1, /unexpected name 'float'/);
      bad('1e400', 1, 1, /float literal out of range.*infinity/);
      bad('1j', 1, 1, /complex numbers are not supported/);
      bad('[0, 2.5J]', 1, 5, /complex numbers are not supported/);
      bad('1+2j', 1, 2, /operators are not allowed/);
      bad('1e', 1, 2, /invalid decimal literal.*exponent needs digits/);
      bad('1e+', 1, 2, /invalid decimal literal/);
      bad('1._5', 1, 3, /invalid decimal literal/);
      bad('1.5.3', 1, 4, /unexpected character '\.'.*attribute access is not allowed/);
      bad('.', 1, 1, /unexpected character '\.'/);
    });
  });

  describe('strings', () => {
    const cases = [
      ["'abc'", 'abc'],
      ['"abc"', 'abc'],
      ["''", ''],
      ['""', ''],
      ["'it\"s'", 'it"s'],
      ['"it\'s"', "it's"],
      ["'''a\nb'''", 'a\nb'],
      ['"""a\n\'\'b"""', "a\n''b"],
      ["''''a'''", "'a"],
      ["''''''", ''],
      ["'''a\r\nb\rc'''", 'a\nb\nc'],
      ["u'x'", 'x'],
      ["U'x'", 'x'],
      ["'a' \"b\"", 'ab'],
      ["'a''b'", 'ab'],
      ["['a'\n  'b' r'\\c', 1]", ['ab\\c', 1]],
      ["'é😀'", 'é😀'],
      // escapes
      ["'\\\\'", '\\'],
      ["'\\''", "'"],
      ["'\\\"'", '"'],
      ["'\\a\\b\\f\\n\\r\\t\\v'", '\x07\b\f\n\r\t\v'],
      ["'\\0'", '\0'],
      ["'\\101'", 'A'],
      ["'\\1012'", 'A2'],
      ["'\\12'", '\n'],
      ["'\\777'", '\u01ff'],
      ["'\\x41\\xff'", 'A\u00ff'],
      ["'\\xE9'", 'é'],
      ["'\\u00e9\\u20AC'", 'é€'],
      ["'\\U0001F600'", '😀'],
      ["'\\ud800'", '\ud800'],
      ["'a\\\nb'", 'ab'],
      ["'a\\\r\nb'", 'ab'],
      ["'\\q\\8\\ '", '\\q\\8\\ '],
    ];
    for (const [text, expected] of cases) {
      it(`${JSON.stringify(text)} -> ${JSON.stringify(expected)}`, () => ok(text, expected));
    }

    it('keeps backslashes in raw strings, in any prefix case', () => {
      ok("r'\\n'", '\\n');
      ok("R'\\x41'", '\\x41');
      ok("r'\\''", "\\'");
      ok('r"\\\\"', '\\\\');
      ok("r'a\\\nb'", 'a\\\nb');
      ok("r'''\\''''", "\\'");
    });

    it('rejects broken strings with position and reason', () => {
      bad("'abc", 1, 1, /unterminated string .*no closing quote/);
      bad("'\\'", 1, 1, /unterminated string/);
      bad("r'\\'", 1, 2, /unterminated string/);
      bad("[1, 'a\nb']", 1, 5, /unterminated string .*newline comes before the closing quote/);
      bad("'a\rb'", 1, 1, /unterminated string/);
      bad("'''abc''", 1, 1, /unterminated triple-quoted string/);
      bad("'\\x4'", 1, 2, /invalid \\x escape.*two hex digits/);
      bad("'\\u12'", 1, 2, /truncated \\u escape.*4 hex digits/);
      bad("'\\U0011ffff'", 1, 2, /illegal Unicode character/);
      bad("'\\N{BULLET}'", 1, 2, /\\N\{\.\.\.\} escapes are not supported/);
      bad("'a\0b'", 1, 3, /NUL character/);
      bad("'\ud800'", 1, 2, /lone surrogate/);
    });

    it('rejects f-strings, t-strings and unknown prefixes', () => {
      bad("f'{__import__(\"os\")}'", 1, 1, /f-strings are not supported/);
      bad("rf'x'", 1, 1, /f-strings are not supported/);
      bad("'a' F'b'", 1, 5, /f-strings are not supported/);
      bad("t'x'", 1, 1, /t-strings are not supported/);
      bad("ur'x'", 1, 1, /invalid string prefix 'ur'/);
      bad("bu'x'", 1, 1, /invalid string prefix 'bu'/);
      bad("abc'x'", 1, 1, /unexpected name 'abc'/);
    });
  });

  describe('bytes', () => {
    it("maps bytes to Node's Buffer JSON form", () => {
      ok("b''", buf());
      ok("b'AB'", buf(65, 66));
      ok("B'\\x00\\xff'", buf(0, 255));
      ok("b'\\t\\n\\r\\\\\\'\\0\\377'", buf(9, 10, 13, 92, 39, 0, 255));
      ok('b"it\'s"', buf(105, 116, 39, 115));
      ok("b'''a\nb'''", buf(97, 10, 98));
      ok("b'a' b'b'", buf(97, 98));
      assert.deepStrictEqual(Buffer.from(parsePythonLiteral("b'\\x01\\x02'").data), Buffer.from([1, 2]));
    });

    it('keeps \\u, \\U, \\N and unknown escapes literally in bytes, like Python', () => {
      ok("b'\\u00e9'", buf(92, 117, 48, 48, 101, 57));
      ok("b'\\N'", buf(92, 78));
      ok("b'\\q'", buf(92, 113));
    });

    it('reads raw bytes in both prefix orders', () => {
      ok("rb'\\x00'", buf(92, 120, 48, 48));
      ok("BR'\\n'", buf(92, 110));
      ok("Rb'a'", buf(97));
    });

    it('rejects non-ASCII, out-of-range octal and bytes/str mixing', () => {
      bad("b'caf\u00e9'", 1, 6, /non-ASCII character 'é' in a bytes literal/);
      bad("b'\\777'", 1, 3, /octal escape \\777 out of range for bytes/);
      bad("b'a' 'b'", 1, 6, /cannot mix bytes and str literals/);
      bad("'a' b'b'", 1, 5, /cannot mix bytes and str literals/);
      bad("b'\\x4'", 1, 3, /invalid \\x escape/);
    });
  });

  describe('lists, tuples and sets', () => {
    const cases = [
      ['[]', []],
      ['[1]', [1]],
      ['[1,]', [1]],
      ['[1, [2, [3]]]', [1, [2, [3]]]],
      ['()', []],
      ['(1,)', [1]],
      ['(1)', 1],
      ['((1))', 1],
      ["('a' 'b')", 'ab'],
      ['(1, 2)', [1, 2]],
      ['(1, 2,)', [1, 2]],
      ['((), ((),))', [[], [[]]]],
      ['([1])', [1]],
      ['1, 2', [1, 2]],
      ['1,', [1]],
      ["'a', (b'x',)", ['a', [buf(120)]]],
      ['{1, 2}', [1, 2]],
      ['{1,}', [1]],
      ["{'b', 'a'}", ['b', 'a']],
      ['{1, True, 1.0, 2}', [1, 2]],
      ['{(1, 2), (1.0, 2)}', [[1, 2]]],
      ['set()', []],
      ['set( )', []],
      ['set ()', []],
    ];
    for (const [text, expected] of cases) {
      it(`${JSON.stringify(text)} -> ${JSON.stringify(expected)}`, () => ok(text, expected));
    }

    it('rejects malformed containers with the expected token', () => {
      bad('[1 2]', 1, 4, /unexpected character '2' .*\(expected ',' or '\]'\)/);
      bad('[1, 2', 1, 6, /unexpected end of input .*\(expected ',' or '\]'\)/);
      bad('[1,,2]', 1, 4, /unexpected character ',' .*expected a value or '\]'/);
      bad('[,]', 1, 2, /unexpected character ','/);
      bad('(,)', 1, 2, /expected a value or '\)'/);
      bad('[1)', 1, 3, /unexpected character '\)' .*expected ',' or '\]'/);
      bad('(1 2)', 1, 4, /expected ',' or '\)'/);
      bad('1, 2 3', 1, 6, /expected ',' or end of input/);
      bad('{1, 2: 3}', 1, 6, /expected ',' or '\}'/);
      bad('{[1]}', 1, 2, /unhashable type 'list'.*set member/);
      bad('{(1, [2])}', 1, 6, /unhashable type 'list'/);
      bad('{set()}', 1, 2, /unhashable type 'set'/);
      bad('set(1)', 1, 1, /only the empty call set\(\) is allowed/);
      bad('set([1, 2])', 1, 1, /only the empty call set\(\) is allowed/);
      bad('set', 1, 1, /unexpected name 'set'/);
      bad('frozenset()', 1, 1, /unexpected name 'frozenset'/);
    });
  });

  describe('dicts', () => {
    it('reads dicts, nested, with trailing commas', () => {
      ok('{}', {});
      ok("{'a': 1}", { a: 1 });
      ok("{'a': 1,}", { a: 1 });
      ok("{'a': {'b': [1, {'c': None}]}}", { a: { b: [1, { c: null }] } });
      ok('{"a"\n:\n1}', { a: 1 });
    });

    it("turns non-str keys into their Python str() text", () => {
      ok(
        "{1: 'i', -2: 'n', 2.5: 'f', 1e16: 'e', 3.0: 'g', False: 'f0', None: 'z', (1, 'a'): 'tu', (7,): 'one', (): 'e0', ((1, 2), b'x'): 'nest', b'k': 'b'}",
        obj([
          ['1', 'i'],
          ['-2', 'n'],
          ['2.5', 'f'],
          ['1e+16', 'e'],
          ['3.0', 'g'],
          ['False', 'f0'],
          ['None', 'z'],
          ["(1, 'a')", 'tu'],
          ['(7,)', 'one'],
          ['()', 'e0'],
          ["((1, 2), b'x')", 'nest'],
          ["b'k'", 'b'],
        ]),
      );
      ok('{12345678901234567890: 1}', { '12345678901234567890': 1 });
      ok('{-0.0: 1}', { '-0.0': 1 });
      ok('{True: 1, 2: 2}', { True: 1, 2: 2 });
      ok("{(\"it's\",): 1}", { "(\"it's\",)": 1 });
    });

    it('lets the last duplicate win, merging Python-equal keys under the first spelling', () => {
      ok("{'a': 1, 'b': 2, 'a': 3}", { a: 3, b: 2 });
      ok("{1: 'a', True: 'b', 1.0: 'c'}", { 1: 'c' });
      ok("{1.0: 'a', 1: 'b'}", { '1.0': 'b' });
      ok("{False: 'a', 0: 'b', -0.0: 'c'}", { False: 'c' });
      ok("{(1, 2): 'a', (1.0, 2): 'b', (True, 2.0): 'c'}", { '(1, 2)': 'c' });
      // collisions that only appear after stringifying also end in one entry, last wins
      ok("{'1': 'str', 1: 'int'}", { 1: 'int' });
    });

    it('stores a __proto__ key as an own property without touching any prototype', () => {
      const v = parsePythonLiteral("{'__proto__': {'polluted': True}, 'constructor': {'prototype': 1}}");
      assert.ok(Object.prototype.hasOwnProperty.call(v, '__proto__'));
      assert.deepStrictEqual(Object.keys(v), ['__proto__', 'constructor']);
      assert.equal(Object.getPrototypeOf(v), Object.prototype);
      assert.deepStrictEqual(v['__proto__'], { polluted: true });
      assert.equal(v.polluted, undefined);
      assert.equal({}.polluted, undefined);
      assert.equal(Object.prototype.polluted, undefined);
      assert.deepStrictEqual(v, JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}'));
      const nested = parsePythonLiteral("[{'__proto__': 1, '__proto__': 2}]");
      assert.deepStrictEqual(Object.getOwnPropertyDescriptor(nested[0], '__proto__'), { value: 2, writable: true, enumerable: true, configurable: true });
    });

    it('rejects unhashable keys and malformed dicts', () => {
      bad('{[1]: 2}', 1, 2, /unhashable type 'list'.*cannot be a dict key/);
      bad("{{'a': 1}: 2}", 1, 2, /unhashable type 'dict'/);
      bad('{(1, [2]): 3}', 1, 6, /unhashable type 'list'/);
      bad('{set(): 1}', 1, 2, /unhashable type 'set'/);
      bad('{1: 2, 3}', 1, 9, /unexpected character '\}' .*\(expected ':'\)/);
      bad('{1: }', 1, 5, /unexpected character '\}' .*\(expected a value\)/);
      bad('{1: 2 3: 4}', 1, 7, /expected ',' or '\}'/);
      bad('{1 2}', 1, 4, /expected ':', ',' or '\}'/);
      bad("{'a': 1", 1, 8, /unexpected end of input .*expected ',' or '\}'/);
      bad('{**a}', 1, 2, /operators are not allowed/);
    });
  });

  describe('legacy shapes', () => {
    it('reads the shapes the Python services stored', () => {
      ok("{'serial': 'ABC123', 'ok': True, 'spots': [1, 2.5, None], 'meta': {'program': 7}}", {
        serial: 'ABC123',
        ok: true,
        spots: [1, 2.5, null],
        meta: { program: 7 },
      });
      ok("[b'\\x00\\xff', (1,), set()]", [buf(0, 255), [1], []]);
      ok(
        "{'station': 'ST-04', 'ts': 1718000000.123, 'result': ('OK', 0.97), 'ids': {3, 1, 2}, 'raw': b'\\x89PNG', 'note': \"operator's check\", 'count': 18446744073709551615}",
        {
          station: 'ST-04',
          ts: 1718000000.123,
          result: ['OK', 0.97],
          ids: [3, 1, 2],
          raw: buf(0x89, 80, 78, 71),
          note: "operator's check",
          count: '18446744073709551615',
        },
      );
      ok("{'path': 'C:\\\\spots\\\\a.png', 'msg': 'line1\\nline2', 'name': 'Jürgen', 'e': ''}", {
        path: 'C:\\spots\\a.png',
        msg: 'line1\nline2',
        name: 'Jürgen',
        e: '',
      });
      ok("{0: [], 1: [{'x': -3, 'y': 4.0}]}", { 0: [], 1: [{ x: -3, y: 4 }] });
    });
  });

  describe('rejected code', () => {
    it('rejects __import__(...) at its first character and runs nothing', () => {
      const cp = require('node:child_process');
      const names = ['exec', 'execSync', 'spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork'];
      const saved = names.map((n) => cp[n]);
      const calls = [];
      names.forEach((n) => {
        cp[n] = (...args) => {
          calls.push([n, args]);
          throw new Error('must not run');
        };
      });
      try {
        bad("__import__('os').system('x')", 1, 1, /unexpected name '__import__'.*names are not allowed/);
        bad("[1, __import__('os').system('rm -rf /')]", 1, 5, /unexpected name '__import__'/);
        bad("{'a': exec('x')}", 1, 7, /unexpected name 'exec'/);
      } finally {
        names.forEach((n, i) => {
          cp[n] = saved[i];
        });
      }
      assert.deepStrictEqual(calls, []);
    });

    const rejections = [
      ['open("/etc/passwd").read()', 1, 1, /unexpected name 'open'/],
      ['lambda: 1', 1, 1, /unexpected name 'lambda'/],
      ['(lambda: 1)()', 1, 2, /unexpected name 'lambda'/],
      ['os.system', 1, 1, /unexpected name 'os'/],
      ["'a'.join(x)", 1, 4, /unexpected character '\.' .*attribute access is not allowed/],
      ["'a'(1)", 1, 4, /calls are not allowed/],
      ['[1][0]', 1, 4, /subscripts are not allowed/],
      ['1 if True else 2', 1, 3, /unexpected character 'i'/],
      ['[x for x in y]', 1, 2, /unexpected name 'x'/],
      ['...', 1, 1, /Ellipsis \(\.\.\.\) is not allowed/],
      ['[1, ...]', 1, 5, /Ellipsis/],
      ['# comment', 1, 1, /comments are not allowed/],
      ['1 # comment', 1, 3, /comments are not allowed/],
      ['[1,\n 2,\n # c\n]', 3, 2, /comments are not allowed/],
      ['2 * 3', 1, 3, /operators are not allowed/],
      ['~1', 1, 1, /operators are not allowed/],
      ['not True', 1, 1, /unexpected name 'not'/],
      ['*[1]', 1, 1, /operators are not allowed/],
      ['1; 2', 1, 2, /unexpected character ';'/],
      ['a = 1', 1, 1, /unexpected name 'a'/],
      ['\\ 1', 1, 1, /a backslash outside a string may only continue a line/],
      ['$', 1, 1, /unexpected character '\$' .*expected a value/],
      ['\u00e9', 1, 1, /unexpected character 'é'/],
      ['\0', 1, 1, /U\+0000.*NUL/],
      ['[\n  1,\n  2 x\n]', 3, 5, /unexpected character 'x' .*expected ',' or '\]'/],
      ['[1,\r\n 2,\r 3 4]', 3, 4, /unexpected character '4'/],
      ["['😀😀', x]", 1, 8, /unexpected name 'x'/],
    ];
    for (const [text, line, column, re] of rejections) {
      it(`rejects ${JSON.stringify(text)} at ${line}:${column}`, () => bad(text, line, column, re));
    }

    it('reports offset as a 0-based UTF-16 index and column in code points', () => {
      assert.throws(
        () => parsePythonLiteral("['😀', x]"),
        (err) => err instanceof PythonLiteralError && err.offset === 7 && err.line === 1 && err.column === 7,
      );
    });

    it('does not mistake a name before a quote for a string prefix', () => {
      bad("True'x'", 1, 5, /unexpected character "'" .*expected end of input/);
      bad("['a' None'b']", 1, 6, /unexpected character 'N' .*expected ',' or '\]'/);
    });
  });

  describe('limits', () => {
    it('rejects a depth bomb with PythonLiteralError, not RangeError', () => {
      bad('['.repeat(100000), 1, 201, /nesting deeper than 200 levels/);
      bad('('.repeat(100000), 1, 201, /nesting deeper than 200 levels/);
      bad('{1: '.repeat(100000), 1, 801, /nesting deeper than 200 levels/);
    });

    it('accepts exactly maxDepth levels', () => {
      ok('['.repeat(200) + ']'.repeat(200), JSON.parse('['.repeat(200) + ']'.repeat(200)));
      bad('['.repeat(201) + ']'.repeat(201), 1, 201, /nesting deeper than 200/);
      ok('[[1]]', [[1]]);
      assert.deepStrictEqual(parsePythonLiteral('[[1]]', { maxDepth: 2 }), [[1]]);
      bad('[[[1]]]', 1, 3, /nesting deeper than 2 levels/, { maxDepth: 2 });
      assert.equal(parsePythonLiteral('1', { maxDepth: 0 }), 1);
      // the bare top-level tuple does not count as a level
      assert.deepStrictEqual(parsePythonLiteral('1, [2]', { maxDepth: 1 }), [1, [2]]);
    });

    it('survives very deep nesting when maxDepth is raised (no recursion)', () => {
      const n = 200000;
      const v = parsePythonLiteral('['.repeat(n) + ']'.repeat(n), { maxDepth: Infinity });
      let d = 0;
      for (let cur = v; Array.isArray(cur); cur = cur[0]) d++;
      assert.equal(d, n);
      const keyDepth = 20000;
      const k = parsePythonLiteral('{' + '('.repeat(keyDepth) + '1,' + '),'.repeat(keyDepth - 1) + '): 1}', { maxDepth: Infinity });
      assert.equal(Object.keys(k)[0].length, 3 * keyDepth + 1);
      assert.equal(formatPythonLiteral(v).length, 2 * n);
    });

    it('rejects input longer than maxLength before parsing', () => {
      bad('[1, 2, 3]', 1, 1, /input too long .*9 characters, maxLength is 8/, { maxLength: 8 });
      assert.deepStrictEqual(parsePythonLiteral('[1, 2, 3]', { maxLength: 9 }), [1, 2, 3]);
      // not even scanned: garbage past the limit is reported as too long, not as a syntax error
      bad('x'.repeat(16 * 1024 * 1024 + 1), 1, 1, /input too long/);
    });

    it('rejects bad arguments with TypeError/RangeError', () => {
      assert.throws(() => parsePythonLiteral(Buffer.from('1')), TypeError);
      assert.throws(() => parsePythonLiteral('1', { maxDepth: -1 }), RangeError);
      assert.throws(() => parsePythonLiteral('1', { maxLength: NaN }), RangeError);
    });

    it('parses a 1 MB list and long runs of strings, signs and literals (speed is for bench/, not here)', () => {
      const parts = [];
      let len = 0;
      for (let i = 0; len < 1 << 20; i++) {
        const s = [String(i), `${i}.25`, `'s\\n${i}'`, `{'k': (${i}, None, True), b'b': b'\\x00'}`][i % 4];
        parts.push(s);
        len += s.length + 2;
      }
      const text = '[' + parts.join(', ') + ']';
      assert.ok(text.length >= 1 << 20);
      const v = parsePythonLiteral(text);
      assert.equal(v.length, parts.length);
      assert.equal(parsePythonLiteral("'" + 'ab\\x41'.repeat(200000) + "'").length, 600000);
      assert.equal(parsePythonLiteral('-'.repeat(1000000) + '1'), 1);
      assert.equal(parsePythonLiteral("'a' ".repeat(250000)).length, 250000);
      assert.equal(parsePythonLiteral('{' + Array.from({ length: 100000 }, (_, i) => `${i}: ${i}`).join(', ') + '}')['99999'], 99999);
    });
  });
});

describe('python-literal: formatPythonLiteral', () => {
  // Right-hand sides are what CPython 3 prints with repr() for the corresponding Python object.
  const cases = [
    [null, 'None'],
    [true, 'True'],
    [false, 'False'],
    [0, '0'],
    [-7, '-7'],
    [9007199254740991, '9007199254740991'],
    [1.0, '1'],
    [-0, '-0.0'],
    [1.5, '1.5'],
    [0.1, '0.1'],
    [1e-4, '0.0001'],
    [1e-5, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [2 ** 53, '9007199254740992.0'],
    [1e15 + 0.5, '1000000000000000.5'],
    [1e16, '1e+16'],
    [1.2345678901234567e20, '1.2345678901234567e+20'],
    [1e21, '1e+21'],
    [-1e300, '-1e+300'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    ['', "''"],
    ['abc', "'abc'"],
    ["it's", '"it\'s"'],
    ['say "hi"', "'say \"hi\"'"],
    ['both \' and "', "'both \\' and \"'"],
    ['back\\slash', "'back\\\\slash'"],
    ['\t\n\r', "'\\t\\n\\r'"],
    ['\0\x07\b\f\v\x1b\x7f', "'\\x00\\x07\\x08\\x0c\\x0b\\x1b\\x7f'"],
    ['\x80\xa0\xad\xe9', "'\\x80\\xa0\\xadé'"],
    ['\u2028\u200b\u3000\ufeff', "'\\u2028\\u200b\\u3000\\ufeff'"],
    ['\ud800x\udfff', "'\\ud800x\\udfff'"],
    ['😀 Jürgen €', "'😀 Jürgen €'"],
    ['\u{e0001}\u{f0000}', "'\\U000e0001\\U000f0000'"],
    [[], '[]'],
    [[1, 'a', null, [true]], "[1, 'a', None, [True]]"],
    [{}, '{}'],
    [{ serial: 'ABC123', ok: true, spots: [1, 2.5, null], meta: { program: 7 } }, "{'serial': 'ABC123', 'ok': True, 'spots': [1, 2.5, None], 'meta': {'program': 7}}"],
    [{ "it's": 1 }, '{"it\'s": 1}'],
    [buf(0, 39, 255), 'b"\\x00\'\\xff"'],
    [buf(65, 92, 34, 39, 9, 10, 13, 0x7f), "b'A\\\\\"\\'\\t\\n\\r\\x7f'"],
    [{ type: 'Buffer', data: [1, 256] }, "{'type': 'Buffer', 'data': [1, 256]}"],
    [{ type: 'Buffer', data: [1], extra: 1 }, "{'type': 'Buffer', 'data': [1], 'extra': 1}"],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} -> ${expected}`, () => assert.equal(formatPythonLiteral(value), expected));
  }

  it('writes Buffers and Uint8Arrays as bytes', () => {
    assert.equal(formatPythonLiteral(Buffer.from([0, 65, 255])), "b'\\x00A\\xff'");
    assert.equal(formatPythonLiteral({ img: new Uint8Array([1, 2]) }), "{'img': b'\\x01\\x02'}");
  });

  it('writes a __proto__ key as data', () => {
    assert.equal(formatPythonLiteral(JSON.parse('{"__proto__": {"a": 1}}')), "{'__proto__': {'a': 1}}");
  });

  it('refuses values with no Python literal form, naming where', () => {
    assert.throws(() => formatPythonLiteral(NaN), /NaN at \$ has no Python literal form/);
    assert.throws(() => formatPythonLiteral({ a: [1, Infinity] }), /Infinity at \$\.a\[1\]/);
    assert.throws(() => formatPythonLiteral({ 'b c': undefined }), /undefined at \$\["b c"\]/);
    assert.throws(() => formatPythonLiteral([() => 1]), TypeError);
    assert.throws(() => formatPythonLiteral(new Date(0)), /not plain data/);
    assert.throws(() => formatPythonLiteral(10n), TypeError);
    const cyclic = { a: [] };
    cyclic.a.push(cyclic);
    assert.throws(() => formatPythonLiteral(cyclic), /cycle at \$\.a\[0\]/);
    // shared (non-cyclic) references are fine
    const shared = [1];
    assert.equal(formatPythonLiteral([shared, shared]), '[[1], [1]]');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property tests

/** Values that survive JSON -> Python text -> JSON exactly. */
const roundTripValue = (() => {
  const str = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }), // any code point
    fc.string({ unit: 'binary-ascii', maxLength: 12 }), // control characters
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 6 }), // lone surrogates
    fc.constantFrom("'", '"', "'\"", '\\', '\\x41', "'''", '"""', '\n', '__proto__'),
  );
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(-0, 0.1, 1e21, 2 ** 53, -(2 ** 63), 5e-324, 1e16, 1e-5),
    str,
  );
  const key = fc.oneof(str, fc.constantFrom('__proto__', 'constructor', 'type', 'data', '1', ''));
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', maxDepth: 5 }, leaf, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
  }));
  return value;
})();

function expectOnlyPythonLiteralError(text) {
  try {
    parsePythonLiteral(text);
  } catch (err) {
    if (!(err instanceof PythonLiteralError)) throw err;
    assert.ok(Number.isInteger(err.line) && err.line >= 1, err.message);
    assert.ok(Number.isInteger(err.column) && err.column >= 1, err.message);
    assert.ok(err.offset >= 0 && err.offset <= text.length, err.message);
    assert.match(err.message, /^python literal: .* at line \d+, column \d+/);
  }
}

// ---- generator of valid Python literal text together with the value it must parse to

const ws = fc.array(fc.constantFrom('', ' ', ' ', '  ', '\t', '\n', '\r\n', '\\\n', '\f'), { maxLength: 2 }).map((a) => a.join(''));

function hexCase(s, upper) {
  return upper ? s.toUpperCase() : s;
}

/** Insert underscores between digits where the flags say so (never first/last, never doubled). */
function underscored(digits, flags) {
  let out = digits[0];
  for (let i = 1; i < digits.length; i++) out += (flags[i % flags.length] ? '_' : '') + digits[i];
  return out;
}

const intLit = fc
  .record({
    n: fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.bigInt({ min: -1000n, max: 1000n })),
    base: fc.constantFrom(10, 16, 8, 2),
    upper: fc.boolean(),
    unders: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    extra: fc.constantFrom('', '+', '--', '- -', '+ +', '-+-'),
  })
  .map(({ n, base, upper, unders, extra }) => {
    const neg = n < 0n;
    const mag = neg ? -n : n;
    const digits = underscored(hexCase(mag.toString(base), upper), unders);
    const prefix = { 10: '', 16: '0x', 8: '0o', 2: '0b' }[base];
    const src = extra + (neg ? '-' : '') + hexCase(prefix, upper) + digits;
    const val = mag <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    return { src, val, key: String(val) };
  });

const floatLit = fc
  .record({ d: fc.double({ noNaN: true, noDefaultInfinity: true }), style: fc.nat(4), underscore: fc.boolean() })
  .map(({ d, style, underscore }) => {
    const neg = d < 0 || Object.is(d, -0);
    const a = Math.abs(d);
    let body;
    if (style === 0 || style === 3) {
      body = String(a);
      if (!/[.e]/.test(body)) body += '.0';
      if (style === 3 && body.startsWith('0.')) body = body.slice(1); // .5
    } else if (style === 1) {
      body = a.toExponential();
    } else if (style === 2) {
      body = a.toExponential().toUpperCase();
    } else {
      body = a.toExponential().replace(/^(\d)e/, '$1.e'); // 5.e+3
    }
    if (underscore) body = body.replace(/(\d)(\d)/, '$1_$2');
    return { src: (neg ? '-' : '') + body, val: d };
  });

const SIMPLE_ESC = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\\': '\\\\', "'": "\\'", '"': '\\"' };

/** Encode one code point for a non-raw str literal; choice picks among the valid spellings. */
function encodeChar(ch, choice, triple) {
  const cp = ch.codePointAt(0);
  const spellings = [];
  const mustEscape = ch === '\\' || ch === "'" || ch === '"' || ch === '\r' || cp === 0 || (ch === '\n' && !triple);
  if (!mustEscape) spellings.push(ch);
  if (SIMPLE_ESC[ch]) spellings.push(SIMPLE_ESC[ch]);
  if (cp < 0x100) spellings.push('\\x' + hexCase(cp.toString(16).padStart(2, '0'), choice % 2 === 1));
  if (cp < 0o1000) spellings.push('\\' + cp.toString(8).padStart(3, '0'));
  if (cp < 0x10000) spellings.push('\\u' + cp.toString(16).padStart(4, '0'));
  spellings.push('\\U' + hexCase(cp.toString(16).padStart(8, '0'), choice % 3 === 0));
  return spellings[choice % spellings.length];
}

const QUOTES = ["'", '"', "'''", '"""'];

const strPiece = fc
  .record({
    text: fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary-ascii', maxLength: 8 })),
    quote: fc.constantFrom(...QUOTES),
    prefix: fc.constantFrom('', '', 'u', 'U'),
    choices: fc.array(fc.nat(7), { minLength: 9, maxLength: 9 }),
    continuation: fc.nat(12),
  })
  .map(({ text, quote, prefix, choices, continuation }) => {
    const chars = [...text];
    const triple = quote.length === 3;
    let body = '';
    chars.forEach((ch, i) => {
      if (i === continuation) body += '\\\n';
      body += encodeChar(ch, choices[i % choices.length] + i, triple);
    });
    return { src: prefix + quote + body + quote, val: text };
  });

// raw pieces: every backslash is followed by another character, so none escapes the closing quote
const rawStrPiece = fc
  .record({
    parts: fc.array(fc.constantFrom('a', 'Z', ' ', 'é', '😀', '\t', '\\n', '\\x41', '\\\\', "\\'", '\\"', '{x}', '#'), { maxLength: 6 }),
    quote: fc.constantFrom(...QUOTES),
    prefix: fc.constantFrom('r', 'R'),
  })
  .map(({ parts, quote, prefix }) => ({ src: prefix + quote + parts.join('') + quote, val: parts.join('') }));

const bytesPiece = fc
  .record({
    data: fc.array(fc.nat(255), { maxLength: 8 }),
    quote: fc.constantFrom(...QUOTES),
    prefix: fc.constantFrom('b', 'B'),
    choices: fc.array(fc.nat(5), { minLength: 7, maxLength: 7 }),
  })
  .map(({ data, quote, prefix, choices }) => {
    let body = '';
    data.forEach((b, i) => {
      const ch = String.fromCharCode(b);
      const spellings = [];
      if (b >= 0x20 && b < 0x7f && ch !== '\\' && ch !== "'" && ch !== '"') spellings.push(ch);
      if (SIMPLE_ESC[ch]) spellings.push(SIMPLE_ESC[ch]);
      spellings.push('\\x' + b.toString(16).padStart(2, '0'));
      spellings.push('\\' + b.toString(8).padStart(3, '0'));
      body += spellings[(choices[i % choices.length] + i) % spellings.length];
    });
    return { src: prefix + quote + body + quote, val: data };
  });

const rawBytesPiece = fc
  .record({
    parts: fc.array(fc.constantFrom('a', ' ', '\\n', '\\x41', '\\\\', "\\'", '{'), { maxLength: 5 }),
    quote: fc.constantFrom(...QUOTES),
    prefix: fc.constantFrom('rb', 'Rb', 'bR', 'BR', 'br'),
  })
  .map(({ parts, quote, prefix }) => ({ src: prefix + quote + parts.join('') + quote, val: [...Buffer.from(parts.join(''), 'latin1')] }));

/** One or more adjacent literals, which Python concatenates. */
function concatenated(pieceArb, join) {
  return fc
    .tuple(fc.array(pieceArb, { minLength: 1, maxLength: 3 }), fc.array(ws, { minLength: 3, maxLength: 3 }))
    .map(([pieces, spaces]) => ({
      // with no space, 'a' then '' then 'b' would read as a triple quote, so keep quote-led pieces apart
      src: pieces.map((p, i) => (i > 0 ? spaces[i - 1] || (/^['"]/.test(p.src) ? ' ' : '') : '') + p.src).join(''),
      val: join(pieces.map((p) => p.val)),
    }));
}

const strLit = concatenated(fc.oneof(strPiece, strPiece, rawStrPiece), (vals) => vals.join(''));
const bytesLit = concatenated(fc.oneof(bytesPiece, rawBytesPiece), (vals) => buf(...vals.flat()));

const scalarLit = fc.oneof(
  fc.constantFrom({ src: 'True', val: true }, { src: 'False', val: false }, { src: 'None', val: null }, { src: 'set()', val: [] }),
  intLit,
  floatLit,
  strLit,
  bytesLit,
);

function seq(items, spaces, trailing) {
  // items: [{src}], spaces: whitespace strings; elements separated by ',' with random whitespace
  let out = '';
  items.forEach((it, i) => {
    out += spaces[(2 * i) % spaces.length] + it + spaces[(2 * i + 1) % spaces.length];
    if (i < items.length - 1 || trailing) out += ',';
  });
  return out;
}

const wsList = fc.array(ws, { minLength: 4, maxLength: 4 });

// set members and dict keys must be unique under Python equality; ints and strings never equal each other
const setMember = fc.oneof(intLit.map((x) => ({ ...x, id: 'i' + x.key })), strLit.map((x) => ({ ...x, id: 's' + x.val })));
const dictKey = fc.oneof(
  strLit.map((x) => ({ src: x.src, name: x.val })),
  intLit.map((x) => ({ src: x.src, name: x.key })),
  fc.constant({ src: 'None', name: 'None' }),
);

const validLiteral = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, scalarLit, tie('list'), tie('tuple'), tie('group'), tie('set'), tie('dict')),
  list: fc
    .tuple(fc.array(tie('value'), { maxLength: 4 }), wsList, fc.boolean())
    .map(([items, spaces, trailing]) => ({ src: '[' + seq(items.map((i) => i.src), spaces, trailing && items.length > 0) + ']', val: items.map((i) => i.val) })),
  tuple: fc.tuple(fc.array(tie('value'), { maxLength: 4 }), wsList, fc.boolean()).map(([items, spaces, trailing]) => ({
    // one item needs the comma: (x,)
    src: '(' + seq(items.map((i) => i.src), spaces, items.length === 1 || (trailing && items.length > 0)) + ')',
    val: items.map((i) => i.val),
  })),
  group: fc.tuple(tie('value'), ws, ws).map(([item, a, b]) => ({ src: '(' + a + item.src + b + ')', val: item.val })),
  set: fc
    .tuple(fc.uniqueArray(setMember, { selector: (m) => m.id, minLength: 1, maxLength: 4 }), wsList, fc.boolean())
    .map(([items, spaces, trailing]) => ({ src: '{' + seq(items.map((i) => i.src), spaces, trailing) + '}', val: items.map((i) => i.val) })),
  dict: fc
    .tuple(fc.uniqueArray(fc.tuple(dictKey, tie('value')), { selector: ([k]) => k.name, maxLength: 4 }), wsList, fc.boolean())
    .map(([entries, spaces, trailing]) => ({
      src: '{' + seq(entries.map(([k, v]) => k.src + spaces[0] + ':' + spaces[1] + v.src), spaces, trailing && entries.length > 0) + '}',
      val: obj(entries.map(([k, v]) => [k.name, v.val])),
    })),
})).value;

describe('python-literal: properties', function () {
  this.timeout(120000);

  it(`round-trips JSON data through formatPythonLiteral and parsePythonLiteral (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(roundTripValue, (v) => {
        const text = formatPythonLiteral(v);
        assert.deepStrictEqual(parsePythonLiteral(text), v);
      }),
      { numRuns: RUNS },
    );
  });

  it(`formats to text that parses the same after re-formatting (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(validLiteral, ({ val }) => {
        const text = formatPythonLiteral(val);
        assert.equal(formatPythonLiteral(parsePythonLiteral(text)), text);
      }),
      { numRuns: RUNS },
    );
  });

  it(`never throws anything but PythonLiteralError on arbitrary ASCII strings (${RUNS} runs)`, () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), expectOnlyPythonLiteralError), { numRuns: RUNS });
  });

  it(`never throws anything but PythonLiteralError on arbitrary Unicode strings (${RUNS} runs)`, () => {
    // fast-check 4 dropped fullUnicodeString(); unit 'binary' is its replacement (any code point)
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), expectOnlyPythonLiteralError), { numRuns: RUNS });
    const utf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 });
    fc.assert(fc.property(utf16, expectOnlyPythonLiteralError), { numRuns: RUNS });
  });

  it(`never throws anything but PythonLiteralError on grammar-like strings (${RUNS} runs)`, () => {
    const alphabet = [...'[](){}:,\'"\\bBrRuU0x1_.eE+-jTrueFalseNone \n'];
    const tokens = [...alphabet, 'True', 'False', 'None', 'set()', "'''", '"""', '0x', '0o', '0b', '1e', '\\x', '\\u', '\\N', '\\\n', '\r', 'f', '#', '...'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }).map((a) => a.join('')), expectOnlyPythonLiteralError),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 30 }).map((a) => a.join('')), expectOnlyPythonLiteralError),
      { numRuns: RUNS },
    );
  });

  it(`never throws anything but PythonLiteralError on mutated valid literals (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(validLiteral, fc.nat(), fc.constantFrom('', '[', ']', '(', ')', '{', '}', ',', ':', "'", '"', '\\', '\n', '-', 'x', '_', '.'), ({ src }, at, ins) => {
        const i = src.length === 0 ? 0 : at % (src.length + 1);
        expectOnlyPythonLiteralError(src.slice(0, i) + ins + src.slice(i + 1));
        expectOnlyPythonLiteralError(src.slice(0, i));
      }),
      { numRuns: RUNS },
    );
  });

  it(`parses generated Python literals to the expected value (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(validLiteral, ws, ws, ({ src, val }, before, after) => {
        assert.deepStrictEqual(parsePythonLiteral(before + src + after), val, src);
      }),
      { numRuns: RUNS },
    );
  });
});
