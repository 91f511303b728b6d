// Snooze until a chosen time, then wake-up: the server runs with
// --dev-clock, and the test moves its clock forward instead of waiting hours.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, resultsDir, startBrowser, startServer } from './harness.mjs';

let server;
let browser;
let page;

describe('snooze and wake-up', { timeout: 90_000 }, () => {
  before(async () => {
    const [started, launched] = await Promise.allSettled([startServer({ args: ['--dev-clock'] }), startBrowser()]);
    server = started.value;
    browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', baseURL: server.url });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    const setup = await page.request.post('/api/v1/setup', {
      data: { account_name: 'Acme', name: 'Ada Lovelace', email: 'ada@acme.test', password: 'correct horse battery' },
    });
    assert.ok(setup.ok(), await setup.text());
    const me = await (await page.request.get('/api/v1/auth/me')).json();
    const inbox = await (await page.request.post(`/api/v1/accounts/${me.account.id}/inboxes`, { data: { name: 'Chat', kind: 'chat' } })).json();
    const session = await call(server.url, 'POST', `/api/v1/public/inboxes/${inbox.token}/contacts`, { name: 'Dora Reis' });
    await call(server.url, 'POST', `/api/v1/public/inboxes/${inbox.token}/messages`, { body: 'Call me after lunch' }, { 'X-Contact-Token': session.token });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('snooze until a chosen time', async () => {
    await page.goto('/');
    await page.locator('.conversation-item', { hasText: 'Dora Reis' }).click();
    await page.getByRole('heading', { name: 'Dora Reis' }).waitFor();
    await page.getByRole('button', { name: 'Snooze' }).click();
    await page.getByRole('menuitem', { name: 'Pick a time…' }).click();
    const inThreeHours = await page.evaluate(() => {
      const at = new Date(Date.now() + 3 * 3600_000);
      const pad = (n) => String(n).padStart(2, '0');
      return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
    });
    await page.getByLabel('Snooze until').fill(inThreeHours);
    await page.screenshot({ path: join(resultsDir, 'snooze-01-custom.png') });
    await page.getByRole('form', { name: 'Pick a time…' }).getByRole('button', { name: 'Snooze' }).click();
    await page.getByTestId('conversation-folder').filter({ hasText: /^Snoozed$/ }).waitFor();
    await page.getByText(/Snoozed until/).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="count-snoozed"]')?.textContent === '1');
  });

  test('it wakes up when its time comes, live', async () => {
    // Not yet: two hours later it still sleeps.
    const early = await page.request.post('/api/v1/dev/clock', { data: { advance_minutes: 120 } });
    assert.equal(early.status(), 204);
    await page.waitForTimeout(1500);
    assert.equal(await page.getByTestId('conversation-folder').textContent(), 'Snoozed');
    // An hour more: it wakes, back in open, without a reload.
    await page.request.post('/api/v1/dev/clock', { data: { advance_minutes: 61 } });
    await page.getByTestId('conversation-folder').filter({ hasText: /^Open$/ }).waitFor();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="count-open"]')?.textContent === '1' &&
        document.querySelector('[data-testid="count-snoozed"]')?.textContent === '0',
    );
  });

  test('the dev clock is for admins, and bounded', async () => {
    const bad = await page.request.post('/api/v1/dev/clock', { data: { advance_minutes: 0 } });
    assert.equal(bad.status(), 422);
    const anonymous = await fetch(`${server.url}/api/v1/dev/clock`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ advance_minutes: 5 }),
    });
    assert.equal(anonymous.status, 401);
  });
});
