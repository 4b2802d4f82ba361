/**
 * GenICam formula language (SwissKnife, IntSwissKnife, Converter, IntConverter): a tokenizer and a precedence-
 * climbing parser into a small syntax tree, and an evaluator over named variables. Never eval: the formula is
 * data, only these operators and functions exist.
 *
 * Operators, lowest precedence first: ?:  ||  &&  |  ^  &  = <>  < > <= >=  << >>  + -  * / %  **  unary - + ~ !
 * Functions: SGN NEG ATAN COS SIN TAN ABS EXP LN LG SQRT TRUNC FLOOR CEIL ROUND(x[,digits]) ASIN ACOS; constants
 * PI and E. Integer formulas (IntSwissKnife/IntConverter) divide with truncation and do bit operations in 64 bits.
 */
import { SpotFusionError } from '../../errors';

export type Expr =
  | { k: 'num'; v: number }
  | { k: 'var'; name: string }
  | { k: 'un'; op: string; a: Expr }
  | { k: 'bin'; op: string; a: Expr; b: Expr }
  | { k: 'cond'; c: Expr; a: Expr; b: Expr }
  | { k: 'call'; fn: string; args: Expr[] };

type Tok = { t: 'num'; v: number; at: number } | { t: 'id'; v: string; at: number } | { t: 'op'; v: string; at: number };

const OPS = ['**', '<<', '>>', '<=', '>=', '<>', '&&', '||', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '=', '<', '>', '(', ')', '?', ':', ','];

/** Longest formula accepted, and deepest syntax tree: bounds the parser's and the evaluator's recursion. */
export const MAX_FORMULA_LENGTH = 4096;
export const MAX_FORMULA_DEPTH = 64;

function bad(formula: string, at: number, why: string): never {
  throw new SpotFusionError('GENICAM', `formula "${formula}": ${why} at position ${at + 1}`);
}

export function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (/[0-9.]/.test(ch)) {
      const m = /^(0x[0-9a-fA-F]+|0b[01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(src.slice(i));
      if (!m) bad(src, i, 'bad number');
      const s = m[1];
      const v = s.startsWith('0x') || s.startsWith('0b') ? Number(s) : parseFloat(s);
      out.push({ t: 'num', v, at: i });
      i += s.length;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ t: 'id', v: m[0], at: i });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) bad(src, i, `unexpected character "${ch}"`);
    out.push({ t: 'op', v: op, at: i });
    i += op.length;
  }
  return out;
}

const BINARY: Array<string[]> = [['||'], ['&&'], ['|'], ['^'], ['&'], ['=', '<>'], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'], ['**']];
const FUNCS = new Set(['SGN', 'NEG', 'ATAN', 'COS', 'SIN', 'TAN', 'ABS', 'EXP', 'LN', 'LG', 'SQRT', 'TRUNC', 'FLOOR', 'CEIL', 'ROUND', 'ASIN', 'ACOS']);

export function parseFormula(src: string): Expr {
  if (typeof src !== 'string' || src.trim() === '') throw new SpotFusionError('GENICAM', 'formula is empty');
  if (src.length > MAX_FORMULA_LENGTH) throw new SpotFusionError('GENICAM', `formula is ${src.length} characters long, more than ${MAX_FORMULA_LENGTH}`);
  const toks = tokenize(src);
  let p = 0;
  // depth of every node built: a formula nested deeper than MAX_FORMULA_DEPTH is refused (no stack overflow)
  const depth = new WeakMap<Expr, number>();
  let open = 0;
  const mk = (e: Expr, at: number, ...kids: Expr[]): Expr => {
    const d = 1 + Math.max(0, ...kids.map((k) => depth.get(k) ?? 1));
    if (d > MAX_FORMULA_DEPTH) bad(src, at, `nested deeper than ${MAX_FORMULA_DEPTH} levels`);
    depth.set(e, d);
    return e;
  };
  const enter = (at: number): void => {
    open += 1;
    if (open > MAX_FORMULA_DEPTH) bad(src, at, `nested deeper than ${MAX_FORMULA_DEPTH} levels`);
  };
  const peek = (): Tok | undefined => toks[p];
  const isOp = (v: string): boolean => {
    const t = toks[p];
    return t !== undefined && t.t === 'op' && t.v === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) bad(src, toks[p]?.at ?? src.length, `expected "${v}"`);
    p++;
  };

  function ternary(): Expr {
    enter(peek()?.at ?? src.length);
    const c = binary(0);
    if (isOp('?')) {
      const at = (peek() as Tok).at;
      p++;
      const a = ternary();
      expect(':');
      const b = ternary();
      open -= 1;
      return mk({ k: 'cond', c, a, b }, at, c, a, b);
    }
    open -= 1;
    return c;
  }

  function binary(level: number): Expr {
    if (level >= BINARY.length) return unary();
    if (BINARY[level][0] === '**') {
      const base = unary();
      if (isOp('**')) {
        const at = (peek() as Tok).at;
        p++;
        enter(at);
        const exp = binary(level); // right associative
        open -= 1;
        return mk({ k: 'bin', op: '**', a: base, b: exp }, at, base, exp);
      }
      return base;
    }
    let left = binary(level + 1);
    for (;;) {
      const t = peek();
      if (!t || t.t !== 'op' || !BINARY[level].includes(t.v)) return left;
      p++;
      const right = binary(level + 1);
      left = mk({ k: 'bin', op: t.v, a: left, b: right }, t.at, left, right);
    }
  }

  function unary(): Expr {
    const t = peek();
    if (t && t.t === 'op' && (t.v === '-' || t.v === '+' || t.v === '~' || t.v === '!')) {
      p++;
      enter(t.at);
      const a = unary();
      open -= 1;
      return mk({ k: 'un', op: t.v, a }, t.at, a);
    }
    return primary();
  }

  function primary(): Expr {
    const t = peek();
    if (!t) bad(src, src.length, 'unexpected end');
    if (t.t === 'num') {
      p++;
      return { k: 'num', v: t.v };
    }
    if (t.t === 'op' && t.v === '(') {
      p++;
      const e = ternary();
      expect(')');
      return e;
    }
    if (t.t === 'id') {
      p++;
      const up = t.v.toUpperCase();
      if (isOp('(') && FUNCS.has(up)) {
        p++;
        const args: Expr[] = [];
        if (!isOp(')')) {
          args.push(ternary());
          while (isOp(',')) {
            p++;
            args.push(ternary());
          }
        }
        expect(')');
        return mk({ k: 'call', fn: up, args }, t.at, ...args);
      }
      if (t.v === 'PI') return { k: 'num', v: Math.PI };
      if (t.v === 'E') return { k: 'num', v: Math.E };
      return { k: 'var', name: t.v };
    }
    bad(src, t.at, `unexpected "${t.v}"`);
  }

  const e = ternary();
  if (p < toks.length) bad(src, toks[p].at, `unexpected "${(toks[p] as { v: unknown }).v as string}"`);
  return e;
}

/** every variable name a formula reads */
export function variablesOf(e: Expr, out = new Set<string>()): Set<string> {
  switch (e.k) {
    case 'var':
      out.add(e.name);
      break;
    case 'un':
      variablesOf(e.a, out);
      break;
    case 'bin':
      variablesOf(e.a, out);
      variablesOf(e.b, out);
      break;
    case 'cond':
      variablesOf(e.c, out);
      variablesOf(e.a, out);
      variablesOf(e.b, out);
      break;
    case 'call':
      e.args.forEach((a) => variablesOf(a, out));
      break;
    default:
      break;
  }
  return out;
}

const big = (v: number): bigint => {
  if (!Number.isFinite(v)) throw new SpotFusionError('GENICAM', `formula: bit operation on ${v}, which is not a finite number`);
  return BigInt.asIntN(64, BigInt(Math.trunc(v)));
};
/** 64-bit shift: a count of 64 or more shifts every bit out; a negative count is an error */
function shift(a: number, b: number, left: boolean): number {
  const x = big(a);
  const n = big(b);
  if (n < 0n) throw new SpotFusionError('GENICAM', `formula: shift by a negative count (${b})`);
  if (n > 63n) return left || x >= 0n ? 0 : -1;
  return fromBig(left ? x << n : x >> n);
}
const fromBig = (v: bigint): number => Number(BigInt.asIntN(64, v));

/** Evaluate; `integer` selects IntSwissKnife semantics (truncating division, 64-bit bit operations). */
export function evaluate(e: Expr, vars: (name: string) => number, integer = false): number {
  const ev = (x: Expr): number => evaluate(x, vars, integer);
  switch (e.k) {
    case 'num':
      return e.v;
    case 'var': {
      const v = vars(e.name);
      if (typeof v !== 'number' || Number.isNaN(v)) throw new SpotFusionError('GENICAM', `formula variable "${e.name}" has no numeric value`);
      return v;
    }
    case 'un': {
      const a = ev(e.a);
      if (e.op === '-') return -a;
      if (e.op === '+') return a;
      if (e.op === '!') return a ? 0 : 1;
      return fromBig(~big(a));
    }
    case 'cond':
      return ev(e.c) ? ev(e.a) : ev(e.b);
    case 'call': {
      const a = e.args.map(ev);
      const need = e.fn === 'ROUND' ? [1, 2] : [1, 1];
      if (a.length < need[0] || a.length > need[1]) throw new SpotFusionError('GENICAM', `${e.fn}() takes ${need[0] === need[1] ? need[0] : `${need[0]}–${need[1]}`} argument(s), got ${a.length}`);
      const x = a[0];
      switch (e.fn) {
        case 'SGN': return x > 0 ? 1 : x < 0 ? -1 : 0;
        case 'NEG': return -x;
        case 'ATAN': return Math.atan(x);
        case 'COS': return Math.cos(x);
        case 'SIN': return Math.sin(x);
        case 'TAN': return Math.tan(x);
        case 'ABS': return Math.abs(x);
        case 'EXP': return Math.exp(x);
        case 'LN': return Math.log(x);
        case 'LG': return Math.log10(x);
        case 'SQRT': return Math.sqrt(x);
        case 'TRUNC': return Math.trunc(x);
        case 'FLOOR': return Math.floor(x);
        case 'CEIL': return Math.ceil(x);
        case 'ASIN': return Math.asin(x);
        case 'ACOS': return Math.acos(x);
        default: {
          const f = 10 ** (a[1] ?? 0);
          return Math.round(x * f) / f;
        }
      }
    }
    case 'bin': {
      if (e.op === '&&') return ev(e.a) && ev(e.b) ? 1 : 0;
      if (e.op === '||') return ev(e.a) || ev(e.b) ? 1 : 0;
      const a = ev(e.a);
      const b = ev(e.b);
      switch (e.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/':
          if (integer) {
            if (b === 0) throw new SpotFusionError('GENICAM', 'integer division by zero in formula');
            return Math.trunc(a / b);
          }
          return a / b;
        case '%':
          if (b === 0 || (integer && big(b) === 0n)) throw new SpotFusionError('GENICAM', 'modulo by zero in formula');
          return integer ? fromBig(big(a) % big(b)) : a % b;
        case '**': return a ** b;
        case '&': return fromBig(big(a) & big(b));
        case '|': return fromBig(big(a) | big(b));
        case '^': return fromBig(big(a) ^ big(b));
        case '<<': return shift(a, b, true);
        case '>>': return shift(a, b, false);
        case '=': return a === b ? 1 : 0;
        case '<>': return a !== b ? 1 : 0;
        case '<': return a < b ? 1 : 0;
        case '>': return a > b ? 1 : 0;
        case '<=': return a <= b ? 1 : 0;
        default: return a >= b ? 1 : 0;
      }
    }
  }
}
