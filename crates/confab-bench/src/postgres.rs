//! A fresh PostgreSQL database for every run, on the server the user names,
//! dropped afterwards (so figures do not depend on earlier runs' data).

use std::str::FromStr;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

async fn execute(server_url: &str, sql: String) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(server_url)
        .with_context(|| format!("{server_url:?} is not a PostgreSQL URL"))?;
    let mut admin = options
        .connect()
        .await
        .with_context(|| format!("connecting to {server_url}"))?;
    // Only our own names (letters, digits, underscores) are spliced in.
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await?;
    let _ = admin.close().await;
    Ok(())
}

/// Creates database `name` on the server of `server_url`; returns its URL.
pub async fn create(server_url: &str, name: &str) -> anyhow::Result<String> {
    execute(server_url, format!("CREATE DATABASE {name}"))
        .await
        .with_context(|| format!("creating database {name}"))?;
    let mut url = reqwest::Url::parse(server_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Drops database `name`, closing what is still connected.
pub async fn drop(server_url: &str, name: &str) -> anyhow::Result<()> {
    execute(
        server_url,
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await
    .with_context(|| format!("dropping database {name}"))
}
