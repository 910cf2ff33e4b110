/**
 * Node-only entry: everything in the main entry, with `fromPretrained` also opening checkpoint files by path. Keep it
 * out of browser bundles.
 */
export * from './index.js';
export { fromPretrained } from './pretrained/fromPretrainedNode.js';
