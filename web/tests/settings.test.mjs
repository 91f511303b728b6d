// Settings, end to end as an admin would use them: create a chat inbox,
// style its widget, paste the snippet into a plain page of another site and
// see it there; a form inbox's HTML and thank-you page; add, promote and
// remove a teammate; a webhook and its delivery log with a real receiver.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, resultsDir, startBrowser, startServer } from './harness.mjs';

const ADMIN = { account_name: 'Acme Shoes', name: 'Ada Lovelace', email: 'ada@acme.test', password: 'correct horse battery' };

let server;
let browser;
let page;
let site;
let siteUrl;
/** What the snippet page serves: the admin pastes the snippet into it. */
let pasted = '';
let receiver;
const received = [];

const dialog = () => page.getByRole('dialog', { name: 'Settings' });
const shot = (name) => page.screenshot({ path: join(resultsDir, `${name}.png`) });

describe('settings', { timeout: 120_000 }, () => {
  before(async () => {
    const [started, launched] = await Promise.allSettled([startServer(), startBrowser()]);
    server = started.value;
    browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', baseURL: server.url });
    context.setDefaultTimeout(10_000);
    await context.grantPermissions(['clipboard-read', 'clipboard-write', 'notifications'], { origin: server.url });
    // Keep a copy of each desktop notification the page shows (the real one still goes out).
    await context.addInitScript(() => {
      const Real = window.Notification;
      window.shown = [];
      window.Notification = class extends Real {
        constructor(title, options) {
          super(title, options);
          window.shown.push(options?.body ?? '');
        }
      };
    });
    page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    const setup = await page.request.post('/api/v1/setup', { data: ADMIN });
    assert.ok(setup.ok(), await setup.text());

    site = createServer((_, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><html><head><title>Acme</title></head><body><h1>Acme</h1>${pasted}</body></html>`);
    });
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: JSON.parse(body) });
        response.writeHead(204);
        response.end();
      });
    });
    await Promise.all([
      new Promise((done) => site.listen(0, '127.0.0.1', done)),
      new Promise((done) => receiver.listen(0, '127.0.0.1', done)),
    ]);
    siteUrl = `http://localhost:${site.address().port}`;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    site?.close();
    receiver?.close();
  });

  test('a chat inbox: create it, style its widget, paste the snippet into another site', async () => {
    // Without --dev-clock there is no clock to move.
    assert.equal((await page.request.post('/api/v1/dev/clock', { data: { advance_minutes: 5 } })).status(), 404);
    await page.goto('/');
    await page.getByRole('button', { name: 'Settings' }).click();
    await dialog().waitFor();
    const create = dialog().getByRole('form', { name: 'New inbox' });
    await create.getByLabel('Name').fill('Website');
    await create.getByLabel('Channel').selectOption('chat');
    await create.getByRole('button', { name: 'Create inbox' }).click();

    const detail = dialog().getByRole('form', { name: 'Website' });
    const snippet = await detail.getByLabel(/Paste this into every page/).inputValue();
    assert.match(snippet, new RegExp(`^<script src="${server.url}/widget.js" data-inbox="[0-9a-f]{64}" async></script>$`));
    await detail.getByRole('button', { name: 'Copy' }).first().click();

    await detail.getByLabel('Colour').fill('#0a7f5a');
    await detail.getByLabel('Launcher position').selectOption('left');
    await detail.getByLabel('Greeting (English)').fill('Welcome to Acme! Ask us anything.');
    await detail.getByRole('button', { name: 'Show identity secret' }).click();
    assert.match(await detail.getByLabel('Identity secret').inputValue(), /^[0-9a-f]{64}$/);
    await shot('settings-01-chat-inbox');
    await detail.getByRole('button', { name: 'Save' }).click();
    await detail.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

    // The public face carries the settings; the snippet works on another site.
    const token = snippet.match(/data-inbox="([0-9a-f]+)"/)[1];
    const face = await call(server.url, 'GET', `/api/v1/public/inboxes/${token}`);
    assert.equal(face.widget.color, '#0a7f5a');
    assert.equal(face.widget.position, 'left');
    assert.equal(face.widget.texts.en.greeting, 'Welcome to Acme! Ask us anything.');
    pasted = snippet;
    const visitor = await browser.newPage();
    await visitor.goto(siteUrl);
    await visitor.locator('confab-widget .launcher').click();
    await visitor.locator('confab-widget').getByText('Welcome to Acme! Ask us anything.').waitFor();
    const background = await visitor.locator('confab-widget .launcher').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(background, 'rgb(10, 127, 90)');
    await visitor.close();
  });

  test('a form inbox: its HTML and thank-you page', async () => {
    const create = dialog().getByRole('form', { name: 'New inbox' });
    await create.getByLabel('Name').fill('Quote form');
    await create.getByLabel('Channel').selectOption('form');
    await create.getByRole('button', { name: 'Create inbox' }).click();
    const detail = dialog().getByRole('form', { name: 'Quote form' });
    const html = await detail.getByLabel(/Your form posts here/).inputValue();
    assert.match(html, /<form method="post" action="http:\/\/127\.0\.0\.1:\d+\/api\/v1\/public\/inboxes\/[0-9a-f]+\/form">/);
    assert.match(html, /name="website"/);
    // This server was started without a relay: the admin is told so.
    await detail.getByText('Replies are not sent by e-mail: start Confab with --smtp-relay.').waitFor();
    await detail.getByLabel('Thank-you page after a form post').fill('not a url');
    await detail.getByRole('button', { name: 'Save' }).click();
    // The browser refuses it before the server would.
    assert.equal(await detail.getByRole('status').count(), 0);
    await detail.getByLabel('Thank-you page after a form post').fill('https://acme.test/thanks');
    await detail.getByRole('button', { name: 'Save' }).click();
    await detail.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const action = html.match(/action="([^"]+)"/)[1];
    const response = await fetch(action, {
      method: 'POST',
      body: new URLSearchParams({ email: 'eva@example.com', message: 'A quote for 10, please' }),
      redirect: 'manual',
    });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), 'https://acme.test/thanks');
  });

  test('the team: add a teammate, make them admin, remove them', async () => {
    await dialog().getByRole('tab', { name: 'Team' }).click();
    const add = dialog().getByRole('form', { name: 'Add a teammate' });
    await add.getByLabel('Name').fill('Bruno Lima');
    await add.getByLabel('E-mail').fill('bruno@acme.test');
    await add.getByLabel('First password').fill('another good password');
    await add.getByRole('button', { name: 'Add a teammate' }).click();
    const row = dialog().getByRole('row', { name: /Bruno Lima/ });
    await row.waitFor();
    await row.getByLabel('Role').selectOption('admin');
    await page.waitForFunction(async () => {
      const me = await (await fetch('/api/v1/auth/me')).json();
      const agents = await (await fetch(`/api/v1/accounts/${me.account.id}/agents`)).json();
      return agents.items.some((a) => a.name === 'Bruno Lima' && a.role === 'admin');
    });
    await shot('settings-02-team');
    page.once('dialog', (confirm) => confirm.accept());
    await row.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
    // A duplicate e-mail is refused with a message, not a crash.
    await add.getByLabel('Name').fill('Ada again');
    await add.getByLabel('E-mail').fill('ada@acme.test');
    await add.getByLabel('First password').fill('another good password');
    await add.getByRole('button', { name: 'Add a teammate' }).click();
    await add.getByRole('alert').waitFor();
  });

  test('tags: how often each is used; rename (merging) and remove everywhere', async () => {
    const me = await (await page.request.get('/api/v1/auth/me')).json();
    const agentApi = async (method, path, data) => {
      const response = await page.request.fetch(`/api/v1/accounts/${me.account.id}${path}`, { method, data });
      assert.ok(response.ok(), await response.text());
      return response.json();
    };
    const { items: inboxes } = await agentApi('GET', '/inboxes');
    const token = inboxes.find((i) => i.kind === 'chat').token;
    const tagged = [];
    for (const [name, tags] of [['Tia', ['billing', 'vip']], ['Ugo', ['billing']], ['Vera', ['vip']]]) {
      const contact = await call(server.url, 'POST', `/api/v1/public/inboxes/${token}/contacts`, { name });
      const posted = await call(server.url, 'POST', `/api/v1/public/inboxes/${token}/messages`, { body: 'hello' }, { 'X-Contact-Token': contact.token });
      await agentApi('PUT', `/conversations/${posted.conversation_id}/tags`, { tags });
      tagged.push(posted.conversation_id);
    }
    await dialog().getByRole('tab', { name: 'Tags' }).click();
    const rows = () => dialog().locator('.tag-table tbody tr');
    const table = async () => (await rows().allInnerTexts()).map((text) => text.split(/\s+/).slice(0, 2).join(' '));
    await rows().first().waitFor();
    assert.deepEqual(await table(), ['billing 2', 'vip 2']);
    await shot('settings-03-tags');

    // Rename billing to "VIP": merged into vip, on every conversation.
    await dialog().getByRole('button', { name: 'Rename billing' }).click();
    // The name field has the focus; Escape leaves it, back on the button.
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Rename billing');
    await dialog().getByRole('button', { name: 'Rename billing' }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'New name for billing');
    await dialog().getByRole('textbox', { name: 'New name for billing' }).fill('VIP');
    await dialog().getByRole('button', { name: 'Save' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.tag-table tbody tr').length === 1);
    assert.deepEqual(await table(), ['vip 3']);
    assert.deepEqual((await agentApi('GET', `/conversations/${tagged[0]}`)).tags, ['vip']);

    // Remove it: gone from every conversation.
    page.once('dialog', (confirm) => confirm.accept());
    await dialog().getByRole('button', { name: 'Remove vip' }).click();
    await dialog().getByText('No tags yet.').waitFor();
    for (const id of tagged) assert.deepEqual((await agentApi('GET', `/conversations/${id}`)).tags, []);
  });

  test('a webhook and its delivery log', async () => {
    await dialog().getByRole('tab', { name: 'Webhooks' }).click();
    const add = dialog().getByRole('form', { name: 'Add a webhook' });
    await add.getByLabel('Endpoint URL').fill(`http://127.0.0.1:${receiver.address().port}/hook`);
    await add.getByLabel('message.created').check();
    await add.getByRole('button', { name: 'Add a webhook' }).click();
    await dialog().getByText(`http://127.0.0.1:${receiver.address().port}/hook`).waitFor();

    // A contact writes: the receiver gets it, signed, and the log shows it delivered.
    const inboxes = await (await page.request.get(`/api/v1/accounts/1/inboxes`)).json();
    const chat = inboxes.items.find((i) => i.kind === 'chat');
    const session = await call(server.url, 'POST', `/api/v1/public/inboxes/${chat.token}/contacts`, {});
    await call(server.url, 'POST', `/api/v1/public/inboxes/${chat.token}/messages`, { body: 'Hello hook' }, { 'X-Contact-Token': session.token });
    const deadline = Date.now() + 15_000;
    while (!received.some((r) => r.body.type === 'message.created') && Date.now() < deadline) await new Promise((d) => setTimeout(d, 100));
    const delivery = received.find((r) => r.body.type === 'message.created');
    assert.ok(delivery, 'the receiver got the event');
    assert.ok(Object.keys(delivery.headers).some((h) => /signature/i.test(h)), 'signed');

    await dialog().getByRole('button', { name: 'Delivery log' }).click();
    const log = dialog().getByRole('table', { name: 'Delivery log' });
    await log.getByText('Delivered').first().waitFor();
    assert.match(await log.textContent(), /message\.created/);
    await shot('settings-03-webhooks');
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });
  });

  test('desktop notifications for new work, once, and not for what the agent is reading', async () => {
    await page.getByRole('button', { name: 'Notifications' }).click();
    await page.getByLabel('Desktop notifications').check();
    await page.getByLabel('Sound').check();
    const inboxes = await (await page.request.get(`/api/v1/accounts/1/inboxes`)).json();
    const chat = inboxes.items.find((i) => i.kind === 'chat');
    const session = await call(server.url, 'POST', `/api/v1/public/inboxes/${chat.token}/contacts`, { name: 'Nina Costa' });
    const says = (body) =>
      call(server.url, 'POST', `/api/v1/public/inboxes/${chat.token}/messages`, { body }, { 'X-Contact-Token': session.token });
    await says('Is anyone there?');
    await page.waitForFunction(() => window.shown.length >= 1);
    await page.waitForTimeout(500);
    assert.deepEqual(await page.evaluate(() => window.shown), ['New conversation from Nina Costa'], 'one notification, not two');

    // Reading it: nothing more. Elsewhere: each message.
    await page.locator('.conversation-item', { hasText: 'Nina Costa' }).click();
    await page.getByRole('heading', { name: 'Nina Costa' }).waitFor();
    await page.waitForTimeout(3000);
    await says('Hello?');
    await page.locator('.message.contact', { hasText: 'Hello?' }).waitFor();
    await page.waitForTimeout(300);
    assert.equal((await page.evaluate(() => window.shown)).length, 1);
    await page.locator('.conversation-item').filter({ hasNotText: 'Nina Costa' }).first().click();
    await page.getByRole('heading', { name: 'Nina Costa' }).waitFor({ state: 'detached' });
    await says('Still waiting');
    await page.waitForFunction(() => window.shown.length === 2);
    assert.equal(await page.evaluate(() => window.shown[1]), 'Nina Costa: Still waiting');
    // The setting is remembered for this agent.
    await page.reload();
    await page.getByRole('button', { name: 'Notifications' }).click();
    assert.equal(await page.getByLabel('Desktop notifications').isChecked(), true);
  });
});
