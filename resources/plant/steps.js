// Plant wizard, the seven steps: which part of the plant each one edits. The lines → areas → stations → devices
// tree is one list in the file; its steps show the levels above the one they edit as frames (a heading per line,
// per area) and hide the levels below. A problem belongs to the first step that shows its path.
import { pathPattern, parsePath } from './paths.js';

const TREE = ['lines', 'areas', 'stations', 'devices'];
/** `lines`, `lines.*.areas`, `lines.*.areas.*.stations`, `lines.*.areas.*.stations.*.devices` */
const treePattern = (level) => TREE.slice(0, level + 1).join('.*.');

function treeMode(level, pat) {
  const top = pat.split('.')[0];
  if (top !== 'lines') return level === 0 && top === 'plant' ? 'show' : 'hide';
  for (let i = 0; i < level; i++) {
    const lp = treePattern(i);
    if (pat === lp || pat === `${lp}.*`) return 'frame';
    const under = `${lp}.*.`;
    if (pat.startsWith(under) && !pat.startsWith(under + TREE[i + 1])) return 'hide';
  }
  if (level < TREE.length - 1 && pat.startsWith(`${treePattern(level)}.*.${TREE[level + 1]}`)) return 'hide';
  return 'show';
}

const topMode = (keys) => (pat) => (keys.includes(pat.split('.')[0]) ? 'show' : 'hide');

export const STEPS = [
  { id: 'lines', title: 'Plant and lines', help: 'The plant (id, name, site, version) and its production lines.', mode: (p) => treeMode(0, p) },
  { id: 'areas', title: 'Areas', help: 'The areas of each line (underbody, side frame, …).', mode: (p) => treeMode(1, p) },
  { id: 'stations', title: 'Stations', help: 'The inspection stations of each area.', mode: (p) => treeMode(2, p) },
  { id: 'devices', title: 'Devices', help: 'Per station: the PLC with its handshake tags, the cameras and the edge panel PC.', mode: (p) => treeMode(3, p) },
  { id: 'products', title: 'Products', help: 'Products with their PLC program, panels, stackups and weld spots (ROI per camera).', mode: topMode(['products']) },
  { id: 'process', title: 'Weld process and flow', help: 'The rules that judge spots, and which station inspects which spots of which product.', mode: topMode(['weldProcess', 'processFlow']) },
  { id: 'inspection', title: 'Inspection and network', help: 'The models per spot class, the central services, deploy settings and the secrets (named, never written).', mode: topMode(['inspection', 'network']) },
];

/** the index of the step where a problem at `path` (the server's text) is shown; the first step for the top level */
export function stepOf(path) {
  const pat = pathPattern(parsePath(path));
  if (pat === '') return 0;
  const i = STEPS.findIndex((s) => s.mode(pat) === 'show');
  return i < 0 ? 0 : i;
}
