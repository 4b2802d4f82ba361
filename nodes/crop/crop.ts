import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { attachPngs, cropBatch, frameToImage, RawImage, rawImageOf } from '../lib/vision/crop';
import { parseRecipe, Recipe } from '../lib/vision/recipe';
import { SpotFusionError } from '../lib/errors';
import { handleInput } from '../shared/input';
import { errorStatus } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import type { ModelConfigNode } from '../spotfusion-model-config/types';
import type { RecipeConfigNode } from '../spotfusion-recipe-config/types';

interface CropDef extends NodeDef {
  recipes: string;
  model: string;
  program?: string;
  png?: boolean;
}

type Msg = NodeMessageInFlow & { frame?: unknown; part?: { program?: unknown }; recipe?: unknown; crops?: unknown; batch?: unknown };

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);

  function Crop(this: Node, def: CropDef): void {
    RED.nodes.createNode(this, def);
    setupCrop(this, def);
  }

  function setupCrop(node: Node, def: CropDef): void {
    const recipes = RED.nodes.getNode(def.recipes) as RecipeConfigNode | null;
    const model = RED.nodes.getNode(def.model) as ModelConfigNode | null;
    const defaultProgram = (def.program ?? '').trim();
    const wantPng = def.png === true;
    if (!model) node.status(errorStatus('no model config selected'));
    else if (!recipes) node.status(errorStatus('no recipe config selected'));
    else node.status({});

    function recipeFor(msg: Msg): Recipe {
      if (msg.recipe !== undefined) return parseRecipe(msg.recipe, 'msg.recipe');
      if (!recipes) throw new SpotFusionError('CONFIG', 'crop has no recipe config: open the node and select one (or send msg.recipe)');
      const program = msg.part?.program ?? (defaultProgram || undefined);
      return recipes.book().get(program);
    }

    handleInput(node, async (m, send) => {
      const msg = m as Msg;
      if (!model) throw new SpotFusionError('CONFIG', 'crop has no model config: open the node and select one');
      const started = process.hrtime.bigint();
      const recipe = recipeFor(msg);
      const current = await model.host.ready();
      const image: RawImage = rawImageOf(msg.frame) ?? (await frameToImage(msg.frame));
      const result = cropBatch(image, recipe.spots, current.preprocess, { keepPixels: wantPng, model: current.id });
      if (wantPng) await attachPngs(result);
      delete result.pixels;
      msg.crops = result.crops;
      msg.batch = result.batch;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const bad = result.crops.length - result.batch.spotIds.length;
      node.status(
        bad
          ? { fill: 'yellow', shape: 'dot', text: `${result.batch.spotIds.length}/${result.crops.length} spots cut, ${bad} outside the frame` }
          : { fill: 'green', shape: 'dot', text: `program ${String(recipe.program)}: ${result.crops.length} spots, ${ms.toFixed(1)} ms` },
      );
      send(msg);
    });
  }

  RED.nodes.registerType('crop', Crop);
};
