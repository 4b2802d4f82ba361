// Plant wizard, cross-references: the ids a field may name (a spot's panel, stackup, class and rule, a process
// flow step's station and product, a class's model), offered as suggestions while typing. The server still
// checks them (validate.ts); this only saves typing and typos.
import { getAt, pathPattern } from './paths.js';

const ids = (list) => (Array.isArray(list) ? list.map((x) => x && x.id).filter((x) => typeof x === 'string' && x) : []);

function stationIds(plant) {
  const out = [];
  for (const line of plant.lines || []) for (const area of line.areas || []) for (const st of area.stations || []) if (st && st.id) out.push(st.id);
  return out;
}

/** the ids the field at `parts` may name, or [] */
export function suggestions(plant, parts) {
  switch (pathPattern(parts)) {
    case 'products.*.spots.*.panel':
      return ids(getAt(plant, ['products', parts[1], 'panels']));
    case 'products.*.spots.*.stackup':
      return ids(getAt(plant, ['products', parts[1], 'stackups']));
    case 'products.*.spots.*.class':
      return ids(getAt(plant, ['inspection', 'classes']));
    case 'products.*.spots.*.rule':
      return ids(getAt(plant, ['weldProcess', 'rules']));
    case 'processFlow.*.station':
      return stationIds(plant);
    case 'processFlow.*.product':
      return ids(plant.products);
    case 'inspection.classes.*.model':
      return ids(getAt(plant, ['inspection', 'models']));
    default:
      return [];
  }
}
