'use strict';
// png.ts writes the archive's PNGs itself (node:zlib, Z_RLE); every file here is read back by sharp (libvips and
// its PNG decoder, which checks the chunks' CRCs), a decoder we did not write.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const sharp = require('sharp');
const { encodePng, pngParts, RowScratch } = require('../../dist/nodes/lib/vision/png.js');

// the channels the file holds (metadata), and its pixels (sharp hands grey out as three equal channels: one taken)
async function decode(png) {
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  const { data, info } = await (meta.channels === 1 ? sharp(png).extractChannel(0) : sharp(png)).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: meta.channels };
}

function image(width, height, channels, seed = 1) {
  const data = Buffer.alloc(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (i % 7 === 0 ? s >>> 24 : (i * 3) & 255);
  }
  return { data, width, height, channels };
}

function cut(img, box, bgr) {
  const c = img.channels;
  const out = Buffer.alloc(box.width * box.height * c);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      for (let k = 0; k < c; k++) {
        const from = ((box.top + y) * img.width + box.left + x) * c + (bgr && c === 3 ? 2 - k : k);
        out[(y * box.width + x) * c + k] = img.data[from];
      }
    }
  }
  return out;
}

describe('png writer (archive frames and crops)', function () {
  it('grey and RGB images of odd sizes read back pixel for pixel, with the size and channels written', async function () {
    for (const [w, h, c] of [[1, 1, 1], [3, 5, 1], [97, 13, 1], [1, 1, 3], [5, 3, 3], [64, 33, 3]]) {
      const img = image(w, h, c, w * 31 + h);
      const got = await decode(encodePng(img));
      assert.deepEqual([got.width, got.height, got.channels], [w, h, c], `${w}×${h}×${c}`);
      assert.ok(got.data.equals(img.data), `${w}×${h}×${c} pixels`);
    }
  });

  it('writes B, G, R sources as R, G, B', async function () {
    const img = image(6, 4, 3, 9);
    const got = await decode(encodePng({ ...img, bgr: true }));
    assert.ok(got.data.equals(cut(img, { left: 0, top: 0, width: 6, height: 4 }, true)));
  });

  it('a box of the image is the same as cutting it out first (any box, grey or colour, BGR or not; one scratch buffer for all)', async function () {
    this.timeout(20000);
    const scratch = new RowScratch();
    await fc.assert(
      fc.asyncProperty(
        fc.record({ w: fc.integer({ min: 1, max: 40 }), h: fc.integer({ min: 1, max: 30 }), c: fc.constantFrom(1, 3), bgr: fc.boolean(), seed: fc.nat(), bx: fc.nat(), by: fc.nat(), bw: fc.nat(), bh: fc.nat() }),
        async ({ w, h, c, bgr, seed, bx, by, bw, bh }) => {
          const img = image(w, h, c, seed);
          const left = bx % w;
          const top = by % h;
          const box = { left, top, width: 1 + (bw % (w - left)), height: 1 + (bh % (h - top)) };
          const png = Buffer.concat(pngParts({ ...img, bgr }, box, scratch));
          const got = await decode(png);
          assert.deepEqual([got.width, got.height, got.channels], [box.width, box.height, c]);
          assert.ok(got.data.equals(cut(img, box, bgr)));
        },
      ),
      { numRuns: 60, seed: 20261206 },
    );
  });

  it('each chunk carries the CRC-32 of its type and data (checked with a CRC written here from the polynomial of the spec)', async function () {
    // CRC-32 of ISO 3309 / PNG annex D, bit by bit: its check value for "123456789" is 0xCBF43926
    const crc = (buf) => {
      let c = 0xffffffff;
      for (const b of buf) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    assert.equal(crc(Buffer.from('123456789')), 0xcbf43926);
    const png = encodePng(image(32, 32, 3, 4));
    assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'signature');
    const chunks = [];
    for (let o = 8; o < png.length; ) {
      const len = png.readUInt32BE(o);
      const type = png.toString('latin1', o + 4, o + 8);
      assert.equal(png.readUInt32BE(o + 8 + len), crc(png.subarray(o + 4, o + 8 + len)), `${type} CRC`);
      chunks.push(type);
      o += 12 + len;
    }
    assert.deepEqual(chunks, ['IHDR', 'IDAT', 'IEND']);
  });

  it('a flat frame deflates to little (Z_RLE): 2448×2048 grey of one value under 64 kB', async function () {
    const flat = { data: Buffer.alloc(2448 * 2048, 97), width: 2448, height: 2048, channels: 1 };
    const png = encodePng(flat);
    assert.ok(png.length < 64 * 1024, `${png.length} bytes`);
    const got = await decode(png);
    assert.equal(got.data.length, flat.data.length);
    assert.ok(got.data.every((v) => v === 97));
  });

  it('refuses a box outside the image, a box of part pixels, a wrong data length and other channel counts, naming what is wrong', function () {
    const img = image(10, 8, 1);
    assert.throws(() => pngParts(img, { left: 5, top: 0, width: 6, height: 2 }), /box 6×2\+5\+0 is not inside the 10×8 image/);
    assert.throws(() => pngParts(img, { left: -1, top: 0, width: 2, height: 2 }), /not inside/);
    assert.throws(() => pngParts(img, { left: 0, top: 0, width: 0, height: 2 }), /not inside/);
    assert.throws(() => pngParts(img, { left: 0.5, top: 0, width: 2, height: 2 }), /whole pixels/);
    assert.throws(() => pngParts({ ...img, data: img.data.subarray(1) }), /79 bytes for a 10×8×1 image/);
    assert.throws(() => pngParts({ ...img, channels: 2 }), /2 channels/);
  });
});
