// Vite config for the console's web UI: `npx vite build --config web/vite.config.mjs` (from the repo
// root) writes web/dist, which `oscope console` serves under `/`. `npx vite --config web/vite.config.mjs`
// runs a dev server that proxies the API to a console (OSCOPE_CONSOLE, default http://127.0.0.1:8420).
// No React plugin: Vite's built-in transform compiles TSX with the automatic JSX runtime.
// `@contract` (src/contract/, imported type-only: nothing of it, and no zod, reaches the bundle) and
// `@format` (src/report/format.ts, the one pure format module) are the same aliases as web/tsconfig.json's paths.
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));
const target = process.env.OSCOPE_CONSOLE ?? 'http://127.0.0.1:8420';

export default defineConfig({
  root,
  base: '/',
  logLevel: 'warn',
  resolve: {
    alias: [
      { find: /^@contract$/, replacement: join(root, '../src/contract/index.ts') },
      { find: /^@format$/, replacement: join(root, '../src/report/format.ts') },
    ],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    sourcemap: false,
  },
  server: {
    proxy: { '/api': target, '/auth': target, '/healthz': target },
  },
});
