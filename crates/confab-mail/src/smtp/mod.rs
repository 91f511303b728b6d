//! Confab's SMTP listener: receives mail from other mail servers (Confab's
//! MX, or a forwarding rule) and hands each message to a [`MailSink`].
//!
//! Commands are parsed by `smtp-proto` (sans-IO); this module adds the
//! session rules and the I/O on tokio.
//!
//! # Behaviour
//!
//! - `EHLO` advertises `PIPELINING`, `SIZE <max>`, `8BITMIME`,
//!   `ENHANCEDSTATUSCODES` and, when [`SmtpConfig::tls`] is set,
//!   `STARTTLS`. `HELO` works too.
//! - `MAIL FROM` is refused with `552 5.3.4` when its `SIZE=` is over
//!   [`SmtpConfig::max_message_size`]; `<>` (the null sender of bounces) is
//!   accepted.
//! - `RCPT TO` asks [`MailSink::accepts`]; `550 5.1.1` when it says no,
//!   `452 4.5.3` past [`SmtpConfig::max_recipients`].
//! - `DATA` is dot-unstuffed; only `CRLF . CRLF` ends it (no bare-LF
//!   variants: those are how SMTP smuggling works). A message growing past
//!   the size limit is read to its end and thrown away as it arrives, then
//!   refused with `552 5.3.4`: memory never holds more than the limit plus
//!   one read.
//! - [`MailSink::deliver`] errors answer `451 4.3.0` (temporary: the sender
//!   retries) or `554 5.6.0` (permanent).
//! - Commands out of order answer `503 5.5.1`, bad arguments `501`, unknown
//!   commands `500 5.5.2`, known but unsupported ones (`AUTH`, `BDAT`,
//!   `EXPN`, …) `502 5.5.1`, `VRFY` `252`. After
//!   [`SmtpConfig::max_errors`] such errors (rejected recipients included)
//!   the connection is closed with `421`.
//! - Command lines longer than [`SmtpConfig::max_line_length`] answer
//!   `500 5.5.2` and are skipped without being buffered.
//! - A connection silent for [`SmtpConfig::idle_timeout`] gets `421 4.4.2`
//!   and is closed; past [`SmtpConfig::max_connections`] new connections get
//!   `421 4.3.2`; on shutdown every connection gets `421 4.3.2` at its next
//!   command (a delivery in progress finishes first).
//! - After `STARTTLS`, anything the client pipelined behind the command is
//!   discarded and the session starts again, as RFC 3207 requires.
//!
//! The message is handed over byte-exact: no `Received:` header is added.
//! [`Envelope`] carries the client's address and `EHLO` name for that.

mod config;
mod connection;
mod data;
mod lines;
mod reply;
mod server;
mod session;
mod sink;
mod tls;

pub use config::SmtpConfig;
pub use server::serve;
pub use sink::{BoxFuture, DeliverError, Envelope, MailSink};
pub use tls::{SmtpTls, TlsError};
