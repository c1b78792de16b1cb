import type { Catalog } from './index.js';
import { common } from './zh-CN/common.js';
import { mem } from './zh-CN/mem.js';
import { filecache } from './zh-CN/filecache.js';
import { inspect } from './zh-CN/inspect.js';
import { memleak } from './zh-CN/memleak.js';
import { latency } from './zh-CN/latency.js';
import { agent } from './zh-CN/agent.js';
import { io } from './zh-CN/io.js';
import { health } from './zh-CN/health.js';
import { config } from './zh-CN/config.js';
import { net } from './zh-CN/net.js';
import { profile } from './zh-CN/profile.js';
import { load } from './zh-CN/load.js';

/** Simplified Chinese. Keys and placeholders mirror en exactly (checked by test/report/i18n.test.ts). */
export const zhCN: Catalog = {
  findings: { ...mem.findings, ...filecache.findings, ...inspect.findings, ...memleak.findings, ...latency.findings, ...io.findings, ...load.findings, ...profile.findings, ...net.findings },
  text: { ...common.text, ...mem.text, ...filecache.text, ...inspect.text, ...memleak.text, ...latency.text, ...agent.text, ...io.text, ...load.text, ...profile.text, ...net.text, ...health.text, ...config.text },
};
