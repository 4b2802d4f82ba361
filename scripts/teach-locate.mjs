#!/usr/bin/env node
// Teach a recipe's part location: cut the reference patches from a golden frame and print the locate section
// (JSON) for the recipe (docs/VISION.md, "Part location").
//
//   node scripts/teach-locate.mjs --frame golden.png --feature F1:270,291,98,98 --feature F2:2088,291,98,98 \
//        [--search 64] [--min-score 0.6] [--rotation 2] [--recipe recipes.json --program 7] [--shared name]
//   node scripts/teach-locate.mjs --simulator golden --fiducials [--width 2448 --height 2048]
//
// --frame: any image sharp reads (grey or colour: luma), or a raw Mono8 file with --width/--height.
// --simulator SEED: the weld-spot simulator's aligned frame of that seed (the station demo's golden frame).
// --fiducials: one feature per simulator fiducial mark (the mark and 4 px around it).
// --recipe FILE --program P: write the section into that recipe of the file (in place); with --shared NAME it goes
// into the set's `locates` under NAME and every recipe of the file (or just --program) names it.
// Without --recipe the section is printed on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { teachLocate } = require('../dist/nodes/lib/vision/locate.js');
const { decodeImage } = require('../dist/nodes/lib/vision/crop.js');
const { parseRecipeSet } = require('../dist/nodes/lib/vision/recipe.js');
const sim = require('../dist/nodes/lib/camera/simulator.js');

const { values } = parseArgs({
  options: {
    frame: { type: 'string' },
    simulator: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    feature: { type: 'string', multiple: true, default: [] },
    fiducials: { type: 'boolean', default: false },
    search: { type: 'string' },
    'min-score': { type: 'string' },
    rotation: { type: 'string' },
    recipe: { type: 'string' },
    program: { type: 'string' },
    shared: { type: 'string' },
  },
});

function fail(message) {
  process.stderr.write(`teach-locate: ${message}\n`);
  process.exit(2);
}

const num = (v, name) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) fail(`--${name} must be a number, got ${v}`);
  return n;
};

async function goldenFrame() {
  const width = num(values.width, 'width');
  const height = num(values.height, 'height');
  if (values.simulator !== undefined) {
    const f = sim.renderFrame({ seed: values.simulator, width, height });
    return { data: f.data, width: f.width, height: f.height, channels: 1, order: 'MONO' };
  }
  if (!values.frame) fail('give --frame FILE or --simulator SEED');
  const bytes = readFileSync(values.frame);
  if (width && height && bytes.length === width * height) return { data: bytes, width, height, channels: 1, order: 'MONO' };
  return decodeImage(bytes, values.frame);
}

const img = await goldenFrame();
const regions = values.feature.map((text) => {
  const m = /^([^:]+):(\d+),(\d+),(\d+),(\d+)$/.exec(text);
  if (!m) fail(`--feature ${text}: write ID:x,y,w,h`);
  return { id: m[1], x: Number(m[2]), y: Number(m[3]), w: Number(m[4]), h: Number(m[5]) };
});
if (values.fiducials) {
  for (const f of sim.fiducialPositions(img.width, img.height)) {
    const s = f.size + 8;
    regions.push({ id: f.id, x: Math.round(f.x - s / 2), y: Math.round(f.y - s / 2), w: s, h: s });
  }
}
if (!regions.length) fail('no feature: give --feature ID:x,y,w,h (or --fiducials for simulator frames)');
let locate;
try {
  locate = teachLocate(img, regions, { searchRange: num(values.search, 'search'), minScore: num(values['min-score'], 'min-score'), rotationRange: num(values.rotation, 'rotation') });
} catch (err) {
  fail(err.message);
}

if (!values.recipe) {
  process.stdout.write(`${JSON.stringify(locate)}\n`);
} else {
  const set = JSON.parse(readFileSync(values.recipe, 'utf8'));
  const targets = set.recipes.filter((r) => values.program === undefined || String(r.program) === values.program);
  if (!targets.length) fail(`no recipe for program ${values.program} in ${values.recipe}`);
  if (values.shared) {
    set.locates = { ...set.locates, [values.shared]: locate };
    for (const r of targets) r.locate = values.shared;
  } else {
    if (values.program === undefined) fail('--recipe needs --program (or --shared NAME for every recipe of the file)');
    targets[0].locate = locate;
  }
  parseRecipeSet(set, values.recipe);
  writeFileSync(values.recipe, `${JSON.stringify(set, null, 2)}\n`);
  process.stderr.write(`teach-locate: ${regions.length} feature(s) written to ${values.recipe} (${targets.map((r) => `program ${r.program}`).join(', ')})\n`);
}
