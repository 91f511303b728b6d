// The agent UI end to end: the real binary, a fresh database, headless
// Chromium. The steps share one browser page and build on each other.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { call, resultsDir, startBrowser, startServer } from './harness.mjs';

const ADMIN = { workspace: 'Acme Support', name: 'Ada Lovelace', email: 'ada@acme.test', password: 'correct horse battery' };
const TIMEOUT = 10_000;

let server;
let browser;
let context;
let page;
let account;
/** The in-app inbox's public token (agent replies move its conversations to answered). */
let inAppToken;
let chatToken;
/** Every agent event stream URL the page opened, and a switch to cut it. */
const streamUrls = [];
let cutStream = false;
let liveStream = null;

const shot = (name) => page.screenshot({ path: join(resultsDir, `${name}.png`) });
const tab = (name) => page.getByRole('tab', { name: new RegExp(`^${name}`) });
const count = (folder) => page.getByTestId(`count-${folder}`);
const listItem = (text) => page.locator('.conversation-item', { hasText: text });
const composer = () => page.getByRole('textbox', { name: /Message|Private note/ });

async function contactSays(token, name, body) {
  const session = await call(server.url, 'POST', `/api/v1/public/inboxes/${token}/contacts`, { name, email: `${name.split(' ')[0].toLowerCase()}@example.com` });
  return contactSaysAgain(token, session.token, body);
}

async function contactSaysAgain(token, contactToken, body) {
  const posted = await call(server.url, 'POST', `/api/v1/public/inboxes/${token}/messages`, { body }, { 'X-Contact-Token': contactToken });
  return { contactToken, conversationId: posted.conversation_id };
}

describe('agent web UI', { timeout: 120_000 }, () => {
  before(async () => {
    // Both start at once; whichever fails, the other is still stopped in after().
    const [started, launched] = await Promise.allSettled([startServer(), startBrowser()]);
    server = started.value;
    browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', baseURL: server.url });
    context.setDefaultTimeout(TIMEOUT);
    page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    // Pass the event stream through, but keep a handle to cut it (reconnect test).
    await page.routeWebSocket(/\/events/, (ws) => {
      streamUrls.push(ws.url());
      if (cutStream) {
        ws.close({ code: 1012, reason: 'test: stream cut' });
        return;
      }
      ws.connectToServer();
      liveStream = ws;
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the server serves the UI with the right headers', async () => {
    const index = await fetch(server.url + '/inbox/open');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    const script = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    assert.ok(script, 'index.html loads a hashed script');
    const asset = await fetch(server.url + script, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type'), /javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const api404 = await fetch(server.url + '/api/v1/nope');
    assert.equal(api404.status, 404);
    assert.match(api404.headers.get('content-type'), /json/);
  });

  test('first run: create the workspace and its admin, then the inbox', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Welcome to Confab' }).waitFor();
    await page.getByLabel('Workspace name').fill(ADMIN.workspace);
    await page.getByLabel('Your name').fill(ADMIN.name);
    await page.getByLabel('Your e-mail').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await shot('01-first-run');
    await page.getByRole('button', { name: 'Create workspace' }).click();

    await tab('Open').waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    assert.equal(await tab('Open').getAttribute('aria-selected'), 'true');
    assert.equal(await count('open').textContent(), '0');
    assert.match(page.url(), /\/inbox\/open$/);
    await page.getByText('Nothing open').waitFor();
    await shot('02-empty-inbox');

    const me = await (await page.request.get('/api/v1/auth/me')).json();
    account = me.account.id;
    const inbox = async (name, kind) =>
      (await (await page.request.post(`/api/v1/accounts/${account}/inboxes`, { data: { name, kind } })).json()).token;
    inAppToken = await inbox('Mobile app', 'in_app');
    chatToken = await inbox('Website chat', 'chat');
  });

  test('sign out, then sign in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong e-mail or password.' }).waitFor();
    await shot('03-sign-in');
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await tab('Open').waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  });

  test('a contact message appears live in the list, then in the open conversation', async () => {
    await contactSays(chatToken, 'Bruno Lima', 'Is the shop open on Sundays?');
    const carla = await contactSays(inAppToken, 'Carla Souza', 'Hi! My order #1234 never arrived.');

    await listItem('Carla Souza').waitFor();
    await listItem('Bruno Lima').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="count-open"]')?.textContent === '2');
    // Newest first, with an unread marker.
    assert.match(await page.locator('.conversation-item').first().textContent(), /Carla Souza/);
    assert.equal(await listItem('Carla Souza').locator('.unread-badge [aria-hidden]').textContent(), '1');

    await listItem('Carla Souza').click();
    await page.getByRole('heading', { name: 'Carla Souza' }).waitFor();
    await page.locator('.message.contact', { hasText: 'never arrived' }).waitFor();
    assert.match(page.url(), new RegExp(`/inbox/open/${carla.conversationId}$`));

    await contactSaysAgain(inAppToken, carla.contactToken, 'The tracking code is BR123456789.');
    await page.locator('.message.contact', { hasText: 'BR123456789' }).waitFor();
    // Read while open: the unread marker goes.
    await listItem('Carla Souza').locator('.unread-badge').waitFor({ state: 'detached' });
    await shot('04-conversation');
  });

  test('a private note is set apart and does not move the conversation', async () => {
    await page.getByRole('radio', { name: 'Private note' }).check();
    await composer().fill('Carrier says it is stuck in customs.');
    await composer().press('Enter');
    const note = page.locator('.message.private', { hasText: 'stuck in customs' });
    await note.waitFor();
    assert.match(await note.textContent(), /Private note/);
    assert.equal(await page.getByTestId('conversation-folder').textContent(), 'Open');
    await shot('05-private-note');
  });

  test('a reply (Enter sends, Shift+Enter breaks the line) moves an in-app conversation to answered', async () => {
    await page.getByRole('radio', { name: 'Reply' }).check();
    await composer().fill('Sorry, Carla!');
    await composer().press('Shift+Enter');
    await composer().pressSequentially('It ships today.');
    assert.equal(await composer().inputValue(), 'Sorry, Carla!\nIt ships today.');
    await composer().press('Enter');
    const reply = page.locator('.message.agent:not(.private)', { hasText: 'It ships today.' });
    await reply.waitFor();
    assert.equal(await composer().inputValue(), '');
    assert.match(await reply.textContent(), /You/);

    // SPEC §2: an agent reply in an in-app inbox moves it to answered.
    await page.getByTestId('conversation-folder').filter({ hasText: 'Answered' }).waitFor();
    await listItem('Carla Souza').waitFor({ state: 'detached' });
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="count-open"]')?.textContent === '1' &&
        document.querySelector('[data-testid="count-answered"]')?.textContent === '1',
    );
  });

  test('a reply in a chat inbox keeps the conversation open', async () => {
    await listItem('Bruno Lima').click();
    await page.getByRole('heading', { name: 'Bruno Lima' }).waitFor();
    await composer().fill('Yes, from 10 to 16.');
    await composer().press('Enter');
    await page.locator('.message.agent', { hasText: 'from 10 to 16' }).waitFor();
    assert.equal(await page.getByTestId('conversation-folder').textContent(), 'Open');
    assert.equal(await count('open').textContent(), '1');
  });

  test('close moves the conversation to the closed tab and the counts follow', async () => {
    await page.getByRole('button', { name: 'Close', exact: true }).click();
    await page.getByTestId('conversation-folder').filter({ hasText: 'Closed' }).waitFor();
    await listItem('Bruno Lima').waitFor({ state: 'detached' });
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="count-open"]')?.textContent === '0' &&
        document.querySelector('[data-testid="count-closed"]')?.textContent === '1',
    );
    await page.locator('.toast', { hasText: 'moved to Closed' }).waitFor();
    await tab('Closed').click();
    await listItem('Bruno Lima').waitFor();
    assert.match(page.url(), /\/inbox\/closed\//);
    await shot('06-closed');
  });

  test('snooze, reopen, spam, not spam, delete and restore move it at once', async () => {
    const folder = (name) => page.getByTestId('conversation-folder').filter({ hasText: new RegExp(`^${name}$`) }).waitFor();
    const action = (name) => page.getByRole('group', { name: 'Actions' }).getByRole('button', { name, exact: true }).click();

    await page.getByRole('button', { name: 'Snooze' }).click();
    const menu = page.getByRole('menu');
    for (const label of ['5 minutes', '30 minutes', '1 hour', '4 hours', '24 hours']) {
      await menu.getByRole('menuitem', { name: label, exact: true }).waitFor();
    }
    await shot('07-snooze-menu');
    await menu.getByRole('menuitem', { name: '1 hour' }).click();
    await folder('Snoozed');
    await page.getByText(/Snoozed until/).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="count-snoozed"]')?.textContent === '1');

    await action('Reopen');
    await folder('Open');
    await action('Spam');
    await folder('Spam');
    await page.getByText('marked as spam').waitFor();
    await action('Not spam');
    await folder('Open');
    await action('Delete');
    await folder('Deleted');
    await page.getByText('in the trash').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="count-deleted"]')?.textContent === '1');
    await action('Restore');
    await folder('Open');
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="count-deleted"]')?.textContent === '0' &&
        document.querySelector('[data-testid="count-open"]')?.textContent === '1',
    );
  });

  test('after a lost connection the stream resumes from the last event', async () => {
    await tab('Open').click();
    await listItem('Bruno Lima').waitFor();
    await listItem('Bruno Lima').click();
    const before = streamUrls.length;
    cutStream = true;
    await liveStream.close({ code: 1012, reason: 'test: stream cut' });
    await page.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor();
    await shot('08-reconnecting');
    // Happens while the page is cut off …
    await contactSaysAgain(chatToken, (await contactSays(chatToken, 'Dora Reis', 'Hello?')).contactToken, 'Anyone there?');
    cutStream = false;
    // … and arrives once it is back, through since=<last seq>.
    await listItem('Dora Reis').waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    assert.ok(streamUrls.length > before, 'the page reconnected');
    assert.match(streamUrls.at(-1), /[?&]since=\d+/);
  });

  test('switching the language to pt-BR changes every string and is remembered for the agent', async () => {
    const saved = page.waitForResponse((r) => r.request().method() === 'PATCH' && /\/agents\/\d+$/.test(r.url()));
    await page.getByLabel('Language').selectOption('pt-BR');
    assert.equal((await (await saved).json()).locale, 'pt-BR');
    await tab('Abertas').waitFor();
    await page.getByRole('button', { name: 'Sair' }).waitFor();
    await page.getByRole('tab', { name: /^Fechadas/ }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Ao vivo' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'pt-BR');
    await shot('09-pt-BR');
    // The choice is the agent's: another browser (English, nothing stored) gets it at sign-in.
    const elsewhere = await browser.newContext({ locale: 'en-US', baseURL: server.url });
    try {
      const login = await elsewhere.request.post('/api/v1/auth/login', { data: { email: ADMIN.email, password: ADMIN.password } });
      assert.equal(login.status(), 200);
      const other = await elsewhere.newPage();
      await other.goto('/');
      await other.getByRole('tab', { name: /^Abertas/ }).waitFor({ timeout: TIMEOUT });
      assert.equal(await other.evaluate(() => document.documentElement.lang), 'pt-BR');
    } finally {
      await elsewhere.close();
    }
    await page.reload();
    await tab('Abertas').waitFor();
    assert.equal(await page.getByTestId('conversation-folder').textContent(), 'Aberta');
    await page.getByLabel('Idioma').selectOption('en');
    await tab('Open').waitFor();
  });

  test('usable at 768 px wide', async () => {
    await page.setViewportSize({ width: 768, height: 900 });
    await listItem('Carla Souza').or(listItem('Bruno Lima')).first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
    await page.getByRole('button', { name: 'Close', exact: true }).waitFor();
    await shot('10-tablet-768');
  });
});
