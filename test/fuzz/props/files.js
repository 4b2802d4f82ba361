'use strict';
// Files a station reads or is given: recipe sets, model metadata, ONNX model files, flow files, and the
// InspectionResult a result-publish node accepts. Valid documents are mutated (fields deleted, replaced by
// anything, wrong types, deep nesting) and random values are tried: every outcome is a value or our error
// naming the field.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseRecipeSet, RecipeBook } = require('../../../dist/nodes/lib/vision/recipe');
const { validateMetadata, preprocessOf } = require('../../../dist/nodes/lib/vision/metadata');
const { loadModel } = require('../../../dist/nodes/lib/vision/model');
const { checkFlow } = require('../../../dist/nodes/lib/deploy/flow-check');
const { assertValid, SchemaError } = require('../../../dist/nodes/lib/schemas');
const { enrich, checkIdentity } = require('../../../dist/nodes/lib/result/enrich');
const { parseRules } = require('../../../dist/nodes/lib/result/verdict');
const { SpotFusionError } = require('../../../dist/nodes/lib/errors');
const { expectOwnError } = require('../own-error');
const { toStringMethod: fcToString } = require('fast-check');

const ROOT = path.join(__dirname, '..', '..', '..');
const DEMO = path.join(ROOT, 'models', 'demo');
const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));

/** Paths (arrays of keys) of every node of a JSON value. */
function pathsOf(v, at = [], out = []) {
  out.push(at);
  if (at.length > 12) return out;
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...at, k], out);
  return out;
}

function mutate(doc, edits) {
  const copy = structuredClone(doc);
  // deep nesting (a stack-depth attack) is applied last, so the other edits never walk it
  const ordered = [...edits.filter((e) => e.kind !== 'deep'), ...edits.filter((e) => e.kind === 'deep').slice(0, 1)];
  for (const { pick, kind, value } of ordered) {
    const all = pathsOf(copy).filter((p) => p.length > 0);
    if (all.length === 0) break;
    const p = all[pick % all.length];
    const parent = p.slice(0, -1).reduce((o, k) => o[k], copy);
    const key = p[p.length - 1];
    if (kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key, 1);
      else delete parent[key];
    } else if (kind === 'deep') {
      let d = value;
      for (let i = 0; i < 5000; i++) d = [d];
      // fast-check prints counterexamples recursively: give the tower a short name of its own
      Object.defineProperty(d, fcToString, { value: () => '[…5000 nested arrays…]' });
      parent[key] = d;
    } else if (kind === 'proto') {
      Object.defineProperty(parent, '__proto__', { value, enumerable: true, writable: true, configurable: true });
    } else parent[key] = value;
  }
  return copy;
}

function editsArb(fc) {
  const value = fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom(null, '', -1, 0, 1e308, NaN, Infinity, 'x'.repeat(2000), [], {}, true));
  return fc.array(fc.record({ pick: fc.nat(), kind: fc.constantFrom('set', 'set', 'set', 'delete', 'delete', 'deep', 'proto'), value }), { minLength: 1, maxLength: 4 });
}

function checkSchemaError(err, codes, where) {
  expectOwnError(err, SpotFusionError, codes, where);
  if (err instanceof SchemaError) {
    if (!err.problems.length || err.problems.some((p) => typeof p !== 'string' || p === '')) throw new Error(`${where}: SchemaError without problems`);
  }
}

async function recipes({ fc, params, progress }) {
  const base = readJson(path.join(DEMO, 'recipe-demo-station.json'));
  fc.assert(
    fc.property(fc.oneof({ weight: 4, arbitrary: editsArb(fc).map((e) => mutate(base, e)) }, { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) }), fc.anything({ maxDepth: 1 }), (doc, program) => {
      progress(doc);
      try {
        const book = RecipeBook.parse(doc, 'recipes.json');
        try {
          book.get(program);
        } catch (err) {
          expectOwnError(err, SpotFusionError, ['RECIPE'], 'RecipeBook.get');
        }
        parseRecipeSet(doc);
      } catch (err) {
        checkSchemaError(err, ['SCHEMA', 'RECIPE'], 'parseRecipeSet');
        if (!err.message.includes('recipes.json')) throw new Error(`error does not name the file: ${err.message}`);
      }
    }),
    params,
  );
}

async function metadata({ fc, params, progress }) {
  const base = readJson(path.join(DEMO, 'spotfusion-demo.json'));
  fc.assert(
    fc.property(fc.oneof({ weight: 4, arbitrary: editsArb(fc).map((e) => mutate(base, e)) }, { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) }), (doc) => {
      progress(doc);
      try {
        const meta = validateMetadata(doc, 'model.json');
        const pre = preprocessOf(meta);
        if (!(pre.width > 0 && pre.height > 0)) throw new Error(`valid metadata gave ${pre.width}×${pre.height}`);
      } catch (err) {
        checkSchemaError(err, ['SCHEMA', 'MODEL'], 'validateMetadata');
      }
    }),
    params,
  );
}

/** Model files replaced by garbage, truncated or bit-flipped: loadModel fails with a MODEL error, never a crash. */
async function modelFiles({ fc, params, progress }) {
  const onnx = fs.readFileSync(path.join(DEMO, 'spotfusion-demo.onnx'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-fuzz-model-'));
  fs.copyFileSync(path.join(DEMO, 'spotfusion-demo.json'), path.join(dir, 'm.json'));
  const file = path.join(dir, 'm.onnx');
  let loaded = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)),
          fc.nat(onnx.length).map((n) => onnx.subarray(0, n)),
          fc.array(fc.tuple(fc.nat(onnx.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 16 }).map((flips) => {
            const b = Buffer.from(onnx);
            for (const [at, x] of flips) b[at] ^= x;
            return b;
          }),
        ),
        async (bytes) => {
          progress(`${bytes.length} bytes`);
          fs.writeFileSync(file, bytes);
          try {
            const m = await loadModel(file);
            loaded += 1;
            await m.release?.();
          } catch (err) {
            expectOwnError(err, SpotFusionError, ['MODEL'], 'loadModel');
          }
        },
      ),
      params,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { loaded };
}

async function flows({ fc, params, progress }) {
  const base = readJson(path.join(ROOT, 'flows', fs.existsSync(path.join(ROOT, 'flows', 'station.json')) ? 'station.json' : 'demo.json'));
  const known = { types: new Set(['plc-read', 'camera-grab', 'crop', 'infer', 'enrich', 'result-publish']), refs: { 'plc-read': { plc: 'plc-config' } } };
  fc.assert(
    fc.property(fc.oneof({ weight: 4, arbitrary: editsArb(fc).map((e) => mutate(base, e)) }, { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) }), (doc) => {
      progress(doc);
      const r = checkFlow(doc, 'f.json', known);
      if (!Array.isArray(r.problems) || r.problems.some((p) => typeof p.where !== 'string' || !p.where.startsWith('f.json') || typeof p.message !== 'string' || p.message === '')) {
        throw new Error(`bad report ${JSON.stringify(r.problems).slice(0, 300)}`);
      }
    }),
    params,
  );
}

async function inspectionResult({ fc, params, progress }) {
  const base = enrich(
    {
      part: { serial: 'WB-1', program: 7 },
      plc: { station: 'ST10', readAt: '2026-01-02T03:04:05.000Z', cycle: 42 },
      frame: { cameraId: 'cam1', frameId: 9, width: 64, height: 48, pixelFormat: 'Mono8' },
      crops: [{ spotId: 's1', box: { x: 1, y: 2, w: 10, h: 10, rotation: 0 }, index: 0 }],
      predictions: [{ spotId: 's1', label: 'ok', score: 0.97 }],
      model: { name: 'spotnet', version: '1.2.0' },
    },
    parseRules(undefined),
    checkIdentity({ line: 'L1', area: 'body', station: 'ST10', camera: '' }),
    { now: () => new Date('2026-01-02T03:04:05.678Z'), newId: () => '123e4567-e89b-42d3-a456-426614174000' },
  );
  assertValid('inspection-result', base, 'msg.payload');
  fc.assert(
    fc.property(fc.oneof({ weight: 4, arbitrary: editsArb(fc).map((e) => mutate(base, e)) }, { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) }), (doc) => {
      progress(doc);
      try {
        assertValid('inspection-result', doc, 'msg.payload');
        JSON.stringify(doc);
      } catch (err) {
        checkSchemaError(err, ['SCHEMA'], 'assertValid');
        if (!err.problems.every((p) => p.startsWith('msg.payload'))) throw new Error(`a problem does not name the field: ${err.problems.join('; ')}`);
      }
    }),
    params,
  );
}

module.exports = { recipes, metadata, modelFiles, flows, inspectionResult };
