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
    /// Receive mail for e-mail inboxes on this address, e.g. 0.0.0.0:25 (off by default).
    #[arg(long, env = "CONFAB_SMTP_LISTEN")]
    pub smtp_listen: Option<String>,
    /// Largest mail the listener takes, in bytes (default 25 MiB); bigger is refused with 552.
    #[arg(long, env = "CONFAB_SMTP_MAX_MESSAGE_BYTES")]
    pub smtp_max_message_bytes: Option<usize>,
    /// PEM certificate chain offering STARTTLS on the listener (with --smtp-tls-key).
    #[arg(long, env = "CONFAB_SMTP_TLS_CERT")]
    pub smtp_tls_cert: Option<PathBuf>,
    /// PEM private key for --smtp-tls-cert.
    #[arg(long, env = "CONFAB_SMTP_TLS_KEY")]
    pub smtp_tls_key: Option<PathBuf>,
    /// Send replies on e-mail and form tickets through this relay, e.g.
    /// smtp://127.0.0.1:25, smtp://user:pass@host:587?tls=required or smtps://host:465.
    #[arg(long, env = "CONFAB_SMTP_RELAY")]
    pub smtp_relay: Option<String>,
    /// Where attachment files are kept (default: `attachments` beside the
    /// SQLite database, or ./confab-data/attachments with PostgreSQL).
    #[arg(long, env = "CONFAB_ATTACHMENTS_DIR")]
    pub attachments_dir: Option<PathBuf>,
    /// Largest attachment in bytes (default 20 MiB); bigger uploads get 413.
    #[arg(long, env = "CONFAB_ATTACHMENT_MAX_BYTES")]
    pub attachment_max_bytes: Option<u64>,
    /// On an empty database, create a demo workspace first (sign in as
    /// admin@demo.confab.test / demo-password).
    #[arg(long)]
    pub demo: bool,
    /// Tests only: a clock admins can move forward with POST /api/v1/dev/clock.
    #[arg(long, hide = true)]
    pub dev_clock: bool,
    /// From address for replies of inboxes without their own (form inboxes);
    /// default noreply@ the public URL's host.
    #[arg(long, env = "CONFAB_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Seconds after which an agent's chat reply is also e-mailed to a
    /// visitor who left an address and whose widget did not receive it (they
    /// left the page); 0 turns it off. Default 120; needs --smtp-relay.
    #[arg(long, env = "CONFAB_CHAT_EMAIL_DELAY")]
    pub chat_email_delay: Option<u64>,
}

/// E-mail settings, resolved.
pub struct MailSettings {
    pub listen: Option<String>,
    pub max_message_bytes: usize,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub relay: Option<String>,
    pub from: Option<String>,
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
    smtp_listen: Option<String>,
    smtp_max_message_bytes: Option<usize>,
    smtp_tls_cert: Option<PathBuf>,
    smtp_tls_key: Option<PathBuf>,
    smtp_relay: Option<String>,
    smtp_from: Option<String>,
    chat_email_delay: Option<u64>,
    attachments_dir: Option<PathBuf>,
    attachment_max_bytes: Option<u64>,
}

/// Attachments live beside the SQLite database (`sqlite://DIR/confab.db` →
/// `DIR/attachments`); with PostgreSQL, in `./confab-data/attachments`.
pub fn default_attachments_dir(database_url: &str) -> PathBuf {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest));
    match path {
        Some(path) if !path.is_empty() && path != ":memory:" => {
            let parent = std::path::Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            parent.join("attachments")
        }
        _ => PathBuf::from("confab-data/attachments"),
    }
}

/// Everything `serve` needs, resolved.
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub nats_url: Option<String>,
    pub server: ServerConfig,
    pub mail: MailSettings,
    pub demo: bool,
    pub dev_clock: bool,
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
            // Chat replies can only reach a visitor by e-mail through a relay.
            chat_email_delay: match (
                self.smtp_relay.is_some() || file.smtp_relay.is_some(),
                self.chat_email_delay
                    .or(file.chat_email_delay)
                    .unwrap_or(120),
            ) {
                (true, seconds) if seconds > 0 => Some(std::time::Duration::from_secs(seconds)),
                _ => None,
            },
            attachment_max_bytes: self
                .attachment_max_bytes
                .or(file.attachment_max_bytes)
                .unwrap_or(defaults.attachment_max_bytes),
            ..defaults
        };
        let nats_url = self.nats_url.or(file.nats_url);
        let tls = match (
            self.smtp_tls_cert.or(file.smtp_tls_cert),
            self.smtp_tls_key.or(file.smtp_tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => anyhow::bail!("--smtp-tls-cert and --smtp-tls-key go together"),
        };
        let mail = MailSettings {
            listen: self.smtp_listen.or(file.smtp_listen),
            max_message_bytes: self
                .smtp_max_message_bytes
                .or(file.smtp_max_message_bytes)
                .unwrap_or(25 * 1024 * 1024),
            tls,
            relay: self.smtp_relay.or(file.smtp_relay),
            from: self.smtp_from.or(file.smtp_from),
        };
        let database_url = self
            .database
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let server = ServerConfig {
            attachments_dir: self
                .attachments_dir
                .or(file.attachments_dir)
                .unwrap_or_else(|| default_attachments_dir(&database_url)),
            ..server
        };
        Ok(Settings {
            demo: self.demo,
            dev_clock: self.dev_clock,
            nats_url,
            mail,
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            database_url,
            server,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_default_to_beside_the_database() {
        assert_eq!(
            default_attachments_dir("sqlite://confab-data/confab.db"),
            PathBuf::from("confab-data/attachments")
        );
        assert_eq!(
            default_attachments_dir("sqlite:///var/lib/confab/c.db?mode=rwc"),
            PathBuf::from("/var/lib/confab/attachments")
        );
        assert_eq!(
            default_attachments_dir("sqlite://c.db"),
            PathBuf::from("./attachments")
        );
        assert_eq!(
            default_attachments_dir("postgres://db/confab"),
            PathBuf::from("confab-data/attachments")
        );
    }
}
