// The virtualised list: hundreds of conversations, a few dozen rows in the
// DOM, pages fetched by cursor as the agent scrolls.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openWorkspace } from './workspace.mjs';

const TOTAL = 320;

let w;
let page;
/** Cursor requests the page made for the list. */
const pageRequests = [];
/** Contacts fetched for rows (only rows on screen ask). */
const contactRequests = new Set();

describe('the virtualised list', { timeout: 180_000 }, () => {
  before(async () => {
    w = await openWorkspace();
    page = w.page;
    for (let start = 0; start < TOTAL; start += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, TOTAL - start) }, (_, i) =>
          w.contactSays(w.inboxes.chat, `Visitor ${String(start + i).padStart(3, '0')}`, `Question number ${start + i}`),
        ),
      );
    }
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.endsWith('/conversations') && url.searchParams.has('cursor')) pageRequests.push(url);
      if (/\/contacts\/\d+$/.test(url.pathname)) contactRequests.add(url.pathname);
    });
    await page.goto('/');
    await page.locator('.conversation-item').first().waitFor();
    await page.waitForFunction((n) => document.querySelector('[data-testid="count-open"]')?.textContent === String(n), TOTAL);
  });

  after(async () => {
    await w?.stop();
  });

  const rendered = () => page.locator('.conversation-item').count();
  const lastPosition = () => page.locator('.rows > li').evaluateAll((rows) => Math.max(...rows.map((r) => Number(r.getAttribute('aria-posinset')))));

  test('the DOM holds far fewer rows than conversations', async () => {
    const rows = await rendered();
    assert.ok(rows > 5 && rows < 40, `${rows} rows rendered`);
    // The scroll height stands for every loaded conversation.
    const { scrollHeight, clientHeight } = await page.locator('#conversation-list').evaluate((el) => ({ scrollHeight: el.scrollHeight, clientHeight: el.clientHeight }));
    assert.ok(scrollHeight > clientHeight * 3, `${scrollHeight} vs ${clientHeight}`);
  });

  test('scrolling renders other rows and loads the next pages by cursor', async () => {
    const list = page.locator('#conversation-list');
    for (let i = 0; i < 40 && (await lastPosition()) < TOTAL; i++) {
      await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(100);
    }
    assert.equal(await lastPosition(), TOTAL, 'the last conversation is reachable');
    assert.ok(pageRequests.length >= Math.ceil(TOTAL / 50) - 1, `${pageRequests.length} cursor pages`);
    const rows = await rendered();
    assert.ok(rows < 40, `${rows} rows rendered at the bottom`);
    // Names are fetched for rows shown, not for every conversation loaded.
    assert.ok(contactRequests.size < TOTAL, `${contactRequests.size} contacts fetched`);
    // The oldest conversation is the last row.
    await page.locator('.conversation-item', { hasText: 'Visitor 000' }).waitFor();
    await w.shot('40-virtual-list-bottom');
  });

  test('j keeps the opened row in view while moving through the list', async () => {
    const list = page.locator('#conversation-list');
    await list.evaluate((el) => el.scrollTo(0, 0));
    await page.locator('.conversation-item').first().waitFor();
    await page.locator('.conversation-pane').click();
    for (let i = 0; i < 30; i++) await page.keyboard.press('j');
    const selected = page.locator('.conversation-item.selected');
    await selected.waitFor();
    assert.equal(await selected.evaluate((el) => el.closest('li').getAttribute('aria-posinset')), '30');
    const inView = await selected.evaluate((el) => {
      const box = el.getBoundingClientRect();
      const port = document.getElementById('conversation-list').getBoundingClientRect();
      return box.top >= port.top - 1 && box.bottom <= port.bottom + 1;
    });
    assert.ok(inView, 'the selected row is visible');
  });
});
