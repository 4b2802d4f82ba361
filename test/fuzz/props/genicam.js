'use strict';
// Properties of the GenICam formula parser/evaluator and of the node map (XML → features), run by
// test/fuzz/genicam.test.js in a worker (see ../harness.js).
const { parseFormula, evaluate, variablesOf, MAX_FORMULA_DEPTH } = require('../../../dist/nodes/lib/camera/genicam/expression');
const { NodeMap } = require('../../../dist/nodes/lib/camera/genicam/nodemap');
const { SpotFusionError } = require('../../../dist/nodes/lib/errors');
const { expectOwnError } = require('../own-error');

const TOKENS = ['(', ')', '+', '-', '*', '/', '%', '**', '&', '|', '^', '~', '!', '<<', '>>', '=', '<>', '<', '>', '<=', '>=', '&&', '||', '?', ':', ',',
  '0', '1', '7', '63', '64', '1000000000000', '0x1F', '0xFFFFFFFFFFFFFFFF', '0b101', '.5', '1e308', '2.5e-3', '1.', 'PI', 'E',
  'X', 'Y', 'Z', 'TO', 'FROM', 'SIN', 'COS', 'ROUND', 'SQRT', 'LN', 'ABS', 'TRUNC', 'SGN', 'NEG', 'unknown_fn', 'a.b', ' ', '@', '#', '"', '$', '.'];

function formulaArb(fc) {
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(' ')) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join('')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    // nesting far beyond the limit: parenthesis, unary and right-associative towers, long flat chains
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('(', '-', '!', '~', '1**', '1+', 'X?1:')).map(([n, t]) => (t === '(' ? `${'('.repeat(n)}1${')'.repeat(n)}` : `${t.repeat(n)}1`)) },
  );
}

const numArb = (fc) => fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 2 ** 63, -(2 ** 63), 1e308, Infinity, -Infinity, NaN, 0.5));

/** A formula parses into a tree (depth-limited) or fails with a GENICAM error; evaluation gives a number or a GENICAM error. */
async function formula({ fc, params, progress }) {
  let parsed = 0;
  fc.assert(
    fc.property(formulaArb(fc), fc.dictionary(fc.constantFrom('X', 'Y', 'Z', 'TO', 'FROM', 'a.b'), numArb(fc)), fc.boolean(), (src, vars, integer) => {
      progress({ src, vars, integer });
      let e;
      try {
        e = parseFormula(src);
      } catch (err) {
        expectOwnError(err, SpotFusionError, ['GENICAM'], `parseFormula(${JSON.stringify(src.slice(0, 80))})`);
        if (!/formula/.test(err.message)) throw new Error(`error does not say it is about the formula: ${err.message}`);
        return;
      }
      parsed += 1;
      variablesOf(e);
      try {
        const v = evaluate(e, (name) => vars[name], integer);
        if (typeof v !== 'number') throw new Error(`evaluate returned ${typeof v}`);
      } catch (err) {
        expectOwnError(err, SpotFusionError, ['GENICAM'], `evaluate(${JSON.stringify(src.slice(0, 80))})`);
      }
    }),
    params,
  );
  // a formula exactly at the limit still parses; one level more is refused with a clear message
  parseFormula(`${'('.repeat(MAX_FORMULA_DEPTH - 1)}1${')'.repeat(MAX_FORMULA_DEPTH - 1)}`);
  try {
    parseFormula(`${'('.repeat(MAX_FORMULA_DEPTH + 1)}1${')'.repeat(MAX_FORMULA_DEPTH + 1)}`);
    throw new Error('a formula nested beyond the limit parsed');
  } catch (err) {
    expectOwnError(err, SpotFusionError, ['GENICAM'], 'deep formula');
  }
  return { parsed };
}

// ---------------------------------------------------------------- node maps

const NAMES = ['A', 'B', 'C', 'D', 'Root'];
const KINDS = ['IntReg', 'MaskedIntReg', 'FloatReg', 'StringReg', 'Register', 'Integer', 'Float', 'Boolean', 'Enumeration', 'Command', 'String',
  'Converter', 'IntConverter', 'SwissKnife', 'IntSwissKnife', 'Category', 'Port', 'StructReg', 'Group', 'Unknown'];
const NUMS = ['0', '1', '4', '8', '-1', '0x10', '0xFFFFFFFF', '1.5', '1e12', '65537', 'abc', '', ' 2 ', '+3', '-0x2'];

function fieldArb(fc) {
  const ref = fc.constantFrom(...NAMES, 'Nope');
  const num = fc.constantFrom(...NUMS);
  return fc.oneof(
    fc.tuple(fc.constantFrom('Address', 'Length', 'Value', 'Min', 'Max', 'Inc', 'Bit', 'LSB', 'MSB', 'OnValue', 'OffValue', 'CommandValue'), num),
    fc.tuple(fc.constantFrom('pValue', 'pAddress', 'pLength', 'pMin', 'pMax', 'pInc', 'pIsAvailable', 'pIsLocked', 'pIsImplemented', 'pInvalidator', 'pFeature', 'pCommandValue', 'pSelected'), ref),
    fc.tuple(fc.constantFrom('AccessMode'), fc.constantFrom('RW', 'RO', 'WO', 'rw', 'XX')),
    fc.tuple(fc.constantFrom('Endianess'), fc.constantFrom('LittleEndian', 'BigEndian', 'Middle')),
    fc.tuple(fc.constantFrom('Sign'), fc.constantFrom('Signed', 'Unsigned')),
    fc.tuple(fc.constantFrom('Cachable'), fc.constantFrom('NoCache', 'WriteThrough', 'WriteAround')),
    fc.tuple(fc.constantFrom('Formula', 'FormulaTo', 'FormulaFrom'), formulaArb(fc).map((s) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]))),
    fc.tuple(fc.constantFrom('pVariable', 'Constant', 'Expression'), fc.tuple(fc.constantFrom('X', 'TO', 'FROM'), fc.constantFrom(...NAMES, '1', 'X * 2'))),
    fc.tuple(fc.constantFrom('pIndex'), fc.tuple(ref, fc.constantFrom('', 'Offset="4"', 'Offset="zz"', 'pOffset="A"'))),
    fc.tuple(fc.constantFrom('EnumEntry', 'StructEntry'), fc.tuple(fc.constantFrom(...NAMES, 'E1'), num, fc.option(ref))),
  );
}

function fieldXml([tag, v]) {
  if (tag === 'pVariable' || tag === 'Constant' || tag === 'Expression') return `<${tag} Name="${v[0]}">${v[1]}</${tag}>`;
  if (tag === 'pIndex') return `<pIndex ${v[1]}>${v[0]}</pIndex>`;
  if (tag === 'EnumEntry') return `<EnumEntry Name="${v[0]}"><Value>${v[1]}</Value>${v[2] ? `<pIsAvailable>${v[2]}</pIsAvailable>` : ''}</EnumEntry>`;
  if (tag === 'StructEntry') return `<StructEntry Name="${v[0]}"><LSB>${v[1]}</LSB><MSB>${v[1]}</MSB></StructEntry>`;
  return `<${tag}>${v}</${tag}>`;
}

function xmlArb(fc) {
  const node = fc.record({ kind: fc.constantFrom(...KINDS), name: fc.constantFrom(...NAMES), fields: fc.array(fieldArb(fc), { maxLength: 8 }) });
  return fc.array(node, { minLength: 1, maxLength: 6 }).map((nodes) => {
    const body = nodes.map((n) => `<${n.kind} Name="${n.name}">${n.fields.map(fieldXml).join('')}</${n.kind}>`).join('\n');
    return `<?xml version="1.0"?>\n<RegisterDescription ModelName="Fuzz" VendorName="SpotFusion">\n${body}\n</RegisterDescription>`;
  });
}

const NODEMAP_CODES = ['GENICAM', 'NOT_AVAILABLE', 'LOCKED', 'RANGE'];

function memoryPort(seed) {
  const mem = Buffer.alloc(4096);
  for (let i = 0; i < mem.length; i++) mem[i] = (i * 131 + seed) & 0xff;
  return {
    async read(address, length) {
      const out = Buffer.alloc(length);
      mem.copy(out, 0, Math.max(0, Math.min(mem.length, address % mem.length)));
      return out;
    },
    async write() {},
  };
}

/** Any generated node map: construction and every operation on every name end in a value or one of our errors. */
async function nodemap({ fc, params, progress }) {
  let built = 0;
  await fc.assert(
    fc.asyncProperty(xmlArb(fc), fc.integer({ min: 0, max: 255 }), fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.double(), fc.boolean(), fc.constantFrom('On', 'E1', 'text', '')), async (xml, seed, value) => {
      progress(xml);
      let nm;
      try {
        nm = new NodeMap(xml, memoryPort(seed));
      } catch (err) {
        expectOwnError(err, SpotFusionError, ['GENICAM'], 'new NodeMap');
        return;
      }
      built += 1;
      nm.features('Root');
      for (const name of [...nm.names(), 'Nope']) {
        const ops = [() => nm.get(name), () => nm.set(name, value), () => nm.isWritable(name), () => nm.isAvailable(name), () => nm.range(name), () => nm.entries(name), () => nm.execute(name)];
        for (const op of ops) {
          try {
            await op();
          } catch (err) {
            expectOwnError(err, SpotFusionError, NODEMAP_CODES, `${name} in\n${xml}\n`);
          }
        }
      }
    }),
    params,
  );
  return { built };
}

/** Raw XML: random edits of a valid description, and random text, never throw anything but a GENICAM error. */
async function rawXml({ fc, params, progress }) {
  const base = `<?xml version="1.0"?><RegisterDescription ModelName="M" VendorName="V"><Integer Name="W"><pValue>R</pValue><Min>8</Min></Integer><IntReg Name="R"><Address>0x100</Address><Length>4</Length></IntReg><Category Name="Root"><pFeature>W</pFeature></Category></RegisterDescription>`;
  const edit = fc.tuple(fc.nat(base.length), fc.nat(8), fc.string({ maxLength: 8 }));
  fc.assert(
    fc.property(fc.oneof(fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => edits.reduce((s, [at, del, ins]) => s.slice(0, at) + ins + s.slice(at + del), base)), fc.string({ maxLength: 200 })), (xml) => {
      progress(xml);
      try {
        new NodeMap(xml, memoryPort(0)).features('Root');
      } catch (err) {
        expectOwnError(err, SpotFusionError, ['GENICAM'], 'new NodeMap');
      }
    }),
    params,
  );
}

module.exports = { formula, nodemap, rawXml };
