/* global window */
// Teach view, geometry: a spot's rotated box in frame pixels, as the crop node cuts it (nodes/lib/vision/crop.ts):
// (x, y) the top-left corner of the un-rotated box, w × h, rotation in degrees counter-clockwise on screen (y down)
// about the box centre. Hit-testing of boxes and their handles, resize and rotate from a dragged handle, the
// recipe checks the dialog shows before Deploy (ROI outside the sensor, duplicate id, empty recipe), spot ids.
(function () {
  'use strict';
  var RAD = Math.PI / 180;

  function center(s) {
    return { x: s.x + s.w / 2, y: s.y + s.h / 2 };
  }

  /** box coordinates relative to the centre (dx right, dy down before turning) → frame */
  function toFrame(s, dx, dy) {
    var t = (s.rotation || 0) * RAD;
    var c = center(s);
    return { x: c.x + dx * Math.cos(t) + dy * Math.sin(t), y: c.y - dx * Math.sin(t) + dy * Math.cos(t) };
  }

  /** frame → box coordinates relative to the centre */
  function toLocal(s, fx, fy) {
    var t = (s.rotation || 0) * RAD;
    var c = center(s);
    var vx = fx - c.x;
    var vy = fy - c.y;
    return { x: vx * Math.cos(t) - vy * Math.sin(t), y: vx * Math.sin(t) + vy * Math.cos(t) };
  }

  /** the corners in box coordinates, clockwise on screen from top-left */
  function localCorners(s) {
    return [
      { x: -s.w / 2, y: -s.h / 2 },
      { x: s.w / 2, y: -s.h / 2 },
      { x: s.w / 2, y: s.h / 2 },
      { x: -s.w / 2, y: s.h / 2 }
    ];
  }

  function corners(s) {
    return localCorners(s).map(function (p) {
      return toFrame(s, p.x, p.y);
    });
  }

  /** the rotate handle: above the top edge's middle, `off` frame px out */
  function rotateHandle(s, off) {
    return toFrame(s, 0, -s.h / 2 - off);
  }

  /**
   * What (fx, fy) touches on spot s: 'rotate', 'corner' (with index), 'inside', or null. tol and handleOff are
   * frame px (the view passes its screen tolerance divided by the zoom).
   */
  function hit(s, fx, fy, tol, handleOff, handles) {
    if (handles) {
      var r = rotateHandle(s, handleOff);
      if (Math.hypot(fx - r.x, fy - r.y) <= tol) return { what: 'rotate' };
      var cs = corners(s);
      for (var i = 0; i < 4; i++) if (Math.hypot(fx - cs[i].x, fy - cs[i].y) <= tol) return { what: 'corner', index: i };
    }
    var l = toLocal(s, fx, fy);
    if (Math.abs(l.x) <= s.w / 2 && Math.abs(l.y) <= s.h / 2) return { what: 'inside' };
    return null;
  }

  /** the spot's fields with the box set from a centre, a size and a rotation (integers as the schema wants) */
  function fromCenter(s, cx, cy, w, h, rotation) {
    var out = {};
    Object.keys(s).forEach(function (k) {
      out[k] = s[k];
    });
    w = Math.max(1, Math.round(w));
    h = Math.max(1, Math.round(h));
    out.x = Math.round(cx - w / 2);
    out.y = Math.round(cy - h / 2);
    out.w = w;
    out.h = h;
    if (rotation) out.rotation = rotation;
    else delete out.rotation;
    return out;
  }

  /** corner `index` of s dragged to (fx, fy): the opposite corner stays where it is, the rotation too */
  function resize(s, index, fx, fy) {
    var o = localCorners(s)[(index + 2) % 4];
    var p = toLocal(s, fx, fy);
    var mid = toFrame(s, (o.x + p.x) / 2, (o.y + p.y) / 2);
    return fromCenter(s, mid.x, mid.y, Math.abs(p.x - o.x), Math.abs(p.y - o.y), s.rotation || 0);
  }

  /** the rotation that points the rotate handle at (fx, fy), to 0.1° (snapped to 15° steps with snap) */
  function rotationTowards(s, fx, fy, snap) {
    var c = center(s);
    var deg = Math.atan2(-(fx - c.x), -(fy - c.y)) / RAD;
    deg = snap ? Math.round(deg / 15) * 15 : Math.round(deg * 10) / 10;
    if (deg > 180) deg -= 360;
    if (deg <= -180) deg += 360;
    return deg === 0 ? 0 : deg;
  }

  function rotate(s, deg) {
    var out = fromCenter(s, 0, 0, s.w, s.h, deg);
    // the centre stays put: x, y keep their place (the size does not change)
    out.x = s.x;
    out.y = s.y;
    return out;
  }

  /** axis-aligned bounds of a rotated box */
  function bounds(s) {
    var cs = corners(s);
    var xs = cs.map(function (p) {
      return p.x;
    });
    var ys = cs.map(function (p) {
      return p.y;
    });
    return { x0: Math.min.apply(null, xs), y0: Math.min.apply(null, ys), x1: Math.max.apply(null, xs), y1: Math.max.apply(null, ys) };
  }

  /** whether a spot lies (partly) outside a width × height sensor: the same test as the crop node's */
  function outside(s, width, height) {
    var b = bounds(s);
    var eps = 1e-6;
    return b.x0 < -eps || b.y0 < -eps || b.x1 > width + eps || b.y1 > height + eps;
  }

  /** the next free id after the ids in use: the prefix and width of the last numbered one ("S07" → "S08"), else S01 */
  function nextId(spots, taken) {
    var used = {};
    var prefix = 'S';
    var width = 2;
    var max = 0;
    (spots || []).forEach(function (s) {
      used[s.id] = true;
      var m = /^(.*?)(\d+)$/.exec(String(s.id));
      if (m) {
        prefix = m[1];
        width = m[2].length;
      }
    });
    (taken || []).forEach(function (id) {
      used[id] = true;
    });
    Object.keys(used).forEach(function (id) {
      if (id.slice(0, prefix.length) !== prefix) return;
      var rest = id.slice(prefix.length);
      if (/^\d+$/.test(rest)) max = Math.max(max, Number(rest));
    });
    var n = max + 1;
    var id;
    do {
      id = prefix + String(n).padStart(width, '0');
      n += 1;
    } while (used[id]);
    return id;
  }

  /** copies of spot s in a cols × rows grid with the pitch (frame px); the original is the grid's first cell */
  function grid(s, spots, cols, rows, pitchX, pitchY) {
    var out = [];
    var taken = [];
    for (var r = 0; r < rows; r++) {
      for (var c = 0; c < cols; c++) {
        if (r === 0 && c === 0) continue;
        var copy = JSON.parse(JSON.stringify(s));
        copy.x = Math.round(s.x + c * pitchX);
        copy.y = Math.round(s.y + r * pitchY);
        copy.id = nextId(spots, taken);
        taken.push(copy.id);
        out.push(copy);
      }
    }
    return out;
  }

  /**
   * What is wrong with a recipe set before Deploy: [{ recipe, spot, index, message }]. sensor { width, height }
   * (the shown frame's, the dialog's sensor size, or the recipe's locate frame) enables the outside check.
   */
  function recipeProblems(doc, sensor) {
    var out = [];
    if (!doc || !Array.isArray(doc.recipes)) return [{ message: 'needs a "recipes" list' }];
    if (doc.recipes.length === 0) return [{ message: 'the recipe set is empty: add a recipe with at least one spot' }];
    doc.recipes.forEach(function (r, ri) {
      var name = 'recipe ' + JSON.stringify(r && r.program !== undefined ? r.program : ri + 1);
      if (!r || !Array.isArray(r.spots) || r.spots.length === 0) {
        out.push({ recipe: ri, message: name + ' is empty: draw at least one spot' });
        return;
      }
      var frame = r.locate && typeof r.locate === 'object' && r.locate.frame ? r.locate.frame : sensor;
      var seen = {};
      r.spots.forEach(function (s, si) {
        if (!s || typeof s !== 'object') return;
        var id = String(s.id);
        if (seen[id] !== undefined) out.push({ recipe: ri, index: si, spot: id, message: name + ': spot id "' + id + '" appears twice' });
        seen[id] = si;
        var ok = ['x', 'y', 'w', 'h'].every(function (k) {
          return typeof s[k] === 'number' && isFinite(s[k]);
        });
        if (!ok) out.push({ recipe: ri, index: si, spot: id, message: name + ': spot "' + id + '" needs numbers x, y, w, h' });
        else if (frame && frame.width > 0 && frame.height > 0 && outside(s, frame.width, frame.height)) {
          out.push({ recipe: ri, index: si, spot: id, message: name + ': spot "' + id + '" lies outside the ' + frame.width + '×' + frame.height + ' sensor' });
        }
      });
    });
    return out;
  }

  var T = (window.SpotFusionTeach = window.SpotFusionTeach || {});
  T.geometry = {
    center: center,
    toFrame: toFrame,
    toLocal: toLocal,
    corners: corners,
    rotateHandle: rotateHandle,
    hit: hit,
    resize: resize,
    rotate: rotate,
    rotationTowards: rotationTowards,
    fromCenter: fromCenter,
    bounds: bounds,
    outside: outside,
    nextId: nextId,
    grid: grid,
    recipeProblems: recipeProblems
  };
  // Node (the unit tests) loads the same file with require
  if (typeof module !== 'undefined' && module.exports) module.exports = T;
})();
