//! Where received mail goes: the seam between the listener and the rest of
//! Confab.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use crate::inbound::{InboundMail, ParseError, parse_inbound};

/// A boxed future that can move between threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Receives what the listener accepts. Implemented by the server, which
/// knows the inboxes and stores the messages.
pub trait MailSink: Send + Sync {
    /// Whether mail for `recipient` (the address of one `RCPT TO`, without
    /// angle brackets) is wanted. `false` answers `550 5.1.1`.
    fn accepts<'a>(&'a self, recipient: &'a str) -> BoxFuture<'a, bool>;

    /// Takes delivery of one message. `Ok` answers `250`: from then on the
    /// sender considers the message delivered, so store it before returning.
    fn deliver(&self, envelope: Envelope) -> BoxFuture<'_, Result<(), DeliverError>>;
}

/// One message as the SMTP client handed it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The `MAIL FROM` address; empty for the null sender `<>` of bounces.
    pub mail_from: String,
    /// The accepted `RCPT TO` addresses, in order, without duplicates.
    pub rcpt_to: Vec<String>,
    /// The message, byte-exact as sent, dot-unstuffed (CRLF line endings).
    pub data: Vec<u8>,
    /// The name the client gave in `EHLO`/`HELO`.
    pub helo: String,
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the message came over TLS (`STARTTLS`).
    pub tls: bool,
}

impl Envelope {
    /// Parses the message, with [`InboundMail::envelope_from`] filled in so
    /// [`crate::inbound::classify`] sees a null sender.
    pub fn parse(&self) -> Result<InboundMail, ParseError> {
        let mut mail = parse_inbound(&self.data)?;
        mail.envelope_from = Some(self.mail_from.clone());
        Ok(mail)
    }
}

/// Why a [`MailSink`] did not take a message. The text is logged, never
/// sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliverError {
    /// Try again later (e.g. the database is unavailable): `451 4.3.0`.
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    /// Never deliverable (e.g. the message cannot be parsed): `554 5.6.0`.
    #[error("message refused: {0}")]
    Permanent(String),
}

impl DeliverError {
    /// A stable code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            DeliverError::Temporary(_) => "delivery_temporary",
            DeliverError::Permanent(_) => "delivery_permanent",
        }
    }
}
