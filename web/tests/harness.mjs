// Starts the real `confab serve` on a fresh SQLite database and a free port,
// and Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
/** Screenshots land here (git-ignored). */
export const resultsDir = resolve(here, '../test-results');

/** The binary under test: CONFAB_BIN (relative to where npm was started), or the debug build. */
export const confabBin = process.env.CONFAB_BIN
  ? resolve(process.env.INIT_CWD ?? process.cwd(), process.env.CONFAB_BIN)
  : join(repoRoot, 'target/debug/confab');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Every server still running when this test file's process ends is killed,
// whatever failed on the way: none outlives its tests.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** `args`: more `confab serve` flags. */
export async function startServer({ args = [] } = {}) {
  if (!existsSync(confabBin)) {
    throw new Error(`no confab binary at ${confabBin}: run \`cargo build -p confab\` or set CONFAB_BIN`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'confab-ui-'));
  const child = spawn(
    confabBin,
    ['serve', '--listen', '127.0.0.1:0', '--database-url', `sqlite://${dataDir}/confab.db`, ...args],
    { env: { ...process.env, CONFAB_LOG: process.env.CONFAB_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  let log = '';
  const append = (chunk) => (log += chunk);
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const url = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`confab did not start within 30 s:\n${log}`)), 30_000);
    // The whole line: it may arrive in pieces, and a URL cut short
    // ("http://127.") would send every request elsewhere.
    const onData = () => {
      const match = log.match(/Confab is running at (http:\/\/\S+) \(press Ctrl\+C to stop\)/);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        done(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`confab exited with ${code}:\n${log}`));
    });
  });
  return {
    url,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startBrowser() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  mkdirSync(resultsDir, { recursive: true });
  return chromium.launch({ executablePath: chromiumPath, headless: true });
}

/** JSON over HTTP to the server, as a widget or an integration would call it. */
export async function call(base, method, path, body, headers = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}
