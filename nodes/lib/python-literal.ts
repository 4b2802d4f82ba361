/**
 * Safe reader and writer for the Python literal subset that the legacy Python services stored in Redis with
 * `str(obj)` and read back with `eval()`. Nothing here evaluates code: the parser is a hand-written scanner
 * plus an explicit-stack parser (no recursion, so hostile nesting cannot overflow the call stack), and it
 * accepts only what `ast.literal_eval` accepts for str, bytes, int, float, bool, None, list, tuple, set and
 * dict (including `set()` and a bare top-level tuple `1, 2`), with these deliberate differences:
 * - accepted beyond literal_eval: repeated unary signs (`--1`, which the legacy eval() accepted), and newlines
 *   or indentation between tokens outside brackets (Python wants one logical line there);
 * - refused although Python accepts them: comments, `\N{name}` escapes (no Unicode name table here),
 *   octal escapes above `\377` in bytes (Python truncates them with a warning), float literals that overflow
 *   to infinity, and lone surrogates in the source text.
 *
 * Mapping onto JSON (documented here because it is lossy in places):
 * - `True`/`False`/`None` -> true/false/null; tuples and sets -> arrays (sets drop Python-equal duplicates and
 *   keep source order; `set()` -> []).
 * - ints within +/-Number.MAX_SAFE_INTEGER -> numbers; larger ints -> their exact decimal digits as a string
 *   (e.g. `"-123456789012345678901"`), never a rounded number. Like Python 3.11+, an int of more than 4300
 *   decimal digits is rejected.
 * - floats -> numbers (`1.0` and `1` both become 1, `-0.0` stays -0). A float literal that overflows to
 *   infinity (`1e400`) is rejected: JSON has no infinity, and `inf`/`nan` are not literals anyway.
 * - bytes -> Node's Buffer JSON form `{ type: 'Buffer', data: [..] }` (what `Buffer#toJSON` gives, so
 *   `Buffer.from(v.data)` rebuilds it).
 * - dict keys that are not str become their Python `str()` text: `1` -> "1", `1.5` -> "1.5", `True` -> "True",
 *   `None` -> "None", `b'x'` -> "b'x'", `(1, 'a')` -> "(1, 'a')". Python-equal keys (`1`, `1.0`, `True`) are one
 *   key as in Python: the first spelling names it, the last value wins. Keys that only collide after
 *   stringifying (`'1'` and `1`) also end as one entry, last value wins. `__proto__` is stored as an own property.
 * - JS strings are UTF-16, so `'\ud83d\ude00'` (two lone surrogates in Python) reads as one emoji.
 *
 * Error positions: `offset` is a 0-based UTF-16 index into the input; `line` and `column` are 1-based, with
 * columns counted in code points and `\r\n`, `\r`, `\n` each ending a line.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface ParsePythonLiteralOptions {
  /** deepest bracket nesting accepted (default 200, Python's own parser limit) */
  maxDepth?: number;
  /** longest input accepted, in UTF-16 code units (default 16 MiB) */
  maxLength?: number;
  /**
   * Also read JSON text with the same rules (redis-cache's legacy formats, where a key may hold JSON or a
   * Python literal): the names `true`, `false`, `null` and the string escape `\/` (a slash) are accepted.
   * Everything else is read as Python reads it, so JSON numbers keep every digit (`-0` is the int 0) and the
   * depth and size guards apply to JSON too.
   */
  json?: boolean;
}

export class PythonLiteralError extends Error {
  /** 0-based UTF-16 offset of the problem in the input */
  readonly offset: number;
  /** 1-based line */
  readonly line: number;
  /** 1-based column, in code points */
  readonly column: number;

  constructor(message: string, offset: number, line: number, column: number) {
    super(message);
    this.name = 'PythonLiteralError';
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

const DEFAULT_MAX_DEPTH = 200;
const DEFAULT_MAX_LENGTH = 16 * 1024 * 1024;
/** Python 3.11+ refuses int <-> decimal text conversions beyond this many digits (sys.int_info). */
const MAX_INT_DIGITS = 4300;
const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER);

const LF = 10;
const CR = 13;
const TAB = 9;
const FF = 12;
const SPACE = 32;
const SQUOTE = 39;
const DQUOTE = 34;
const BACKSLASH = 92;
const UNDERSCORE = 95;
const DOT = 46;
const ZERO = 48;

type Kind = 'str' | 'bytes' | 'int' | 'float' | 'bool' | 'none' | 'list' | 'tuple' | 'set' | 'dict';

/** A parsed value plus what the JSON form forgets but dict keys and set members need (Python type, tuple items). */
interface Parsed {
  kind: Kind;
  value: JsonValue;
  start: number;
  /** tuples only: the items, kept for str() of tuple keys and for hashing */
  items?: Parsed[];
  /** bytes only: the byte values */
  bytes?: number[];
}

/** bare: a top-level tuple without parentheses (`1, 2`), which ends with the input */
type FrameType = 'list' | 'paren' | 'brace' | 'bare';
type BraceMode = 'unknown' | 'dict' | 'set';
/** open: just after the opener; comma: after a separator; colon: dict, after ':' (a value must follow) */
type FrameState = 'open' | 'comma' | 'colon';

interface Frame {
  type: FrameType;
  start: number;
  state: FrameState;
  /** list, tuple and set members (JSON form) */
  values: JsonValue[];
  /** paren only: items with their kinds, for tuple keys */
  items: Parsed[];
  /** paren only: whether a comma made it a tuple */
  comma: boolean;
  mode: BraceMode;
  obj: { [k: string]: JsonValue } | null;
  /** dict: the JS key for the value being read */
  keyName: string;
  /** dict: Python-equality token of a non-str key -> the JS key its first spelling produced */
  aliases: Map<string, string> | null;
  /** set: Python-equality tokens already present */
  seen: Set<string> | null;
}

const CLOSER: Record<FrameType, string> = { list: ']', paren: ')', brace: '}', bare: '' };

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === UNDERSCORE;
}

function isIdentChar(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

/** One or two of the letters Python string prefixes are made of (valid or not: `ur`, `bu` get a clear error). */
function isPrefixLike(text: string, p: number, e: number): boolean {
  if (e - p > 2) return false;
  for (let i = p; i < e; i++) {
    if (!'rbuftRBUFT'.includes(text[i])) return false;
  }
  return true;
}

function digitInBase(c: number, base: number): boolean {
  if (base === 16) return isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
  return c >= 48 && c < 48 + base;
}

/** value of n hex digits at p, or -1 when they are not all there */
function readHex(text: string, p: number, n: number): number {
  if (p + n > text.length) return -1;
  let v = 0;
  for (let i = p; i < p + n; i++) {
    const c = text.charCodeAt(i);
    let d: number;
    if (isDigit(c)) d = c - 48;
    else if ((c | 0x20) >= 97 && (c | 0x20) <= 102) d = (c | 0x20) - 87;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

function describeCharAt(text: string, p: number): string {
  const cp = text.codePointAt(p) ?? 0;
  const ch = String.fromCodePoint(cp);
  if (ch === "'") return `"'"`;
  if (ch !== ' ' && NON_PRINTABLE.test(ch)) return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${ch}'`;
}

/** 1-based line and code-point column of offset. Only run when an error is raised, so a scan is fine. */
function locate(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || c === CR) {
      if (c === CR && text.charCodeAt(i + 1) === LF && i + 1 < offset) i++;
      line++;
      lineStart = i + 1;
    }
  }
  let column = 1;
  for (let i = lineStart; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < offset) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    column++;
  }
  return { line, column };
}

/** Hints for a character that cannot follow a complete value. */
function afterValueHint(c: number): string {
  switch (c) {
    case DOT:
      return 'attribute access is not allowed';
    case 40:
      return 'calls are not allowed';
    case 91:
      return 'subscripts are not allowed';
    case 35:
      return 'comments are not allowed';
    default:
      return '+-*/%@&|^~<>=!'.includes(String.fromCharCode(c)) ? 'operators are not allowed' : '';
  }
}

/** Hints for a character where a value should start. */
function valueHint(text: string, p: number): string {
  const c = text.charCodeAt(p);
  if (c === 35) return 'comments are not allowed';
  if (c === DOT && text.charCodeAt(p + 1) === DOT && text.charCodeAt(p + 2) === DOT) return 'Ellipsis (...) is not allowed';
  if (c === BACKSLASH) return 'a backslash outside a string may only continue a line';
  if (c === 0) return 'NUL characters are not allowed in Python source';
  if ('*/%@&|^~<>=!'.includes(String.fromCharCode(c))) return 'operators are not allowed';
  return '';
}

class Parser {
  private pos = 0;
  /** end offset of the escape sequence decodeEscape() just read */
  private escEnd = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    private readonly json: boolean,
  ) {}

  private fail(problem: string, offset: number, reason?: string): PythonLiteralError {
    const { line, column } = locate(this.text, offset);
    const tail = reason ? ` (${reason})` : '';
    return new PythonLiteralError(`python literal: ${problem} at line ${line}, column ${column}${tail}`, offset, line, column);
  }

  private unexpected(offset: number, expected: string, hint: string): PythonLiteralError {
    const reason = hint ? `${expected}; ${hint}` : expected;
    if (offset >= this.text.length) return this.fail('unexpected end of input', offset, reason);
    return this.fail(`unexpected character ${describeCharAt(this.text, offset)}`, offset, reason);
  }

  /** Whitespace between tokens: space, tab, form feed, newlines, and backslash-newline line joins. */
  private skipSpace(): void {
    const text = this.text;
    let p = this.pos;
    for (;;) {
      const c = text.charCodeAt(p);
      if (c === SPACE || c === LF || c === TAB || c === CR || c === FF) {
        p++;
      } else if (c === BACKSLASH && (text.charCodeAt(p + 1) === LF || text.charCodeAt(p + 1) === CR)) {
        p += text.charCodeAt(p + 1) === CR && text.charCodeAt(p + 2) === LF ? 3 : 2;
      } else {
        break;
      }
    }
    this.pos = p;
  }

  parse(): JsonValue {
    const text = this.text;
    const stack: Frame[] = [];
    for (;;) {
      // A value (or, where the innermost frame allows it, its closer) must come next.
      this.skipSpace();
      const c = text.charCodeAt(this.pos);
      const top = stack.length > 0 ? stack[stack.length - 1] : undefined;
      let value: Parsed;
      if (c === 91 || c === 40 || c === 123) {
        const depth = stack.length > 0 && stack[0].type === 'bare' ? stack.length - 1 : stack.length;
        if (depth >= this.maxDepth) {
          throw this.fail(`nesting deeper than ${this.maxDepth} levels`, this.pos, 'raise maxDepth if this is legitimate');
        }
        stack.push(newFrame(c === 91 ? 'list' : c === 40 ? 'paren' : 'brace', this.pos));
        this.pos++;
        continue;
      }
      if (top !== undefined && top.type === 'bare' && this.pos >= text.length) {
        stack.pop(); // `1, 2,`: a trailing comma, then the end
        value = this.close(top);
      } else if (top !== undefined && top.state !== 'colon' && c === CLOSER[top.type].charCodeAt(0)) {
        this.pos++;
        stack.pop();
        value = this.close(top);
      } else {
        value = this.parseAtom(top);
      }
      // Hand the value to the enclosing frames; each closer consumed completes one more value.
      for (;;) {
        const frame = stack.length > 0 ? stack[stack.length - 1] : undefined;
        if (frame === undefined) {
          this.skipSpace();
          if (text.charCodeAt(this.pos) === 44) {
            // `1, 2` at top level is a tuple, as in Python
            const bare = newFrame('bare', value.start);
            bare.items.push(value);
            bare.comma = true;
            bare.state = 'comma';
            stack.push(bare);
            this.pos++;
            break;
          }
          if (this.pos < text.length) {
            throw this.unexpected(this.pos, 'expected end of input', afterValueHint(text.charCodeAt(this.pos)));
          }
          return value.value;
        }
        if (!this.deliver(frame, value)) break;
        stack.pop();
        value = this.close(frame);
      }
    }
  }

  /** Add value to frame and read the separator after it. True when that separator closed the frame. */
  private deliver(f: Frame, v: Parsed): boolean {
    let expected: string;
    let allowColon = false;
    if (f.type === 'list') {
      f.values.push(v.value);
      expected = "expected ',' or ']'";
    } else if (f.type === 'paren' || f.type === 'bare') {
      f.items.push(v);
      expected = f.type === 'paren' ? "expected ',' or ')'" : "expected ',' or end of input";
    } else if (f.mode === 'unknown') {
      // The first member decides between dict and set, by whether ':' follows it.
      allowColon = true;
      expected = "expected ':', ',' or '}'";
    } else if (f.mode === 'set') {
      this.addToSet(f, v);
      expected = "expected ',' or '}'";
    } else if (f.state === 'colon') {
      storeKey(f, v.value);
      expected = "expected ',' or '}'";
    } else {
      f.keyName = this.keyName(f, v);
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) !== 58) {
        throw this.unexpected(this.pos, "expected ':'", afterValueHint(this.text.charCodeAt(this.pos)));
      }
      this.pos++;
      f.state = 'colon';
      return false;
    }
    this.skipSpace();
    const c = this.text.charCodeAt(this.pos);
    if (allowColon) {
      if (c === 58) {
        f.mode = 'dict';
        f.obj = {};
        f.keyName = this.keyName(f, v);
        f.state = 'colon';
        this.pos++;
        return false;
      }
      if (c === 44 || c === 125) {
        f.mode = 'set';
        f.seen = new Set();
        this.addToSet(f, v);
      }
    }
    if (c === 44) {
      if (f.type === 'paren') f.comma = true;
      f.state = 'comma';
      this.pos++;
      return false;
    }
    if (f.type === 'bare') {
      if (this.pos >= this.text.length) return true;
      throw this.unexpected(this.pos, expected, afterValueHint(c));
    }
    if (c === CLOSER[f.type].charCodeAt(0)) {
      this.pos++;
      return true;
    }
    throw this.unexpected(this.pos, expected, afterValueHint(c));
  }

  private close(f: Frame): Parsed {
    switch (f.type) {
      case 'list':
        return { kind: 'list', value: f.values, start: f.start };
      case 'bare':
      case 'paren':
        // `(x)` is only grouping; a comma or emptiness makes a tuple.
        if (f.items.length === 1 && !f.comma) return f.items[0];
        return { kind: 'tuple', value: f.items.map((p) => p.value), start: f.start, items: f.items };
      case 'brace':
        if (f.mode === 'set') return { kind: 'set', value: f.values, start: f.start };
        return { kind: 'dict', value: f.obj ?? {}, start: f.start };
    }
  }

  private addToSet(f: Frame, v: Parsed): void {
    const token = this.pyText(v, true, 'a set member');
    if (f.seen === null) f.seen = new Set();
    if (f.seen.has(token)) return; // Python keeps the first of equal members
    f.seen.add(token);
    f.values.push(v.value);
  }

  /** The JS property name a dict key becomes (see the mapping notes at the top of the file). */
  private keyName(f: Frame, key: Parsed): string {
    if (key.kind === 'str') return key.value as string;
    const token = this.pyText(key, true, 'a dict key');
    if (f.aliases === null) f.aliases = new Map();
    const known = f.aliases.get(token);
    if (known !== undefined) return known;
    const name = this.pyText(key, false, 'a dict key');
    f.aliases.set(token, name);
    return name;
  }

  /**
   * For a hashable value: Python's str() of it (hash=false), or a token that is equal for Python-equal values
   * (hash=true: 1 == 1.0 == True, (1, 2) == (1.0, 2)). Iterative, since tuple keys may nest to maxDepth.
   */
  private pyText(root: Parsed, hash: boolean, role: string): string {
    if (root.kind !== 'tuple') return this.leafText(root, hash, role, true);
    const out: string[] = [];
    const todo: (Parsed | string)[] = [root];
    while (todo.length > 0) {
      const t = todo.pop() as Parsed | string;
      if (typeof t === 'string') {
        out.push(t);
      } else if (t.kind === 'tuple') {
        const items = t.items ?? [];
        out.push(hash ? 't(' : '(');
        todo.push(items.length === 1 && !hash ? ',)' : ')');
        for (let i = items.length - 1; i >= 0; i--) {
          todo.push(items[i]);
          if (i > 0) todo.push(hash ? ',' : ', ');
        }
      } else {
        out.push(this.leafText(t, hash, role, false));
      }
    }
    return out.join('');
  }

  /** pyText() of a value that is not a tuple; inside a tuple str() shows strings quoted (repr). */
  private leafText(t: Parsed, hash: boolean, role: string, isRoot: boolean): string {
    switch (t.kind) {
      case 'str':
        if (hash) return 's' + JSON.stringify(t.value);
        return isRoot ? (t.value as string) : pyStrRepr(t.value as string);
      case 'bytes':
        return hash ? `b[${(t.bytes ?? []).join(',')}]` : pyBytesRepr(t.bytes ?? []);
      case 'int': {
        const v = t.value;
        const text = typeof v === 'number' ? v.toString() : (v as string); // big ints are already decimal text
        return hash ? 'n' + text : text;
      }
      case 'float': {
        const n = t.value as number;
        if (!hash) return pyFloatRepr(n);
        return Number.isInteger(n) ? 'n' + BigInt(n).toString() : 'f' + String(n);
      }
      case 'bool':
        if (hash) return t.value ? 'n1' : 'n0';
        return t.value ? 'True' : 'False';
      case 'none':
        return hash ? 'N' : 'None';
      default:
        throw this.fail(`unhashable type '${t.kind}'`, t.start, `a ${t.kind} cannot be ${role}`);
    }
  }

  private parseAtom(top: Frame | undefined): Parsed {
    const text = this.text;
    const p = this.pos;
    const c = text.charCodeAt(p);
    if (isDigit(c) || (c === DOT && isDigit(text.charCodeAt(p + 1)))) return this.scanNumber();
    if (c === 43 || c === 45) return this.parseSigned();
    if (c === SQUOTE || c === DQUOTE) return this.parseStrings();
    if (isIdentStart(c)) {
      let e = p + 1;
      while (isIdentChar(text.charCodeAt(e))) e++;
      const q = text.charCodeAt(e);
      if ((q === SQUOTE || q === DQUOTE) && isPrefixLike(text, p, e)) {
        this.checkPrefix(p, e);
        return this.parseStrings();
      }
      return this.parseName(p, e);
    }
    throw this.unexpected(p, expectedValue(top), valueHint(text, p));
  }

  private parseName(p: number, e: number): Parsed {
    const name = this.text.slice(p, e);
    this.pos = e;
    switch (name) {
      case 'True':
        return { kind: 'bool', value: true, start: p };
      case 'False':
        return { kind: 'bool', value: false, start: p };
      case 'None':
        return { kind: 'none', value: null, start: p };
      case 'true':
      case 'false':
        if (this.json) return { kind: 'bool', value: name === 'true', start: p };
        break;
      case 'null':
        if (this.json) return { kind: 'none', value: null, start: p };
        break;
      case 'set': {
        // set() is how Python prints an empty set, so it is the one call allowed.
        this.skipSpace();
        if (this.text.charCodeAt(this.pos) === 40) {
          this.pos++;
          this.skipSpace();
          if (this.text.charCodeAt(this.pos) === 41) {
            this.pos++;
            return { kind: 'set', value: [], start: p };
          }
          throw this.fail('only the empty call set() is allowed', p, 'calls with arguments are not literals');
        }
        break;
      }
    }
    const lower = name.toLowerCase();
    let reason = 'names are not allowed; only True, False, None and set() are';
    if (lower === 'inf' || lower === 'nan' || lower === 'infinity') reason = 'inf and nan are not Python literals';
    else if (lower === 'true' || lower === 'false' || lower === 'none') reason = `Python spells it ${lower[0].toUpperCase()}${lower.slice(1)}`;
    else if (lower === 'null') reason = 'Python spells it None';
    throw this.fail(`unexpected name '${name}'`, p, reason);
  }

  /** Python string prefixes: r, u, b, rb, br in any case; f and t strings contain code, so they are refused. */
  private checkPrefix(p: number, e: number): void {
    const prefix = this.text.slice(p, e);
    const lower = prefix.toLowerCase();
    if (lower === 'r' || lower === 'u' || lower === 'b' || lower === 'rb' || lower === 'br') return;
    if (lower === 'f' || lower === 'rf' || lower === 'fr') {
      throw this.fail('f-strings are not supported', p, 'they evaluate the code inside {}');
    }
    if (lower === 't' || lower === 'rt' || lower === 'tr') {
      throw this.fail('t-strings are not supported', p, 'they evaluate the code inside {}');
    }
    throw this.fail(`invalid string prefix '${prefix}'`, p, 'use r, u, b, rb or br');
  }

  /** One string literal or several adjacent ones, which Python concatenates. */
  private parseStrings(): Parsed {
    const text = this.text;
    const start = this.pos;
    let bytes: boolean | undefined;
    let acc = '';
    for (;;) {
      const litStart = this.pos;
      let raw = false;
      let isBytes = false;
      while (this.text.charCodeAt(this.pos) !== SQUOTE && this.text.charCodeAt(this.pos) !== DQUOTE) {
        const l = this.text.charCodeAt(this.pos) | 0x20;
        if (l === 114) raw = true;
        else if (l === 98) isBytes = true;
        this.pos++;
      }
      if (bytes !== undefined && bytes !== isBytes) {
        throw this.fail('cannot mix bytes and str literals', litStart, 'adjacent literals must all be bytes or all be str');
      }
      bytes = isBytes;
      acc += this.scanString(raw, isBytes);
      // Adjacent literal? Look past whitespace for a quote, or a prefix directly followed by a quote.
      this.skipSpace();
      const c = text.charCodeAt(this.pos);
      if (c === SQUOTE || c === DQUOTE) continue;
      if (isIdentStart(c)) {
        let e = this.pos + 1;
        while (isIdentChar(text.charCodeAt(e))) e++;
        const q = text.charCodeAt(e);
        if ((q === SQUOTE || q === DQUOTE) && isPrefixLike(text, this.pos, e)) {
          this.checkPrefix(this.pos, e);
          continue;
        }
      }
      break;
    }
    if (!bytes) return { kind: 'str', value: acc, start };
    // Bytes were accumulated as one char per byte (0-255).
    const data = new Array<number>(acc.length);
    for (let i = 0; i < acc.length; i++) data[i] = acc.charCodeAt(i);
    return { kind: 'bytes', value: { type: 'Buffer', data }, start, bytes: data };
  }

  /** Scan one quoted literal at this.pos (after its prefix); returns its text (bytes: one char per byte). */
  private scanString(raw: boolean, bytes: boolean): string {
    const text = this.text;
    const len = text.length;
    const openAt = this.pos;
    const q = text.charCodeAt(openAt);
    const triple = text.charCodeAt(openAt + 1) === q && text.charCodeAt(openAt + 2) === q;
    let p = openAt + (triple ? 3 : 1);
    let out = '';
    let run = p;
    for (;;) {
      if (p >= len) {
        throw this.fail(triple ? 'unterminated triple-quoted string' : 'unterminated string', openAt, 'no closing quote before the end of input');
      }
      const c = text.charCodeAt(p);
      if (c === q) {
        if (!triple) {
          out += text.slice(run, p);
          p++;
          break;
        }
        if (text.charCodeAt(p + 1) === q && text.charCodeAt(p + 2) === q) {
          out += text.slice(run, p);
          p += 3;
          break;
        }
        p++;
      } else if (c === BACKSLASH) {
        const e = text.charCodeAt(p + 1);
        if (raw) {
          // Raw: the backslash stays, but still keeps the next quote or newline from ending the literal.
          if (e === CR) {
            out += text.slice(run, p + 1) + '\n';
            p += text.charCodeAt(p + 2) === LF ? 3 : 2;
            run = p;
          } else if (e === q || e === BACKSLASH || e === LF) {
            p += 2;
          } else {
            p++;
          }
        } else {
          out += text.slice(run, p);
          out += this.decodeEscape(p, bytes);
          p = this.escEnd;
          run = p;
        }
      } else if (c === LF || c === CR) {
        if (!triple) {
          throw this.fail('unterminated string', openAt, 'a newline comes before the closing quote; use \\n or triple quotes');
        }
        if (c === CR) {
          // Python reads source with universal newlines: \r\n and \r become \n.
          out += text.slice(run, p) + '\n';
          p += text.charCodeAt(p + 1) === LF ? 2 : 1;
          run = p;
        } else {
          p++;
        }
      } else if (c === 0) {
        throw this.fail('NUL character in a string literal', p, 'Python source cannot contain NUL; use \\x00');
      } else if (c >= 0x80) {
        if (bytes) {
          throw this.fail(`non-ASCII character ${describeCharAt(text, p)} in a bytes literal`, p, 'bytes literals may only contain ASCII; use \\x escapes');
        }
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = text.charCodeAt(p + 1);
          if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) {
            throw this.fail('lone surrogate in a string literal', p, 'the input is not valid Unicode; use a \\u escape');
          }
          p++;
        }
        p++;
      } else {
        p++;
      }
    }
    this.pos = p;
    return out;
  }

  /** Decode the escape whose backslash is at p (non-raw literal); sets escEnd past it. */
  private decodeEscape(p: number, bytes: boolean): string {
    const text = this.text;
    const e = text.charCodeAt(p + 1);
    this.escEnd = p + 2;
    switch (e) {
      case LF:
        return ''; // backslash-newline continues the literal on the next line
      case CR:
        if (text.charCodeAt(p + 2) === LF) this.escEnd = p + 3;
        return '';
      case BACKSLASH:
        return '\\';
      case SQUOTE:
        return "'";
      case DQUOTE:
        return '"';
      case 97: // a
        return '\x07';
      case 98: // b
        return '\b';
      case 102: // f
        return '\f';
      case 110: // n
        return '\n';
      case 114: // r
        return '\r';
      case 116: // t
        return '\t';
      case 118: // v
        return '\v';
      case 47: // '/': JSON's escaped slash (Python keeps the backslash)
        if (!this.json || bytes) break;
        return '/';
      case 120: {
        // x
        const v = readHex(text, p + 2, 2);
        if (v < 0) throw this.fail(`invalid \\x escape`, p, 'it needs exactly two hex digits');
        this.escEnd = p + 4;
        return String.fromCharCode(v);
      }
    }
    if (e >= 48 && e <= 55) {
      let v = e - 48;
      let q = p + 2;
      while (q < p + 4 && text.charCodeAt(q) >= 48 && text.charCodeAt(q) <= 55) {
        v = v * 8 + text.charCodeAt(q) - 48;
        q++;
      }
      if (bytes && v > 0xff) {
        throw this.fail(`octal escape \\${text.slice(p + 1, q)} out of range for bytes`, p, 'a byte is at most \\377');
      }
      this.escEnd = q;
      return String.fromCharCode(v);
    }
    if (!bytes) {
      if (e === 117 || e === 85) {
        // \uXXXX, \UXXXXXXXX
        const n = e === 117 ? 4 : 8;
        const v = readHex(text, p + 2, n);
        if (v < 0) throw this.fail(`truncated \\${String.fromCharCode(e)} escape`, p, `it needs exactly ${n} hex digits`);
        if (v > 0x10ffff) throw this.fail('illegal Unicode character in \\U escape', p, 'the largest code point is \\U0010ffff');
        this.escEnd = p + 2 + n;
        return String.fromCodePoint(v);
      }
      if (e === 78) {
        throw this.fail('\\N{...} escapes are not supported', p, 'use \\u or \\U with the code point');
      }
    }
    // Unknown escape (or \u, \U, \N in bytes): Python keeps the backslash, and the next character is read normally.
    this.escEnd = p + 1;
    return '\\';
  }

  /** Unary + and - (repeatable, as eval() allowed) in front of a number literal. */
  private parseSigned(): Parsed {
    const text = this.text;
    const start = this.pos;
    let negative = false;
    let lastSign = start;
    while (text.charCodeAt(this.pos) === 43 || text.charCodeAt(this.pos) === 45) {
      if (text.charCodeAt(this.pos) === 45) negative = !negative;
      lastSign = this.pos;
      this.pos++;
      this.skipSpace();
    }
    const c = text.charCodeAt(this.pos);
    if (!(isDigit(c) || (c === DOT && isDigit(text.charCodeAt(this.pos + 1))))) {
      const op = text[lastSign];
      throw this.unexpected(this.pos, `expected a number after unary '${op}'`, 'signs apply only to number literals');
    }
    const n = this.scanNumber();
    n.start = start;
    if (!negative) return n;
    if (typeof n.value === 'string') n.value = '-' + n.value;
    else if (n.kind === 'int') n.value = n.value === 0 ? 0 : -(n.value as number); // ints have no -0
    else n.value = -(n.value as number);
    return n;
  }

  /** Scan digits with single underscores between them; returns the end offset. */
  private scanDigitPart(p: number, what: string): number {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(p);
      if (isDigit(c)) {
        p++;
      } else if (c === UNDERSCORE) {
        if (!isDigit(text.charCodeAt(p + 1))) throw this.fail(`invalid ${what}`, p, 'an underscore must sit between two digits');
        p++;
      } else {
        return p;
      }
    }
  }

  private scanNumber(): Parsed {
    const text = this.text;
    const start = this.pos;
    let p = start;
    const c1 = text.charCodeAt(p + 1) | 0x20;
    if (text.charCodeAt(p) === ZERO && (c1 === 120 || c1 === 111 || c1 === 98)) {
      const base = c1 === 120 ? 16 : c1 === 111 ? 8 : 2;
      const what = base === 16 ? 'hexadecimal literal' : base === 8 ? 'octal literal' : 'binary literal';
      p += 2;
      let count = 0;
      for (;;) {
        const c = text.charCodeAt(p);
        if (c === UNDERSCORE) {
          if (!digitInBase(text.charCodeAt(p + 1), base)) throw this.fail(`invalid ${what}`, p, 'an underscore must sit between two digits');
          p++;
        } else if (digitInBase(c, base)) {
          p++;
          count++;
        } else {
          break;
        }
      }
      if (count === 0) throw this.fail(`invalid ${what}`, start, `'${text.slice(start, start + 2)}' must be followed by digits`);
      if (isIdentChar(text.charCodeAt(p))) {
        throw this.fail(`invalid ${what}`, p, `${describeCharAt(text, p)} is not a base-${base} digit`);
      }
      this.pos = p;
      const digits = text.slice(start + 2, p).replaceAll('_', '').replace(/^0+/, '');
      // Refuse before converting: Python itself cannot print an int this long (see MAX_INT_DIGITS).
      if (digits.length * Math.log10(base) > MAX_INT_DIGITS + 1) throw this.tooManyDigits(start);
      const big = digits === '' ? 0n : BigInt((base === 16 ? '0x' : base === 8 ? '0o' : '0b') + digits);
      if (big <= BigInt(Number.MAX_SAFE_INTEGER)) return { kind: 'int', value: Number(big), start };
      const dec = big.toString();
      if (dec.length > MAX_INT_DIGITS) throw this.tooManyDigits(start);
      return { kind: 'int', value: dec, start };
    }

    let isFloat = false;
    if (text.charCodeAt(p) !== DOT) p = this.scanDigitPart(p, 'decimal literal');
    if (text.charCodeAt(p) === DOT) {
      isFloat = true;
      p++;
      if (isDigit(text.charCodeAt(p))) p = this.scanDigitPart(p, 'decimal literal');
    }
    if ((text.charCodeAt(p) | 0x20) === 101) {
      let q = p + 1;
      if (text.charCodeAt(q) === 43 || text.charCodeAt(q) === 45) q++;
      if (!isDigit(text.charCodeAt(q))) throw this.fail('invalid decimal literal', p, 'the exponent needs digits');
      isFloat = true;
      p = this.scanDigitPart(q, 'decimal literal');
    }
    if ((text.charCodeAt(p) | 0x20) === 106) {
      throw this.fail('complex numbers are not supported', start, `'${text.slice(start, p + 1)}' is imaginary`);
    }
    if (isIdentChar(text.charCodeAt(p))) {
      throw this.fail('invalid decimal literal', p, `${describeCharAt(text, p)} directly after a number`);
    }
    this.pos = p;
    const digits = text.slice(start, p).replaceAll('_', '');
    if (isFloat) {
      const v = Number(digits);
      if (!Number.isFinite(v)) throw this.fail('float literal out of range', start, 'it overflows to infinity, which JSON cannot hold');
      return { kind: 'float', value: v, start };
    }
    if (digits.length > 1 && digits.charCodeAt(0) === ZERO) {
      if (/[1-9]/.test(digits)) {
        throw this.fail('leading zeros in decimal integer literals are not permitted', start, 'use an 0o prefix for octal');
      }
      return { kind: 'int', value: 0, start };
    }
    if (digits.length < MAX_SAFE_DIGITS.length || (digits.length === MAX_SAFE_DIGITS.length && digits <= MAX_SAFE_DIGITS)) {
      return { kind: 'int', value: Number(digits), start };
    }
    if (digits.length > MAX_INT_DIGITS) throw this.tooManyDigits(start);
    return { kind: 'int', value: digits, start };
  }

  private tooManyDigits(start: number): PythonLiteralError {
    return this.fail('integer literal too large', start, `more than ${MAX_INT_DIGITS} decimal digits, Python's own limit`);
  }
}

function newFrame(type: FrameType, start: number): Frame {
  return { type, start, state: 'open', values: [], items: [], comma: false, mode: 'unknown', obj: null, keyName: '', aliases: null, seen: null };
}

/** Store a dict entry; defineProperty so that a "__proto__" key is data, not a prototype change. */
function storeKey(f: Frame, value: JsonValue): void {
  const obj = f.obj ?? (f.obj = {});
  if (f.keyName === '__proto__') {
    Object.defineProperty(obj, '__proto__', { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[f.keyName] = value;
  }
}

function expectedValue(top: Frame | undefined): string {
  if (top === undefined || top.state === 'colon') return 'expected a value';
  if (top.type === 'bare') return 'expected a value or end of input';
  return `expected a value or '${CLOSER[top.type]}'`;
}

function checkLimit(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
    throw new RangeError(`parsePythonLiteral: ${name} must be a non-negative number, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

/** Parse text written by Python's str()/repr() into JSON data. Throws PythonLiteralError saying where and why. */
export function parsePythonLiteral(text: string, opts: ParsePythonLiteralOptions = {}): JsonValue {
  if (typeof text !== 'string') throw new TypeError(`parsePythonLiteral: text must be a string, got ${typeof text}`);
  const maxDepth = checkLimit('maxDepth', opts.maxDepth, DEFAULT_MAX_DEPTH);
  const maxLength = checkLimit('maxLength', opts.maxLength, DEFAULT_MAX_LENGTH);
  if (text.length > maxLength) {
    throw new PythonLiteralError(
      `python literal: input too long at line 1, column 1 (${text.length} characters, maxLength is ${maxLength})`,
      0,
      1,
      1,
    );
  }
  return new Parser(text, maxDepth, opts.json === true).parse();
}

// ---------------------------------------------------------------------------------------------------------
// Writing: what Python's repr() prints, so legacy readers that eval() the value get the same data back.

const STR_ESCAPE_SQ = /[\\'\p{C}\p{Z}]/gu;
const STR_ESCAPE_DQ = /[\\\p{C}\p{Z}]/gu;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function escapeStrChar(ch: string): string {
  switch (ch) {
    case ' ':
      return ' '; // the one printable separator
    case '\\':
      return '\\\\';
    case "'":
      return "\\'";
    case '\t':
      return '\\t';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
  }
  // Python's repr escapes what str.isprintable() rejects: categories C* and Z* (bar space).
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x100) return '\\x' + hex(cp, 2);
  if (cp < 0x10000) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

/**
 * Python repr() of a str: single quotes unless the text has ' and no ". Printability comes from the JS
 * engine's Unicode tables, so a code point newer than the reader's Python may be written raw where that Python
 * would escape it; both spellings read back the same.
 */
function pyStrRepr(s: string): string {
  const dq = s.includes("'") && !s.includes('"');
  const body = s.replace(dq ? STR_ESCAPE_DQ : STR_ESCAPE_SQ, escapeStrChar);
  return dq ? `"${body}"` : `'${body}'`;
}

/** Python repr() of bytes. */
function pyBytesRepr(data: ArrayLike<number>): string {
  let sq = false;
  let dq = false;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === SQUOTE) sq = true;
    else if (data[i] === DQUOTE) dq = true;
  }
  const quote = sq && !dq ? DQUOTE : SQUOTE;
  const parts: string[] = [];
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === quote || b === BACKSLASH) parts.push('\\' + String.fromCharCode(b));
    else if (b === TAB) parts.push('\\t');
    else if (b === LF) parts.push('\\n');
    else if (b === CR) parts.push('\\r');
    else if (b < 0x20 || b >= 0x7f) parts.push('\\x' + hex(b, 2));
    else parts.push(String.fromCharCode(b));
  }
  const q = String.fromCharCode(quote);
  return 'b' + q + parts.join('') + q;
}

/**
 * Python repr() of a float: the shortest digits that round-trip (JS String() finds the same digits), in
 * positional form for exponents -4..15 (always with a '.'), otherwise as d.ddde+XX with at least two
 * exponent digits.
 */
function pyFloatRepr(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const s = String(Math.abs(n));
  let digits: string;
  let exp: number; // value = d.ddd x 10^exp
  const ePos = s.indexOf('e');
  if (ePos >= 0) {
    digits = s.slice(0, ePos).replace('.', '');
    exp = Number(s.slice(ePos + 1));
  } else {
    const dot = s.indexOf('.');
    const intPart = dot < 0 ? s : s.slice(0, dot);
    const frac = dot < 0 ? '' : s.slice(dot + 1);
    if (intPart !== '0') {
      exp = intPart.length - 1;
      digits = intPart + frac;
    } else {
      let z = 0;
      while (frac.charCodeAt(z) === ZERO) z++;
      exp = -(z + 1);
      digits = frac.slice(z);
    }
  }
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === ZERO) end--;
  digits = digits.slice(0, end);
  if (exp < -4 || exp >= 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** Number as Python prints it. Safe integers are written as ints (so 1.0 comes out as 1), the rest as floats. */
function pyNumber(n: number): string {
  if (Object.is(n, -0)) return '-0.0'; // an int would lose the sign
  if (Number.isSafeInteger(n)) return String(n);
  return pyFloatRepr(n);
}

/** {type: 'Buffer', data: [bytes]} exactly, as parsePythonLiteral returns for bytes. */
function bufferJsonData(o: object): number[] | null {
  const keys = Object.keys(o);
  if (keys.length !== 2) return null;
  const r = o as { type?: unknown; data?: unknown };
  if (r.type !== 'Buffer' || !Array.isArray(r.data)) return null;
  for (const b of r.data) {
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) return null;
  }
  return r.data as number[];
}

interface ValueTask {
  v: unknown;
  parent: ValueTask | null;
  key: string | number;
}
type FormatTask = string | ValueTask | { leave: object };

function pathOf(t: ValueTask): string {
  const parts: string[] = [];
  for (let cur: ValueTask | null = t; cur !== null && cur.parent !== null; cur = cur.parent) {
    parts.push(typeof cur.key === 'number' ? `[${cur.key}]` : /^[A-Za-z_$][\w$]*$/.test(cur.key) ? `.${cur.key}` : `[${JSON.stringify(cur.key)}]`);
  }
  return '$' + parts.reverse().join('');
}

/**
 * Write value the way Python's str()/repr() would print the corresponding Python object: True/False/None,
 * single-quoted strings with repr escaping, `{'k': v}` dicts, `[..]` lists. Safe integers are written as ints,
 * other numbers as Python floats (-0 as -0.0). Uint8Array/Buffer values and the Buffer JSON form
 * `{type: 'Buffer', data: [...]}` are written as bytes `b'..'`. Throws TypeError for what Python literals cannot
 * express (NaN, Infinity, undefined, functions, cycles, class instances).
 */
export function formatPythonLiteral(value: JsonValue): string {
  const out: string[] = [];
  const todo: FormatTask[] = [{ v: value, parent: null, key: '' }];
  const active = new Set<object>(); // containers being written, to catch cycles
  const bad = (t: ValueTask, what: string): TypeError => new TypeError(`formatPythonLiteral: ${what} at ${pathOf(t)} has no Python literal form`);
  while (todo.length > 0) {
    const t = todo.pop() as FormatTask;
    if (typeof t === 'string') {
      out.push(t);
      continue;
    }
    if ('leave' in t) {
      active.delete(t.leave);
      continue;
    }
    const v = t.v;
    if (v === null) {
      out.push('None');
    } else if (typeof v === 'boolean') {
      out.push(v ? 'True' : 'False');
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw bad(t, String(v));
      out.push(pyNumber(v));
    } else if (typeof v === 'string') {
      out.push(pyStrRepr(v));
    } else if (v instanceof Uint8Array) {
      out.push(pyBytesRepr(v));
    } else if (typeof v === 'object') {
      if (active.has(v)) throw new TypeError(`formatPythonLiteral: cycle at ${pathOf(t)}`);
      if (Array.isArray(v)) {
        active.add(v);
        todo.push({ leave: v }, ']');
        for (let i = v.length - 1; i >= 0; i--) {
          todo.push({ v: v[i] as unknown, parent: t, key: i });
          if (i > 0) todo.push(', ');
        }
        out.push('[');
        continue;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw bad(t, 'an object that is not plain data');
      const data = bufferJsonData(v);
      if (data !== null) {
        out.push(pyBytesRepr(data));
        continue;
      }
      const keys = Object.keys(v);
      active.add(v);
      todo.push({ leave: v }, '}');
      for (let i = keys.length - 1; i >= 0; i--) {
        todo.push({ v: (v as Record<string, unknown>)[keys[i]], parent: t, key: keys[i] });
        todo.push(pyStrRepr(keys[i]) + ': ');
        if (i > 0) todo.push(', ');
      }
      out.push('{');
    } else {
      throw bad(t, typeof v);
    }
  }
  return out.join('');
}
