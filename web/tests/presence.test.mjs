// Two agents in two browser contexts: each sees the other looking at the
// same conversation and typing in it, and each other's changes, live.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, resultsDir, startBrowser, startServer } from './harness.mjs';

let server;
let browser;
let ada;
let bruno;
let conversationId;

async function signedIn(email, password) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', baseURL: server.url });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const login = await page.request.post('/api/v1/auth/login', { data: { email, password } });
  assert.ok(login.ok(), await login.text());
  await page.goto('/');
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  return page;
}

describe('two agents', { timeout: 90_000 }, () => {
  before(async () => {
    const [started, launched] = await Promise.allSettled([startServer(), startBrowser()]);
    server = started.value;
    browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    const setup = await fetch(`${server.url}/api/v1/setup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ account_name: 'Acme', name: 'Ada Lovelace', email: 'ada@acme.test', password: 'correct horse battery' }),
    });
    assert.ok(setup.ok);
    ada = await signedIn('ada@acme.test', 'correct horse battery');
    const me = await (await ada.request.get('/api/v1/auth/me')).json();
    const account = me.account.id;
    const added = await ada.request.post(`/api/v1/accounts/${account}/agents`, {
      data: { name: 'Bruno Lima', email: 'bruno@acme.test', password: 'another good one', role: 'agent' },
    });
    assert.ok(added.ok(), await added.text());
    const inbox = await (await ada.request.post(`/api/v1/accounts/${account}/inboxes`, { data: { name: 'Chat', kind: 'chat' } })).json();
    const session = await call(server.url, 'POST', `/api/v1/public/inboxes/${inbox.token}/contacts`, { name: 'Carla Souza' });
    const posted = await call(server.url, 'POST', `/api/v1/public/inboxes/${inbox.token}/messages`, { body: 'My parcel is late' }, { 'X-Contact-Token': session.token });
    conversationId = posted.conversation_id;
    bruno = await signedIn('bruno@acme.test', 'another good one');
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('both open the conversation: each sees the other there', async () => {
    for (const page of [ada, bruno]) {
      await page.locator('.conversation-item', { hasText: 'Carla Souza' }).click();
      await page.getByRole('heading', { name: 'Carla Souza' }).waitFor();
    }
    await ada.getByTestId('viewers').filter({ hasText: 'Bruno Lima' }).waitFor();
    await bruno.getByTestId('viewers').filter({ hasText: 'Ada Lovelace' }).waitFor();
  });

  test('one types, the other sees it; one replies, the other sees the reply', async () => {
    await bruno.getByRole('textbox', { name: 'Message' }).pressSequentially('Checking the carrier');
    await ada.getByTestId('typing').filter({ hasText: 'Bruno Lima is typing…' }).waitFor();
    await bruno.getByRole('textbox', { name: 'Message' }).press('Enter');
    await ada.locator('.message.agent', { hasText: 'Checking the carrier' }).waitFor();
    await ada.getByTestId('typing').filter({ hasText: 'typing' }).waitFor({ state: 'detached' }).catch(async () => {
      assert.equal((await ada.getByTestId('typing').textContent()).trim(), '');
    });
  });

  test('one closes it: it moves for the other at once', async () => {
    await ada.getByRole('button', { name: 'Close', exact: true }).click();
    await bruno.getByTestId('conversation-folder').filter({ hasText: 'Closed' }).waitFor();
    await bruno.waitForFunction(() => document.querySelector('[data-testid="count-closed"]')?.textContent === '1');
    await bruno.screenshot({ path: join(resultsDir, 'presence-01-bruno.png') });
  });

  test('one leaves: the other no longer sees them there', async () => {
    await bruno.context().close();
    await ada.getByTestId('viewers').waitFor({ state: 'detached' });
    assert.ok(conversationId > 0);
  });
});
