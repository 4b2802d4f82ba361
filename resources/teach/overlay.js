/* global window */
// Teach view, what is drawn over the frame (screen px, so lines stay thin at any zoom): every spot of the shown
// recipe with its id (selected: yellow, with corner and rotate handles; outside the sensor or a duplicate id:
// red), the rectangle being drawn, the part reference's regions and where the last try located them, and the
// last try's verdict and score per spot at the place it was cut.
(function () {
  'use strict';
  var COLORS = { spot: '#35c4f0', selected: '#ffd400', bad: '#ff3b30', ok: '#2fd158', nok: '#ff3b30', missing: '#ff9f0a', reference: '#d86bff' };

  function path(ctx, view, pts) {
    ctx.beginPath();
    pts.forEach(function (p, i) {
      var s = view.toScreen(p.x, p.y);
      if (i) ctx.lineTo(s.x, s.y);
      else ctx.moveTo(s.x, s.y);
    });
    ctx.closePath();
  }

  function label(ctx, text, x, y, color) {
    ctx.font = '12px sans-serif';
    var w = ctx.measureText(text).width;
    ctx.fillStyle = 'rgba(0,0,0,0.6)';
    ctx.fillRect(x - 1, y - 13, w + 4, 15);
    ctx.fillStyle = color;
    ctx.fillText(text, x + 1, y - 2);
  }

  /**
   * state: { doc, tools, problems (indices of bad spots), result (the last try), reference (regions of the
   * locate section shown) }
   */
  function draw(ctx, view, state) {
    var g = window.SpotFusionTeach.geometry;
    var doc = state.doc;
    var spots = doc.spots();
    var bad = state.bad || {};
    ctx.lineWidth = 1.5;
    spots.forEach(function (s, i) {
      if (!s || typeof s.x !== 'number' || typeof s.w !== 'number') return;
      var selected = doc.selection.indexOf(i) >= 0;
      var color = bad[i] ? COLORS.bad : selected ? COLORS.selected : COLORS.spot;
      ctx.strokeStyle = color;
      ctx.lineWidth = selected ? 2 : 1.5;
      var cs = g.corners(s);
      path(ctx, view, cs);
      ctx.stroke();
      var tl = view.toScreen(cs[0].x, cs[0].y);
      label(ctx, String(s.id), tl.x, tl.y - 2, color);
    });
    // handles of the one selected spot
    if (doc.selection.length === 1 && spots[doc.selection[0]]) {
      var s = spots[doc.selection[0]];
      var cs = g.corners(s);
      ctx.fillStyle = COLORS.selected;
      cs.forEach(function (p) {
        var q = view.toScreen(p.x, p.y);
        ctx.fillRect(q.x - 4, q.y - 4, 8, 8);
      });
      var top = g.toFrame(s, 0, -s.h / 2);
      var r = g.rotateHandle(s, 24 / view.scale);
      var a = view.toScreen(top.x, top.y);
      var b = view.toScreen(r.x, r.y);
      ctx.strokeStyle = COLORS.selected;
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(b.x, b.y, 5, 0, Math.PI * 2);
      ctx.fill();
    }
    // the part reference: taught regions (dashed), where the last try found them (crosses)
    var loc = state.reference;
    if (loc && Array.isArray(loc.features)) {
      ctx.strokeStyle = COLORS.reference;
      ctx.setLineDash([6, 4]);
      loc.features.forEach(function (f) {
        var p = view.toScreen(f.x, f.y);
        ctx.strokeRect(p.x, p.y, f.w * view.scale, f.h * view.scale);
        label(ctx, 'ref ' + f.id, p.x, p.y - 2, COLORS.reference);
      });
      ctx.setLineDash([]);
    }
    var result = state.result;
    if (result && result.locate && Array.isArray(result.locate.features)) {
      ctx.strokeStyle = COLORS.reference;
      result.locate.features.forEach(function (f) {
        var p = view.toScreen(f.x, f.y);
        ctx.beginPath();
        ctx.moveTo(p.x - 10, p.y);
        ctx.lineTo(p.x + 10, p.y);
        ctx.moveTo(p.x, p.y - 10);
        ctx.lineTo(p.x, p.y + 10);
        ctx.stroke();
        label(ctx, f.id + ' ' + Number(f.score).toFixed(2), p.x + 6, p.y + 18, COLORS.reference);
      });
    }
    // verdicts of the last try, at the place each spot was cut
    if (result && Array.isArray(result.spots)) {
      result.spots.forEach(function (v) {
        if (!v.box) return;
        var color = v.verdict === 'OK' ? COLORS.ok : v.verdict === 'NOK' ? COLORS.nok : COLORS.missing;
        ctx.strokeStyle = color;
        ctx.setLineDash([3, 3]);
        path(ctx, view, g.corners(v.box));
        ctx.stroke();
        ctx.setLineDash([]);
        var bc = g.corners(v.box)[3];
        var q = view.toScreen(bc.x, bc.y);
        // NOK names what the model saw ("NOK crack 0.97"); OK only its score
        var what = v.verdict !== 'OK' && v.label && v.label !== 'ok' ? ' ' + v.label : '';
        label(ctx, v.verdict + what + (typeof v.score === 'number' ? ' ' + v.score.toFixed(2) : ''), q.x, q.y + 16, color);
      });
    }
    // the rectangle being drawn
    var pv = state.tools.preview;
    if (pv) {
      var p0 = view.toScreen(pv.x, pv.y);
      ctx.strokeStyle = pv.kind === 'reference' ? COLORS.reference : COLORS.selected;
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(p0.x, p0.y, pv.w * view.scale, pv.h * view.scale);
      ctx.setLineDash([]);
    }
  }

  var T = (window.SpotFusionTeach = window.SpotFusionTeach || {});
  T.overlay = { draw: draw, COLORS: COLORS };
})();
