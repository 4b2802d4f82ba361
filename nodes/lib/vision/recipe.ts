import { assertValid } from '../schemas';
import { SpotFusionError } from '../errors';

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
}

export interface Recipe {
  program: string | number;
  product?: string;
  description?: string;
  spots: Spot[];
}

export interface RecipeSet {
  description?: string;
  recipes: Recipe[];
}

/** Validate a recipe set (schema + unique programs + unique spot ids); `where` names the source in errors. */
export function parseRecipeSet(value: unknown, where = 'recipes'): RecipeSet {
  const set = assertValid<RecipeSet>('recipe-set', value, where);
  const programs = new Set<string>();
  set.recipes.forEach((r, i) => {
    const key = String(r.program);
    if (programs.has(key)) {
      throw new SpotFusionError('RECIPE', `${where}.recipes[${i}].program ${JSON.stringify(r.program)} appears twice`);
    }
    programs.add(key);
    checkSpots(r, `${where}.recipes[${i}]`);
  });
  return set;
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
