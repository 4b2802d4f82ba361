/**
 * Node-RED settings for SpotFusion Edge, secure by default. Every value comes from an environment variable
 * declared and validated in nodes/lib/runtime-config.ts; nothing secret lives here or in the flows.
 * Run: node-red --settings dist/settings.js   (npm start does this for a development run on loopback)
 */
import { join } from 'node:path';
import { loadRuntimeConfig, formatJsonLog, EnvError, RuntimeConfig } from './nodes/lib/runtime-config';
import { nativeModuleProblems } from './nodes/lib/native';
import { readTokenAuth } from './nodes/lib/read-token';
import { ViewerGate } from './nodes/lib/viewer-gate';
import { LoginThrottle } from './nodes/lib/login-throttle';
import { httpsOptions, plainHttpWarning } from './nodes/lib/tls-settings';
import { describeMemoryBounds } from './nodes/lib/memory';
import { devNodeModules } from './nodes/lib/dev-modules';

function load(): RuntimeConfig & { readTokens: ReturnType<typeof readTokenAuth> } {
  try {
    return { ...loadRuntimeConfig(process.env, join(__dirname, '..', '.userdir')), readTokens: readTokenAuth(process.env) };
  } catch (err) {
    if (err instanceof EnvError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

const cfg = load();

// a native addon built for another Node.js (after a Node.js upgrade without `npm rebuild`) stops the start here,
// with the module and the command that rebuilds it, instead of failing inside a node on the first part
const nativeProblems = nativeModuleProblems();
if (nativeProblems.length > 0) {
  process.stderr.write(`${nativeProblems.join('\n')}\n`);
  process.exit(78); // EX_CONFIG
}
const warning = plainHttpWarning(cfg);
if (warning) process.stderr.write(`${warning}\n`);
// a production start without the memory bounds of the service unit and the image says which are missing
const memoryBounds = describeMemoryBounds(process.env, process.execArgv);
if (process.env.NODE_ENV === 'production' && memoryBounds.includes('not set')) process.stderr.write(`${memoryBounds}\n`);

// the viewer login and the kiosk addresses: one gate for the HTTP node routes and the dashboard's socket.io
const viewerGate =
  cfg.httpPasswordHash || cfg.kioskAddresses.length
    ? new ViewerGate({ user: cfg.httpUser, passwordHash: cfg.httpPasswordHash, kioskAddresses: cfg.kioskAddresses })
    : undefined;

// wrong admin passwords are answered (and counted) per client address before Node-RED's per-user limit sees them
const loginThrottle = cfg.adminPasswordHash ? new LoginThrottle({ user: cfg.adminUser, passwordHash: cfg.adminPasswordHash }) : undefined;

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
  // HTTPS for everything this server answers when SPOTFUSION_TLS_CERT/_KEY are set (client certificates with _CA)
  https: httpsOptions(cfg),
  userDir: cfg.userDir,
  flowFile: cfg.flowFile,
  flowFilePretty: true,
  // undefined in dev mode: Node-RED then keeps a generated key in the (git-ignored) user dir
  credentialSecret: cfg.credentialSecret,
  adminAuth: cfg.adminPasswordHash
    ? {
        type: 'credentials',
        users: [{ username: cfg.adminUser, password: cfg.adminPasswordHash, permissions: '*' }],
        // SPOTFUSION_READ_TOKEN: health and metrics only (nodes/lib/read-token.ts)
        ...(cfg.readTokens ? { tokens: cfg.readTokens } : {}),
      }
    : undefined,
  httpAdminMiddleware: loginThrottle?.middleware,
  // the dashboard, the image archive and every HTTP-in route (basic auth, or a kiosk address); the nodes of
  // this package put the same gate in front of the dashboard's socket.io (spotfusion.viewerGate)
  httpNodeAuth: viewerGate?.middleware,
  logging,
  // no flow may reach into the process or install code at run time
  functionExternalModules: false,
  functionGlobalContext: {},
  // the node modules among our devDependencies (benchmark baselines) stay out of the palette of a working-tree start
  nodesExcludes: devNodeModules(join(__dirname, '..')),
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
  spotfusion: { devMode: cfg.devMode, logFormat: cfg.logFormat, viewerGate, loginThrottle },
};

export = settings;
