/**
 * This package's devDependencies include Node-RED node modules kept as benchmark baselines
 * (node-red-contrib-cip-ethernet-ip, node-red-contrib-redis). Node-RED scans every node_modules folder above its
 * own install, so a start from the working tree (`npm start`) found them and showed their "plc" and "Redis"
 * palette categories beside ours. settings.ts lists them in nodesExcludes (Node-RED matches module folder names
 * there). Only devDependencies actually installed in this package's own node_modules count: an installed
 * package has none, so a module a user installs on purpose is never hidden.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface PackageJson {
  name?: string;
  devDependencies?: Record<string, string>;
  'node-red'?: { nodes?: Record<string, string> };
}

function readPackage(file: string): PackageJson | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as PackageJson;
}

/** Names of the devDependencies of the package at `root` that are Node-RED node modules installed under root/node_modules. */
export function devNodeModules(root: string): string[] {
  const own = readPackage(join(root, 'package.json'));
  return Object.keys(own?.devDependencies ?? {}).filter((name) => {
    const pkg = readPackage(join(root, 'node_modules', name, 'package.json'));
    return pkg?.['node-red']?.nodes !== undefined && Object.keys(pkg['node-red'].nodes).length > 0;
  });
}
