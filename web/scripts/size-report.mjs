// After `vite build`: prints the gzipped size of the JavaScript and CSS the
// first page load needs, fails past the budget, and writes a `.gz` beside
// each text asset so the server can send it pre-compressed.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
/** Issue budget: initial JavaScript at most 150 KB gzipped. */
const BUDGET_JS_GZIP = 150 * 1024;
/** Issue budget: the chat widget (`widget.js`, built from widget/) at most 15 KB gzipped. */
const BUDGET_WIDGET_GZIP = 15 * 1024;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const gzip = (bytes) => gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION });
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// What index.html loads up front: its scripts, module preloads and styles.
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = new Set(
  [...html.matchAll(/(?:src|href)="\/([^"]+\.(?:js|css))"/g)].map((match) => join(dist, match[1])),
);

let widgetJs = 0;
let initialJs = 0;
let initialCss = 0;
const rows = [];
for (const path of files(dist)) {
  if (!/\.(js|css|html|svg|json|txt|map)$/.test(path)) continue;
  const bytes = readFileSync(path);
  const packed = gzip(bytes);
  if (packed.length < bytes.length && bytes.length > 512) writeFileSync(`${path}.gz`, packed);
  if (relative(dist, path) === 'widget.js') widgetJs = packed.length;
  if (initial.has(path)) {
    if (path.endsWith('.js')) initialJs += packed.length;
    else initialCss += packed.length;
  }
  rows.push([relative(dist, path), bytes.length, packed.length, initial.has(path)]);
}

for (const [name, raw, packed, first] of rows.sort((a, b) => b[2] - a[2])) {
  console.log(`  ${first ? '*' : ' '} ${name.padEnd(40)} ${kb(raw).padStart(10)} ${kb(packed).padStart(10)} gzip`);
}
console.log(`initial JavaScript: ${kb(initialJs)} gzipped (budget ${kb(BUDGET_JS_GZIP)}); initial CSS: ${kb(initialCss)} gzipped`);
console.log(`chat widget (widget.js): ${kb(widgetJs)} gzipped (budget ${kb(BUDGET_WIDGET_GZIP)})`);
// With --write-markdown FILE: (re)write the web-size section of that file.
const flag = process.argv.indexOf('--write-markdown');
if (flag !== -1 && process.argv[flag + 1]) {
  const file = process.argv[flag + 1];
  const start = '<!-- bench:web-size:start -->';
  const end = '<!-- bench:web-size:end -->';
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const section = [
    start,
    '<!-- Written by web/scripts/size-report.mjs from the build; rerun it rather than editing. -->',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC from \`web/dist\` (svelte ${pkg.devDependencies?.svelte ?? '?'}, vite ${pkg.devDependencies?.vite ?? '?'}), gzip level 9.`,
    '',
    '```sh',
    'npm --prefix web ci && npm --prefix web run build',
    `node web/scripts/size-report.mjs --write-markdown docs/benchmarks.md`,
    '```',
    '',
    '| what the first page loads | gzipped | target |',
    '| --- | --- | --- |',
    `| JavaScript | ${kb(initialJs)} | ≤ ${kb(BUDGET_JS_GZIP)}: ${initialJs <= BUDGET_JS_GZIP ? 'met' : '**not met**'} |`,
    `| CSS | ${kb(initialCss)} | |`,
    '',
    '| the chat widget a site loads | gzipped | target |',
    '| --- | --- | --- |',
    `| \`/widget.js\` (script, styles and texts in one file) | ${kb(widgetJs)} | ≤ ${kb(BUDGET_WIDGET_GZIP)}: ${widgetJs > 0 && widgetJs <= BUDGET_WIDGET_GZIP ? 'met' : '**not met**'} |`,
    end,
  ].join('\n');
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  const next = from !== -1 && to > from
    ? text.slice(0, from) + section + text.slice(to + end.length)
    : `${text.trimEnd()}\n\n## Agent web UI: initial download\n\n${section}\n`;
  writeFileSync(file, next);
  console.log(`wrote the web-size section of ${file}`);
}
if (initialJs > BUDGET_JS_GZIP) {
  console.error('initial JavaScript is over budget');
  process.exit(1);
}
if (widgetJs === 0 || widgetJs > BUDGET_WIDGET_GZIP) {
  console.error(widgetJs === 0 ? 'widget.js is missing from the build' : 'the chat widget is over budget');
  process.exit(1);
}
