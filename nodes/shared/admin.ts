import type { NodeAPI } from 'node-red';
import type { Request, Response, RequestHandler } from 'express';
import { health } from '../lib/health';
import { registry } from '../lib/metrics';
import { describeError } from '../lib/errors';
import { ViewerGate, guardSocketIo } from '../lib/viewer-gate';
import { LoginThrottle, describeLoginEvent } from '../lib/login-throttle';
import { ensurePlantRoutes } from './plant-admin';

const registered = new WeakSet<object>();

/** Permission the health and metrics endpoints ask for when adminAuth is on. */
export const READ_PERMISSION = 'spotfusion.read';

/**
 * GET /spotfusion/health and GET /spotfusion/metrics on the admin server (behind adminAuth when it is on).
 * Called by every node module of the package; registers once per admin app.
 */
export function ensureAdminRoutes(RED: NodeAPI): void {
  ensureSocketIoGuard(RED);
  ensurePlantRoutes(RED);
  const throttle = spotfusionSettings(RED).loginThrottle as LoginThrottle | undefined;
  if (typeof throttle?.attachLog === 'function') throttle.attachLog((e) => RED.log.warn(describeLoginEvent(e)));
  const app = RED.httpAdmin as unknown as { get: (path: string, ...h: RequestHandler[]) => void } | undefined;
  if (!app || registered.has(app)) return;
  registered.add(app);
  const auth = RED.auth.needsPermission(READ_PERMISSION) as unknown as RequestHandler;

  app.get('/spotfusion/health', auth, (_req: Request, res: Response) => {
    const report = health.report();
    res.status(report.status === 'up' ? 200 : 503).json(report);
  });

  app.get('/spotfusion/metrics', auth, (_req: Request, res: Response) => {
    registry
      .metrics()
      .then((text) => {
        res.set('Content-Type', registry.contentType).send(text);
      })
      .catch((err: unknown) => {
        res.status(500).type('text/plain').send(`metrics failed: ${describeError(err)}`);
      });
  });
}

/**
 * The viewer gate of settings.ts (spotfusion.viewerGate) in front of Dashboard 2.0's socket.io, which Engine.IO
 * serves from the HTTP server itself, outside httpNodeAuth. Installed when the package loads, before the
 * server listens.
 */
function ensureSocketIoGuard(RED: NodeAPI): void {
  const gate = spotfusionSettings(RED).viewerGate;
  const server = (RED as unknown as { server?: import('node:http').Server }).server;
  // duck-typed: a settings file may load its own copy of the module
  if (!server || typeof (gate as ViewerGate | undefined)?.check !== 'function') return;
  guardSocketIo(server, gate as ViewerGate, (err) => RED.log.warn(`dashboard socket.io gate: ${describeError(err)}`));
}

/** The objects settings.ts hands to the package (settings.spotfusion). */
function spotfusionSettings(RED: NodeAPI): { viewerGate?: unknown; loginThrottle?: unknown } {
  return (RED.settings as unknown as { spotfusion?: { viewerGate?: unknown; loginThrottle?: unknown } }).spotfusion ?? {};
}
