//! Settings from flags, `CONFAB_*` environment variables and an optional TOML
//! file, in that order of precedence.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use confab_server::config::{RateLimit, ServerConfig};
use serde::Deserialize;

/// The default database: a SQLite file beside where Confab runs.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://confab-data/confab.db";

#[derive(Args, Clone)]
pub struct DatabaseArgs {
    /// sqlite://PATH (default sqlite://confab-data/confab.db) or postgres://…
    #[arg(long, env = "CONFAB_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "CONFAB_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP address (default 127.0.0.1:8080).
    #[arg(long, env = "CONFAB_LISTEN")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The address users reach, e.g. https://help.example.com.
    #[arg(long, env = "CONFAB_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Public (contact) requests per minute per IP (default 120).
    #[arg(long, env = "CONFAB_PUBLIC_RATE_PER_MINUTE")]
    pub public_rate_per_minute: Option<u32>,
    /// Public requests allowed in a burst per IP (default 60).
    #[arg(long, env = "CONFAB_PUBLIC_RATE_BURST")]
    pub public_rate_burst: Option<u32>,
    /// Login attempts per minute per IP (default 20).
    #[arg(long, env = "CONFAB_LOGIN_RATE_PER_MINUTE")]
    pub login_rate_per_minute: Option<u32>,
    /// Largest request body in bytes (default 1 MiB).
    #[arg(long, env = "CONFAB_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// Most live WebSocket connections this instance holds (default 20000).
    #[arg(long, env = "CONFAB_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Days a deleted conversation stays in the trash before it is purged (default 30).
    #[arg(long, env = "CONFAB_TRASH_RETENTION_DAYS")]
    pub trash_retention_days: Option<i64>,
    /// Join a cluster of instances sharing one PostgreSQL, e.g. nats://127.0.0.1:4222.
    #[arg(long, env = "CONFAB_NATS_URL")]
    pub nats_url: Option<String>,
}

/// The same settings, read from a TOML file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    public_rate_per_minute: Option<u32>,
    public_rate_burst: Option<u32>,
    login_rate_per_minute: Option<u32>,
    body_limit: Option<usize>,
    max_connections: Option<usize>,
    nats_url: Option<String>,
    trash_retention_days: Option<i64>,
}

/// Everything `serve` needs, resolved.
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub nats_url: Option<String>,
    pub server: ServerConfig,
}

impl ServeArgs {
    pub fn resolve(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<FileSettings>(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileSettings::default(),
        };
        let defaults = ServerConfig::default();
        let server = ServerConfig {
            public_url: self.public_url.or(file.public_url),
            public_rate: RateLimit {
                per_minute: self
                    .public_rate_per_minute
                    .or(file.public_rate_per_minute)
                    .unwrap_or(defaults.public_rate.per_minute),
                burst: self
                    .public_rate_burst
                    .or(file.public_rate_burst)
                    .unwrap_or(defaults.public_rate.burst),
            },
            login_rate: RateLimit {
                per_minute: self
                    .login_rate_per_minute
                    .or(file.login_rate_per_minute)
                    .unwrap_or(defaults.login_rate.per_minute),
                burst: defaults.login_rate.burst,
            },
            body_limit: self
                .body_limit
                .or(file.body_limit)
                .unwrap_or(defaults.body_limit),
            max_connections: self
                .max_connections
                .or(file.max_connections)
                .unwrap_or(defaults.max_connections),
            trash_retention_days: self
                .trash_retention_days
                .or(file.trash_retention_days)
                .unwrap_or(defaults.trash_retention_days),
            ..defaults
        };
        let nats_url = self.nats_url.or(file.nats_url);
        Ok(Settings {
            nats_url,
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            database_url: self
                .database
                .database_url
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            server,
        })
    }
}
