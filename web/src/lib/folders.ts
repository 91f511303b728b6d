// What SPEC §2 allows from each folder; the first is the main action.
import type { Folder, FolderAction } from './api';

export const FOLDER_ACTIONS: Record<Folder, FolderAction[]> = {
  open: ['close', 'snooze', 'spam', 'delete'],
  answered: ['close', 'reopen', 'snooze', 'spam', 'delete'],
  snoozed: ['reopen', 'close', 'snooze', 'spam', 'delete'],
  closed: ['reopen', 'snooze', 'spam', 'delete'],
  spam: ['not_spam', 'delete'],
  deleted: ['restore', 'spam'],
};

/** Whether `action` is offered for a conversation in `folder`. */
export function allowed(folder: Folder, action: FolderAction): boolean {
  return FOLDER_ACTIONS[folder].includes(action);
}
