// A signed-in workspace for the feature tests: the real binary on a fresh
// database, an admin signed in through the API, inboxes, a second agent,
// and helpers that play contacts through the public API.
import { join } from 'node:path';
import { call, resultsDir, startBrowser, startServer } from './harness.mjs';

export const ADMIN = { account_name: 'Acme Support', name: 'Ada Lovelace', email: 'ada@acme.test', password: 'correct horse battery' };
export const TIMEOUT = 10_000;

/**
 * Starts server and browser, creates the workspace, signs the page in and
 * opens the inbox at `viewport`; `args` go to `confab serve`. Stop it with
 * `workspace.stop()`.
 */
export async function openWorkspace({ viewport = { width: 1280, height: 800 }, args = [] } = {}) {
  // Tests play many contacts from one address: lift the public rate limit.
  process.env.CONFAB_PUBLIC_RATE_PER_MINUTE ??= '100000';
  process.env.CONFAB_PUBLIC_RATE_BURST ??= '100000';
  const [started, launched] = await Promise.allSettled([startServer({ args }), startBrowser()]);
  const server = started.status === 'fulfilled' ? started.value : null;
  const browser = launched.status === 'fulfilled' ? launched.value : null;
  const stop = async () => {
    await browser?.close();
    await server?.stop();
  };
  if (!server || !browser) {
    await stop();
    throw started.reason ?? launched.reason;
  }
  try {
    return await signIn({ server, browser, viewport, stop });
  } catch (error) {
    // Nothing started here may outlive a failed setup: a leaked server or
    // browser keeps the test process (and the whole run) alive.
    await stop();
    throw new Error(`${error.message}\nserver log:\n${server.log()}`, { cause: error });
  }
}

async function signIn({ server, browser, viewport, stop }) {
  const context = await browser.newContext({ viewport, locale: 'en-US', baseURL: server.url });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));

  const setup = await context.request.post('/api/v1/setup', { data: ADMIN });
  const setupText = await setup.text();
  if (!setup.ok()) throw new Error(`POST /api/v1/setup answered ${setup.status()}: ${setupText}`);
  const session = JSON.parse(setupText);
  const account = session.account.id;
  const api = async (method, path, data) => {
    const response = await context.request.fetch(`/api/v1/accounts/${account}${path}`, { method, data });
    if (!response.ok()) throw new Error(`${method} ${path} answered ${response.status()}: ${await response.text()}`);
    return response.status() === 204 ? null : response.json();
  };
  const inbox = async (name, kind) => (await api('POST', '/inboxes', { name, kind })).token;
  const chat = await inbox('Website chat', 'chat');
  const inApp = await inbox('Mobile app', 'in_app');
  const grace = await api('POST', '/agents', { name: 'Grace Hopper', email: 'grace@acme.test', password: 'another long password' });

  /** A new contact (with what the widget saw) writes into an inbox. */
  async function contactSays(token, name, body, extra = {}) {
    const contact = await call(server.url, 'POST', `/api/v1/public/inboxes/${token}/contacts`, {
      name,
      email: `${name.split(' ')[0].toLowerCase()}@example.com`,
      ...extra,
    });
    const posted = await contactSaysAgain(token, contact.token, body);
    return { ...posted, contactId: contact.contact_id };
  }

  async function contactSaysAgain(token, contactToken, body) {
    const posted = await call(server.url, 'POST', `/api/v1/public/inboxes/${token}/messages`, { body }, { 'X-Contact-Token': contactToken });
    return { contactToken, conversationId: posted.conversation_id };
  }

  return {
    server,
    browser,
    context,
    page,
    account,
    me: session.agent,
    grace,
    inboxes: { chat, inApp },
    api,
    contactSays,
    contactSaysAgain,
    shot: (name) => page.screenshot({ path: join(resultsDir, `${name}.png`) }),
    stop,
  };
}

/** The list row of a conversation, by text it shows. */
export const row = (page, text) => page.locator('.conversation-item', { hasText: text });

/** The ids of the rows the list shows, top to bottom. */
export const rowIds = (page) =>
  page.locator('.conversation-item').evaluateAll((rows) => rows.map((row) => Number(row.dataset.conversationId)));
