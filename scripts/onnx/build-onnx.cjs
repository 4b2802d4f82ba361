'use strict';
// Write ONNX ModelProto bytes from a small JS description, with protobufjs and our own .proto subset
// (onnx-subset.proto). Used by the tests (hand-built graphs) and the demo-model exporter. Dev-only: the
// runtime never builds graphs.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const protobuf = require('protobufjs');

const root = protobuf.parse(readFileSync(join(__dirname, 'onnx-subset.proto'), 'utf8'), { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');
const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 };

/** A float tensor initializer: raw little-endian bytes. */
function floatTensor(name, dims, values) {
  const arr = Float32Array.from(values);
  const size = dims.reduce((a, b) => a * b, 1);
  if (arr.length !== size) throw new Error(`initializer ${name}: ${arr.length} values for dims [${dims}]`);
  return { name, dims, data_type: FLOAT, raw_data: Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength) };
}

function int64Tensor(name, dims, values) {
  return { name, dims, data_type: INT64, int64_data: values };
}

/** ValueInfo for a float tensor; a string dim is symbolic, -1 or null is unknown. */
function valueInfo(name, shape, elemType = FLOAT) {
  const dim = shape.map((d) => (typeof d === 'string' ? { dim_param: d } : d === null || d === -1 ? {} : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } } };
}

/**
 * attribute from a JS value: integer → INT, number → FLOAT, string → STRING, number[] → INTS or FLOATS;
 * { f: 1 } forces FLOAT and { floats: [1, 2] } FLOATS for values that happen to be whole numbers.
 */
function attribute(name, value) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('f' in value) return { name, type: ATTR.FLOAT, f: value.f };
    if ('floats' in value) return { name, type: ATTR.FLOATS, floats: value.floats };
    throw new Error(`attribute ${name}: unsupported value ${JSON.stringify(value)}`);
  }
  if (Array.isArray(value)) {
    return value.every(Number.isInteger) ? { name, type: ATTR.INTS, ints: value } : { name, type: ATTR.FLOATS, floats: value };
  }
  if (typeof value === 'string') return { name, type: ATTR.STRING, s: Buffer.from(value) };
  if (Number.isInteger(value)) return { name, type: ATTR.INT, i: value };
  return { name, type: ATTR.FLOAT, f: value };
}

function node(opType, inputs, outputs, attrs = {}, name) {
  return {
    op_type: opType,
    input: inputs,
    output: outputs,
    name: name || `${opType}_${outputs[0]}`,
    attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
  };
}

/**
 * buildModel({ inputs: [valueInfo], outputs: [valueInfo], nodes: [node], initializers: [tensor], opset, name })
 * → Buffer with the serialised ModelProto.
 */
function buildModel({ inputs, outputs, nodes, initializers = [], opset = 13, name = 'graph', producer = 'spotfusion-tests', metadata = {} }) {
  const model = {
    ir_version: 8,
    producer_name: producer,
    producer_version: '1',
    opset_import: [{ domain: '', version: opset }],
    graph: { name, node: nodes, initializer: initializers, input: inputs, output: outputs },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value: String(value) })),
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ModelProto: ${err}`);
  return Buffer.from(ModelProto.encode(ModelProto.fromObject(model)).finish());
}

function decodeModel(bytes) {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Buffer, defaults: false });
}

module.exports = { buildModel, decodeModel, floatTensor, int64Tensor, valueInfo, node, FLOAT, INT64 };
