//! Housekeeping on a clock: fires snooze wake-ups on time, purges the
//! trash once its retention has passed, and deletes attachment files no
//! message took within a day (or whose conversation was purged).
//!
//! Snooze wake-ups fire on time: sleeps until the earliest due time (at
//! most a second at a time, so a timer set by another instance is seen
//! quickly) and wakes when a new timer is set. A wake-up that fell due while
//! the server was down fires at start.

use std::time::Duration;

use crate::state::AppState;

/// The longest the scheduler sleeps without looking again.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Runs until the task is dropped.
pub async fn run_snooze_scheduler(state: AppState) {
    let mut attachments_purged: Option<std::time::Instant> = None;
    loop {
        purge_trash(&state).await;
        if attachments_purged.is_none_or(|at| at.elapsed() >= ATTACHMENT_PURGE_EVERY) {
            purge_attachments(&state).await;
            attachments_purged = Some(std::time::Instant::now());
        }
        let now = state.clock.now();
        match state.store.wake_due(now, 500).await {
            Ok(woken) if !woken.is_empty() => {
                tracing::info!(count = woken.len(), "snoozed conversations woke up");
                for conversation in &woken {
                    state.changed(conversation.account_id);
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "waking snoozed conversations"),
        }
        let sleep = match state.store.next_wakeup().await {
            Ok(Some(due)) => {
                Duration::from_millis((due.0 - state.clock.now().0).max(0) as u64).min(MAX_SLEEP)
            }
            _ => MAX_SLEEP,
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = state.snooze_changed.notified() => {}
        }
    }
}

/// How often unused attachments are looked for.
const ATTACHMENT_PURGE_EVERY: Duration = Duration::from_secs(60);
/// How long an upload may wait for a message to take it.
const UNATTACHED_MINUTES: i64 = 24 * 60;

/// Forgets uploads no message took within a day, and files whose message
/// was purged, then deletes their files (the row first: a file is never
/// missing under a row that names it).
pub async fn purge_attachments(state: &AppState) {
    let created_before = state.clock.now().plus_minutes(-UNATTACHED_MINUTES);
    loop {
        let purged = match state
            .store
            .purge_unattached_attachments(created_before, 100)
            .await
        {
            Ok(purged) => purged,
            Err(error) => {
                tracing::error!(%error, "purging unused attachments");
                return;
            }
        };
        for attachment in &purged {
            if let Err(error) = state.attachments.delete(&attachment.storage_key).await {
                tracing::warn!(%error, attachment = attachment.id.0, "deleting an attachment's file");
            }
        }
        if purged.len() < 100 {
            if !purged.is_empty() {
                tracing::info!(count = purged.len(), "deleted unused attachments");
            }
            return;
        }
    }
}

/// Deletes for good what has been in the trash longer than the retention.
async fn purge_trash(state: &AppState) {
    let now = state.clock.now();
    let retention_minutes = state.config.trash_retention_days.max(0) * 24 * 60;
    let deleted_before = now.plus_minutes(-retention_minutes);
    match state.store.purge_trash(deleted_before, now, 100).await {
        Ok(purged) if !purged.is_empty() => {
            tracing::info!(count = purged.len(), "purged conversations from the trash");
            for (account, _) in purged {
                state.changed(account);
            }
        }
        Ok(_) => {}
        Err(error) => tracing::error!(%error, "purging the trash"),
    }
}
