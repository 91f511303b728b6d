//! SQLite's raw limit: plain batched inserts of the rows a contact message
//! writes, on a connection opened as the server's writer is (pragmas, VFS),
//! on a file made like the server's.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rusqlite::params;

use super::MARK;

/// The raw limit: for `duration` (after a second of warm-up), transactions of
/// `batch` contact messages, each what the server writes for one: the message
/// and its FTS5 row, its conversation's counters,
/// preview and activity, the contact's `last_seen_at`, the account's event
/// counter and a `message.created` event of the server's size. Returns the
/// messages committed in the measured time, and that time.
pub fn raw_limit(
    path: &Path,
    batch: usize,
    duration: Duration,
    event_data: &str,
) -> anyhow::Result<(u64, f64)> {
    // Opened as the server's writer is: its pragmas, its library set-up
    // and its VFS (the log's writes gathered).
    let mut db = confab_store_sqlite::open_writer(path)
        .with_context(|| format!("opening {}", path.display()))?;
    // The server starts a checkpoint at this size of log (on a thread of its
    // own); here SQLite's automatic one runs in the commit that passes it.
    db.pragma_update(
        None,
        "wal_autocheckpoint",
        confab_store_sqlite::CHECKPOINT_PAGES,
    )?;
    let conversations: Vec<(i64, i64, i64)> = db
        .prepare("SELECT account_id, id, contact_id FROM conversations ORDER BY id")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    if conversations.is_empty() {
        bail!("the raw limit found no conversations in {}", path.display());
    }
    let warm_until = Instant::now() + Duration::from_secs(1);
    let mut measured_from: Option<Instant> = None;
    let mut messages = 0u64;
    let mut k = 0usize;
    loop {
        let now = Instant::now();
        if let Some(from) = measured_from {
            if now - from >= duration {
                return Ok((messages, (now - from).as_secs_f64()));
            }
        } else if now >= warm_until {
            measured_from = Some(now);
        }
        let tx = db.transaction()?;
        {
            let mut message = tx.prepare_cached(
                "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id, body, private, created_at)
                 VALUES (?1, ?2, 'contact', ?3, ?4, 0, ?5)",
            )?;
            let mut conversation = tx.prepare_cached(
                "UPDATE conversations SET unread_count = unread_count + 1,
                        waiting_since = coalesce(waiting_since, ?3), last_activity_at = ?3,
                        last_message_preview = ?4
                 WHERE account_id = ?1 AND id = ?2",
            )?;
            let mut contact =
                tx.prepare_cached("UPDATE contacts SET last_seen_at = ?2 WHERE id = ?1")?;
            let mut search =
                tx.prepare_cached("INSERT INTO message_search (rowid, body) VALUES (?1, ?2)")?;
            let mut count = tx.prepare_cached(
                "UPDATE accounts SET last_event_seq = last_event_seq + 1 WHERE id = ?1",
            )?;
            let mut seq = tx.prepare_cached("SELECT last_event_seq FROM accounts WHERE id = ?1")?;
            let mut event = tx.prepare_cached(
                "INSERT INTO events (account_id, seq, type, at, data)
                 VALUES (?1, ?2, 'message.created', ?3, ?4)",
            )?;
            for _ in 0..batch {
                let (account, id, contact_id) = conversations[k % conversations.len()];
                k += 1;
                let now_ms = chrono::Utc::now().timestamp_millis();
                let body = format!("ingest message raw-{k} from the bench {MARK}");
                message.execute(params![account, id, contact_id, body, now_ms])?;
                search.execute(params![tx.last_insert_rowid(), body])?;
                conversation.execute(params![account, id, now_ms, body])?;
                contact.execute(params![contact_id, now_ms])?;
                count.execute([account])?;
                let n: i64 = seq.query_row([account], |row| row.get(0))?;
                event.execute(params![account, n, now_ms, event_data])?;
            }
        }
        // As the writer commits: the log's writes gathered.
        confab_store_sqlite::commit(&tx)?;
        drop(tx);
        if measured_from.is_some() {
            messages += batch as u64;
        }
    }
}
