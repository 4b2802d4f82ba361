/**
 * The package's admin endpoints answer the same way: a handler is async, and whatever it throws becomes
 * `{ ok: false, code, error }` with a status from the error's code (never an unhandled rejection, never a hung
 * request). Used by the teach endpoints (teach-admin.ts) and the plant endpoints (plant-admin.ts).
 */
import type { NodeAPI } from 'node-red';
import type { Request, Response, RequestHandler } from 'express';
import { SpotFusionError, describeError } from '../lib/errors';

type Route = (path: string, ...h: RequestHandler[]) => void;
export interface AdminRoutes {
  app: { get: Route; post: Route; put: Route };
  /** RED.auth's checks for the read and the write permission */
  read: RequestHandler;
  write: RequestHandler;
}

/**
 * The admin app, once per app for each `registered` set (a module's routes are added once however many of its
 * node types load), with the permission checks; undefined when there is no admin server or the routes are in.
 */
export function adminRoutes(RED: NodeAPI, registered: WeakSet<object>, readPermission: string, writePermission: string): AdminRoutes | undefined {
  const app = RED.httpAdmin as unknown as AdminRoutes['app'] | undefined;
  if (!app || registered.has(app)) return undefined;
  registered.add(app);
  return {
    app,
    read: RED.auth.needsPermission(readPermission) as unknown as RequestHandler,
    write: RED.auth.needsPermission(writePermission) as unknown as RequestHandler,
  };
}

export type Handler = (req: Request, res: Response) => Promise<void>;

/** An error's HTTP status: bad requests 400, unknown ids 404, conflicts 409, oversized 413, invalid 422, a device that does not answer 504. */
export function statusOf(err: unknown): number {
  const code = (err as { code?: unknown }).code;
  if (code === 'NOT_FOUND') return 404;
  if (code === 'CONFLICT') return 409;
  if (code === 'TOO_LARGE') return 413;
  if (code === 'INVALID') return 422;
  if (code === 'TIMEOUT') return 504;
  if (code === 'MODEL' || code === 'NOT_CONNECTED') return 503;
  return 400;
}

/**
 * A refusal whose answer says more than its reason (the problems of an invalid plant, the messages of a failed
 * generation): wrap() adds `details` to the JSON beside ok, code and error.
 */
export class Refusal extends SpotFusionError {
  constructor(
    code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(code, message);
  }
}

export function wrap(handler: Handler): RequestHandler {
  return (req, res) => {
    // a handler that throws before its first await rejects here too
    Promise.resolve()
      .then(() => handler(req as Request, res as Response))
      .catch((err: unknown) => {
        if (res.headersSent) return;
        const details = err instanceof Refusal ? err.details : {};
        res.status(statusOf(err)).json({ ...details, ok: false, code: (err as { code?: string }).code ?? 'ERROR', error: describeError(err) });
      });
  };
}
