import type { Node } from 'node-red';
import type { RecipeBook } from '../lib/vision/recipe';

/** What a recipe config node offers the crop nodes that use it. */
export interface RecipeConfigNode extends Node {
  /** the current, valid recipe book; throws the reason when the recipes never loaded */
  book(): RecipeBook;
}
