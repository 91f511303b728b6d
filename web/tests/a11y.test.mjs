// Accessibility of the main screens, checked with axe-core in Chromium on
// the demo workspace: no serious or critical WCAG 2 A/AA violations.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { startBrowser, startServer } from './harness.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let server;
let browser;
let page;

/** Runs axe on the page (or inside `selector`) and fails on serious or critical findings. */
async function audit(name, selector) {
  await page.addScriptTag({ content: axeSource });
  const results = await page.evaluate(
    (context) => window.axe.run(context ?? document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
    selector,
  );
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`)
    .join('\n');
  assert.equal(bad.length, 0, `${name}:\n${report}`);
}

describe('accessibility (axe-core)', { timeout: 120_000 }, () => {
  before(async () => {
    const [started, launched] = await Promise.allSettled([startServer({ args: ['--demo'] }), startBrowser()]);
    server = started.value;
    browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    // bypassCSP: axe is injected as a script; the app's CSP would (rightly) refuse it.
    const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-US', baseURL: server.url, bypassCSP: true });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('sign-in', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await audit('sign-in');
    await page.getByLabel('E-mail').fill('admin@demo.confab.test');
    await page.getByLabel('Password').fill('demo-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  });

  test('the inbox with a conversation and the contact panel', async () => {
    await page.locator('.conversation-item').first().click();
    await page.locator('.message').first().waitFor();
    await audit('inbox');
  });

  test('the shortcuts overlay', async () => {
    await page.locator('body').press('?');
    const overlay = page.locator('dialog.shortcuts');
    await overlay.waitFor();
    try {
      await audit('shortcuts', 'dialog.shortcuts');
    } finally {
      await page.keyboard.press('Escape');
      await overlay.waitFor({ state: 'hidden' });
    }
  });

  test('settings', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('dialog', { name: 'Settings' }).waitFor();
    await page.getByRole('form', { name: 'New inbox' }).waitFor();
    await audit('settings', '.settings');
    await page.getByRole('tab', { name: 'Team' }).click();
    await page.getByRole('form', { name: 'Add a teammate' }).waitFor();
    await audit('settings: team', '.settings');
    await page.keyboard.press('Escape');
  });

  test('the chat widget, open', async () => {
    const inboxes = await (await page.request.get('/api/v1/auth/me')).json();
    const list = await (await page.request.get(`/api/v1/accounts/${inboxes.account.id}/inboxes`)).json();
    const chat = list.items.find((i) => i.kind === 'chat');
    await page.goto(`/try-widget.html?inbox=${chat.token}`);
    await page.locator('confab-widget .launcher').click();
    await page.locator('confab-widget').getByRole('dialog').waitFor();
    await audit('widget');
  });
});
