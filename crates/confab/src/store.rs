//! Opens the store a database URL names.

use std::sync::Arc;

use anyhow::Context;
use confab_store::Store;

/// SQLite for `sqlite:` URLs, PostgreSQL for `postgres:`/`postgresql:` URLs.
/// Migrations are applied on open.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = confab_store_sqlite::SqliteStore::connect(url)
            .await
            .with_context(|| format!("opening {url}"))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = confab_store_postgres::PostgresStore::connect(url)
            .await
            .context("connecting to PostgreSQL")?;
        Ok(Arc::new(store))
    } else {
        anyhow::bail!("--database-url must start with sqlite:// or postgres:// (got {url:?})")
    }
}
