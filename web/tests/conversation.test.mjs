// Keyboard shortcuts, assign and tags, undo, list previews and the contact panel.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { openWorkspace, row, rowIds } from './workspace.mjs';

let w;
let page;
const ids = {};
let bruno;

const folderBadge = () => page.getByTestId('conversation-folder');
const heading = (name) => page.locator('#conversation-title', { hasText: name });
const composer = () => page.locator('#composer-text');

describe('the conversation: shortcuts, assign, tags, undo, previews, contact panel', { timeout: 120_000 }, () => {
  before(async () => {
    w = await openWorkspace();
    page = w.page;
    ids.carla = (await w.contactSays(w.inboxes.chat, 'Carla Souza', 'Do you ship to Portugal?')).conversationId;
    bruno = await w.contactSays(w.inboxes.chat, 'Bruno Lima', 'Where is my order?', {
      phone: '+55 11 91234-5678',
      browser: {
        browser: 'Firefox 128',
        os: 'Linux',
        page: 'https://shop.test/cart',
        location: 'Recife, BR',
        // As the widget sends them: labelled, and an empty one left out.
        page_title: 'Your cart',
        screen: '1366x768',
        referrer: '',
      },
    });
    ids.bruno = bruno.conversationId;
    ids.ana = (await w.contactSays(w.inboxes.chat, 'Ana Reis', 'Hello there')).conversationId;
    // A tag in use elsewhere: a suggestion for the tag editor.
    await w.api('PUT', `/conversations/${ids.carla}/tags`, { tags: ['shipping'] });
    await page.goto('/');
    await row(page, 'Carla Souza').waitFor();
  });

  after(async () => {
    await w?.stop();
  });

  test('rows show the contact, a one-line preview of the last message, relative time and unread', async () => {
    const ana = row(page, 'Ana Reis');
    assert.equal(await ana.locator('.item-preview').textContent(), 'Hello there');
    assert.equal((await ana.locator('time').textContent()).trim(), 'now');
    assert.equal(await ana.locator('.unread-badge [aria-hidden]').textContent(), '1');
    assert.equal(await ana.locator('.unread-dot').count(), 1);
    // A new message replaces the preview live.
    await w.contactSaysAgain(w.inboxes.chat, bruno.contactToken, 'Order   #4521,\nplaced on Monday');
    await row(page, 'Bruno Lima').locator('.item-preview', { hasText: 'Order #4521, placed on Monday' }).waitFor();
    assert.deepEqual((await rowIds(page))[0], ids.bruno);
    await w.shot('30-list-previews');
    // And after a reload it comes from the server.
    await page.reload();
    await row(page, 'Bruno Lima').locator('.item-preview', { hasText: 'Order #4521, placed on Monday' }).waitFor();
  });

  test('j / k move through the list; ? lists the shortcuts', async () => {
    await page.keyboard.press('j');
    await heading('Bruno Lima').waitFor();
    await page.keyboard.press('j');
    await heading('Ana Reis').waitFor();
    await page.keyboard.press('k');
    await heading('Bruno Lima').waitFor();
    assert.match(page.url(), new RegExp(`/inbox/open/${ids.bruno}`));

    await page.keyboard.press('?');
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    for (const text of ['Next conversation', 'Previous conversation', 'Reply', 'Private note', 'Snooze…', 'Assign to me', 'Search']) {
      await dialog.getByText(text, { exact: true }).waitFor();
    }
    await w.shot('31-shortcuts');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  test('r and n focus the composer; shortcuts do nothing while typing', async () => {
    await page.keyboard.press('n');
    await page.waitForFunction(() => document.activeElement?.id === 'composer-text');
    assert.equal(await page.getByRole('radio', { name: 'Private note' }).isChecked(), true);
    await page.keyboard.type('jk e a s');
    assert.equal(await composer().inputValue(), 'jk e a s');
    await heading('Bruno Lima').waitFor();
    assert.equal(await folderBadge().textContent(), 'Open');
    await composer().fill('');
    await composer().press('Escape');
    await page.locator('.history').click();
    await page.keyboard.press('r');
    await page.waitForFunction(() => document.activeElement?.id === 'composer-text');
    assert.equal(await page.getByRole('radio', { name: 'Reply' }).isChecked(), true);
    await page.locator('.history').click();
  });

  test('a assigns to me, s opens the snooze menu, 1–6 switch folders', async () => {
    await page.keyboard.press('a');
    await page.locator('.meta').getByText('Assigned to You').waitFor();
    assert.equal(await page.getByLabel('Assignee').inputValue(), String(w.me.id));

    await page.keyboard.press('s');
    await page.getByRole('menuitem', { name: '30 minutes' }).waitFor();
    // The menu focuses its first item on the next frame.
    await page.waitForFunction(() => document.activeElement?.getAttribute('role') === 'menuitem');
    await page.keyboard.press('Escape');
    await page.getByRole('menu').waitFor({ state: 'detached' });

    await page.keyboard.press('4');
    await page.waitForFunction(() => document.querySelector('#tab-closed')?.getAttribute('aria-selected') === 'true');
    await page.keyboard.press('1');
    await page.waitForFunction(() => document.querySelector('#tab-open')?.getAttribute('aria-selected') === 'true');
  });

  test('e closes the conversation; Undo in the toast reopens it', async () => {
    await row(page, 'Bruno Lima').click();
    await heading('Bruno Lima').waitFor();
    await page.locator('.history').click();
    await page.keyboard.press('e');
    await folderBadge().filter({ hasText: 'Closed' }).waitFor();
    const toast = page.locator('.toast', { hasText: 'moved to Closed' });
    await w.shot('32-undo-toast');
    await toast.getByRole('button', { name: 'Undo' }).click();
    await folderBadge().filter({ hasText: /^Open$/ }).waitFor();
    await row(page, 'Bruno Lima').waitFor();
  });

  test('delete and spam are undone too (restore, not spam)', async () => {
    const actions = page.getByRole('group', { name: 'Actions' });
    await actions.getByRole('button', { name: 'Delete', exact: true }).click();
    await folderBadge().filter({ hasText: 'Deleted' }).waitFor();
    await page.locator('.toast', { hasText: 'moved to Deleted' }).getByRole('button', { name: 'Undo' }).click();
    await folderBadge().filter({ hasText: /^Open$/ }).waitFor();

    await actions.getByRole('button', { name: 'Spam', exact: true }).click();
    await folderBadge().filter({ hasText: 'Spam' }).waitFor();
    await page.locator('.toast', { hasText: 'moved to Spam' }).getByRole('button', { name: 'Undo' }).click();
    await folderBadge().filter({ hasText: /^Open$/ }).waitFor();
    const conversation = await w.api('GET', `/conversations/${ids.bruno}`);
    assert.equal(conversation.folder, 'open');
  });

  test('assign to another agent, then unassign', async () => {
    await page.getByLabel('Assignee').selectOption({ label: 'Grace Hopper' });
    await page.locator('.meta').getByText('Assigned to Grace Hopper').waitFor();
    assert.equal((await w.api('GET', `/conversations/${ids.bruno}`)).assignee_id, w.grace.id);
    await page.getByLabel('Assignee').selectOption({ label: 'Unassigned' });
    await page.locator('.meta').getByText('Unassigned').waitFor();
    assert.equal((await w.api('GET', `/conversations/${ids.bruno}`)).assignee_id, null);
    await page.getByRole('button', { name: 'Assign to me' }).click();
    await page.locator('.meta').getByText('Assigned to You').waitFor();
  });

  test('tags: add with suggestions from existing tags, remove', async () => {
    const input = page.getByRole('combobox', { name: 'Add a tag' });
    const suggestions = await page.locator('#tag-suggestions option').evaluateAll((options) => options.map((o) => o.value));
    assert.deepEqual(suggestions, ['shipping']);
    await input.fill('Shipping');
    await input.press('Enter');
    await page.getByRole('list', { name: 'Tags' }).getByText('shipping').waitFor();
    await input.fill('late');
    await input.press('Enter');
    await page.getByRole('list', { name: 'Tags' }).getByText('late').waitFor();
    assert.deepEqual((await w.api('GET', `/conversations/${ids.bruno}`)).tags, ['late', 'shipping']);
    await w.shot('33-assign-tags');
    await page.getByRole('button', { name: 'Remove tag shipping' }).click();
    await page.getByRole('button', { name: 'Remove tag shipping' }).waitFor({ state: 'detached' });
    assert.deepEqual((await w.api('GET', `/conversations/${ids.bruno}`)).tags, ['late']);
  });

  test('the contact panel: identity, device, their conversations; edits persist', async () => {
    const panel = page.getByRole('complementary', { name: 'Contact details' }).filter({ hasText: 'Bruno Lima' });
    await panel.waitFor();
    await panel.getByText('bruno@example.com').first().waitFor();
    await panel.getByText('+55 11 91234-5678').waitFor();
    await panel.getByText('Firefox 128').waitFor();
    await panel.getByText('Recife, BR').waitFor();
    const device = async () => (await panel.locator('dt').allTextContents()).map((label) => label.trim());
    await panel.getByText('Your cart').waitFor();
    assert.ok((await device()).includes('Page title'), `${await device()}`);
    assert.ok((await device()).includes('Screen'));
    assert.ok(!(await device()).some((label) => ['page_title', 'screen', 'referrer', 'Came from'].includes(label)), `${await device()}`);
    assert.equal(await panel.getByRole('link', { name: 'https://shop.test/cart' }).getAttribute('href'), 'https://shop.test/cart');
    await panel.getByText('First seen').waitFor();
    await panel.getByText('Conversations (1)').waitFor();
    await w.shot('34-contact-panel');

    await panel.getByRole('button', { name: 'Edit' }).click();
    await panel.getByLabel('Company').fill('Lima Imports');
    await panel.getByRole('textbox', { name: 'New attribute' }).fill('plan');
    await panel.getByRole('textbox', { name: 'Value' }).fill('gold');
    await panel.getByRole('button', { name: 'Save' }).click();
    await panel.locator('[data-field="company"]', { hasText: 'Lima Imports' }).waitFor();

    await page.reload();
    const reloaded = page.getByRole('complementary', { name: 'Contact details' }).filter({ hasText: 'Bruno Lima' });
    await reloaded.locator('[data-field="company"]', { hasText: 'Lima Imports' }).waitFor();
    await reloaded.locator('[data-attribute="plan"]', { hasText: 'gold' }).waitFor();
  });

  test('the contact panel lists their other conversations, clickable', async () => {
    // A signed-in app user writes in two inboxes: one contact, two conversations.
    const { items } = await w.api('GET', '/inboxes');
    const signed = async (token) => {
      const inbox = items.find((i) => i.token === token);
      const { identity_secret: secret } = await w.api('GET', `/inboxes/${inbox.id}/identity`);
      const identity_hash = createHmac('sha256', secret).update('user-42').digest('hex');
      return w.contactSays(token, 'Iris Costa', `Hello from ${inbox.name}`, { external_id: 'user-42', identity_hash });
    };
    const first = await signed(w.inboxes.chat);
    const second = await signed(w.inboxes.inApp);
    assert.notEqual(first.conversationId, second.conversationId);

    await row(page, 'Hello from Mobile app').click();
    const panel = page.getByRole('complementary', { name: 'Contact details' }).filter({ hasText: 'Iris Costa' });
    await panel.getByText('Conversations (2)').waitFor();
    await panel.getByText('User ID: user-42').waitFor();
    const others = panel.locator('.other-conversations a');
    assert.equal(await others.count(), 2);
    await others.filter({ hasText: 'Hello from Website chat' }).click();
    await page.waitForURL(new RegExp(`/${first.conversationId}(\\?|$)`));
    await page.locator('.message.contact', { hasText: 'Hello from Website chat' }).waitFor();

    // Hide and show the panel; "List them all" filters the list by the contact.
    await panel.getByRole('button', { name: 'Hide contact details' }).click();
    await panel.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Show contact details' }).click();
    await panel.getByRole('button', { name: 'List them all' }).click();
    await page.getByRole('list', { name: 'Active filters' }).getByText('Contact: Iris Costa').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.conversation-item').length === 2);
  });
});
