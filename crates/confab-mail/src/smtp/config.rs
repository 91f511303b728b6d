//! Listener settings.

use std::time::Duration;

use super::tls::SmtpTls;

/// Settings of the SMTP listener. [`SmtpConfig::new`] gives sensible
/// defaults; change the public fields as needed.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The name the listener announces in its greeting and `EHLO` reply.
    pub hostname: String,
    /// Largest message accepted, in bytes after dot-unstuffing (advertised
    /// as `SIZE`). Default 25 MiB.
    pub max_message_size: usize,
    /// Most recipients of one message. Default 100.
    pub max_recipients: usize,
    /// Longest command line, in bytes with its CRLF. Default 1024.
    pub max_line_length: usize,
    /// Client errors (bad commands, rejected recipients) after which the
    /// connection is closed. Default 10.
    pub max_errors: usize,
    /// Most connections served at once; more are turned away with `421`.
    /// Default 100.
    pub max_connections: usize,
    /// How long the client may stay silent (or not read our replies)
    /// before the connection is closed. Default 5 minutes (RFC 5321 4.5.3.2).
    pub idle_timeout: Duration,
    /// How long [`super::MailSink`] calls may take before the client is told
    /// to retry later (`451`). Default 60 seconds.
    pub sink_timeout: Duration,
    /// Certificate and key for `STARTTLS`; `None` disables it.
    pub tls: Option<SmtpTls>,
}

impl SmtpConfig {
    /// Defaults for a listener announcing itself as `hostname`.
    pub fn new(hostname: impl Into<String>) -> SmtpConfig {
        SmtpConfig {
            hostname: hostname.into(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            max_line_length: 1024,
            max_errors: 10,
            max_connections: 100,
            idle_timeout: Duration::from_secs(5 * 60),
            sink_timeout: Duration::from_secs(60),
            tls: None,
        }
    }
}
