import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { CacheRequest, cacheRequest, needsValue, runCacheOp } from '../lib/redis/cache';
import { SpotFusionError } from '../lib/errors';
import { handleInputCallback } from '../shared/input';
import { errorStatus } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import { translator } from '../shared/i18n';
import type { RedisConfigNode } from '../spotfusion-redis-config/types';

interface RedisCacheDef extends NodeDef {
  redis: string;
  operation: string;
  key: string;
  field: string;
  ttl: string | number;
  valueProperty: string;
  outputProperty: string;
}

type Msg = NodeMessageInFlow & Record<string, unknown>;

function pick(nodeValue: unknown, msgValue: unknown): unknown {
  return nodeValue !== undefined && nodeValue !== '' ? nodeValue : msgValue;
}

/** A msg property named by a plain identifier ("payload") is read and written directly: RED.util parses the
 * expression on every call, which shows in the bench. Paths ("data.value", "a[0]") still go through RED.util. */
const PLAIN_PROPERTY = /^[A-Za-z_$][\w$]*$/;
const UNSAFE_PROPERTY = new Set(['__proto__', 'constructor', 'prototype']);

function isPlainProperty(name: string): boolean {
  return PLAIN_PROPERTY.test(name) && !UNSAFE_PROPERTY.has(name);
}

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);
  const tr = translator(RED);

  function RedisCache(this: Node, def: RedisCacheDef): void {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.redis) as RedisConfigNode | null;
    const valueProperty = def.valueProperty || 'payload';
    const outputProperty = def.outputProperty || 'payload';
    const plainValue = isPlainProperty(valueProperty);
    const plainOutput = isPlainProperty(outputProperty);
    const fixedOp = def.operation && def.operation !== 'msg' ? def.operation : undefined;
    const ttlDef = def.ttl === '' || def.ttl === undefined ? undefined : Number(def.ttl);

    if (!config) {
      this.status(errorStatus(tr('redis-cache.errors.noConfig')));
    } else {
      config.register(this);
    }

    function request(msg: NodeMessageInFlow): CacheRequest {
      const m = msg as Msg;
      // the node's settings win over the message's; only the resulting request is checked (by hand for the
      // usual shape, by the schema otherwise, which names the wrong field)
      const req = cacheRequest(pick(fixedOp, m.operation), pick(def.key, m.key ?? m.topic), pick(def.field, m.field), pick(ttlDef, m.ttl));
      if (needsValue(req.operation)) {
        const value = plainValue ? msg[valueProperty] : (RED.util.getMessageProperty(msg, valueProperty) as unknown);
        if (value === undefined) {
          throw new SpotFusionError('VALUE', tr('redis-cache.errors.noValue', { property: valueProperty, operation: req.operation }));
        }
        req.value = value;
      }
      return req;
    }

    handleInputCallback(this, (msg, send, ok, fail) => {
      if (!config) throw new SpotFusionError('CONFIG', tr('redis-cache.errors.noConfigNode'));
      const req = request(msg);
      const client = config.connection.client();
      runCacheOp(
        client,
        req,
        config.keyPrefix,
        config.valueFormat,
        (result) => {
          // runs in the reply's promise reaction: nothing may escape from here
          try {
            if (plainOutput) (msg as Msg)[outputProperty] = result;
            else RED.util.setMessageProperty(msg, outputProperty, result, true);
            send(msg);
          } catch (err) {
            fail(err);
            return;
          }
          ok();
        },
        fail,
      );
    }, config ? { okStatus: () => config.statusNow() } : {});

    this.on('close', (_removed: boolean, done: () => void) => {
      if (config) config.deregister(this, done);
      else done();
    });
  }

  RED.nodes.registerType('redis-cache', RedisCache);
};
