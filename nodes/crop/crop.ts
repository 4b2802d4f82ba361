import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { attachPngs, cropBatch, frameToImage, RawImage, rawImageOf } from '../lib/vision/crop';
import { parseRecipe, Recipe } from '../lib/vision/recipe';
import { locateFailure, placeRecipe, locateSummary } from '../lib/vision/locate';
import { SpotFusionError } from '../lib/errors';
import { handleInput, recordTiming } from '../shared/input';
import { errorStatus, statusLine } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import { translator } from '../shared/i18n';
import type { ModelConfigNode } from '../spotfusion-model-config/types';
import type { RecipeConfigNode } from '../spotfusion-recipe-config/types';

interface CropDef extends NodeDef {
  recipes: string;
  model: string;
  program?: string;
  png?: boolean;
}

type Msg = NodeMessageInFlow & { frame?: unknown; part?: { program?: unknown }; recipe?: unknown; crops?: unknown; batch?: unknown; locate?: unknown };

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);
  const tr = translator(RED);

  function Crop(this: Node, def: CropDef): void {
    RED.nodes.createNode(this, def);
    setupCrop(this, def);
  }

  function setupCrop(node: Node, def: CropDef): void {
    const recipes = RED.nodes.getNode(def.recipes) as RecipeConfigNode | null;
    const model = RED.nodes.getNode(def.model) as ModelConfigNode | null;
    const defaultProgram = (def.program ?? '').trim();
    const wantPng = def.png === true;
    if (!model) node.status(errorStatus(tr('crop.errors.noModel')));
    else if (!recipes) node.status(errorStatus(tr('crop.errors.noRecipes')));
    else node.status({});

    function recipeFor(msg: Msg): Recipe {
      if (msg.recipe !== undefined) return parseRecipe(msg.recipe, 'msg.recipe');
      if (!recipes) throw new SpotFusionError('CONFIG', tr('crop.errors.noRecipeConfig'));
      const program = msg.part?.program ?? (defaultProgram || undefined);
      return recipes.book().get(program);
    }

    handleInput(node, async (m, send) => {
      const msg = m as Msg;
      if (!model) throw new SpotFusionError('CONFIG', tr('crop.errors.noModelConfig'));
      const started = process.hrtime.bigint();
      const recipe = recipeFor(msg);
      const current = await model.host.ready();
      const image: RawImage = rawImageOf(msg.frame) ?? (await frameToImage(msg.frame));
      // locate the part and move the ROIs with it, re-centre the spots; a part not found is a LOCATE failure
      // (never a crop at the wrong place): Catch hands it to enrich, which makes its fault result
      const placed = placeRecipe(image, recipe);
      if (placed.locate) {
        msg.locate = locateSummary(placed.locate);
        if (!placed.locate.ok) throw locateFailure(recipe, placed.locate);
      } else delete msg.locate;
      const result = cropBatch(image, placed.spots, current.preprocess, { keepPixels: wantPng, model: current.id });
      if (wantPng) await attachPngs(result);
      delete result.pixels;
      msg.crops = result.crops;
      msg.batch = result.batch;
      const ms = recordTiming(msg, 'crop', started);
      const bad = result.crops.length - result.batch.spotIds.length;
      statusLine(node).update(
        bad
          ? { fill: 'yellow', shape: 'dot', text: tr('crop.status.partial', { cut: result.batch.spotIds.length, total: result.crops.length, outside: bad }) }
          : {
              fill: 'green',
              shape: 'dot',
              text: placed.locate
                ? tr('crop.status.cutLocated', {
                    program: String(recipe.program),
                    spots: result.crops.length,
                    dx: placed.locate.dx.toFixed(1),
                    dy: placed.locate.dy.toFixed(1),
                    angle: placed.locate.angleDeg.toFixed(2),
                    score: placed.locate.score.toFixed(2),
                    ms: ms.toFixed(1),
                  })
                : tr('crop.status.cut', { program: String(recipe.program), spots: result.crops.length, ms: ms.toFixed(1) }),
            },
      );
      send(msg);
    });
  }

  RED.nodes.registerType('crop', Crop);
};
