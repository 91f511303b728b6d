// What a message shows in the agent's conversation view: agent replies in
// Markdown (never raw HTML), a contact's picture as a thumbnail, files the
// agent attaches from the composer, an
// e-mail shows what the contact wrote with a "Show everything" toggle, and a
// reply the relay refuses shows "E-mail not delivered" with a Retry that
// sends it. Real SMTP both ways: Python's smtplib delivers to
// `--smtp-listen`, aiosmtpd (the Rust e-mail tests' capture server) is the relay.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, repoRoot } from './harness.mjs';
import { openWorkspace } from './workspace.mjs';

// A 1×1 PNG and a small PDF, as a browser would upload them.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

let w;
let page;
let relay;
let maildir;
let smtpPort;
let relayPort;

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

async function waitFor(what, probe, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** The mails the relay took, oldest first. */
const relayed = () =>
  readdirSync(maildir)
    .filter((name) => name.endsWith('.eml'))
    .sort()
    .map((name) => readFileSync(join(maildir, name), 'utf8'));

/** A contact's mail, delivered to Confab's listener by Python's smtplib. */
function deliverMail({ from, to, subject, messageId, body }) {
  const script = `
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"], m["To"], m["Subject"], m["Message-ID"] = sys.argv[2:6]
m.set_content(sys.argv[6])
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.send_message(m)
`;
  const sent = spawnSync('python3', ['-c', script, String(smtpPort), from, to, subject, messageId, body], { encoding: 'utf8' });
  assert.equal(sent.status, 0, sent.stderr);
}

const composer = () => page.locator('#composer-text');
const message = (text) => page.locator('.message', { hasText: text });

describe('messages: Markdown, files and e-mail in the conversation view', { timeout: 150_000 }, () => {
  before(async () => {
    maildir = mkdtempSync(join(tmpdir(), 'confab-relay-'));
    relayPort = await freePort();
    smtpPort = await freePort();
    // The relay refuses the first reply for good (550), then takes every mail.
    relay = spawn(
      'python3',
      [join(repoRoot, 'crates/confab/tests/support/smtp_capture.py'), '--port', String(relayPort), '--dir', maildir, '--reject-first', '1'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    w = await openWorkspace({
      args: [
        '--public-url', 'https://help.acme.test',
        '--smtp-listen', `127.0.0.1:${smtpPort}`,
        '--smtp-relay', `smtp://127.0.0.1:${relayPort}`,
      ],
    });
    page = w.page;
    await w.api('POST', '/inboxes', { name: 'Support mail', kind: 'email', email_address: 'support@acme.test' });
  });

  after(async () => {
    await w?.stop();
    relay?.kill();
    if (maildir) rmSync(maildir, { recursive: true, force: true });
  });

  test('agent replies render Markdown; raw HTML and script links stay inert', async () => {
    const { conversationId } = await w.contactSays(w.inboxes.chat, 'Otto Reis', 'How do I reset it?');
    await page.goto(`/inbox/open/${conversationId}`);
    await composer().fill(
      '**Hold** the button for _10 s_:\n\n- unplug it\n- see [the guide](https://acme.test/reset)\n\n<img src=x onerror=alert(1)> [bad](javascript:alert(1))',
    );
    await composer().press('Enter');
    const reply = message('Hold');
    await reply.locator('strong', { hasText: 'Hold' }).waitFor();
    assert.equal(await reply.locator('em').textContent(), '10 s');
    assert.deepEqual(await reply.locator('li').allTextContents(), ['unplug it', 'see the guide']);
    const guide = reply.getByRole('link', { name: 'the guide' });
    assert.equal(await guide.getAttribute('href'), 'https://acme.test/reset');
    assert.equal(await guide.getAttribute('target'), '_blank');
    // The HTML is text, and the javascript: link has no address.
    await reply.getByText('<img src=x onerror=alert(1)>').waitFor();
    assert.equal(await reply.locator('img').count(), 0);
    const bad = reply.locator('a', { hasText: 'bad' });
    assert.ok(!((await bad.getAttribute('href')) ?? '').toLowerCase().includes('javascript'));
    // What the contact wrote stays plain text.
    assert.equal(await message('How do I reset it?').locator('.markdown').count(), 0);
    await w.shot('39-markdown');
  });

  test("a contact's picture shows in the conversation; the agent sends files from the composer", async () => {
    const contact = await call(w.server.url, 'POST', `/api/v1/public/inboxes/${w.inboxes.chat}/contacts`, { name: 'Paula Dias' });
    const headers = { 'X-Contact-Token': contact.token };
    const form = new FormData();
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'broken-zip.png');
    const upload = await fetch(`${w.server.url}/api/v1/public/inboxes/${w.inboxes.chat}/attachments`, { method: 'POST', headers, body: form });
    assert.equal(upload.status, 201);
    const file = await upload.json();
    const posted = await call(w.server.url, 'POST', `/api/v1/public/inboxes/${w.inboxes.chat}/messages`, { body: 'The zip is broken, see', attachment_ids: [file.id] }, headers);

    await page.goto(`/inbox/open/${posted.conversation_id}`);
    const picture = message('The zip is broken').locator('img[alt="broken-zip.png"]');
    await picture.waitFor();
    // The picture really loads (the agent's session may read the file).
    await waitFor('the picture to load', () => picture.evaluate((img) => img.complete && img.naturalWidth === 1));

    // Two files picked at once: chips while they upload, then sent without text.
    await page.locator('.composer input[type=file]').setInputFiles([
      { name: 'size-chart.pdf', mimeType: 'application/pdf', buffer: PDF },
      { name: 'label.png', mimeType: 'image/png', buffer: PNG },
    ]);
    const chips = page.locator('.composer-file');
    await chips.filter({ hasText: 'size-chart.pdf' }).getByRole('button', { name: 'Remove size-chart.pdf' }).waitFor();
    await chips.filter({ hasText: 'label.png' }).getByRole('button', { name: 'Remove label.png' }).waitFor();
    // Removing one keeps it out of the message.
    await page.getByRole('button', { name: 'Remove label.png' }).click();
    await composer().fill('Here is our size chart');
    await composer().press('Enter');
    const sent = message('Here is our size chart');
    const link = sent.getByRole('link', { name: 'Download size-chart.pdf' });
    await link.waitFor();
    // The message can arrive on the event stream before the send's answer,
    // which empties the composer.
    await waitFor('the composer to be empty after sending', async () => (await chips.count()) === 0);
    assert.equal(await sent.locator('img').count(), 0, 'the removed picture was not sent');
    // The link serves the very bytes.
    const href = await link.getAttribute('href');
    const download = await page.request.get(href);
    assert.equal(download.status(), 200);
    assert.deepEqual(Buffer.from(await download.body()), PDF);

    // The visitor received it with the file, through the public API.
    const history = await call(w.server.url, 'GET', `/api/v1/public/inboxes/${w.inboxes.chat}/messages`, undefined, headers);
    const reply = history.items.find((m) => m.body === 'Here is our size chart');
    assert.deepEqual(reply.attachments.map((a) => a.filename), ['size-chart.pdf']);

    // A refused kind of file says why and is not attached.
    await page.locator('.composer input[type=file]').setInputFiles({
      name: 'tool.exe',
      mimeType: 'application/octet-stream',
      buffer: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)]),
    });
    await page.getByRole('alert').filter({ hasText: 'tool.exe was not attached: this kind of file is not accepted' }).waitFor();
    assert.equal(await chips.count(), 0);

    // While a file is still uploading, Enter does not send (the file would be left out).
    let release;
    const held = new Promise((done) => (release = done));
    await page.route('**/conversations/*/attachments', async (route) => {
      await held;
      await route.continue();
    });
    await page.locator('.composer input[type=file]').setInputFiles({ name: 'slow.pdf', mimeType: 'application/pdf', buffer: PDF });
    await chips.filter({ hasText: 'slow.pdf' }).getByText('Uploading…').waitFor();
    await composer().fill('With the slow file');
    await composer().press('Enter');
    assert.equal(await page.getByRole('button', { name: 'Send' }).isDisabled(), true);
    assert.equal(await message('With the slow file').count(), 0);
    release();
    await chips.filter({ hasText: 'slow.pdf' }).getByRole('button', { name: 'Remove slow.pdf' }).waitFor();
    await page.unroute('**/conversations/*/attachments');
    await composer().press('Enter');
    await message('With the slow file').getByRole('link', { name: 'Download slow.pdf' }).waitFor();
    assert.equal(await message('With the slow file').count(), 1);
    assert.equal(await composer().inputValue(), '');
    await w.shot('40-attachments');
  });

  test('an e-mail shows what the contact wrote; "Show everything" shows the whole mail', async () => {
    deliverMail({
      from: 'Rita Alves <rita@example.com>',
      to: 'support@acme.test',
      subject: 'Invoice question',
      messageId: '<rita-1@example.com>',
      body: 'Where is my invoice?\n\nEm seg., 2 de nov. de 2026 às 10:00, Acme <support@acme.test> escreveu:\n> Obrigado pelo seu pedido.\n',
    });
    const conversation = await waitFor('the e-mail conversation', async () => {
      const list = await w.api('GET', '/conversations?folder=open&q=invoice');
      return list.items[0];
    });
    await page.goto(`/inbox/open/${conversation.id}`);
    const mail = message('Where is my invoice?');
    await mail.waitFor();
    assert.equal(await mail.getByText('Obrigado pelo seu pedido').count(), 0, 'the quoted history is cut');
    const toggle = mail.getByRole('button', { name: 'Show everything' });
    await toggle.click();
    await mail.getByText('Obrigado pelo seu pedido').waitFor();
    assert.equal(await mail.getByRole('button', { name: 'Show less' }).getAttribute('aria-expanded'), 'true');
    await mail.getByRole('button', { name: 'Show less' }).click();
    await mail.getByText('Obrigado pelo seu pedido').waitFor({ state: 'detached' });
  });

  test('a reply the relay refuses shows "E-mail not delivered"; Retry sends it', async () => {
    const list = await w.api('GET', '/conversations?folder=open&q=invoice');
    await page.goto(`/inbox/open/${list.items[0].id}`);
    await composer().fill('Your invoice is attached to your account page.');
    await composer().press('Enter');
    const reply = message('Your invoice is attached');
    // Live: the label follows the outbox (pending → failed) without a reload.
    await reply.getByTestId('delivery').filter({ hasText: 'E-mail not delivered' }).waitFor({ timeout: 20_000 });
    assert.equal(relayed().length, 0);
    await w.shot('41-delivery-failed');

    await reply.getByRole('button', { name: 'Retry' }).click();
    await reply.getByTestId('delivery').filter({ hasText: 'Sent by e-mail' }).waitFor({ timeout: 20_000 });
    const mails = await waitFor('the retried reply at the relay', () => relayed().length === 1 && relayed());
    assert.match(mails[0], /X-RcptTo: rita@example.com/);
    assert.match(mails[0], /In-Reply-To: <rita-1@example.com>/);
    assert.match(mails[0], /Your invoice is attached to your account page\./);
    // Sent once, and the label stays after a reload (it comes from the server).
    await page.reload();
    await message('Your invoice is attached').getByTestId('delivery').filter({ hasText: 'Sent by e-mail' }).waitFor();
    assert.equal(relayed().length, 1);
  });

  test('settings show admins where mail arrives and which relay replies use', async () => {
    await page.goto('/');
    await page.getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    await dialog.getByRole('button', { name: /Support mail/ }).click();
    const status = dialog.getByTestId('mail-status');
    await status.getByText(`Receiving mail at smtp://127.0.0.1:${smtpPort}`).waitFor();
    await status.getByText(`Replies leave through smtp://127.0.0.1:${relayPort}`).waitFor();
  });
});
