export * from './status';
export * from './encap';
export * from './epath';
export * from './types';
export * from './services';
