export * from './tag-db';
export * from './server';
export * from './station-tags';
