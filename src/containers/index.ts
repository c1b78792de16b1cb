export * from './identify.js';
export * from './overlay.js';
export * from './runtime.js';
export * from './snapshot.js';
