import type { Node, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import { forgetNode, nodeMeter, NodeMeter } from '../lib/metrics';
import { describeError, toError } from '../lib/errors';
import { errorStatus } from './status';

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type InputHandler = (msg: NodeMessageInFlow, send: Send) => Promise<void> | void;

/**
 * The one input path of every SpotFusion node: counts and times each message, turns any failure into
 * done(err) (so Catch nodes see it) plus a red status naming the error, and never lets an exception or a
 * rejected promise escape into the runtime.
 */
export interface InputOptions {
  /** status to show again after a success that follows a failure (e.g. the connection's status) */
  okStatus?: () => NodeStatus;
}

/**
 * Returns the node's meter, so a node that also emits messages of its own (a camera that triggers itself)
 * can count them on the same series.
 */
export function handleInput(node: Node, handler: InputHandler, opts: InputOptions = {}): NodeMeter {
  const meter = nodeMeter(node);
  let failing = false;
  node.on('input', (msg: NodeMessageInFlow, send: Send, done: (err?: Error) => void) => {
    const started = meter.start();
    let result: Promise<void> | void;
    const fail = (err: unknown): void => {
      meter.finish(started, true);
      const e = toError(err);
      failing = true;
      node.status(errorStatus(describeError(e)));
      done(e);
    };
    try {
      result = handler(msg, send);
    } catch (err) {
      fail(err);
      return;
    }
    const ok = (): void => {
      meter.finish(started, false);
      if (failing && opts.okStatus) {
        failing = false;
        node.status(opts.okStatus());
      }
      done();
    };
    // one hop for a promise, none for a synchronous handler
    if (result && typeof result.then === 'function') result.then(ok, fail);
    else ok();
  });
  // a redeployed node starts its series afresh (Prometheus handles counter resets); a removed one leaves none
  node.on('close', (_removed: boolean, done: () => void) => {
    forgetNode(node, meter);
    done();
  });
  return meter;
}
