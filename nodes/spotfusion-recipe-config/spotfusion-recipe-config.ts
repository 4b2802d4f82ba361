import type { Node, NodeAPI, NodeDef } from 'node-red';
import { readFileSync } from 'node:fs';
import { watchMtimes } from '../lib/vision/watch';
import { isAbsolute, resolve } from 'node:path';
import { RecipeBook } from '../lib/vision/recipe';
import { SpotFusionError, describeError } from '../lib/errors';
import type { RecipeConfigNode } from './types';
import { translator } from '../shared/i18n';
import { ensureTeachRoutes } from '../shared/teach-admin';

interface RecipeConfigDef extends NodeDef {
  source?: 'inline' | 'file';
  recipes?: string;
  file?: string;
  watchInterval?: string | number;
}

/**
 * Recipes of weld spots for the crop node, inline (JSON in the flow) or from a JSON file. A file is read at
 * deploy and re-read when it changes; a changed file that is not valid keeps the previous recipes and warns.
 */
export = function register(RED: NodeAPI): void {
  const tr = translator(RED);
  // the teach view of the dialog (resources/teach/*.js) grabs, uploads and tries frames through these
  ensureTeachRoutes(RED);
  function RecipeConfig(this: Node, def: RecipeConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this as RecipeConfigNode;
    let book: RecipeBook | undefined;
    let problem: string | undefined;
    const source = def.source === 'file' ? 'file' : 'inline';
    const userDir = (RED.settings as unknown as { userDir?: string }).userDir || process.cwd();
    const file = def.file ? (isAbsolute(def.file.trim()) ? def.file.trim() : resolve(userDir, def.file.trim())) : '';

    const parse = (text: string, where: string): RecipeBook => {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new SpotFusionError('RECIPE', tr('spotfusion-recipe-config.errors.json', { where, error: describeError(err) }));
      }
      return RecipeBook.parse(json, where);
    };
    const loadFile = (): RecipeBook => parse(readFileSync(file, 'utf8'), file);

    try {
      if (source === 'file') {
        if (!file) throw new SpotFusionError('RECIPE', tr('spotfusion-recipe-config.errors.noFile'));
        book = loadFile();
      } else {
        book = parse(def.recipes || '', 'recipes');
      }
    } catch (err) {
      problem = tr('spotfusion-recipe-config.errors.invalid', { name: def.name || node.id, error: err instanceof Error ? err.message : describeError(err) });
      node.error(problem);
    }

    node.book = () => {
      if (!book) throw new SpotFusionError('RECIPE', problem ?? tr('spotfusion-recipe-config.errors.none'));
      return book;
    };

    let unwatch: (() => void) | undefined;
    if (source === 'file' && file) {
      const interval = Number(def.watchInterval);
      unwatch = watchMtimes([file], Number.isFinite(interval) && interval >= 100 ? interval : 2000, () => {
        try {
          book = loadFile();
          problem = undefined;
          node.log(`recipes reloaded from ${file} (programs ${book.programs.join(', ')})`);
        } catch (err) {
          node.warn(tr('spotfusion-recipe-config.errors.reloadInvalid', { file, error: err instanceof Error ? err.message : describeError(err) }));
        }
      });
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      if (unwatch) unwatch();
      done();
    });
  }

  RED.nodes.registerType('spotfusion-recipe-config', RecipeConfig);
};
