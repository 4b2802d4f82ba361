'use strict';
// The GVSP stream in a worker thread (nodes/lib/camera/gige/gvsp-thread.ts, gvsp-worker.ts) against our own peer
// camera on 127.0.0.1: the stream socket is the worker's, frames come over with their buffer transferred (not
// copied) and go back to the worker's pool, close ends the worker, and a worker that dies makes the camera lost.
const assert = require('node:assert/strict');
const { threadId } = require('node:worker_threads');
const { GigeCamera } = require('../../dist/nodes/lib/camera/gige/camera');
const { GvspThreadReceiver } = require('../../dist/nodes/lib/camera/gige/gvsp-thread');
const { gigeCameraPeer } = require('../support/gige-peer');
const { nextEvent } = require('../support/wait');

describe('GVSP stream in a worker thread (our peer camera, 127.0.0.1)', function () {
  let peer;
  const cams = [];
  async function open(opts = {}) {
    peer = await gigeCameraPeer({ width: 64, height: 48 });
    const cam = new GigeCamera({ host: '127.0.0.1', port: peer.port, packetSize: 36 + 512, trigger: 'hardware', ...opts });
    cams.push(cam);
    await cam.open();
    return cam;
  }
  afterEach(async function () {
    for (const c of cams.splice(0)) await c.close();
    await peer?.close();
    peer = undefined;
  });

  it('a worker thread owns the stream socket; frames arrive pixel-exact in their own transferred buffer, stats current', async function () {
    const cam = await open();
    const rx = cam.gvsp;
    assert.ok(rx instanceof GvspThreadReceiver);
    assert.notEqual(rx.worker.threadId, threadId, 'the stream runs in another thread');
    for (let i = 0; i < 5; i++) {
      const got = nextEvent(cam, 'frame');
      const id = await peer.pulse();
      const f = await got;
      assert.equal(f.blockId, id);
      assert.ok(f.data.equals(peer.pattern(id)), `frame ${id} pixel-exact`);
      // the pool buffer of PayloadSize bytes, moved from the worker: no copy made on the way
      assert.equal(f.data.buffer.byteLength, 64 * 48);
      assert.equal(f.data.byteOffset, 0);
    }
    assert.equal(cam.stats.frames, 5, 'the counters the worker shares are current when the frame arrives');
    assert.ok(cam.stats.packets >= 5 * (Math.ceil((64 * 48) / 512) + 2));
  });

  it('buffers given back with release() return to the worker pool (moved back, so the sender no longer holds them)', async function () {
    const cam = await open();
    const rx = cam.gvsp;
    for (let i = 0; i < 20; i++) {
      const got = nextEvent(cam, 'frame');
      await peer.pulse();
      const f = await got;
      rx.release(f.data);
      assert.equal(f.data.buffer.byteLength, 0, 'the buffer was transferred back, not copied');
    }
    // the worker allocates a buffer only when its pool is empty: 20 frames kept would take 20; returned, they take a
    // few (a release can reach the worker after the next block started, so not always 1)
    assert.ok(cam.stats.allocated <= 8, `allocated ${cam.stats.allocated}`);
  });

  it('close() closes the stream socket and ends the worker within seconds', async function () {
    const cam = await open();
    const rx = cam.gvsp;
    const exited = new Promise((resolve) => rx.worker.once('exit', resolve));
    const t0 = Date.now();
    await cam.close();
    await exited;
    assert.ok(Date.now() - t0 < 3000, `closed in ${Date.now() - t0} ms`);
    // nothing listens on the old stream port any more: the peer's frames go nowhere, no error here
    assert.equal(await peer.pulse(), undefined, 'the camera was stopped (not acquiring)');
  });

  it('a worker that dies makes the camera lost (the node shows it and SharedConnection reconnects)', async function () {
    const cam = await open();
    const lost = nextEvent(cam, 'lost');
    await cam.gvsp.worker.terminate();
    const e = await lost;
    assert.match(e.message, /stream socket: stream worker exited/);
    await assert.rejects(cam.grab(100), /not connected/);
  });
});
