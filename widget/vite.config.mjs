// Builds the chat widget into one self-contained script, web/dist/widget.js,
// which the confab binary embeds and serves at /widget.js. Run from web/
// (it uses web's Vite): `vite build --config ../widget/vite.config.mjs`.
// No imports here: web/node_modules is not on this file's resolution path.
const here = new URL('.', import.meta.url).pathname;

export default {
  root: here,
  logLevel: 'warn',
  build: {
    outDir: `${here}../web/dist`,
    emptyOutDir: false,
    target: 'es2020',
    minify: true,
    lib: {
      entry: `${here}src/main.ts`,
      formats: ['iife'],
      name: 'ConfabWidget',
      fileName: () => 'widget.js',
    },
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
};
