import type { Catalog } from '../index.js';

/** Messages of `oscope mem` (filled in by the memory panorama). */
export const mem: Catalog = {
  findings: {},
  text: {},
};
