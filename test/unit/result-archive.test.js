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
  // every archive made here ends its writer thread after its test
  const made = [];
  class Archive extends ImageArchive {
    constructor(o) {
      super(o);
      made.push(this);
    }
  }
  afterEach(async function () {
    await Promise.all(made.splice(0).map((a) => a.close()));
  });

  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-archive-'));
  });

  it('picks parts by policy: none, nok (and low confidence), sampled, all', function () {
    const pick = (policy, list, sampleEvery) => {
      const a = new Archive({ dir, policy, sampleEvery });
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
    const a = new Archive({ dir, policy: 'all' });
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

  it('cuts crops from a raw frame at the pixels of their box, the same as sharp extract does', async function () {
    const a = new Archive({ dir, policy: 'all' });
    const w = 40;
    const h = 30;
    const data = Buffer.alloc(w * h);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
    const boxes = [{ x: 0, y: 0, w: 7, h: 5 }, { x: 33, y: 25, w: 10, h: 10 }, { x: 12.6, y: 3.2, w: 9.5, h: 4.1 }];
    const images = await a.store(result('r1', 'NOK', Date.parse('2026-01-02T00:00:00Z')), { data, width: w, height: h, pixelFormat: 'Mono8' }, boxes.map((box, k) => ({ spotId: `s${k}`, box })));
    const src = sharp(data, { raw: { width: w, height: h, channels: 1 } });
    for (const [k, b] of boxes.entries()) {
      const left = Math.floor(b.x);
      const top = Math.floor(b.y);
      const want = await src.clone().extract({ left, top, width: Math.min(w - left, Math.ceil(b.w)), height: Math.min(h - top, Math.ceil(b.h)) }).raw().toBuffer({ resolveWithObject: true });
      const got = await sharp(path.join(dir, images.crops[`s${k}`])).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([got.info.width, got.info.height], [want.info.width, want.info.height], `s${k} size`);
      assert.ok(got.data.equals(want.data), `s${k} pixels`);
    }
  });

  it('writes behind the message in one lane: one part at a time, at most maxPending admitted, a failure goes to onError and the lane goes on, written() and idle() wait', async function () {
    const a = new Archive({ dir, policy: 'all', maxPending: 2 });
    const gates = new Map();
    const started = [];
    const job = (id, fail) => ({
      resultId: id,
      images: { frame: `d/${id}/frame.png` },
      write: () => {
        started.push(id);
        return new Promise((resolve, reject) => gates.set(id, () => (fail ? reject(new Error('ENOSPC: no space left on device')) : resolve())));
      },
    });
    const tick = () => new Promise((r) => setImmediate(r));
    const errors = [];
    const onError = (err, j) => errors.push([err.code, j.resultId, err.message]);
    await a.begin(job('p1'), onError);
    await a.begin(job('p2', true), onError);
    await tick();
    assert.equal(a.pendingCount, 2);
    assert.deepEqual(started, ['p1'], 'p2 is not encoded beside p1: the archive holds one pool thread at most');
    let admitted = false;
    const third = a.begin(job('p3'), onError).then(() => (admitted = true));
    await tick();
    assert.equal(admitted, false, 'the third part waits while two are admitted');
    let p1Written = false;
    void a.written('p1').then(() => (p1Written = true));
    gates.get('p1')();
    await third;
    assert.equal(admitted, true, 'admitted once the first one ended');
    assert.equal(p1Written, true);
    await tick();
    assert.deepEqual(started, ['p1', 'p2'], 'p2 starts when p1 has ended');
    gates.get('p2')();
    await tick();
    assert.deepEqual(errors.map((e) => e.slice(0, 2)), [['ARCHIVE', 'p2']]);
    assert.match(errors[0][2], /images of p2 could not be written: ENOSPC/);
    assert.deepEqual(started, ['p1', 'p2', 'p3'], 'a failed part does not stop the lane');
    assert.equal(await a.idle(20), 1, 'p3 still pending after 20 ms');
    gates.get('p3')();
    assert.equal(await a.idle(1000), 0);
    assert.equal(errors.length, 1);
    await a.written('never-seen');
  });

  it('an encoded frame (JPEG) is decoded behind the message and written with its crops cut from the decoded pixels', async function () {
    const a = new Archive({ dir, policy: 'all' });
    try {
      const w = 64;
      const h = 48;
      const grey = Buffer.alloc(w * h);
      for (let i = 0; i < grey.length; i++) grey[i] = (i % w) * 4;
      const jpeg = await sharp(grey, { raw: { width: w, height: h, channels: 1 } }).jpeg({ quality: 95 }).toBuffer();
      const images = await a.store(result('j1', 'NOK', Date.parse('2026-02-03T00:00:00Z')), { data: jpeg, pixelFormat: 'jpeg' }, [{ spotId: 'a', box: { x: 10, y: 5, w: 20, h: 12 } }, { spotId: 'out', box: { x: 500, y: 5, w: 20, h: 12 } }]);
      assert.deepEqual(Object.keys(images.crops), ['a'], 'a box outside the frame has no file');
      const frame = await sharp(path.join(dir, images.frame)).metadata();
      assert.deepEqual([frame.format, frame.width, frame.height], ['png', w, h]);
      const crop = await sharp(path.join(dir, images.crops.a)).metadata();
      assert.deepEqual([crop.width, crop.height], [20, 12]);
    } finally {
      await a.close();
    }
  });

  it('writes in a thread of its own at nice 10 (the thread of the event loop keeps its priority); close() ends it and fails a part still being written', async function () {
    if (process.platform !== 'linux') this.skip();
    this.timeout(20000);
    const nice = (tid) => Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const niceOfAll = () => fs.readdirSync('/proc/self/task').map((t) => ({ tid: Number(t), nice: nice(t) }));
    assert.equal(niceOfAll().filter((t) => t.nice === 10).length, 0, 'no thread at nice 10 before');
    const a = new Archive({ dir, policy: 'all' });
    const frame = { data: Buffer.alloc(2448 * 2048, 7), width: 2448, height: 2048, pixelFormat: 'Mono8' };
    await a.store(result('n1', 'NOK', Date.parse('2026-02-03T00:00:00Z')), frame, []);
    const tasks = niceOfAll();
    assert.equal(tasks.filter((t) => t.nice === 10).length, 1, 'one thread (the writer) at nice 10');
    assert.equal(tasks.find((t) => t.tid === process.pid).nice, 0, 'the event loop at nice 0');
    // a part being written when the archive closes fails with ARCHIVE; later parts are refused
    const job = await a.plan(result('n2', 'NOK', Date.parse('2026-02-03T00:00:00Z')), frame, []);
    const errors = [];
    await a.begin(job, (err) => errors.push(err));
    await a.close();
    assert.equal(await a.idle(5000), 0);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'ARCHIVE');
    assert.match(errors[0].message, /images of n2 could not be written: archive: writer thread (exited|is closed)/);
    await assert.rejects(a.store(result('n3', 'NOK', Date.now()), frame, []), /writer thread is closed/);
    assert.equal(niceOfAll().filter((t) => t.nice === 10).length, 0, 'the writer thread has ended');
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
    const a = new Archive({ dir, policy: 'nok', maxAgeDays: 7, maxBytes: 2500, now: () => now });
    const r = await a.sweep();
    assert.deepEqual(r, { removed: 2, bytes: 2000 });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['2026-05-08', '2026-05-09', '2026-05-10', 'README']);
    assert.deepEqual(fs.readdirSync(path.join(dir, '2026-05-08')), []);
    assert.deepEqual(await new Archive({ dir: path.join(dir, 'nothing'), policy: 'all' }).sweep(), { removed: 0, bytes: 0 });
    void DAY;
  });
});
