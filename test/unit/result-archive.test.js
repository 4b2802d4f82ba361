'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');
const { ImageArchive } = require('../../dist/nodes/lib/result/archive.js');

const DAY = 86_400_000;

function result(id, verdict, when, extra = {}) {
  return { resultId: id, verdict, timestamps: { result: new Date(when).toISOString() }, ...extra };
}

describe('image archive', function () {
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-archive-'));
  });

  it('picks parts by policy: none, nok (and low confidence), sampled, all', function () {
    const pick = (policy, list, sampleEvery) => {
      const a = new ImageArchive({ dir, policy, sampleEvery });
      return list.map((r) => a.wants(r));
    };
    const ok = result('a', 'OK', 0);
    const nok = result('b', 'NOK', 0);
    const low = result('c', 'OK', 0, { lowConfidence: true });
    assert.deepEqual(pick('none', [ok, nok, low]), [false, false, false]);
    assert.deepEqual(pick('nok', [ok, nok, low]), [false, true, true]);
    assert.deepEqual(pick('all', [ok, nok]), [true, true]);
    assert.deepEqual(pick('sampled', [ok, ok, ok, nok, ok], 3), [false, false, true, true, false]);
  });

  it('writes an RGB/BGR frame and crops as PNG; an unreadable frame is an ARCHIVE error', async function () {
    const a = new ImageArchive({ dir, policy: 'all' });
    const w = 8;
    const h = 6;
    const bgr = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) bgr[i * 3] = 200; // blue in BGR
    const cropPng = await sharp(Buffer.alloc(4 * 4, 9), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
    const images = await a.store(result('00000000-0000-4000-8000-000000000001', 'OK', Date.parse('2026-03-04T05:06:07Z')), { data: bgr, width: w, height: h, pixelFormat: 'BGR8' }, [
      { spotId: 'p', png: cropPng },
      { spotId: 'off', box: { x: 100, y: 100, w: 5, h: 5 } },
      { notASpot: true },
    ]);
    assert.deepEqual(images, { frame: '2026-03-04/00000000-0000-4000-8000-000000000001/frame.png', crops: { p: '2026-03-04/00000000-0000-4000-8000-000000000001/p.png' } });
    const px = await sharp(path.join(dir, images.frame)).raw().toBuffer();
    assert.deepEqual([px[0], px[1], px[2]], [0, 0, 200]); // stored as RGB
    assert.equal(await a.store(result('x', 'OK', Date.now()), undefined, []), undefined);
    await assert.rejects(a.store(result('y', 'OK', Date.now()), { data: Buffer.from('nope'), pixelFormat: 'png' }, []), /ARCHIVE|could not be written/);
    assert.equal(a.resolvePath('../x'), undefined);
    assert.equal(a.resolvePath('a/./b'), undefined);
    assert.ok(a.resolvePath('2026-03-04/x/frame.png').startsWith(a.dir));
  });

  it('retention: drops days older than maxAgeDays, then the oldest parts until under maxBytes', async function () {
    const now = Date.parse('2026-05-10T12:00:00Z');
    const mk = (day, id, bytes) => {
      fs.mkdirSync(path.join(dir, day, id), { recursive: true });
      fs.writeFileSync(path.join(dir, day, id, 'frame.png'), Buffer.alloc(bytes));
    };
    mk('2026-04-01', 'old', 100);
    mk('2026-05-08', 'p1', 1000);
    mk('2026-05-09', 'p2', 1000);
    mk('2026-05-10', 'p3', 1000);
    fs.writeFileSync(path.join(dir, 'README'), 'not a day');
    const a = new ImageArchive({ dir, policy: 'nok', maxAgeDays: 7, maxBytes: 2500, now: () => now });
    const r = await a.sweep();
    assert.deepEqual(r, { removed: 2, bytes: 2000 });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['2026-05-08', '2026-05-09', '2026-05-10', 'README']);
    assert.deepEqual(fs.readdirSync(path.join(dir, '2026-05-08')), []);
    assert.deepEqual(await new ImageArchive({ dir: path.join(dir, 'nothing'), policy: 'all' }).sweep(), { removed: 0, bytes: 0 });
    void DAY;
  });
});
