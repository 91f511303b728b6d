// The chat widget end to end: a plain HTML page on a second origin installs
// /widget.js with one script tag; a visitor chats in it with an agent
// signed in to the agent UI of the real binary, both in headless Chromium.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { call, resultsDir, startBrowser, startServer } from './harness.mjs';

const TIMEOUT = 10_000;
const ADMIN = { account_name: 'Acme Shoes', name: 'Ada Lovelace', email: 'ada@acme.test', password: 'correct horse battery' };

let server;
let browser;
let site;
let siteUrl;
let agentContext;
let agent;
let account;
let inbox;

/** A plain HTML page of another site, with the widget installed and hostile styles. */
function hostPage(token, extraHead = '') {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Shoes — home</title>
<style>* { font-family: serif !important; color: #c00 !important; } button { background: yellow !important; border: 3px solid lime !important; }</style>
${extraHead}</head><body><h1>Acme Shoes</h1><p>Handmade in Porto.</p>
<script src="${server.url}/widget.js" data-inbox="${token}" async></script></body></html>`;
}

async function admin(method, path, body) {
  const response = await agent.request.fetch(`${server.url}/api/v1/accounts/${account}${path}`, { method, data: body });
  assert.ok(response.ok(), `${method} ${path}: ${response.status()} ${await response.text()}`);
  return response.status() === 204 ? null : response.json();
}

/** A visitor in their own browser context (own storage), on the site's page. */
async function visitor({ locale = 'en-US', page: path = '/shop', viewport = { width: 1100, height: 760 } } = {}) {
  const context = await browser.newContext({ locale, viewport });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('widget page error:', error));
  await page.goto(siteUrl + path);
  return { context, page, widget: page.locator('confab-widget') };
}

const launcher = (v) => v.widget.locator('.launcher');
const messageIn = (v, text) => v.widget.locator('.msg', { hasText: text });

describe('chat widget', { timeout: 150_000 }, () => {
  before(async () => {
    // Every visitor here shares one IP: lift the per-IP limit of the public API.
    const args = ['--public-rate-per-minute', '6000', '--public-rate-burst', '1000'];
    const [started, launched] = await Promise.allSettled([startServer({ args }), startBrowser()]);
    server = started.value;
    browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;

    agentContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', baseURL: server.url });
    agentContext.setDefaultTimeout(TIMEOUT);
    agent = await agentContext.newPage();
    agent.on('pageerror', (error) => console.error('agent page error:', error));
    const setup = await agent.request.post('/api/v1/setup', { data: ADMIN });
    assert.ok(setup.ok(), await setup.text());
    account = (await (await agent.request.get('/api/v1/auth/me')).json()).account.id;
    inbox = await admin('POST', '/inboxes', { name: 'Website', kind: 'chat' });

    // The second origin: `localhost` on another port (the server is 127.0.0.1).
    site = createServer((request, response) => {
      const token = new URL(request.url, 'http://x').searchParams.get('inbox') ?? inbox.token;
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end(hostPage(token));
    });
    await new Promise((done) => site.listen(0, '127.0.0.1', done));
    siteUrl = `http://localhost:${site.address().port}`;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    site?.close();
  });

  test('/widget.js is one small script, served compressed to any site', async () => {
    const response = await fetch(`${server.url}/widget.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /javascript/);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    const text = await response.text();
    const gzipped = gzipSync(Buffer.from(text), { level: 9 }).length;
    assert.ok(gzipped <= 15 * 1024, `widget.js is ${gzipped} bytes gzipped (budget 15 KB)`);

    // The public API answers cross-origin calls (the widget's preflight), the agent API does not.
    const preflight = await fetch(`${server.url}/api/v1/public/inboxes/${inbox.token}/messages`, {
      method: 'OPTIONS',
      headers: { Origin: siteUrl, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-contact-token,idempotency-key' },
    });
    assert.ok(preflight.ok, `preflight answered ${preflight.status}`);
    assert.equal(preflight.headers.get('access-control-allow-origin'), siteUrl);
    assert.match(preflight.headers.get('access-control-allow-headers'), /x-contact-token/i);
    const agentApi = await fetch(`${server.url}/api/v1/accounts/${account}/inboxes`, { headers: { Origin: siteUrl } });
    assert.equal(agentApi.headers.get('access-control-allow-origin'), null);
  });

  test('a visitor chats with an agent: live both ways, with typing', async () => {
    await agent.goto('/');
    await agent.getByRole('status').filter({ hasText: 'Live' }).waitFor();

    const v = await visitor();
    await launcher(v).waitFor();
    // Isolated from the host page's styles.
    const look = await launcher(v).evaluate((el) => {
      const style = getComputedStyle(el);
      return { background: style.backgroundColor, border: style.borderTopWidth };
    });
    assert.equal(look.background, 'rgb(31, 111, 235)');
    assert.equal(look.border, '0px');
    await launcher(v).click();
    await v.widget.getByRole('dialog', { name: 'Chat with us' }).waitFor();
    await v.widget.getByText('Hi! How can we help?').waitFor();
    const box = v.widget.getByRole('textbox', { name: 'Write a message…' });
    await box.fill('Do you ship to Lisbon?');
    await box.press('Enter');
    await messageIn(v, 'Do you ship to Lisbon?').locator('time').waitFor();

    // The agent sees it live and opens it.
    const item = agent.locator('.conversation-item', { hasText: 'Visitor' }).first();
    await item.waitFor();
    await item.click();
    await agent.locator('.message.contact', { hasText: 'ship to Lisbon' }).waitFor();

    // The visitor types: the agent sees it.
    await box.pressSequentially('And to Ma');
    await agent.getByTestId('typing').filter({ hasText: /is typing/ }).waitFor();

    // The agent types: the visitor sees who.
    const reply = agent.getByRole('textbox', { name: 'Message' });
    await reply.pressSequentially('Yes, ');
    await v.widget.locator('.typing', { hasText: 'Ada Lovelace is typing…' }).waitFor();
    await reply.pressSequentially('in **2 days**, *by post*, **_soon_** <b>not bold</b>.');
    await reply.press('Enter');
    const answer = messageIn(v, 'Yes, in 2 days');
    await answer.waitFor();
    assert.match(await answer.locator('.by').textContent(), /Ada Lovelace/);
    // The agent's Markdown is rendered; HTML they typed stays text.
    const twoDays = answer.locator('strong', { hasText: '2 days' });
    assert.equal(await twoDays.textContent(), '2 days');
    assert.equal(await answer.locator('b').count(), 0);
    // …and looks it: the widget's reset of every element's font must not
    // flatten bold and italic, nested ones included.
    const byPost = answer.locator('em', { hasText: 'by post' });
    assert.equal(await byPost.textContent(), 'by post');
    const weightAndStyle = (el) => getComputedStyle(el).fontWeight + ' ' + getComputedStyle(el).fontStyle;
    assert.equal(await twoDays.evaluate(weightAndStyle), '700 normal');
    assert.equal(await byPost.evaluate(weightAndStyle), '400 italic');
    assert.equal(await answer.locator('strong em').evaluate(weightAndStyle), '700 italic');
    await answer.getByText('<b>not bold</b>').waitFor();
    await v.widget.locator('.typing').waitFor({ state: 'detached' });
    await v.page.screenshot({ path: join(resultsDir, 'widget-01-chat.png') });

    // What the widget told the team about the visitor.
    const conversation = (await admin('GET', '/conversations?folder=open')).items[0];
    const contact = await admin('GET', `/contacts/${conversation.contact_id}`);
    const facts = contact.browser;
    assert.equal(facts.page_url, `${siteUrl}/shop`);
    assert.equal(facts.page_title, 'Acme Shoes — home');
    assert.match(facts.browser, /^Chrome \d+/);
    assert.equal(facts.os, 'Linux');
    assert.equal(facts.language, 'en-US');
    assert.ok(facts.time_zone, 'a time zone');

    // A reload keeps the visitor and their history.
    await v.page.reload();
    await launcher(v).click();
    // (From the history this time: still rendered.)
    await messageIn(v, 'Yes, in 2 days').locator('strong', { hasText: '2 days' }).waitFor();
    await messageIn(v, 'Do you ship to Lisbon?').waitFor();
    // The unread badge counts replies that arrive while the window is closed.
    await v.widget.getByRole('button', { name: 'Close chat' }).first().click();
    await reply.fill('Anything else?');
    await reply.press('Enter');
    await v.widget.locator('.badge', { hasText: '1' }).waitFor();
    await v.context.close();
  });

  test('a visitor sends a picture and gets a file back', async () => {
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    const v = await visitor();
    await launcher(v).click();
    const box = v.widget.getByRole('textbox', { name: 'Write a message…' });
    await box.fill('Here is a photo of the sole');
    await v.widget.locator('input[type=file]').setInputFiles({ name: 'sole.png', mimeType: 'image/png', buffer: png });
    const mine = messageIn(v, 'Here is a photo of the sole');
    await mine.locator('time').waitFor();
    const picture = mine.locator('img[alt="sole.png"]');
    await picture.waitFor();
    await v.page.waitForFunction((img) => img.complete && img.naturalWidth === 1, await picture.elementHandle());

    // The team has it on the message, and answers with a PDF.
    const conversation = (await admin('GET', '/conversations?folder=open')).items.find((c) =>
      c.last_message_preview?.includes('photo of the sole'),
    );
    assert.ok(conversation, 'the conversation with the photo');
    const history = (await admin('GET', `/conversations/${conversation.id}/messages`)).items;
    const sent = history.find((m) => m.body === 'Here is a photo of the sole');
    assert.deepEqual(sent.attachments.map((a) => [a.filename, a.content_type]), [['sole.png', 'image/png']]);
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
    const upload = await agent.request.post(`${server.url}/api/v1/accounts/${account}/conversations/${conversation.id}/attachments`, {
      multipart: { file: { name: 'size-chart.pdf', mimeType: 'application/pdf', buffer: pdf } },
    });
    assert.equal(upload.status(), 201, await upload.text());
    const file = await upload.json();
    await admin('POST', `/conversations/${conversation.id}/messages`, { body: 'Our size chart', attachment_ids: [file.id] });
    const link = messageIn(v, 'Our size chart').getByRole('link', { name: 'size-chart.pdf' });
    await link.waitFor();
    const download = await fetch(await link.getAttribute('href'));
    assert.equal(download.status, 200);
    assert.match(await download.text(), /^%PDF/);
    await v.page.screenshot({ path: join(resultsDir, 'widget-03-files.png') });
    await v.context.close();
  });

  test('a message whose answer is lost is retried with its key and stored once', async () => {
    const v = await visitor();
    await launcher(v).click();
    const box = v.widget.getByRole('textbox', { name: 'Write a message…' });
    await box.fill('first words');
    await box.press('Enter');
    await messageIn(v, 'first words').locator('time').waitFor();
    // The server gets the next post, but its answer never reaches the page.
    let cut = 0;
    await v.page.route('**/messages', async (route) => {
      if (route.request().method() !== 'POST' || cut > 0) return route.continue();
      cut += 1;
      await route.fetch();
      await route.abort('connectionreset');
    });
    await box.fill('only once, please');
    await box.press('Enter');
    await messageIn(v, 'only once, please').locator('time').waitFor({ timeout: 15_000 });
    // The stream may show it before the retry is answered: wait for the queue to drain.
    await v.widget.locator('.msg.pending').waitFor({ state: 'detached', timeout: 15_000 });
    assert.equal(cut, 1);

    // Offline: the message waits in the queue, then goes once the network is back.
    await v.context.setOffline(true);
    await box.fill('written on the train');
    await box.press('Enter');
    await v.widget.getByText('Will be sent when you are back online').waitFor();
    await v.context.setOffline(false);
    await messageIn(v, 'written on the train').locator('time').waitFor({ timeout: 15_000 });

    const conversations = (await admin('GET', '/conversations?folder=open')).items;
    const bodies = [];
    for (const c of conversations) {
      bodies.push(...(await admin('GET', `/conversations/${c.id}/messages`)).items.map((m) => m.body));
    }
    assert.equal(bodies.filter((b) => b === 'only once, please').length, 1, 'no duplicate after a lost answer');
    assert.equal(bodies.filter((b) => b === 'written on the train').length, 1);
    await v.context.close();
  });

  test('a message the server refuses stays on screen, marked and readable as not sent, until the visitor removes it', async () => {
    const v = await visitor();
    await launcher(v).click();
    const box = v.widget.getByRole('textbox', { name: 'Write a message…' });
    // The composer stops at the server's limit for a message body.
    const tooLong = 'x'.repeat(65_537);
    await box.fill(tooLong);
    assert.equal((await box.inputValue()).length, 65_536);
    // A body one character over the limit put there by a script (the
    // composer's limit does not apply to it): the server refuses it, a real 422.
    await box.evaluate((el, value) => {
      el.value = value;
    }, tooLong);
    await box.press('Enter');
    const failed = v.widget.locator('.msg.failed');
    await failed.waitFor();
    const state = failed.locator('.state');
    assert.equal(await state.textContent(), 'Not sentRemove');
    await v.widget.getByText('This message was not accepted. Remove it and try again.').waitFor();
    // The bubble's words and its state in the failed colour on its own
    // background (not the contact bubbles' text colour, white on the accent).
    const colours = await failed.evaluate((bubble) => {
      const style = (el) => getComputedStyle(el);
      return {
        background: style(bubble).backgroundColor,
        text: style(bubble).color,
        state: style(bubble.querySelector('.state')).color,
      };
    });
    assert.deepEqual(colours, { background: 'rgb(251, 233, 235)', text: 'rgb(138, 28, 37)', state: 'rgb(138, 28, 37)' });
    // Not sent again after a reload (it would be refused again): still
    // there, still said, still removable.
    await v.page.reload();
    await launcher(v).click();
    await failed.waitFor();
    await v.widget.getByText('This message was not accepted. Remove it and try again.').waitFor();
    await failed.getByRole('button', { name: 'Remove' }).click();
    await failed.waitFor({ state: 'detached' });
    // The notice goes with it, and the visitor writes on.
    await box.fill('A shorter one');
    await box.press('Enter');
    await messageIn(v, 'A shorter one').locator('time').waitFor();
    assert.equal(await v.widget.getByText('This message was not accepted', { exact: false }).count(), 0);
    await v.context.close();
  });

  test('Confab.identify(): a signed-in user is one contact; a bad signature is refused', async () => {
    const { identity_secret: secret } = await admin('GET', `/inboxes/${inbox.id}/identity`);
    const hash = createHmac('sha256', secret).update('user-42').digest('hex');
    const v = await visitor();
    await launcher(v).waitFor();
    await v.page.evaluate(
      (user) => window.Confab.identify(user),
      { id: 'user-42', name: 'Ana Souza', email: 'ana@example.com', hash },
    );
    await launcher(v).click();
    const box = v.widget.getByRole('textbox', { name: 'Write a message…' });
    await box.fill('I am signed in');
    await box.press('Enter');
    await messageIn(v, 'I am signed in').locator('time').waitFor();
    const found = (await admin('GET', '/contacts?q=ana@example.com')).items;
    assert.equal(found.length, 1);
    assert.equal(found[0].external_id, 'user-42');
    assert.equal(found[0].name, 'Ana Souza');
    await v.context.close();

    const forged = await visitor();
    await launcher(forged).waitFor();
    await forged.page.evaluate((user) => window.Confab.identify(user), { id: 'user-42', hash: '00'.repeat(32) });
    await launcher(forged).click();
    await forged.widget.getByText('Please sign in to chat with us.').waitFor();
    await forged.context.close();
  });

  test('on a phone the open widget fills the screen and nothing covers its Send button', async () => {
    const v = await visitor({ viewport: { width: 390, height: 720 } });
    await launcher(v).click();
    await v.widget.getByRole('dialog').waitFor();
    const send = v.widget.getByRole('button', { name: 'Send' });
    // What is at the middle of Send is Send (the launcher sat there).
    const onTop = await send.evaluate((button) => {
      const box = button.getBoundingClientRect();
      const hit = button.getRootNode().elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      return hit === button || button.contains(hit);
    });
    assert.ok(onTop, 'something covers the Send button');
    const box = v.widget.getByRole('textbox', { name: 'Write a message…' });
    await box.fill('Do you ship to Ilhéus?');
    await send.click();
    await messageIn(v, 'ship to Ilhéus').locator('time').waitFor();
    await v.page.screenshot({ path: join(resultsDir, 'widget-phone-open.png') });
    // Closed with the panel's ×, the launcher is back.
    await v.widget.getByRole('dialog').getByRole('button', { name: 'Close chat' }).click();
    await launcher(v).waitFor({ state: 'visible' });
    await v.context.close();
  });

  test('the widget speaks Portuguese, takes the inbox colours and texts, and asks who you are first', async () => {
    await admin('PATCH', `/inboxes/${inbox.id}`, {
      widget: {
        color: '#0a7f5a',
        position: 'left',
        pre_chat: 'required',
        texts: { 'pt-BR': { greeting: 'Olá! Em que podemos ajudar hoje?' } },
      },
    });
    const bad = await agent.request.patch(`/api/v1/accounts/${account}/inboxes/${inbox.id}`, { data: { widget: { color: 'green' } } });
    assert.equal(bad.status(), 422);
    assert.equal((await bad.json()).error.code, 'invalid_field');

    const v = await visitor({ locale: 'pt-BR' });
    await v.widget.getByRole('button', { name: 'Abrir o chat' }).click();
    await v.widget.getByRole('dialog', { name: 'Fale conosco' }).waitFor();
    await v.widget.getByText('Olá! Em que podemos ajudar hoje?').waitFor();
    const background = await launcher(v).evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(background, 'rgb(10, 127, 90)');
    const left = await launcher(v).evaluate((el) => el.getBoundingClientRect().left);
    assert.ok(left < 100, `the launcher sits left (x=${left})`);

    // Required pre-chat form: no composer until it is filled.
    assert.equal(await v.widget.locator('form.composer').isVisible(), false);
    await v.widget.getByLabel('Nome').fill('Joana Reis');
    await v.widget.getByLabel('E-mail').fill('joana@example.com');
    await v.page.screenshot({ path: join(resultsDir, 'widget-02-pre-chat-pt.png') });
    await v.widget.getByRole('button', { name: 'Iniciar conversa' }).click();
    const box = v.widget.getByRole('textbox', { name: 'Escreva uma mensagem…' });
    await box.fill('Vocês têm o tamanho 38?');
    await box.press('Enter');
    await messageIn(v, 'tamanho 38').locator('time').waitFor();
    const found = (await admin('GET', '/contacts?q=joana@example.com')).items;
    assert.equal(found.length, 1);
    assert.equal(found[0].name, 'Joana Reis');
    await v.context.close();
    await admin('PATCH', `/inboxes/${inbox.id}`, { widget: {} });
  });

  test('the sample page of Settings installs the widget for an inbox', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/try-widget.html?inbox=${inbox.token}`);
    await page.locator('confab-widget .launcher').click();
    await page.locator('confab-widget').getByRole('dialog', { name: 'Chat with us' }).waitFor();
    await context.close();
  });

  test('an unknown inbox token shows nothing and breaks nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(`${siteUrl}/?inbox=no-such-inbox`);
    await page.getByRole('heading', { name: 'Acme Shoes' }).waitFor();
    await page.waitForTimeout(500);
    assert.equal(await page.locator('confab-widget .launcher').isVisible(), false);
    assert.deepEqual(errors, []);
    const answer = await call(server.url, 'GET', `/api/v1/public/inboxes/${inbox.token}`);
    assert.equal(answer.name, 'Website');
    assert.equal('identity_secret' in answer, false);
    await context.close();
  });
});
