import type { Node, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import { forgetNode, nodeMeter, NodeMeter } from '../lib/metrics';
import { describeError, toError } from '../lib/errors';
import { errorStatus, showStatus } from './status';

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type InputHandler = (msg: NodeMessageInFlow, send: Send) => Promise<void> | void;
/**
 * A handler that says when the message is done by calling ok() or fail(err) (once) instead of returning a
 * promise: saves the promise hops (bench/).
 */
export type CallbackInputHandler = (msg: NodeMessageInFlow, send: Send, ok: () => void, fail: (err: unknown) => void) => void;

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
  return listen(node, opts, (meter, outcome) => (msg, send, done) => {
    const started = meter.start();
    let result: Promise<void> | void;
    try {
      result = handler(msg, send);
    } catch (err) {
      outcome(started, done, err, true);
      return;
    }
    // one hop for a promise, none for a synchronous handler
    if (result && typeof result.then === 'function') {
      result.then(
        () => outcome(started, done, undefined, false),
        (err: unknown) => outcome(started, done, err, true),
      );
    } else outcome(started, done, undefined, false);
  });
}

/**
 * handleInput for a handler that reports through ok() / fail(err) rather than a promise (same metrics, errors
 * and status). The first of them counts: a later call is ignored, a throw after it is logged. A throw before
 * it fails the message.
 */
export function handleInputCallback(node: Node, handler: CallbackInputHandler, opts: InputOptions = {}): NodeMeter {
  return listen(node, opts, (meter, outcome) => (msg, send, done) => {
    const started = meter.start();
    let finished = false;
    const ok = (): void => {
      if (finished) return;
      finished = true;
      outcome(started, done, undefined, false);
    };
    const fail = (err: unknown): void => {
      if (finished) return;
      finished = true;
      outcome(started, done, err, true);
    };
    try {
      handler(msg, send, ok, fail);
    } catch (err) {
      if (finished) {
        // the message already succeeded or failed: log the late error rather than count the message twice
        node.error(`input handler threw after it finished the message: ${describeError(err)}`);
        return;
      }
      fail(err);
    }
  });
}

type Done = (err?: Error) => void;
type Outcome = (started: number, done: Done, err: unknown, failed: boolean) => void;
type InputListener = (msg: NodeMessageInFlow, send: Send, done: Done) => void;

function listen(node: Node, opts: InputOptions, makeListener: (meter: NodeMeter, outcome: Outcome) => InputListener): NodeMeter {
  const meter = nodeMeter(node);
  let failing = false;
  const outcome: Outcome = (started, done, err, failed) => {
    meter.finish(started, failed);
    if (failed) {
      const e = toError(err);
      failing = true;
      showStatus(node, errorStatus(describeError(e)));
      done(e);
      return;
    }
    if (failing && opts.okStatus) {
      failing = false;
      showStatus(node, opts.okStatus());
    }
    done();
  };
  node.on('input', makeListener(meter, outcome));
  // a redeployed node starts its series afresh (Prometheus handles counter resets); a removed one leaves none
  node.on('close', (_removed: boolean, done: () => void) => {
    forgetNode(node, meter);
    done();
  });
  return meter;
}

/**
 * Adds this node's stage time (ms since `startedNs`, from process.hrtime.bigint()) to msg.timings, which enrich
 * copies into the result's durations (docs/RESULTS.md). A msg.timings that is not an object is replaced.
 */
export function recordTiming(msg: object, stage: string, startedNs: bigint): number {
  const ms = Number(process.hrtime.bigint() - startedNs) / 1e6;
  const m = msg as { timings?: unknown };
  const t = m.timings;
  if (t !== null && typeof t === 'object' && !Array.isArray(t)) (t as Record<string, number>)[stage] = ms;
  else m.timings = { [stage]: ms };
  return ms;
}
