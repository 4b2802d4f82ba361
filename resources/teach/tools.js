/* global window */
// Teach view, mouse and keys on the canvas: drag on an empty place pans (a click there clears the selection),
// in "new spot" mode (or with Ctrl) it draws a new spot, in "reference" mode the part reference's region; a drag
// on a spot moves it with the other selected ones (Shift-click adds to the selection); the corner handles of
// the one selected spot resize it, the handle above it turns it (Shift: 15° steps); the wheel zooms about the
// pointer. Keys: arrows nudge the selection 1 px (Shift: 10), Delete removes it, Ctrl+Z / Ctrl+Y (Ctrl+Shift+Z)
// undo and redo, Ctrl+A selects every spot, Escape clears the selection and leaves a drawing mode.
(function () {
  'use strict';
  var HANDLE_TOL = 7; // screen px
  var ROTATE_OFF = 24; // screen px above the top edge
  var MIN_NEW = 3; // frame px: a smaller drag is a click

  function Tools(view, doc, opts) {
    this.view = view;
    this.doc = doc;
    this.opts = opts || {};
    this.mode = 'select';
    this.drag = null;
    this.preview = null; // the rectangle being drawn (frame px)
    var self = this;
    var canvas = view.canvas;
    this.onMove = function (e) {
      self.move(e);
    };
    this.onUp = function (e) {
      self.up(e);
    };
    canvas.addEventListener('mousedown', function (e) {
      self.down(e);
    });
    canvas.addEventListener('mousemove', function (e) {
      if (!self.drag) self.hover(e);
    });
    canvas.addEventListener(
      'wheel',
      function (e) {
        e.preventDefault();
        var p = view.eventPoint(e);
        view.zoomAt(p.x, p.y, Math.exp(-e.deltaY * 0.0015));
      },
      { passive: false }
    );
    canvas.addEventListener('keydown', function (e) {
      if (self.key(e)) {
        e.preventDefault();
        e.stopPropagation();
      }
    });
  }

  function G() {
    return window.SpotFusionTeach.geometry;
  }

  function copy(s) {
    return JSON.parse(JSON.stringify(s));
  }

  Tools.prototype.setMode = function (mode) {
    this.mode = mode;
    this.view.canvas.style.cursor = mode === 'select' ? 'default' : 'crosshair';
    if (this.opts.onMode) this.opts.onMode(mode);
  };

  /** what is under a frame point: { kind: 'rotate'|'resize'|'spot', index, corner } or null */
  Tools.prototype.pick = function (f) {
    var g = G();
    var spots = this.doc.spots();
    var tol = HANDLE_TOL / this.view.scale;
    var off = ROTATE_OFF / this.view.scale;
    if (this.doc.selection.length === 1 && spots[this.doc.selection[0]]) {
      var i = this.doc.selection[0];
      var h = g.hit(spots[i], f.x, f.y, tol, off, true);
      if (h && h.what === 'rotate') return { kind: 'rotate', index: i };
      if (h && h.what === 'corner') return { kind: 'resize', index: i, corner: h.index };
    }
    for (var j = spots.length - 1; j >= 0; j--) {
      if (spots[j] && g.hit(spots[j], f.x, f.y, tol, off, false)) return { kind: 'spot', index: j };
    }
    return null;
  };

  Tools.prototype.hover = function (e) {
    if (this.mode !== 'select') return;
    var hit = this.pick(this.view.toFrame(this.view.eventPoint(e).x, this.view.eventPoint(e).y));
    this.view.canvas.style.cursor = !hit ? 'default' : hit.kind === 'rotate' ? 'alias' : hit.kind === 'resize' ? 'nwse-resize' : 'move';
  };

  Tools.prototype.down = function (e) {
    if (e.button !== 0 && e.button !== 1) return;
    this.view.canvas.focus();
    var p = this.view.eventPoint(e);
    var f = this.view.toFrame(p.x, p.y);
    var doc = this.doc;
    e.preventDefault();
    if (e.button === 1) {
      this.drag = { kind: 'pan', last: p, moved: true };
    } else if (this.mode === 'reference') {
      this.drag = { kind: 'reference', start: f };
    } else {
      var hit = this.mode === 'create' ? null : this.pick(f);
      if (hit && (hit.kind === 'rotate' || hit.kind === 'resize')) {
        doc.begin();
        this.drag = { kind: hit.kind, index: hit.index, corner: hit.corner, orig: copy(doc.spots()[hit.index]) };
      } else if (hit) {
        if (e.shiftKey) doc.toggle(hit.index);
        else if (doc.selection.indexOf(hit.index) < 0) doc.select([hit.index]);
        if (doc.selection.indexOf(hit.index) >= 0) {
          doc.begin();
          var spots = doc.spots();
          this.drag = {
            kind: 'move',
            start: f,
            // a plain click on one of several selected spots selects it alone (when nothing moved)
            only: !e.shiftKey && doc.selection.length > 1 ? hit.index : undefined,
            orig: doc.selection.map(function (i) {
              return { index: i, x: spots[i].x, y: spots[i].y };
            })
          };
        }
      } else if (this.mode === 'create' || e.ctrlKey || e.metaKey) {
        this.drag = { kind: 'create', start: f };
      } else {
        this.drag = { kind: 'pan', last: p, moved: false, shift: e.shiftKey };
      }
    }
    if (this.drag) {
      window.addEventListener('mousemove', this.onMove);
      window.addEventListener('mouseup', this.onUp);
    }
  };

  function rect(a, b) {
    var x0 = Math.round(Math.min(a.x, b.x));
    var y0 = Math.round(Math.min(a.y, b.y));
    return { x: x0, y: y0, w: Math.round(Math.max(a.x, b.x)) - x0, h: Math.round(Math.max(a.y, b.y)) - y0 };
  }

  Tools.prototype.move = function (e) {
    var d = this.drag;
    if (!d) return;
    var p = this.view.eventPoint(e);
    var f = this.view.toFrame(p.x, p.y);
    var spots = this.doc.spots();
    var g = G();
    if (d.kind === 'pan') {
      if (Math.abs(p.x - d.last.x) + Math.abs(p.y - d.last.y) > 0) d.moved = true;
      this.view.panBy(p.x - d.last.x, p.y - d.last.y);
      d.last = p;
      return;
    }
    if (d.kind === 'create' || d.kind === 'reference') {
      this.preview = rect(d.start, f);
      this.preview.kind = d.kind;
    } else if (d.kind === 'move') {
      var dx = Math.round(f.x - d.start.x);
      var dy = Math.round(f.y - d.start.y);
      d.changed = d.changed || dx !== 0 || dy !== 0;
      d.orig.forEach(function (o) {
        spots[o.index].x = o.x + dx;
        spots[o.index].y = o.y + dy;
      });
    } else if (d.kind === 'resize') {
      spots[d.index] = g.resize(d.orig, d.corner, f.x, f.y);
      d.changed = true;
    } else if (d.kind === 'rotate') {
      var deg = g.rotationTowards(d.orig, f.x, f.y, e.shiftKey);
      if (deg) spots[d.index].rotation = deg;
      else delete spots[d.index].rotation;
      d.changed = true;
    }
    if (this.opts.onDrag) this.opts.onDrag();
    this.view.redraw();
  };

  Tools.prototype.up = function (e) {
    var d = this.drag;
    window.removeEventListener('mousemove', this.onMove);
    window.removeEventListener('mouseup', this.onUp);
    if (!d) return;
    if (d.kind !== 'pan') this.move(e);
    this.drag = null;
    var r = this.preview;
    this.preview = null;
    if (d.kind === 'pan') {
      if (!d.moved && !d.shift) this.doc.select([]);
    } else if (d.kind === 'create') {
      if (r && r.w >= MIN_NEW && r.h >= MIN_NEW) {
        var spot = { id: G().nextId(this.doc.spots()), x: r.x, y: r.y, w: r.w, h: r.h };
        if (this.opts.newSpotDefaults) this.opts.newSpotDefaults(spot);
        this.doc.addSpots([spot]);
      }
    } else if (d.kind === 'reference') {
      if (r && r.w >= 8 && r.h >= 8 && this.opts.onReference) this.opts.onReference({ x: r.x, y: r.y, w: r.w, h: r.h });
    } else {
      this.doc.end(!!d.changed);
      if (!d.changed && d.only !== undefined) this.doc.select([d.only]);
    }
    this.view.redraw();
  };

  /** a key on the canvas; true when it was ours */
  Tools.prototype.key = function (e) {
    var doc = this.doc;
    var k = e.key;
    var ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && (k === 'z' || k === 'Z')) return e.shiftKey ? doc.redo() || true : doc.undo() || true;
    if (ctrl && (k === 'y' || k === 'Y')) return doc.redo() || true;
    if (ctrl && (k === 'a' || k === 'A')) {
      doc.select(doc.spots().map(function (_s, i) {
        return i;
      }));
      return true;
    }
    if (k === 'Escape') {
      if (this.mode !== 'select') this.setMode('select');
      else doc.select([]);
      return true;
    }
    if (k === 'Delete' || k === 'Backspace') {
      doc.deleteSelected();
      return true;
    }
    var step = e.shiftKey ? 10 : 1;
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[k]) {
      if (!doc.selection.length) return true;
      doc.change(function () {
        this.selected().forEach(function (s) {
          s.x += moves[k][0];
          s.y += moves[k][1];
        });
      });
      return true;
    }
    return false;
  };

  var T = (window.SpotFusionTeach = window.SpotFusionTeach || {});
  T.Tools = Tools;
})();
