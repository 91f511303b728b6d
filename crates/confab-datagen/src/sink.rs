//! Writes batches of rows with raw sqlx, one transaction per batch:
//! multi-row `INSERT … VALUES` on SQLite, `INSERT … SELECT FROM UNNEST` of
//! one array per column on PostgreSQL. Rows carry their ids (the next free
//! ones when the fill began), so messages can name their conversation
//! without a round trip; PostgreSQL's identity sequences are moved past
//! them at the end.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, QueryBuilder, Sqlite, SqlitePool};

use crate::generate::FirstIds;
use crate::rows::*;

/// Rows per SQLite `INSERT` (18 columns × 500 stays far below SQLite's
/// 32,766 bound parameters).
const SQLITE_ROWS: usize = 500;
/// Rows per PostgreSQL `INSERT … UNNEST`.
const POSTGRES_ROWS: usize = 5_000;

/// The database being filled.
pub enum Sink {
    Sqlite { pool: SqlitePool, file: PathBuf },
    Postgres(PgPool),
}

impl Sink {
    /// Opens one connection of our own (the store has already migrated).
    pub async fn open(url: &str) -> anyhow::Result<Sink> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                // WAL with NORMAL cannot corrupt the file; a crash loses at
                // most the last batches, and the fill is a throwaway anyway.
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                .pragma("cache_size", "-262144")
                .pragma("temp_store", "memory");
            let file = options.get_filename().to_path_buf();
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await?;
            Ok(Sink::Sqlite { pool, file })
        } else {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // Batches are big: one flush per commit is plenty,
                        // and losing the last one in a crash is harmless.
                        sqlx::query("SET synchronous_commit = off")
                            .execute(conn)
                            .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?;
            Ok(Sink::Postgres(pool))
        }
    }

    /// The ids the bulk rows start from.
    pub async fn first_ids(&self) -> anyhow::Result<FirstIds> {
        async fn next_sqlite(pool: &SqlitePool, table: &str) -> anyhow::Result<i64> {
            let sql = format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}");
            Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await?)
        }
        async fn next_postgres(pool: &PgPool, table: &str) -> anyhow::Result<i64> {
            let sql = format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}");
            Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await?)
        }
        Ok(match self {
            Sink::Sqlite { pool, .. } => FirstIds {
                contact: next_sqlite(pool, "contacts").await?,
                conversation: next_sqlite(pool, "conversations").await?,
                message: next_sqlite(pool, "messages").await?,
            },
            Sink::Postgres(pool) => FirstIds {
                contact: next_postgres(pool, "contacts").await?,
                conversation: next_postgres(pool, "conversations").await?,
                message: next_postgres(pool, "messages").await?,
            },
        })
    }

    /// Writes a batch in one transaction.
    pub async fn write(&self, batch: &Batch) -> anyhow::Result<()> {
        match self {
            Sink::Sqlite { pool, .. } => write_sqlite(pool, batch).await,
            Sink::Postgres(pool) => write_postgres(pool, batch).await,
        }
        .context("writing a batch")
    }

    /// After the last batch: the accounts' conversation counters, and on
    /// PostgreSQL the folder counts, identity sequences and statistics;
    /// on SQLite the WAL.
    pub async fn finish(&self, last_numbers: &[(i64, i64)]) -> anyhow::Result<()> {
        match self {
            Sink::Sqlite { pool, .. } => {
                for &(account, number) in last_numbers {
                    sqlx::query("UPDATE accounts SET last_conversation_number = ?2 WHERE id = ?1")
                        .bind(account)
                        .bind(number)
                        .execute(pool)
                        .await?;
                }
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await?;
            }
            Sink::Postgres(pool) => {
                for &(account, number) in last_numbers {
                    sqlx::query("UPDATE accounts SET last_conversation_number = $2 WHERE id = $1")
                        .bind(account)
                        .bind(number)
                        .execute(pool)
                        .await?;
                }
                // The rows were inserted with their ids: the next insert
                // through the store must not take one of them.
                for table in ["contacts", "conversations", "messages", "outbound_mail"] {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
                }
                // The rows' triggers left one folder-count delta per
                // conversation: what the first count reads would fold.
                confab_store_postgres::fold_count_deltas(pool, None).await?;
                // What autovacuum would soon do on its own: planner statistics.
                sqlx::query("ANALYZE").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// The database's size on disk, in bytes.
    pub async fn size(&self) -> anyhow::Result<u64> {
        match self {
            Sink::Sqlite { file, .. } => {
                let mut bytes = std::fs::metadata(file)?.len();
                let mut wal = file.clone().into_os_string();
                wal.push("-wal");
                if let Ok(meta) = std::fs::metadata(wal) {
                    bytes += meta.len();
                }
                Ok(bytes)
            }
            Sink::Postgres(pool) => {
                let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(pool)
                    .await?;
                Ok(bytes as u64)
            }
        }
    }

    pub async fn close(self) {
        match self {
            Sink::Sqlite { pool, .. } => pool.close().await,
            Sink::Postgres(pool) => pool.close().await,
        }
    }
}

async fn write_sqlite(pool: &SqlitePool, batch: &Batch) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for chunk in batch.contacts.chunks(SQLITE_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO contacts (id, account_id, name, email, phone, company, external_id, custom_attributes, browser, spam, first_seen_at, last_seen_at) ",
        );
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(row.id)
                .push_bind(row.account_id)
                .push_bind(row.name.as_deref())
                .push_bind(row.email.as_deref())
                .push_bind(row.phone.as_deref())
                .push_bind(row.company.as_deref())
                .push_bind(row.external_id.as_deref())
                .push_bind(row.custom_attributes.as_str())
                .push_bind(row.browser.as_str())
                .push_bind(row.spam)
                .push_bind(row.first_seen_at)
                .push_bind(row.last_seen_at);
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in batch.seen.chunks(SQLITE_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new("WITH v(id, seen) AS (");
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(row.id).push_bind(row.last_seen_at);
        });
        qb.push(
            ") UPDATE contacts SET last_seen_at = (SELECT seen FROM v WHERE v.id = contacts.id)
               WHERE id IN (SELECT id FROM v)",
        );
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in batch.conversations.chunks(SQLITE_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO conversations (id, account_id, number, inbox_id, inbox_kind, contact_id, folder, assignee_id, tags, subject, snoozed_until, unread_count, waiting_since, last_activity_at, created_at, search_text, deleted_at, last_message_preview) ",
        );
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(row.id)
                .push_bind(row.account_id)
                .push_bind(row.number)
                .push_bind(row.inbox_id)
                .push_bind(row.inbox_kind)
                .push_bind(row.contact_id)
                .push_bind(row.folder)
                .push_bind(row.assignee_id)
                .push_bind(row.tags.as_str())
                .push_bind(row.subject.as_deref())
                .push_bind(row.snoozed_until)
                .push_bind(row.unread_count)
                .push_bind(row.waiting_since)
                .push_bind(row.last_activity_at)
                .push_bind(row.created_at)
                .push_bind(row.search_text.as_str())
                .push_bind(row.deleted_at)
                .push_bind(row.last_message_preview.as_deref());
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in batch.tags.chunks(SQLITE_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO conversation_tags (conversation_id, account_id, tag) ",
        );
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(row.conversation_id)
                .push_bind(row.account_id)
                .push_bind(row.tag.as_str());
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in batch.messages.chunks(SQLITE_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (id, account_id, conversation_id, sender_type, sender_id, body, full_body, private, created_at, email_message_id, delivery) ",
        );
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(row.id)
                .push_bind(row.account_id)
                .push_bind(row.conversation_id)
                .push_bind(row.sender_type)
                .push_bind(row.sender_id)
                .push_bind(row.body.as_str())
                .push_bind(row.full_body.as_deref())
                .push_bind(row.private)
                .push_bind(row.created_at)
                .push_bind(row.email_message_id.as_deref())
                .push_bind(row.delivery);
        });
        qb.build().execute(&mut *tx).await?;
        // Their search rows: the store writes them itself, no trigger
        // (the SQLite store's migration 0012).
        let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO message_search (rowid, body) ");
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(row.id).push_bind(row.body.as_str());
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in batch.outbound.chunks(SQLITE_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO outbound_mail (account_id, message_id, status, attempts, created_at, sent_at) ",
        );
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(row.account_id)
                .push_bind(row.message_id)
                .push_bind("delivered")
                .push_bind(1i64)
                .push_bind(row.created_at)
                .push_bind(row.sent_at);
        });
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn write_postgres(pool: &PgPool, batch: &Batch) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for chunk in batch.contacts.chunks(POSTGRES_ROWS) {
        sqlx::query(
            "INSERT INTO contacts (id, account_id, name, email, phone, company, external_id, custom_attributes, browser, spam, first_seen_at, last_seen_at)
             OVERRIDING SYSTEM VALUE
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[], $11::bigint[], $12::bigint[])",
        )
        .bind(chunk.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.account_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.name.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.email.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.phone.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.company.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.external_id.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.custom_attributes.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.browser.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.spam).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.first_seen_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.last_seen_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    for chunk in batch.seen.chunks(POSTGRES_ROWS) {
        sqlx::query(
            "UPDATE contacts c SET last_seen_at = v.seen
             FROM UNNEST($1::bigint[], $2::bigint[]) AS v(id, seen) WHERE c.id = v.id",
        )
        .bind(chunk.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.last_seen_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    for chunk in batch.conversations.chunks(POSTGRES_ROWS) {
        sqlx::query(
            "INSERT INTO conversations (id, account_id, number, inbox_id, inbox_kind, contact_id, folder, assignee_id, tags, subject, snoozed_until, unread_count, waiting_since, last_activity_at, created_at, search_text, deleted_at, last_message_preview)
             OVERRIDING SYSTEM VALUE
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::text[], $17::bigint[], $18::text[])",
        )
        .bind(chunk.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.account_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.number).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.inbox_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.inbox_kind).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.contact_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.folder).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.assignee_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.tags.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.subject.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.snoozed_until).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.unread_count).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.waiting_since).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.last_activity_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.search_text.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.deleted_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.last_message_preview.as_deref()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    for chunk in batch.tags.chunks(POSTGRES_ROWS) {
        sqlx::query(
            "INSERT INTO conversation_tags (conversation_id, account_id, tag)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[])",
        )
        .bind(chunk.iter().map(|r| r.conversation_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.account_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.tag.as_str()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    for chunk in batch.messages.chunks(POSTGRES_ROWS) {
        sqlx::query(
            "INSERT INTO messages (id, account_id, conversation_id, sender_type, sender_id, body, full_body, private, created_at, email_message_id, delivery)
             OVERRIDING SYSTEM VALUE
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::boolean[], $9::bigint[], $10::text[], $11::text[])",
        )
        .bind(chunk.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.account_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.conversation_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.sender_type).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.sender_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.body.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.full_body.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.private).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.email_message_id.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.delivery).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    for chunk in batch.outbound.chunks(POSTGRES_ROWS) {
        sqlx::query(
            "INSERT INTO outbound_mail (account_id, message_id, status, attempts, created_at, sent_at)
             SELECT a, m, 'delivered', 1, c, s FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(a, m, c, s)",
        )
        .bind(chunk.iter().map(|r| r.account_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.message_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.sent_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
