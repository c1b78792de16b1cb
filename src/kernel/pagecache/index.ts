export * from './attribution.js';
export * from './probe.js';
export * from './walk.js';
export * from './inode-walk.js';
