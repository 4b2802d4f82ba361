import type { NodeAPI } from 'node-red';
import type { Request, Response, RequestHandler } from 'express';
import { health } from '../lib/health';
import { registry } from '../lib/metrics';
import { describeError } from '../lib/errors';

const registered = new WeakSet<object>();

/** Permission the health and metrics endpoints ask for when adminAuth is on. */
export const READ_PERMISSION = 'spotfusion.read';

/**
 * GET /spotfusion/health and GET /spotfusion/metrics on the admin server (behind adminAuth when it is on).
 * Called by every node module of the package; registers once per admin app.
 */
export function ensureAdminRoutes(RED: NodeAPI): void {
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
