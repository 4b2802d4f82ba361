'use strict';
// Python values as the legacy services held them, printed the way CPython's str() prints a container (repr of
// every item), for property tests of the legacy Redis formats. Each arbitrary gives { src, val }: src is the
// text CPython would write, val the JSON value that text must read back as (ints beyond 2^53 as their
// decimal digits, tuples and sets as arrays, bytes in Buffer's JSON form). Written from the Python language
// reference (float repr = shortest round-trip digits, ".0" on integral values, "e+XX" beyond 1e16).
const fc = require('fast-check');
const { formatPythonLiteral } = require('../../dist/nodes/lib/python-literal');

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** an int as the parser gives it: a number within ±2^53-1, otherwise the exact digits */
function intValue(n) {
  return n >= -SAFE && n <= SAFE ? Number(n) : n.toString();
}

/** CPython's repr() of a float */
function floatRepr(d) {
  if (Object.is(d, -0)) return '-0.0';
  if (Number.isSafeInteger(d)) return `${d}.0`;
  return formatPythonLiteral(d); // non-integral or beyond 2^53: the Python float spelling
}

const bigInts = fc.oneof(
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
  fc.bigInt({ min: SAFE - 3n, max: SAFE + 3n }),
  fc.bigInt({ min: -SAFE - 3n, max: -SAFE + 3n }),
  fc.constantFrom(1733318400123456789n, 2n ** 53n, -(2n ** 63n), 0n),
  fc.integer().map(BigInt),
);
const int = bigInts.map((n) => ({ src: n.toString(), val: intValue(n), key: 'i' + n }));
const float = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 0.5, 1e16, 1e22, 2 ** 53, 5e-324, 1e-5)).map((d) => ({
  src: floatRepr(d),
  val: d,
}));
const text = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom("'", '"', '\\', '\n', "it's"));
const str = text.map((s) => ({ src: formatPythonLiteral(s), val: s, key: 's' + s }));
const bytes = fc.array(fc.nat(255), { maxLength: 6 }).map((data) => ({ src: formatPythonLiteral({ type: 'Buffer', data }), val: { type: 'Buffer', data } }));
const scalar = fc.oneof(
  int,
  int,
  float,
  str,
  bytes,
  fc.constantFrom({ src: 'True', val: true }, { src: 'False', val: false }, { src: 'None', val: null }),
);

function dictOf(entries) {
  const o = {};
  for (const [k, v] of entries) Object.defineProperty(o, k.val, { value: v.val, writable: true, enumerable: true, configurable: true });
  return o;
}

const { value: pyValue, container: pyContainer } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, scalar, tie('container')),
  container: fc.oneof(tie('list'), tie('tuple'), tie('dict'), tie('set')),
  list: fc.array(tie('value'), { maxLength: 4 }).map((items) => ({ src: `[${items.map((i) => i.src).join(', ')}]`, val: items.map((i) => i.val) })),
  tuple: fc.array(tie('value'), { maxLength: 4 }).map((items) => ({
    src: `(${items.map((i) => i.src).join(', ')}${items.length === 1 ? ',' : ''})`,
    val: items.map((i) => i.val),
  })),
  // str keys only: Python-equal int/float/bool keys merge, which the parser's own tests cover
  dict: fc.uniqueArray(fc.tuple(str, tie('value')), { selector: ([k]) => k.key, maxLength: 4 }).map((entries) => ({
    src: `{${entries.map(([k, v]) => `${k.src}: ${v.src}`).join(', ')}}`,
    val: dictOf(entries),
  })),
  set: fc.uniqueArray(fc.oneof(int, str), { selector: (m) => m.key, maxLength: 4 }).map((items) => ({
    src: items.length === 0 ? 'set()' : `{${items.map((i) => i.src).join(', ')}}`,
    val: items.map((i) => i.val),
  })),
}));

module.exports = { pyValue, pyContainer };
