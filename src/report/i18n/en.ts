import type { Catalog } from './index.js';
import { common } from './en/common.js';
import { mem } from './en/mem.js';
import { filecache } from './en/filecache.js';
import { inspect } from './en/inspect.js';
import { memleak } from './en/memleak.js';
import { latency } from './en/latency.js';
import { agent } from './en/agent.js';
import { io } from './en/io.js';
import { health } from './en/health.js';
import { config } from './en/config.js';
import { net } from './en/net.js';
import { profile } from './en/profile.js';
import { load } from './en/load.js';

/** English, the reference catalog. One file per area under ./en/, merged here. */
export const en: Catalog = {
  findings: { ...mem.findings, ...filecache.findings, ...inspect.findings, ...memleak.findings, ...latency.findings, ...io.findings, ...load.findings, ...profile.findings, ...net.findings },
  text: { ...common.text, ...mem.text, ...filecache.text, ...inspect.text, ...memleak.text, ...latency.text, ...agent.text, ...io.text, ...load.text, ...profile.text, ...net.text, ...health.text, ...config.text },
};
