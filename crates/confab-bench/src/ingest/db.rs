//! Reading counts beside a running server, on either database.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection as _};

use super::MARK;

/// The database an ingest run writes to.
#[derive(Debug, Clone)]
pub enum Db {
    /// A SQLite file, read by a read-only connection under WAL.
    Sqlite(PathBuf),
    /// A PostgreSQL database URL.
    Postgres(String),
}

impl Db {
    pub fn of(url: &str) -> anyhow::Result<Db> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(Db::Sqlite(PathBuf::from(
                path.split('?').next().unwrap_or(path),
            )));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Db::Postgres(url.to_string()));
        }
        bail!("{url:?} is neither a sqlite:// nor a postgres:// URL")
    }

    /// The messages table's row count.
    pub async fn messages(&self) -> anyhow::Result<u64> {
        self.count("SELECT count(*) FROM messages").await
    }

    /// Messages the full-text index finds by the marker word.
    pub async fn indexed(&self) -> anyhow::Result<u64> {
        let sql = match self {
            Db::Sqlite(_) => {
                format!("SELECT count(*) FROM message_search WHERE message_search MATCH '{MARK}'")
            }
            Db::Postgres(_) => format!(
                "SELECT count(*) FROM messages WHERE search @@ to_tsquery('simple', '{MARK}')"
            ),
        };
        self.count(&sql).await
    }

    /// `message.created` events.
    pub async fn message_events(&self) -> anyhow::Result<u64> {
        self.count("SELECT count(*) FROM events WHERE type = 'message.created'")
            .await
    }

    /// The data of the newest `message.created` event, as the server wrote it.
    pub async fn latest_message_event(&self) -> anyhow::Result<String> {
        const SQL: &str =
            "SELECT data FROM events WHERE type = 'message.created' ORDER BY seq DESC LIMIT 1";
        match self {
            Db::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
                    Ok(read_only(&path)?.query_row(SQL, [], |row| row.get(0))?)
                })
                .await?
            }
            Db::Postgres(url) => {
                let mut db = connect(url).await?;
                let data: String = sqlx::query_scalar(SQL).fetch_one(&mut db).await?;
                let _ = db.close().await;
                Ok(data)
            }
        }
    }

    /// One count (only the bench's own SQL).
    async fn count(&self, sql: &str) -> anyhow::Result<u64> {
        match self {
            Db::Sqlite(path) => {
                let (path, sql) = (path.clone(), sql.to_string());
                tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
                    let n: i64 = read_only(&path)?.query_row(&sql, [], |row| row.get(0))?;
                    Ok(n.max(0) as u64)
                })
                .await?
            }
            Db::Postgres(url) => {
                let mut db = connect(url).await?;
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                    .fetch_one(&mut db)
                    .await?;
                let _ = db.close().await;
                Ok(n.max(0) as u64)
            }
        }
    }
}

pub async fn connect(url: &str) -> anyhow::Result<sqlx::PgConnection> {
    PgConnectOptions::from_str(url)
        .with_context(|| format!("{url:?} is not a PostgreSQL URL"))?
        .connect()
        .await
        .with_context(|| format!("connecting to {url}"))
}

fn read_only(path: &Path) -> anyhow::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", path.display()))
}
