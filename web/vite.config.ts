import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run dev` serves the UI with hot reload and forwards the API (and its
// WebSockets) to a `confab serve` on CONFAB_URL (default 127.0.0.1:8080).
const backend = process.env.CONFAB_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Hashed file names under assets/ are served with a year-long cache.
    assetsDir: 'assets',
    target: 'es2022',
    // The plugin timing report is noise on a 2-core CI machine.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: {
    proxy: {
      '/api': { target: backend, ws: true, changeOrigin: false },
    },
  },
});
