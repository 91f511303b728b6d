//! The scale scenario's databases: one filled by confab-datagen (or given
//! with `--scale-data`), and empty ones for the start-up figures.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use confab_domain::Timestamp;
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use crate::postgres;

/// Where the databases live.
pub enum Backend {
    Sqlite,
    /// A database made on this PostgreSQL server for each use, dropped afterwards.
    Postgres {
        server_url: String,
    },
}

impl Backend {
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres { .. } => "PostgreSQL",
        }
    }

    /// The label, and for PostgreSQL its version and the setting that
    /// decides how much of the data it keeps in its own memory (the queries'
    /// figures move with it): "PostgreSQL 15.20, shared_buffers 128MB".
    pub async fn describe(&self) -> String {
        match self {
            Backend::Sqlite => self.label().to_string(),
            Backend::Postgres { server_url } => match postgres_settings(server_url).await {
                Ok((version, buffers)) => {
                    format!("PostgreSQL {version}, `shared_buffers` {buffers}")
                }
                Err(error) => {
                    eprintln!("warning: reading PostgreSQL's settings: {error:#}");
                    self.label().to_string()
                }
            },
        }
    }

    /// A new empty database (no file or database yet for SQLite; a created,
    /// unmigrated one for PostgreSQL): its URL and the PostgreSQL name.
    pub async fn empty(&self, dir: &Path, n: usize) -> anyhow::Result<(String, Option<String>)> {
        match self {
            Backend::Sqlite => {
                let dir = dir.join(format!("empty-{n}"));
                std::fs::create_dir_all(&dir)?;
                Ok((format!("sqlite://{}/confab.db", dir.display()), None))
            }
            Backend::Postgres { server_url } => {
                let name = format!("confab_bench_scale_empty_{}_{n}", std::process::id());
                let url = postgres::create(server_url, &name).await?;
                Ok((url, Some(name)))
            }
        }
    }

    /// Drops a PostgreSQL database this scenario made (warns on failure).
    pub async fn drop(&self, name: &str) {
        if let Backend::Postgres { server_url } = self
            && let Err(error) = postgres::drop(server_url, name).await
        {
            eprintln!("warning: {error:#}");
        }
    }
}

/// How confab-datagen filled the database, when this run filled it.
pub struct Fill {
    pub elapsed: Duration,
    pub contacts: u64,
    pub database_bytes: u64,
    pub seed: u64,
}

/// The filled database.
pub struct Filled {
    pub url: String,
    /// Where a given SQLite file came from (`--scale-data`).
    pub given: Option<String>,
    pub fill: Option<Fill>,
    pub conversations: u64,
    pub messages: u64,
    pub admin_email: String,
    /// The PostgreSQL database to drop afterwards.
    pub postgres_name: Option<String>,
}

/// The first account's admin, as confab-datagen names it.
const ADMIN_EMAIL: &str = "admin@a1.datagen.confab.test";

/// Fills a new database with `conversations` (or takes the given file).
pub async fn filled(
    backend: &Backend,
    dir: &Path,
    given: Option<&Path>,
    conversations: u64,
    seed: u64,
) -> anyhow::Result<Filled> {
    if let Some(url) = given
        .map(|path| path.to_string_lossy().into_owned())
        .filter(|url| url.starts_with("postgres://"))
    {
        let (conversations, messages) = count_postgres(&url).await?;
        return Ok(Filled {
            given: Some(url.clone()),
            url,
            fill: None,
            conversations,
            messages,
            admin_email: ADMIN_EMAIL.into(),
            postgres_name: None,
        });
    }
    if let Some(path) = given {
        if !path.is_file() {
            bail!("--scale-data {}: no such file", path.display());
        }
        let path = std::fs::canonicalize(path)?;
        let url = format!("sqlite://{}", path.display());
        let (conversations, messages) = count_sqlite(&url).await?;
        return Ok(Filled {
            url,
            given: Some(path.display().to_string()),
            fill: None,
            conversations,
            messages,
            admin_email: ADMIN_EMAIL.into(),
            postgres_name: None,
        });
    }
    let (url, postgres_name) = match backend {
        Backend::Sqlite => {
            let dir = dir.join("filled");
            std::fs::create_dir_all(&dir)?;
            (format!("sqlite://{}/confab.db", dir.display()), None)
        }
        Backend::Postgres { server_url } => {
            let name = format!("confab_bench_scale_{}", std::process::id());
            (postgres::create(server_url, &name).await?, Some(name))
        }
    };
    let config = confab_datagen::Config {
        database_url: url.clone(),
        conversations,
        messages_per_conversation: 10.0,
        seed,
        accounts: 1,
        now: Timestamp(chrono::Utc::now().timestamp_millis()),
        batch_conversations: 5_000,
        progress: true,
    };
    let summary = match confab_datagen::generate(&config).await {
        Ok(summary) => summary,
        Err(error) => {
            if let Some(name) = &postgres_name {
                backend.drop(name).await;
            }
            return Err(error.context("filling the database with confab-datagen"));
        }
    };
    Ok(Filled {
        url,
        given: None,
        fill: Some(Fill {
            elapsed: summary.elapsed,
            contacts: summary.contacts,
            database_bytes: summary.database_bytes,
            seed,
        }),
        conversations: summary.conversations,
        messages: summary.messages,
        admin_email: summary
            .accounts
            .first()
            .map_or_else(|| ADMIN_EMAIL.to_string(), |a| a.admin_email.clone()),
        postgres_name,
    })
}

/// Conversations and messages in a PostgreSQL database (exact counts: a
/// few seconds on 10M messages).
async fn count_postgres(url: &str) -> anyhow::Result<(u64, u64)> {
    use sqlx::postgres::PgConnectOptions;
    let connection = PgConnectOptions::from_str(url)?.connect().await;
    count_rows(connection.with_context(|| format!("opening {url}"))?).await
}

/// PostgreSQL's version and `shared_buffers`.
async fn postgres_settings(url: &str) -> anyhow::Result<(String, String)> {
    use sqlx::Connection;
    use sqlx::postgres::PgConnectOptions;
    let mut connection = PgConnectOptions::from_str(url)?
        .connect()
        .await
        .with_context(|| format!("opening {url}"))?;
    let settings: (String, String) = sqlx::query_as(
        "SELECT current_setting('server_version'), current_setting('shared_buffers')",
    )
    .fetch_one(&mut connection)
    .await?;
    let _ = connection.close().await;
    Ok(settings)
}

/// Conversations and messages in a SQLite file.
async fn count_sqlite(url: &str) -> anyhow::Result<(u64, u64)> {
    let options = SqliteConnectOptions::from_str(url)?.read_only(true);
    let connection = options.connect().await;
    count_rows(connection.with_context(|| format!("opening {url}"))?).await
}

/// Counts conversations and messages over a connection, then closes it.
async fn count_rows<C>(mut connection: C) -> anyhow::Result<(u64, u64)>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
    <C::Database as sqlx::Database>::Arguments: sqlx::IntoArguments<C::Database>,
    (i64, i64): for<'r> sqlx::FromRow<'r, <C::Database as sqlx::Database>::Row>,
{
    let (conversations, messages): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM conversations) AS c, (SELECT COUNT(*) FROM messages) AS m",
    )
    .fetch_one(&mut connection)
    .await
    .context("counting conversations and messages (is it a Confab database?)")?;
    let _ = connection.close().await;
    Ok((conversations.max(0) as u64, messages.max(0) as u64))
}
