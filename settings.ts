/**
 * Node-RED settings for SpotFusion Edge, secure by default. Every value comes from an environment variable
 * declared and validated in nodes/lib/runtime-config.ts; nothing secret lives here or in the flows.
 * Run: node-red --settings dist/settings.js   (npm start does this for a development run on loopback)
 */
import { join } from 'node:path';
import { loadRuntimeConfig, formatJsonLog, EnvError, RuntimeConfig } from './nodes/lib/runtime-config';

function load(): RuntimeConfig {
  try {
    return loadRuntimeConfig(process.env, join(__dirname, '..', '.userdir'));
  } catch (err) {
    if (err instanceof EnvError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

const cfg = load();

const logging: Record<string, unknown> =
  cfg.logFormat === 'json'
    ? {
        console: { level: 'off', metrics: false, audit: false },
        json: {
          level: cfg.logLevel,
          metrics: false,
          audit: true,
          handler: () => (msg: Record<string, unknown>) => {
            process.stdout.write(`${formatJsonLog(msg)}\n`);
          },
        },
      }
    : { console: { level: cfg.logLevel, metrics: false, audit: false } };

const settings = {
  uiHost: cfg.host,
  uiPort: cfg.port,
  userDir: cfg.userDir,
  flowFile: cfg.flowFile,
  flowFilePretty: true,
  // undefined in dev mode: Node-RED then keeps a generated key in the (git-ignored) user dir
  credentialSecret: cfg.credentialSecret,
  adminAuth: cfg.adminPasswordHash
    ? {
        type: 'credentials',
        users: [{ username: cfg.adminUser, password: cfg.adminPasswordHash, permissions: '*' }],
      }
    : undefined,
  // the dashboard, the image archive and every HTTP-in route (basic auth)
  httpNodeAuth: cfg.httpPasswordHash ? { user: cfg.httpUser, pass: cfg.httpPasswordHash } : undefined,
  logging,
  // no flow may reach into the process or install code at run time
  functionExternalModules: false,
  functionGlobalContext: {},
  exportGlobalContextKeys: false,
  externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
  diagnostics: { enabled: true, ui: false },
  runtimeState: { enabled: false, ui: false },
  telemetry: { enabled: false },
  editorTheme: {
    projects: { enabled: false },
    palette: { catalogues: [] },
    tours: false,
    header: { title: 'SpotFusion Edge' },
  },
  spotfusion: { devMode: cfg.devMode, logFormat: cfg.logFormat },
};

export = settings;
