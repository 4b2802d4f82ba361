/**
 * The package's native addons (better-sqlite3, sharp, onnxruntime-node) are built for one Node.js. better-sqlite3
 * loads its addon only when the first database opens, so an addon built for another Node.js (NODE_MODULE_VERSION
 * mismatch after a Node.js upgrade) used to fail inside result-publish on the first part. Loading each addon once
 * at start-up (settings.js, and the registration of the nodes that use one) turns that into one line naming the
 * module and the command that rebuilds it.
 */
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { SpotFusionError, describeError } from './errors';

export const NATIVE_MODULES = ['better-sqlite3', 'sharp', 'onnxruntime-node'] as const;
export type NativeModule = (typeof NATIVE_MODULES)[number];

/** Load the module and its addon (better-sqlite3 opens an in-memory database: its addon loads lazily). */
function loadAddon(req: NodeJS.Require, name: NativeModule): void {
  const mod = req(name) as unknown;
  if (name === 'better-sqlite3') {
    const Database = mod as new (file: string) => { close(): void };
    new Database(':memory:').close();
  }
}

/** The folder that holds node_modules/<name> (where `npm rebuild <name>` must run), or undefined. */
function installRoot(req: NodeJS.Require, name: string): string | undefined {
  let file: string;
  try {
    file = req.resolve(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
  const marker = `${sep}node_modules${sep}${name}${sep}`;
  const at = file.lastIndexOf(marker);
  return at < 0 ? undefined : file.slice(0, at);
}

/**
 * One line per native module that does not load here: the module, the Node.js, the reason and the command that
 * fixes it. `from` is the file modules are resolved from (default: this package's own node_modules).
 */
export function nativeModuleProblems(names: readonly NativeModule[] = NATIVE_MODULES, from: string = __filename): string[] {
  const req = createRequire(from);
  const problems: string[] = [];
  for (const name of names) {
    try {
      loadAddon(req, name);
    } catch (err) {
      const root = installRoot(req, name);
      const reason = describeError(err).replace(/\s+/g, ' ').trim();
      const fix = root ? `run \`npm rebuild ${name}\` in ${root}` : 'run `npm install` where the package is installed';
      problems.push(`${name} does not load on Node.js ${process.version} (${reason}): ${fix}`);
    }
  }
  return problems;
}

/** Throw one SpotFusionError (code NATIVE_MODULE) listing every native module of names that does not load. */
export function assertNativeModules(names: readonly NativeModule[] = NATIVE_MODULES, from?: string): void {
  const problems = nativeModuleProblems(names, from);
  if (problems.length > 0) throw new SpotFusionError('NATIVE_MODULE', problems.join('\n'));
}
