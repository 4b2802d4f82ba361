/**
 * sharp, loaded once and bounded for a station (nodes/lib/memory.ts): libvips' operation cache off (or
 * SPOTFUSION_VIPS_CACHE_MB) and SPOTFUSION_VIPS_CONCURRENCY threads per operation. Every module of the package
 * takes sharp from here, so no image is processed before the bounds are set.
 */
import sharp from 'sharp';
import { Gauge } from 'prom-client';
import { registry } from '../metrics';
import { ENV } from '../runtime-config';

/** The libvips settings the environment asks for; a bad value was refused at start-up by settings.ts, here the default. */
export function vipsSettings(env: NodeJS.ProcessEnv): { cacheMb: number; concurrency: number } {
  const read = (v: { parse(raw: string | undefined): number }, raw: string | undefined, def: number): number => {
    try {
      return v.parse(raw);
    } catch (err) {
      // settings.ts refuses a bad value at start-up, naming the variable; a process without it gets the default
      if (!(err instanceof Error)) throw err;
      return def;
    }
  };
  return {
    cacheMb: read(ENV.vipsCacheMb, env[ENV.vipsCacheMb.name], 0),
    concurrency: read(ENV.vipsConcurrency, env[ENV.vipsConcurrency.name], 1),
  };
}

const vips = vipsSettings(process.env);
if (vips.cacheMb === 0) sharp.cache(false);
else sharp.cache({ memory: vips.cacheMb, files: 0, items: 100 });
sharp.concurrency(vips.concurrency);

new Gauge({
  name: 'spotfusion_vips_cache_memory_bytes',
  help: "Memory held by libvips' operation cache (sharp.cache()), in bytes; 0 while the cache is off",
  registers: [registry],
  collect() {
    this.set(sharp.cache().memory.current * 1048576);
  },
});

export default sharp;
