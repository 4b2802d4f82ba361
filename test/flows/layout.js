'use strict';
// The boxes the Node-RED editor draws for the nodes of a flow file, computed as its view does (red.js,
// RED.view: width from the label, height from the outputs), for layout checks without a browser.

// Helvetica advance widths (1/1000 em) of printable ASCII 32…126; the editor draws labels in 14 px Helvetica/Arial.
const HELVETICA = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
  556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278,
  278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500,
  334, 260, 334, 584,
];
const FONT_PX = 14;
const NODE_WIDTH = 100; // node_width, node_height of RED.view
const NODE_HEIGHT = 30;

/** Width in px of a label line in the editor's node font (characters outside ASCII: 1 em, an upper bound). */
function textWidth(text) {
  let units = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0);
    units += c >= 32 && c <= 126 ? HELVETICA[c - 32] : 1000;
  }
  return (units * FONT_PX) / 1000;
}

/** Node types without an input port; the rest of those we draw have one. */
const NO_INPUT = new Set(['comment', 'catch', 'status', 'complete', 'inject', 'link in']);

/** The label the editor shows for a node (RED.utils.getNodeLabel with the node types' label functions). */
function labelOf(n) {
  if (n.name) return n.name;
  if (n.type === 'debug') return n.complete === 'true' ? 'msg' : `msg.${n.complete || 'payload'}`;
  if (n.type === 'catch') return 'catch: all';
  return n.type;
}

/** The box of a flow node: { id, label, x0, y0, x1, y1 } (node x/y are centres). */
function nodeBox(n) {
  const hideLabel = Object.prototype.hasOwnProperty.call(n, 'l') ? !n.l : n.type === 'link in' || n.type === 'link out';
  const outputs = n.outputs ?? (n.wires || []).length;
  const label = labelOf(n);
  const lines = label.split('\\n');
  const width = Math.max(...lines.map(textWidth));
  const w = hideLabel ? NODE_HEIGHT : Math.max(NODE_WIDTH, 20 * Math.ceil((width + 50 + (NO_INPUT.has(n.type) ? 0 : 7)) / 20));
  const h = hideLabel ? Math.max(NODE_HEIGHT, outputs * 15) : Math.max(6 + 24 * lines.length, outputs * 15, 30);
  return { id: n.id, type: n.type, label, x0: n.x - w / 2, y0: n.y - h / 2, x1: n.x + w / 2, y1: n.y + h / 2 };
}

/** Pairs of boxes of one tab that overlap (touching edges do not count). */
function overlaps(boxes) {
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) found.push([a, b]);
    }
  }
  return found;
}

module.exports = { textWidth, nodeBox, overlaps, labelOf };
