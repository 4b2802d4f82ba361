/* global window, document, requestAnimationFrame */
// Teach view, canvas: the frame (an ImageBitmap, decoded once) under a view transform (zoom about the wheel's
// point, pan), redrawn at most once per animation frame; only the transform and the overlay change, so a
// 2448×2048 frame stays smooth. The overlay (spots, handles, verdicts) is drawn in screen pixels by a callback.
(function () {
  'use strict';
  var MIN_SCALE = 0.02;
  var MAX_SCALE = 40;

  function View(canvas, drawOverlay) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.drawOverlay = drawOverlay;
    this.image = null; // ImageBitmap (or canvas) of the frame
    this.width = 2448; // the frame's (sensor's) size in px
    this.height = 2048;
    this.scale = 0.25;
    this.ox = 0;
    this.oy = 0;
    this.pending = false;
    this.draws = 0;
  }

  View.prototype.setSensor = function (w, h) {
    this.width = w;
    this.height = h;
  };

  /** show a decoded frame (its size becomes the sensor's) */
  View.prototype.setImage = function (bitmap, w, h) {
    if (this.image && this.image.close && this.image !== bitmap) this.image.close();
    this.image = bitmap;
    this.setSensor(w, h);
  };

  /** the canvas's backing store follows its CSS size (one device pixel a canvas pixel) */
  View.prototype.resize = function () {
    var r = this.canvas.getBoundingClientRect();
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(r.width * dpr));
    var h = Math.max(1, Math.round(r.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.redraw();
  };

  /** the whole frame in view */
  View.prototype.fit = function () {
    var r = this.canvas.getBoundingClientRect();
    if (!r.width || !r.height) return;
    this.scale = Math.min(r.width / this.width, r.height / this.height) * 0.96;
    this.ox = (r.width - this.width * this.scale) / 2;
    this.oy = (r.height - this.height * this.scale) / 2;
    this.redraw();
  };

  /** CSS px relative to the canvas → frame px */
  View.prototype.toFrame = function (sx, sy) {
    return { x: (sx - this.ox) / this.scale, y: (sy - this.oy) / this.scale };
  };

  View.prototype.toScreen = function (fx, fy) {
    return { x: fx * this.scale + this.ox, y: fy * this.scale + this.oy };
  };

  /** the canvas-relative point of a mouse event */
  View.prototype.eventPoint = function (e) {
    var r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  /** zoom by `factor` about the screen point (sx, sy), which keeps the frame point under it */
  View.prototype.zoomAt = function (sx, sy, factor) {
    var f = this.toFrame(sx, sy);
    this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    this.ox = sx - f.x * this.scale;
    this.oy = sy - f.y * this.scale;
    this.redraw();
  };

  View.prototype.panBy = function (dx, dy) {
    this.ox += dx;
    this.oy += dy;
    this.redraw();
  };

  /** ask for a redraw: several asks within one animation frame draw once */
  View.prototype.redraw = function () {
    if (this.pending) return;
    this.pending = true;
    var self = this;
    requestAnimationFrame(function () {
      self.pending = false;
      self.drawNow();
    });
  };

  View.prototype.drawNow = function () {
    var ctx = this.ctx;
    var dpr = this.canvas.width / Math.max(1, this.canvas.getBoundingClientRect().width || 1);
    this.draws += 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#2b2b2b';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(dpr * this.scale, 0, 0, dpr * this.scale, dpr * this.ox, dpr * this.oy);
    // zoomed in, the pixels show as pixels (a spot's edge is where the engineer puts the box)
    ctx.imageSmoothingEnabled = this.scale < 2;
    if (this.image) ctx.drawImage(this.image, 0, 0);
    else {
      ctx.fillStyle = '#555';
      ctx.fillRect(0, 0, this.width, this.height);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    // the sensor's edge
    var tl = this.toScreen(0, 0);
    ctx.strokeStyle = '#888';
    ctx.lineWidth = 1;
    ctx.strokeRect(tl.x - 0.5, tl.y - 0.5, this.width * this.scale + 1, this.height * this.scale + 1);
    if (this.drawOverlay) this.drawOverlay(ctx, this);
  };

  /** decode PNG/JPEG bytes (a Blob) once into an ImageBitmap */
  View.decode = function (blob) {
    if (window.createImageBitmap) return window.createImageBitmap(blob);
    return new Promise(function (resolve, reject) {
      var img = document.createElement('img');
      img.onload = function () {
        resolve(img);
      };
      img.onerror = function () {
        reject(new Error('the image could not be decoded'));
      };
      img.src = window.URL.createObjectURL(blob);
    });
  };

  var T = (window.SpotFusionTeach = window.SpotFusionTeach || {});
  T.View = View;
})();
