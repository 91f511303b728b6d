//! The events of the writer's open transaction, kept to be handed over
//! once it commits ([`confab_store::EventStore::take_committed_events`]).
//!
//! [`crate::events::append_event`] records each event it writes here; the
//! writer thread forgets what a rolled-back savepoint or transaction took
//! back ([`undo_to`], [`clear`]) and takes the rest after `COMMIT`
//! ([`take`]). Kept per thread because jobs see only the connection: only
//! the writer thread collects ([`start`]), and only once someone takes
//! the events, so events written on any other connection (tests, tools)
//! or by a store nobody follows are never kept.

use std::cell::RefCell;

use confab_store::LoggedEvent;

thread_local! {
    /// `None` on threads that do not collect.
    static OPEN: RefCell<Option<Vec<LoggedEvent>>> = const { RefCell::new(None) };
}

/// Makes the calling thread (the writer) collect the events it writes,
/// from the transaction it has open (again is a no-op).
pub(crate) fn start() {
    OPEN.with(|open| {
        open.borrow_mut().get_or_insert_with(Vec::new);
    });
}

/// Keeps an event the open transaction wrote, if this thread collects.
pub(crate) fn record(event: impl FnOnce() -> LoggedEvent) {
    OPEN.with(|open| {
        if let Some(events) = open.borrow_mut().as_mut() {
            events.push(event());
        }
    });
}

/// How many events the open transaction holds: a savepoint's mark.
pub(crate) fn mark() -> usize {
    OPEN.with(|open| open.borrow().as_ref().map_or(0, Vec::len))
}

/// Forgets the events written after `mark` (rolled back to a savepoint).
pub(crate) fn undo_to(mark: usize) {
    OPEN.with(|open| {
        if let Some(events) = open.borrow_mut().as_mut() {
            events.truncate(mark);
        }
    });
}

/// Forgets every event of the transaction (rolled back, or not committed).
pub(crate) fn clear() {
    undo_to(0);
}

/// The committed transaction's events, leaving none.
pub(crate) fn take() -> Vec<LoggedEvent> {
    OPEN.with(|open| {
        open.borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    })
}
