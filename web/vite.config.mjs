// Vite config for the console's web UI: `npx vite build --config web/vite.config.mjs` (from the repo
// root) writes web/dist, which `oscope console` serves under `/`. `npx vite --config web/vite.config.mjs`
// runs a dev server that proxies the API to a console (OSCOPE_CONSOLE, default http://127.0.0.1:8420).
// No React plugin: Vite's built-in transform compiles TSX with the automatic JSX runtime.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));
const target = process.env.OSCOPE_CONSOLE ?? 'http://127.0.0.1:8420';

export default defineConfig({
  root,
  base: '/',
  logLevel: 'warn',
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
