/**
 * The one direction of flow (design.md §2, README "Development"): contract → kernel/host → diagnose →
 * report → cli/agent/console/web. Every import in src/ is checked against it, type-only imports too
 * (a type import still couples the layers).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers.js';

const SRC = join(REPO_ROOT, 'src');

/** What each layer may import (besides itself, node: built-ins and npm packages where allowed). */
const ALLOWED: Record<string, readonly string[]> = {
  contract: [],
  util: [],
  // The Host interface names the live capabilities' types, and LiveHost implements them over kernel/.
  host: ['kernel', 'contract', 'util'],
  kernel: ['host', 'contract', 'util'],
  containers: ['kernel', 'host', 'contract', 'util'],
  diagnose: ['kernel', 'host', 'containers', 'contract', 'util'],
  simulate: ['kernel', 'host', 'diagnose', 'report', 'contract', 'util'],
  report: ['diagnose', 'host', 'contract', 'util'],
  agent: ['report', 'diagnose', 'kernel', 'host', 'containers', 'console', 'contract', 'util', 'version.js'],
  console: ['agent', 'report', 'diagnose', 'host', 'contract', 'util', 'version.js'],
  cli: ['agent', 'console', 'report', 'diagnose', 'simulate', 'kernel', 'host', 'containers', 'contract', 'util', 'version.js'],
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

test('layers: no module imports a layer above its own', () => {
  const bad: string[] = [];
  for (const file of walk(SRC)) {
    const layer = relative(SRC, file).split('/')[0]!;
    const allowed = ALLOWED[layer];
    if (!allowed) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) {
        if (layer === 'contract' && spec !== 'zod') bad.push(`${relative(REPO_ROOT, file)} imports ${spec} (the contract imports nothing but zod)`);
        continue;
      }
      const target = relative(SRC, resolve(dirname(file), spec)).split('/')[0]!;
      if (target === layer || allowed.includes(target)) continue;
      bad.push(`${relative(REPO_ROOT, file)} (${layer}) imports ${spec} (${target})`);
    }
  }
  assert.deepEqual(bad, []);
});
