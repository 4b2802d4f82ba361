'use strict';
const assert = require('node:assert/strict');
const sharp = require('sharp');
const { cropBatch, frameToImage, rawImageOf, attachPngs, roiProblem } = require('../../dist/nodes/lib/vision/crop');
const { preprocessOf, validateMetadata } = require('../../dist/nodes/lib/vision/metadata');
const sim = require('../../dist/nodes/lib/camera/simulator');

// ---- independent reference implementation (float64, written from the definitions, not from crop.ts) ----

/** pixel (x, y, channel k) of an interleaved image, clamped to the edges */
function px(img, x, y, k = 0) {
  const cx = Math.min(Math.max(x, 0), img.width - 1);
  const cy = Math.min(Math.max(y, 0), img.height - 1);
  return img.data[(cy * img.width + cx) * img.channels + k];
}

/** bilinear, half-pixel centres: out (i, j) samples the ROI at ((j + .5) * w / W - .5, (i + .5) * h / H - .5), clamped to the ROI */
function refResize(img, roi, W, H, k = 0) {
  const out = new Float64Array(W * H);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      const sx = Math.min(Math.max((j + 0.5) * (roi.w / W) - 0.5, 0), roi.w - 1);
      const sy = Math.min(Math.max((i + 0.5) * (roi.h / H) - 0.5, 0), roi.h - 1);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, roi.w - 1);
      const y1 = Math.min(y0 + 1, roi.h - 1);
      const ax = sx - x0;
      const ay = sy - y0;
      const p = (x, y) => px(img, roi.x + x, roi.y + y, k);
      out[i * W + j] = (1 - ay) * ((1 - ax) * p(x0, y0) + ax * p(x1, y0)) + ay * ((1 - ax) * p(x0, y1) + ax * p(x1, y1));
    }
  }
  return out;
}

function meta({ c = 1, h = 32, w = 32, layout = 'NCHW', mean, std, scale, channelOrder } = {}) {
  const shape = layout === 'NCHW' ? [-1, c, h, w] : [-1, h, w, c];
  const normalization = { mean: mean || new Array(c).fill(0.5), std: std || new Array(c).fill(0.25) };
  if (scale !== undefined) normalization.scale = scale;
  if (channelOrder) normalization.channelOrder = channelOrder;
  return validateMetadata({
    name: 't',
    version: '1',
    task: 'classification',
    input: { name: 'x', shape, layout, dtype: 'float32' },
    normalization,
    outputs: [{ name: 'p', kind: 'classification', labels: ['a', 'b'] }],
  });
}

/** deterministic test pattern, not smooth, so interpolation mistakes show */
function pattern(width, height, channels = 1, seed = 7) {
  const data = Buffer.alloc(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s >>> 24) ^ ((i * 7) & 0xff);
  }
  return { data, width, height, channels };
}

function at(batch, n, c, y, x) {
  const [, d1, d2, d3] = batch.dims;
  return batch.layout === 'NCHW' ? batch.data[((n * d1 + c) * d2 + y) * d3 + x] : batch.data[((n * d1 + y) * d2 + x) * d3 + c];
}

function assertClose(actual, expected, tol, what) {
  const d = Math.abs(actual - expected);
  if (!(d <= tol)) assert.fail(`${what}: ${actual} vs ${expected} (|Δ| ${d} > ${tol})`);
}

describe('vision crop: cut, resize, normalise', function () {
  const img = pattern(200, 150);
  const frame = { data: img.data, width: 200, height: 150, pixelFormat: 'Mono8', cameraId: 'c', frameId: 1, timestamp: 0 };

  it('copies an ROI of model size exactly and normalises (p/255 - mean)/std in NCHW', function () {
    const pre = preprocessOf(meta({ h: 16, w: 24, mean: [0.4], std: [0.2] }));
    const raw = rawImageOf(frame);
    assert.equal(raw.data.buffer, frame.data.buffer, 'raw frames are used in place, not copied');
    assert.equal(raw.data.byteOffset, frame.data.byteOffset);
    const spot = { id: 'A', x: 13, y: 21, w: 24, h: 16 };
    const { batch, crops } = cropBatch(raw, [spot], pre);
    assert.deepEqual(batch.dims, [1, 1, 16, 24]);
    assert.deepEqual(batch.spotIds, ['A']);
    assert.equal(crops[0].index, 0);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 24; x++) {
        const p = img.data[(21 + y) * 200 + 13 + x];
        assertClose(at(batch, 0, 0, y, x), (p / 255 - 0.4) / 0.2, 1e-5, `(${x},${y})`);
      }
    }
  });

  for (const [label, roi, W, H] of [
    ['downscale 96→32', { x: 50, y: 30, w: 96, h: 96 }, 32, 32],
    ['upscale 20→32', { x: 0, y: 0, w: 20, h: 20 }, 32, 32],
    ['non-square 40×24 → 28×20, touching the far edges', { x: 160, y: 126, w: 40, h: 24 }, 28, 20],
    ['odd ratio 37×53 → 32×32', { x: 3, y: 5, w: 37, h: 53 }, 32, 32],
  ]) {
    it(`bilinear resize matches an independent computation: ${label}`, function () {
      const pre = preprocessOf(meta({ h: H, w: W, mean: [0], std: [1], scale: 1 }));
      const { batch } = cropBatch(rawImageOf(frame), [{ id: 'S', ...roi }], pre);
      const ref = refResize(img, roi, W, H);
      for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) assertClose(at(batch, 0, 0, i, j), ref[i * W + j], 1e-3, `${label} (${j},${i})`);
    });
  }

  it('builds one batch of many spots in recipe order, NHWC with 3 channels from Mono8 and per-channel mean/std', function () {
    const pre = preprocessOf(meta({ c: 3, h: 8, w: 8, layout: 'NHWC', mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] }));
    const spots = [
      { id: 'a', x: 0, y: 0, w: 16, h: 16 },
      { id: 'b', x: 100, y: 100, w: 8, h: 8 },
      { id: 'c', x: 180, y: 10, w: 12, h: 20 },
    ];
    const { batch } = cropBatch(rawImageOf(frame), spots, pre);
    assert.deepEqual(batch.dims, [3, 8, 8, 3]);
    assert.equal(batch.data.length, 3 * 8 * 8 * 3);
    spots.forEach((s, n) => {
      const ref = refResize(img, s, 8, 8);
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < 64; i++) {
          const want = (ref[i] / 255 - pre.mean[c]) / pre.std[c];
          assertClose(at(batch, n, c, Math.floor(i / 8), i % 8), want, 1e-4, `spot ${s.id} c${c} px ${i}`);
        }
      }
    });
  });

  it('converts RGB8 to grey (BT.601 luma) and BGR8 to the model channel order', function () {
    const rgb = pattern(40, 30, 3, 11);
    const roi = { id: 's', x: 5, y: 4, w: 10, h: 10 };
    const grey = cropBatch(rawImageOf({ data: rgb.data, width: 40, height: 30, pixelFormat: 'RGB8' }), [roi], preprocessOf(meta({ h: 10, w: 10, mean: [0], std: [1], scale: 1 }))).batch;
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 10; x++) {
        const want = 0.299 * px(rgb, 5 + x, 4 + y, 0) + 0.587 * px(rgb, 5 + x, 4 + y, 1) + 0.114 * px(rgb, 5 + x, 4 + y, 2);
        assertClose(at(grey, 0, 0, y, x), want, 1e-3, `luma (${x},${y})`);
      }
    }
    const pre3 = preprocessOf(meta({ c: 3, h: 10, w: 10, mean: [0, 0, 0], std: [1, 1, 1], scale: 1 }));
    const fromBgr = cropBatch(rawImageOf({ data: rgb.data, width: 40, height: 30, pixelFormat: 'BGR8' }), [roi], pre3).batch;
    const toBgr = cropBatch(
      rawImageOf({ data: rgb.data, width: 40, height: 30, pixelFormat: 'RGB8' }),
      [roi],
      preprocessOf(meta({ c: 3, h: 10, w: 10, mean: [0, 0, 0], std: [1, 1, 1], scale: 1, channelOrder: 'BGR' })),
    ).batch;
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 10; x++) {
        for (let c = 0; c < 3; c++) {
          // source BGR: model channel R (0) is source byte 2
          assert.equal(at(fromBgr, 0, c, y, x), px(rgb, 5 + x, 4 + y, 2 - c));
          assert.equal(at(toBgr, 0, c, y, x), px(rgb, 5 + x, 4 + y, 2 - c));
        }
      }
    }
  });

  it('takes 16-bit frames end to end: Mono10/12/16 raw and 16-bit PNG, scaled round(v * 255 / max) into crop', async function () {
    const W = 4;
    const H = 2;
    const words = (vals) => Buffer.from(Uint16Array.from(vals).buffer);
    const mono16 = [0, 257, 1000, 65535, 32768, 128, 65280, 12345];
    const expect = (vals, max) => vals.map((v) => Math.round((Math.min(v, max) * 255) / max));
    const pre = preprocessOf(meta({ h: H, w: W, mean: [0], std: [1], scale: 1 }));
    for (const [fmt, vals, max] of [
      ['Mono16', mono16, 65535],
      ['Mono12', [0, 1, 2048, 4095, 4000, 17, 3, 4096], 4095],
      ['Mono10', [0, 1, 512, 1023, 1000, 4, 2, 700], 1023],
    ]) {
      const img = await frameToImage({ data: words(vals), width: W, height: H, pixelFormat: fmt });
      assert.equal(img.channels, 1, fmt);
      assert.deepEqual([...img.data], expect(vals, max), fmt);
      const { batch } = cropBatch(img, [{ id: 'S', x: 0, y: 0, w: W, h: H }], pre);
      assert.deepEqual([...batch.data], expect(vals, max), `${fmt} into the batch`);
    }
    await assert.rejects(frameToImage({ data: Buffer.alloc(W * H), width: W, height: H, pixelFormat: 'Mono16' }), /msg\.frame\.data has 8 bytes; Mono16 4×2 needs 16 \(2 bytes a pixel\)/);
    // a 16-bit PNG, grey and RGB: the same scaling (libvips alone would shift by 8 bits: 1000 → 3, 65280 → 255)
    const png = await sharp(Uint16Array.from(mono16), { raw: { width: W, height: H, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    assert.equal((await sharp(png).metadata()).depth, 'ushort');
    const grey = await frameToImage({ data: png, pixelFormat: 'png' });
    assert.equal(grey.channels, 1);
    assert.deepEqual([...grey.data], expect(mono16, 65535));
    const rgbVals = Array.from({ length: W * H * 3 }, (_, i) => (i * 7919 + 1000) % 65536);
    const png3 = await sharp(Uint16Array.from(rgbVals), { raw: { width: W, height: H, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    const rgb = await frameToImage({ encoded: png3 });
    assert.equal(rgb.channels, 3);
    assert.deepEqual([...rgb.data], expect(rgbVals, 65535));
    // formats still refused name themselves
    await assert.rejects(frameToImage({ data: Buffer.alloc(8), width: 2, height: 2, pixelFormat: 'BayerRG16' }), /pixelFormat "BayerRG16" is not supported \(Mono8, RGB8, BGR8, Mono10\/Mono12\/Mono16/);
  });

  it('gives an ROI outside the frame a per-spot error and lets the others go on', function () {
    const pre = preprocessOf(meta({ h: 8, w: 8 }));
    const spots = [
      { id: 'in1', x: 0, y: 0, w: 8, h: 8 },
      { id: 'left', x: -1, y: 0, w: 8, h: 8 },
      { id: 'in2', x: 192, y: 142, w: 8, h: 8 },
      { id: 'right', x: 193, y: 0, w: 8, h: 8 },
      { id: 'below', x: 0, y: 143, w: 8, h: 8 },
      { id: 'rotated-out', x: 0, y: 0, w: 8, h: 8, rotation: 45 },
    ];
    const { crops, batch } = cropBatch(rawImageOf(frame), spots, pre);
    assert.deepEqual(batch.spotIds, ['in1', 'in2']);
    assert.deepEqual(batch.dims, [2, 1, 8, 8]);
    assert.deepEqual(crops.map((c) => c.index), [0, undefined, 1, undefined, undefined, undefined]);
    assert.match(crops[1].error, /ROI 8×8 at \(-1, 0\) lies outside the 200×150 frame/);
    assert.match(crops[5].error, /rotated 45°/);
    // the second good crop really is the spot at (192, 142)
    assertClose(at(batch, 1, 0, 7, 7), (img.data[149 * 200 + 199] / 255 - 0.5) / 0.25, 1e-5, 'last pixel');
    assert.equal(roiProblem({ id: 'r', x: 50, y: 50, w: 20, h: 20, rotation: 30 }, 200, 150), undefined);
  });

  it('samples a rotated ROI: 90° is an exact transposition, 180° an exact flip', function () {
    const pre = preprocessOf(meta({ h: 16, w: 16, mean: [0], std: [1], scale: 1 }));
    const s90 = { id: 'r90', x: 40, y: 30, w: 16, h: 16, rotation: 90 };
    const s180 = { id: 'r180', x: 40, y: 30, w: 16, h: 16, rotation: 180 };
    const { batch } = cropBatch(rawImageOf(frame), [s90, s180], pre);
    for (let oy = 0; oy < 16; oy++) {
      for (let ox = 0; ox < 16; ox++) {
        // +90° (counter-clockwise on screen): the box's x axis points up the frame
        assertClose(at(batch, 0, 0, oy, ox), px(img, 40 + oy, 30 + 15 - ox), 1e-3, `90° (${ox},${oy})`);
        assertClose(at(batch, 1, 0, oy, ox), px(img, 40 + 15 - ox, 30 + 15 - oy), 1e-3, `180° (${ox},${oy})`);
      }
    }
  });

  it('decodes an encoded frame once and gives the same batch as the raw frame', async function () {
    const png = await sharp(img.data, { raw: { width: 200, height: 150, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const pre = preprocessOf(meta({ h: 32, w: 32 }));
    const spots = [{ id: 'a', x: 10, y: 10, w: 64, h: 64 }];
    const fromRaw = cropBatch(rawImageOf(frame), spots, pre).batch;
    for (const f of [{ encoded: png, width: 200, height: 150, pixelFormat: 'Mono8' }, { data: png, pixelFormat: 'png' }, { data: png }]) {
      assert.equal(rawImageOf(f), undefined);
      const decoded = await frameToImage(f);
      assert.equal(decoded.channels, 1);
      assert.deepEqual(cropBatch(decoded, spots, pre).batch.data, fromRaw.data);
    }
  });

  it('encodes a PNG per crop only when asked, with the ROI pixels', async function () {
    const pre = preprocessOf(meta({ h: 8, w: 8 }));
    const spots = [
      { id: 'a', x: 3, y: 4, w: 12, h: 9 },
      { id: 'out', x: 195, y: 0, w: 12, h: 9 },
      { id: 'rot', x: 50, y: 50, w: 10, h: 10, rotation: 90 },
    ];
    const plain = cropBatch(rawImageOf(frame), spots, pre);
    assert.equal(plain.pixels, undefined);
    await assert.rejects(attachPngs(plain), /keepPixels/);
    const r = cropBatch(rawImageOf(frame), spots, pre, { keepPixels: true });
    await attachPngs(r);
    assert.equal(r.crops[1].png, undefined);
    const m = await sharp(r.crops[0].png).metadata();
    assert.deepEqual([m.format, m.width, m.height, m.channels], ['png', 12, 9, 1]);
    const data = await sharp(r.crops[0].png).toColourspace('b-w').raw().toBuffer();
    for (let y = 0; y < 9; y++) for (let x = 0; x < 12; x++) assert.equal(data[y * 12 + x], img.data[(4 + y) * 200 + 3 + x]);
    const rot = await sharp(r.crops[2].png).toColourspace('b-w').raw().toBuffer();
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) assert.equal(rot[y * 10 + x], px(img, 50 + y, 50 + 9 - x));
  });

  it('rejects frames it cannot use with an error naming the problem', async function () {
    assert.throws(() => rawImageOf(undefined), /msg\.frame is missing/);
    assert.throws(() => rawImageOf({ data: Buffer.alloc(10), width: 4, height: 4, pixelFormat: 'Mono8' }), /has 10 bytes; Mono8 4×4 needs 16/);
    assert.throws(() => rawImageOf({ data: Buffer.alloc(16), width: 0, height: 4, pixelFormat: 'Mono8' }), /positive integers/);
    assert.throws(() => rawImageOf({ data: Buffer.alloc(32), width: 4, height: 4, pixelFormat: 'Mono14' }), /pixelFormat "Mono14" is not supported/);
    assert.throws(() => rawImageOf({ width: 4, height: 4, pixelFormat: 'Mono8' }), /no pixel data/);
    await assert.rejects(frameToImage({ data: Buffer.from('not an image') }), /could not be decoded/);
    await assert.rejects(frameToImage({ pixelFormat: 'png' }), /no pixel data/);
  });

  it('cuts the simulator frame at the same pixels as the simulator cropMono8 (another implementation)', function () {
    const f = sim.renderFrame({ seed: 5, width: 640, height: 480, spots: [{ id: 'A', x: 100, y: 120 }, { id: 'B', x: 500, y: 300 }] });
    const pre = preprocessOf(meta({ h: 96, w: 96, mean: [0], std: [1], scale: 1 }));
    const spots = f.truth.map((t) => ({ id: t.spotId, x: Math.round(t.expectedX) - 48, y: Math.round(t.expectedY) - 48, w: 96, h: 96 }));
    const { batch } = cropBatch(rawImageOf(f), spots, pre);
    f.truth.forEach((t, n) => {
      const ref = sim.cropMono8(f, t.expectedX, t.expectedY, 96);
      assert.deepEqual(Array.from(batch.data.subarray(n * 96 * 96, (n + 1) * 96 * 96)), Array.from(ref));
    });
  });
});
