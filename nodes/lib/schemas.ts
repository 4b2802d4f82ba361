import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpotFusionError } from './errors';

/**
 * The package's message schemas: JSON Schema files in nodes/schemas/, one per message shape, compiled once
 * per process by one ajv instance and checked where a message enters a node. Compilation happens on first
 * use of a schema, from the schema files the package ships (never from message data).
 */
const SCHEMA_DIR = join(__dirname, '..', 'schemas');

export type SchemaName =
  | 'redis-cache-input'
  | 'recipe-set'
  | 'model-metadata'
  | 'vision-batch'
  | 'vision-crops'
  | 'vision-predictions'
  | 'inspection-result'
  | 'verdict-rules'
  | 'plc-write-input'
  | 'plant';

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const compiled = new Map<SchemaName, ValidateFunction>();

function validator(name: SchemaName): ValidateFunction {
  let fn = compiled.get(name);
  if (!fn) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, `${name}.schema.json`), 'utf8')) as object;
    fn = ajv.compile(schema);
    compiled.set(name, fn);
  }
  return fn;
}

/** "msg.payload.spots[3].score must be number" style text for one ajv error. */
export function formatSchemaError(err: ErrorObject, root: string): string {
  const path = root + err.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  switch (err.keyword) {
    case 'required':
      return `${path}.${String(err.params.missingProperty)} is required`;
    case 'additionalProperties':
      return `${path}.${String(err.params.additionalProperty)} is not allowed`;
    case 'enum':
      return `${path} must be one of ${(err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'if':
      return '';
    default:
      return `${path} ${err.message ?? 'is invalid'}`;
  }
}

export class SchemaError extends SpotFusionError {
  readonly problems: string[];
  constructor(schema: SchemaName, problems: string[]) {
    super('SCHEMA', `invalid ${schema}: ${problems.join('; ')}`);
    this.name = 'SchemaError';
    this.problems = problems;
  }
}

/** Throws a SchemaError that names every wrong field; returns the value typed as T when it is valid. */
export function assertValid<T>(name: SchemaName, value: unknown, root = 'msg'): T {
  const fn = validator(name);
  if (fn(value)) return value as T;
  const problems = [...new Set((fn.errors ?? []).map((e) => formatSchemaError(e, root)).filter((s) => s !== ''))];
  throw new SchemaError(name, problems.length ? problems : ['does not match the schema']);
}
