//! Server settings (the binary fills them from flags, `CONFAB_*` and TOML).

/// A rate limit: a steady refill and a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per minute, steady state.
    pub per_minute: u32,
    /// Requests allowed at once.
    pub burst: u32,
}

/// What the HTTP server needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address users reach (for cookies' `Secure` flag and links).
    pub public_url: Option<String>,
    /// Public (contact) endpoints, per client IP.
    pub public_rate: RateLimit,
    /// Login attempts, per client IP.
    pub login_rate: RateLimit,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// How long a browser session lasts, in minutes.
    pub session_minutes: i64,
    /// Most live WebSocket connections this instance holds.
    pub max_connections: usize,
    /// Frames a live socket may fall behind by before it is cut as a slow consumer.
    pub stream_backlog: usize,
    /// How often each account's feed reads the event log even when no
    /// change asked it to: the safety net for events it was not told of.
    pub log_read_every: std::time::Duration,
    /// How often live sockets are pinged.
    pub ping_every: std::time::Duration,
    /// Silence after which a live socket's peer is considered dead and closed.
    pub dead_after: std::time::Duration,
    /// Days a conversation stays in the trash before it is purged for good.
    pub trash_retention_days: i64,
    /// After how long an agent's chat reply is e-mailed to a visitor whose
    /// widget did not receive it; `None`: chat replies stay in the chat.
    pub chat_email_delay: Option<std::time::Duration>,
    /// Where attachment files are kept (created when the first one arrives).
    pub attachments_dir: std::path::PathBuf,
    /// Largest attachment, in bytes.
    pub attachment_max_bytes: u64,
}

/// The default largest attachment: 20 MiB.
pub const DEFAULT_ATTACHMENT_MAX_BYTES: u64 = 20 * 1024 * 1024;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_url: None,
            // An office behind one address must never be locked out.
            public_rate: RateLimit {
                per_minute: 120,
                burst: 60,
            },
            login_rate: RateLimit {
                per_minute: 20,
                burst: 10,
            },
            body_limit: 1024 * 1024,
            session_minutes: 14 * 24 * 60,
            max_connections: 20_000,
            stream_backlog: 1024,
            log_read_every: std::time::Duration::from_secs(1),
            ping_every: std::time::Duration::from_secs(15),
            dead_after: std::time::Duration::from_secs(45),
            trash_retention_days: 30,
            chat_email_delay: None,
            attachments_dir: std::path::PathBuf::from("confab-data/attachments"),
            attachment_max_bytes: DEFAULT_ATTACHMENT_MAX_BYTES,
        }
    }
}

impl ServerConfig {
    /// The domain of the `Message-ID`s Confab makes: the public URL's host,
    /// or `confab.localhost` without one.
    pub fn mail_domain(&self) -> String {
        self.public_url
            .as_deref()
            .and_then(|url| url.split("://").nth(1))
            .and_then(|rest| rest.split(['/', ':']).next())
            .filter(|host| !host.is_empty())
            .unwrap_or("confab.localhost")
            .to_string()
    }

    /// A new, unique `Message-ID` for a message of the account (stored,
    /// like received ones, without angle brackets). The part between
    /// `confab.` and `@` — the account and a random number — doubles as the
    /// reply token.
    pub fn new_message_id(&self, account: confab_domain::AccountId) -> String {
        let unique: u128 = rand::random();
        format!("confab.{}-{unique:032x}@{}", account.0, self.mail_domain())
    }

    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::ServerConfig;

    #[test]
    fn message_ids_use_the_public_host() {
        let mut config = ServerConfig::default();
        assert_eq!(config.mail_domain(), "confab.localhost");
        config.public_url = Some("https://help.example.com:8443/base".into());
        assert_eq!(config.mail_domain(), "help.example.com");
        let id = config.new_message_id(confab_domain::AccountId(7));
        assert!(
            id.starts_with("confab.7-") && id.ends_with("@help.example.com"),
            "{id}"
        );
        assert_ne!(id, config.new_message_id(confab_domain::AccountId(7)));
    }
}
