//! Fires snooze wake-ups on time: sleeps until the earliest due time (at
//! most a second at a time, so a timer set by another instance is seen
//! quickly) and wakes when a new timer is set. A wake-up that fell due while
//! the server was down fires at start.

use std::time::Duration;

use crate::state::AppState;

/// The longest the scheduler sleeps without looking again.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Runs until the task is dropped.
pub async fn run_snooze_scheduler(state: AppState) {
    loop {
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
