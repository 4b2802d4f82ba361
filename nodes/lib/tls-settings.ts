/**
 * HTTPS for the one server Node-RED opens (editor, admin API, dashboard and its socket.io, archive, HTTP-in
 * routes): Node-RED's `https` setting from SPOTFUSION_TLS_CERT / _KEY, and client certificates required when
 * SPOTFUSION_TLS_CA is set. runtime-config.ts checks the variables; this reads the files.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { isLoopbackHost, type RuntimeConfig } from './runtime-config';

type TlsConfig = Pick<RuntimeConfig, 'host' | 'tlsCert' | 'tlsKey' | 'tlsCa' | 'allowPlainHttp'>;

/** Node-RED's `https` setting, or undefined for plain HTTP. */
export function httpsOptions(cfg: TlsConfig): ServerOptions | undefined {
  if (!cfg.tlsCert || !cfg.tlsKey) return undefined;
  return {
    cert: readFileSync(cfg.tlsCert),
    key: readFileSync(cfg.tlsKey),
    minVersion: 'TLSv1.2',
    ...(cfg.tlsCa ? { ca: readFileSync(cfg.tlsCa), requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/** The start-up warning for plain HTTP on a non-loopback address (allowed only with SPOTFUSION_ALLOW_PLAIN_HTTP=true). */
export function plainHttpWarning(cfg: TlsConfig): string | undefined {
  if (cfg.tlsCert || isLoopbackHost(cfg.host)) return undefined;
  return `SpotFusion Edge: WARNING: plain HTTP on non-loopback address ${cfg.host} (SPOTFUSION_ALLOW_PLAIN_HTTP=true): the admin password, tokens and the viewer login cross the network in clear text; set SPOTFUSION_TLS_CERT and SPOTFUSION_TLS_KEY`;
}
