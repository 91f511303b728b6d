// Search with highlighted snippets, quick filters as removable chips, sort.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openWorkspace, row, rowIds } from './workspace.mjs';

let w;
let page;
const filterButton = () => page.getByRole('button', { name: /^Filter( \d+)?$/ });
/** Conversation ids by contact name. */
const ids = {};

describe('search, quick filters and sort', { timeout: 120_000 }, () => {
  before(async () => {
    w = await openWorkspace();
    page = w.page;
    // Created in this order: Carla first, Dora last.
    const carla = await w.contactSays(w.inboxes.chat, 'Carla Souza', 'Do you ship to Portugal?');
    ids.carla = carla.conversationId;
    ids.bruno = (await w.contactSays(w.inboxes.inApp, 'Bruno Lima', 'The app crashes on the invoice screen.')).conversationId;
    ids.ana = (await w.contactSays(w.inboxes.chat, 'Ana Reis', 'My parcel from Recife never arrived.')).conversationId;
    // Markup in a message must stay text in the snippet.
    ids.eve = (await w.contactSays(w.inboxes.chat, 'Eve Mallory', '<img src=x onerror=alert(1)> Recife & co')).conversationId;
    ids.dora = (await w.contactSays(w.inboxes.chat, 'Dora Dias', 'Hello')).conversationId;
    await w.api('PUT', `/conversations/${ids.carla}/tags`, { tags: ['billing'] });
    await w.api('PUT', `/conversations/${ids.bruno}/tags`, { tags: ['billing', 'bug'] });
    // Carla writes again: the oldest conversation has the newest activity.
    await w.contactSaysAgain(w.inboxes.chat, carla.contactToken, 'Any news?');
    await page.goto('/');
    await row(page, 'Carla Souza').waitFor();
  });

  after(async () => {
    await w?.stop();
  });

  test('"/" focuses the search; a word from a contact message finds it, highlighted', async () => {
    await page.locator('body').click({ position: { x: 900, y: 400 } });
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'search');
    await page.keyboard.type('recife');
    await page.getByText('Results for “recife” in every folder').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 2);
    const ana = row(page, 'Ana Reis');
    assert.equal(await ana.locator('mark').first().textContent(), 'Recife');
    assert.match(await ana.locator('.item-snippet').textContent(), /My parcel from Recife never arrived/);
    assert.match(page.url(), /[?&]q=recife/);
    await w.shot('20-search');
  });

  test('a snippet renders markup as text, never as HTML', async () => {
    const eve = row(page, 'Eve Mallory');
    const snippet = eve.locator('.item-snippet');
    assert.match(await snippet.textContent(), /<img src=x onerror=alert\(1\)> Recife & co/);
    assert.equal(await snippet.locator('img').count(), 0);
    assert.equal(await snippet.locator('mark').count(), 1);
    assert.equal(await page.locator('.conversation-list img').count(), 0);
  });

  test('clearing the search shows the folder again', async () => {
    await page.getByRole('button', { name: 'Clear search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 5);
    assert.doesNotMatch(page.url(), /q=/);
  });

  test('two filters combine as chips; removing one chip widens the list', async () => {
    await filterButton().click();
    const panel = page.getByRole('dialog', { name: 'Quick filters' });
    await panel.getByLabel('Channel').selectOption('chat');
    await panel.getByLabel('Tag').fill('billing');
    await panel.getByLabel('Tag').press('Enter');
    await w.shot('21-filter-panel');
    await panel.getByRole('button', { name: 'Done' }).click();

    const chips = page.getByRole('list', { name: 'Active filters' });
    await chips.getByText('Channel: Chat').waitFor();
    await chips.getByText('Tag: billing').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 1);
    assert.deepEqual(await rowIds(page), [ids.carla]);
    assert.match(page.url(), /channel=chat/);
    assert.match(page.url(), /tag=billing/);
    await w.shot('22-filter-chips');

    await page.getByRole('button', { name: 'Remove filter Channel' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 2);
    assert.deepEqual(new Set(await rowIds(page)), new Set([ids.carla, ids.bruno]));
    assert.equal(await chips.getByText('Channel: Chat').count(), 0);
    assert.doesNotMatch(page.url(), /channel=/);

    // The filters survive a reload (they are in the address).
    await page.reload();
    await page.getByRole('list', { name: 'Active filters' }).getByText('Tag: billing').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 2);
  });

  test('unread, waiting and the contact filter', async () => {
    await page.getByRole('button', { name: 'Remove filter Tag' }).click();
    await filterButton().click();
    const panel = page.getByRole('dialog', { name: 'Quick filters' });
    await panel.getByLabel('Contact').fill('Bruno');
    await panel.getByRole('button', { name: /Bruno Lima/ }).click();
    await page.getByRole('list', { name: 'Active filters' }).getByText('Contact: Bruno Lima').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 1);
    assert.deepEqual(await rowIds(page), [ids.bruno]);
    await panel.getByLabel('Unread').check();
    await panel.getByLabel('Waiting on us').check();
    await page.getByRole('list', { name: 'Active filters' }).getByText('Waiting on us').waitFor();
    assert.deepEqual(await rowIds(page), [ids.bruno]);
    await panel.getByRole('button', { name: 'Clear all' }).click();
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 5);
  });

  test('a created-date range filters by day', async () => {
    await filterButton().click();
    const panel = page.getByRole('dialog', { name: 'Quick filters' });
    const tomorrow = new Date(Date.now() + 86_400_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    await panel.getByLabel('Created: From').fill(day);
    await page.getByRole('list', { name: 'Active filters' }).getByText(/^Created: since/).waitFor();
    await page.getByText('No conversations match these filters.').waitFor();
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Remove filter Created' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 5);
  });

  test('sort: last activity (default), newest created, oldest waiting first', async () => {
    const { carla, bruno, ana, eve, dora } = ids;
    const order = (expected) =>
      page.waitForFunction(
        (want) => [...document.querySelectorAll('.conversation-item')].map((r) => Number(r.dataset.conversationId)).join() === want.join(),
        expected,
      );
    await order([carla, dora, eve, ana, bruno]);
    await page.getByRole('combobox', { name: 'Sort' }).selectOption('created');
    await order([dora, eve, ana, bruno, carla]);
    assert.match(page.url(), /sort=created/);
    await page.getByRole('combobox', { name: 'Sort' }).selectOption('oldest_waiting');
    await order([carla, bruno, ana, eve, dora]);
    await page.getByRole('combobox', { name: 'Sort' }).selectOption('last_activity');
    await order([carla, dora, eve, ana, bruno]);
    assert.doesNotMatch(page.url(), /sort=/);
  });
});
