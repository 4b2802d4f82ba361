/**
 * Camera settings (as a camera-config node stores them) → the ConnectionDriver of the chosen source. Every
 * configuration error becomes a driver that fails permanently (state 'failed', no retries) with a message naming
 * the field.
 */
import { SpotFusionError, describeError } from '../errors';
import {
  FrameSource,
  failingDriver,
  folderDriver,
  gigeDriver,
  httpDriver,
  simulatorDriver,
} from './sources';
import type { ConnectionDriver } from '../connection';
import type { FeatureValue } from './genicam/nodemap';
import type { SimSpot, SpotClass, WearTrend } from './simulator';

/** The camera config node's fields (as the editor stores them: strings or numbers). */
export interface CameraSettings {
  name?: string;
  source: string;
  cameraId: string;
  // gige
  host: string;
  gvcpPort: string | number;
  /** software | freerun | hardware (gige); software (per message) | hardware (timed, simulator) */
  trigger: string;
  /** gige hardware trigger: TriggerSource entry, default Line1 */
  triggerSource?: string;
  packetSize: string | number;
  /** gige: 'auto' (ask lost packets again when the camera can; default) or 'off' */
  resend?: string;
  exposure: string | number;
  gain: string | number;
  frameRate: string | number;
  pixelFormat: string;
  roiWidth: string | number;
  roiHeight: string | number;
  roiX: string | number;
  roiY: string | number;
  // http / folder / gige
  timeout: string | number;
  url: string;
  mono: boolean;
  folder: string;
  stableMs: string | number;
  deleteAfterRead: boolean;
  // simulator
  simWidth: string | number;
  simHeight: string | number;
  seed: string;
  cols: string | number;
  rows: string | number;
  diameter: string | number;
  classMix: string;
  recipe: string;
  /** simulator with trigger hardware: ms between frames */
  simPeriod?: string | number;
  /** simulator: distinct frames rendered and handed out in turn (0: a new frame every grab) */
  simPool?: string | number;
  /** simulator: part placement tolerance, ± px and ± degrees (default 0: aligned) */
  simShift?: string | number;
  simAngle?: string | number;
  /** simulator optics: defocus blur σ px (default 0), largest vignette 0…1 (0.3), exposure drift ± (0.2) */
  simBlur?: string | number;
  simVignette?: string | number;
  simExposure?: string | number;
  /** simulator: sensor noise σ in grey levels ('' : drawn per frame, 1.5…4.5) */
  simNoise?: string | number;
  /** simulator: electrode wear, JSON { spotId: { pxPerPart, fromPart? } } (the frame number is the part number) */
  simWear?: string;
  /** simulator: JPEG quality 1…100, 0 or '' for raw frames */
  simJpeg?: string | number;
  /** simulator: draw the part's fiducial marks (default true) */
  simFiducials?: boolean;
}

const SOURCES = ['gige', 'http', 'folder', 'simulator'];
const TRIGGERS = ['software', 'freerun', 'hardware'];

/** The trigger a config asks for ('' or absent: software); throws a CONFIG error naming the field for anything else. */
function triggerOf(def: CameraSettings): 'software' | 'freerun' | 'hardware' {
  const t = def.trigger ?? '';
  if (t === '') return 'software';
  if (!TRIGGERS.includes(t)) throw new SpotFusionError('CONFIG', `trigger "${t}" is not one of ${TRIGGERS.join(', ')}`);
  return t as 'software' | 'freerun' | 'hardware';
}

/**
 * Whether the source delivers frames by itself (camera-grab then emits one message per frame, without input
 * messages): a GigE camera on its own trigger, or the simulator with a period.
 */
export function isSelfTriggered(def: Pick<CameraSettings, 'source' | 'trigger'>): boolean {
  const source = def.source || 'simulator';
  return (source === 'gige' || source === 'simulator') && def.trigger === 'hardware';
}

function num(def: Record<string, unknown>, key: string, fallback: number | undefined, lo: number, hi: number): number | undefined {
  const raw = def[key];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < lo || v > hi) throw new SpotFusionError('CONFIG', `${key} must be a number in ${lo}…${hi}, got ${JSON.stringify(raw)}`);
  return v;
}

function json<T>(text: string | undefined, what: string): T | undefined {
  if (!text || !text.trim()) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new SpotFusionError('CONFIG', `${what} is not valid JSON: ${describeError(e)}`);
  }
}

/** Packet size field: '' or 'auto' → negotiated; a number 576…16384 fixes it. */
function packetSizeSetting(raw: string | number | undefined): number | 'auto' {
  const t = String(raw ?? '').trim();
  if (t === '' || t.toLowerCase() === 'auto') return 'auto';
  const v = Number(t);
  if (!Number.isInteger(v) || v < 576 || v > 16384) throw new SpotFusionError('CONFIG', `packetSize must be auto or an integer in 576…16384, got ${JSON.stringify(raw)}`);
  return v;
}

function jpegQuality(q: number): number | undefined {
  if (q === 0) return undefined;
  if (!Number.isInteger(q)) throw new SpotFusionError('CONFIG', `simJpeg must be an integer quality 1…100 (0: no JPEG), got ${q}`);
  return q;
}

/** The driver for a camera config, or a driver that fails permanently with the configuration error. */
export function cameraDriver(def: CameraSettings, creds: { username?: string; password?: string; token?: string }, cameraId: string): ConnectionDriver<FrameSource> {
  const d = def as unknown as Record<string, unknown>;
  try {
    const source = def.source || 'simulator';
    if (!SOURCES.includes(source)) throw new SpotFusionError('CONFIG', `source "${source}" is not one of ${SOURCES.join(', ')}`);
    const timeoutMs = num(d, 'timeout', 5000, 1, 600000) as number;
    switch (source) {
      case 'gige': {
        const features: Record<string, FeatureValue> = {};
        const put = (feature: string, key: string, lo: number, hi: number): void => {
          const v = num(d, key, undefined, lo, hi);
          if (v !== undefined) features[feature] = v;
        };
        if (def.pixelFormat) features.PixelFormat = def.pixelFormat;
        put('OffsetX', 'roiX', 0, 65535);
        put('OffsetY', 'roiY', 0, 65535);
        put('Width', 'roiWidth', 1, 65535);
        put('Height', 'roiHeight', 1, 65535);
        put('ExposureTime', 'exposure', 0, 1e9);
        put('Gain', 'gain', -1000, 1000);
        put('AcquisitionFrameRate', 'frameRate', 0.001, 100000);
        const trigger = triggerOf(def);
        const triggerSource = (def.triggerSource ?? '').trim() || 'Line1';
        if (trigger === 'hardware' && !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(triggerSource)) {
          throw new SpotFusionError('CONFIG', `triggerSource "${triggerSource}" is not a GenICam entry name (e.g. Line1)`);
        }
        const resend = (def.resend ?? '').trim() || 'auto';
        if (resend !== 'auto' && resend !== 'off') throw new SpotFusionError('CONFIG', `resend "${resend}" is not auto or off`);
        return gigeDriver(
          {
            resend: resend === 'auto',
            host: (def.host ?? '').trim(),
            port: num(d, 'gvcpPort', 3956, 1, 65535),
            packetSize: packetSizeSetting(def.packetSize),
            trigger,
            triggerSource,
            features,
            frameTimeoutMs: timeoutMs,
          },
          cameraId,
        );
      }
      case 'http':
        return httpDriver({ url: (def.url ?? '').trim(), timeoutMs, mono: def.mono !== false, ...creds }, cameraId);
      case 'folder':
        return folderDriver({ path: (def.folder ?? '').trim(), stableMs: num(d, 'stableMs', 300, 0, 600000), deleteAfterRead: def.deleteAfterRead === true, mono: def.mono !== false }, cameraId);
      default: {
        const spots = json<SimSpot[]>(def.recipe, 'simulator recipe');
        if (spots !== undefined && !Array.isArray(spots)) throw new SpotFusionError('CONFIG', 'simulator recipe must be a JSON array of { id, x, y, expectedDiameterPx? }');
        return simulatorDriver(
          {
            seed: def.seed || 'spotfusion',
            width: num(d, 'simWidth', 2448, 16, 16384) as number,
            height: num(d, 'simHeight', 2048, 16, 16384) as number,
            spots,
            cols: num(d, 'cols', 8, 1, 100),
            rows: num(d, 'rows', 6, 1, 100),
            expectedDiameterPx: num(d, 'diameter', 32, 4, 1000),
            classMix: json<Partial<Record<SpotClass, number>>>(def.classMix, 'simulator class mix'),
            periodMs: triggerOf(def) === 'hardware' ? num(d, 'simPeriod', 1000, 10, 3_600_000) : undefined,
            pool: num(d, 'simPool', 0, 0, 256),
            placementTolerance: { shiftPx: num(d, 'simShift', 0, 0, 4096) as number, angleDeg: num(d, 'simAngle', 0, 0, 45) as number },
            optics: { blurSigma: num(d, 'simBlur', 0, 0, 20), vignette: num(d, 'simVignette', 0.3, 0, 1), exposureDrift: num(d, 'simExposure', 0.2, 0, 0.9) },
            noiseSigma: num(d, 'simNoise', undefined, 0, 64),
            jpegQuality: jpegQuality(num(d, 'simJpeg', 0, 0, 100) as number),
            fiducials: def.simFiducials !== false,
            wear: json<Record<string, WearTrend>>(def.simWear, 'simulator wear'),
          },
          cameraId,
        );
      }
    }
  } catch (e) {
    return failingDriver(`camera (invalid configuration)`, describeError(e));
  }
}

