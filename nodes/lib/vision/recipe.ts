import { assertValid, SchemaError } from '../schemas';
import { SpotFusionError } from '../errors';
import { checkLocate } from './locate';

/**
 * Recipes: for each product/program, the weld spots (ROIs) the crop node cuts from a frame. A recipe set is
 * JSON validated by nodes/schemas/recipe-set.schema.json, plus the checks a schema cannot express (unique
 * programs, unique spot ids). Selection is by the program the PLC reports (msg.part.program).
 */
export interface Spot {
  id: string;
  /** top-left corner of the un-rotated box, frame pixels */
  x: number;
  y: number;
  w: number;
  h: number;
  /** degrees, counter-clockwise on screen, about the box centre */
  rotation?: number;
  /** nominal nugget diameter, frame pixels */
  expectedDiameter?: number;
  /** total sheet stack thickness, mm */
  stackupThickness?: number;
  /** which model head(s) apply; default every head */
  head?: string | string[];
  /** re-centring: search the nugget within ± this many frame px of the (located) box centre */
  search?: number;
}

/** One reference feature: a Mono8 patch taught from the golden frame at region (x, y, w, h). */
export interface LocateFeature {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
  /** w·h bytes of Mono8, base64 */
  patch: string;
  minScore?: number;
}

/** Part location: where the recipe's part is in a frame, before its ROIs are cut (nodes/lib/vision/locate.ts). */
export interface LocateSpec {
  /** the golden frame's (sensor's) size: the features' regions lie inside it */
  frame: { width: number; height: number };
  features: LocateFeature[];
  /** ± px around each feature's taught position (default 64) */
  searchRange?: number;
  /** lowest NCC score of a feature that counts as found (default 0.6) */
  minScore?: number;
  /** ± degrees: the rotation searched with one feature, the rotation accepted with several (default 2) */
  rotationRange?: number;
  /** px: how far a found feature may lie from where the fitted placement puts it (default 3) */
  maxResidual?: number;
}

export interface Recipe {
  program: string | number;
  product?: string;
  description?: string;
  spots: Spot[];
  /** part location; after parsing always the section itself (a name of the set's `locates` is resolved) */
  locate?: LocateSpec;
  /** re-centring margin (px) for every spot without its own `search` */
  spotSearch?: number;
}

export interface RecipeSet {
  description?: string;
  /** locate sections shared by several recipes (programs of the same part), by name: recipe.locate = "name" */
  locates?: Record<string, LocateSpec>;
  recipes: Recipe[];
}

/** Validate a recipe set (schema + unique programs + unique spot ids); `where` names the source in errors. */
export function parseRecipeSet(value: unknown, where = 'recipes'): RecipeSet {
  let set: RecipeSet;
  try {
    set = assertValid<RecipeSet>('recipe-set', value, where);
  } catch (err) {
    throw nameRecipes(err, value, where);
  }
  const programs = new Set<string>();
  const resolved = new Map<number, LocateSpec>();
  for (const [key, spec] of Object.entries(set.locates ?? {})) {
    try {
      checkLocate(spec, `${where}.locates.${key}`);
    } catch (err) {
      const users = set.recipes.filter((r) => (r.locate as unknown) === key).map((r) => JSON.stringify(r.program));
      throw new SpotFusionError('RECIPE', `${users.length ? `recipe${users.length > 1 ? 's' : ''} ${users.join(', ')}` : 'no recipe'} (locate "${key}"): ${(err as Error).message}`);
    }
  }
  set.recipes.forEach((r, i) => {
    const key = String(r.program);
    if (programs.has(key)) {
      throw new SpotFusionError('RECIPE', `${where}.recipes[${i}].program ${JSON.stringify(r.program)} appears twice`);
    }
    programs.add(key);
    const at = `${where}.recipes[${i}]`;
    checkSpots(r, at);
    const name = `recipe ${JSON.stringify(r.program)}${r.product ? ` (${r.product})` : ''}`;
    const ref = r.locate as LocateSpec | string | undefined;
    if (typeof ref === 'string') {
      const shared = set.locates && Object.prototype.hasOwnProperty.call(set.locates, ref) ? set.locates[ref] : undefined;
      if (!shared) {
        throw new SpotFusionError('RECIPE', `${name}: ${at}.locate "${ref}" is not in ${where}.locates (known: ${Object.keys(set.locates ?? {}).join(', ') || 'none'})`);
      }
      resolved.set(i, shared);
    } else if (ref) {
      try {
        checkLocate(ref, `${at}.locate`);
      } catch (err) {
        throw new SpotFusionError('RECIPE', `${name}: ${(err as Error).message}`);
      }
    }
  });
  // a recipe that names a shared section gets the section itself (a copy of the recipe: the input is not changed)
  if (resolved.size) return { ...set, recipes: set.recipes.map((r, i) => (resolved.has(i) ? { ...r, locate: resolved.get(i) } : r)) };
  return set;
}

/** A schema error whose fields lie in a recipe also names that recipe: "recipes.recipes[2].spots[0].w must be >= 1 (recipe program 7)". */
function nameRecipes(err: unknown, value: unknown, where: string): unknown {
  if (!(err instanceof SchemaError)) return err;
  const list = typeof value === 'object' && value !== null ? (value as { recipes?: unknown }).recipes : undefined;
  if (!Array.isArray(list)) return err;
  const prefix = `${where}.recipes[`;
  const problems = err.problems.map((p) => {
    if (!p.startsWith(prefix)) return p;
    const program = (list[Number(p.slice(prefix.length, p.indexOf(']', prefix.length)))] as { program?: unknown } | undefined)?.program;
    return typeof program === 'string' || typeof program === 'number' ? `${p} (recipe program ${JSON.stringify(program)})` : p;
  });
  return new SchemaError('recipe-set', problems);
}

/** Validate one recipe given inline (msg.recipe). */
export function parseRecipe(value: unknown, where = 'msg.recipe'): Recipe {
  const set = parseRecipeSet({ recipes: [value] }, where);
  return set.recipes[0];
}

function checkSpots(r: Recipe, where: string): void {
  const ids = new Set<string>();
  r.spots.forEach((s, j) => {
    if (ids.has(s.id)) throw new SpotFusionError('RECIPE', `${where}.spots[${j}].id "${s.id}" appears twice`);
    ids.add(s.id);
  });
}

/** A validated recipe set with lookup by program. */
export class RecipeBook {
  private readonly byProgram = new Map<string, Recipe>();

  constructor(readonly set: RecipeSet) {
    for (const r of set.recipes) this.byProgram.set(String(r.program), r);
  }

  static parse(value: unknown, where?: string): RecipeBook {
    return new RecipeBook(parseRecipeSet(value, where));
  }

  get programs(): string[] {
    return [...this.byProgram.keys()];
  }

  /** The recipe of `program`; an unknown program is an error that names it and the known ones. */
  get(program: unknown): Recipe {
    if (program === undefined || program === null || program === '') {
      throw new SpotFusionError('RECIPE', `no program: set msg.part.program (or the node's default program); known programs: ${this.known()}`);
    }
    if (typeof program !== 'string' && typeof program !== 'number') {
      throw new SpotFusionError('RECIPE', `program must be a string or a number, got ${typeof program}`);
    }
    const r = this.byProgram.get(String(program));
    if (!r) throw new SpotFusionError('RECIPE', `no recipe for program ${JSON.stringify(program)}; known programs: ${this.known()}`);
    return r;
  }

  private known(): string {
    const list = this.programs;
    const shown = list.slice(0, 20).map((p) => JSON.stringify(p)).join(', ');
    return list.length > 20 ? `${shown} … (${list.length} in all)` : shown;
  }
}
