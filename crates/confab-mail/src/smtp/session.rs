//! The rules of one SMTP session: which command is allowed when, and what
//! it answers. No I/O here except the calls to the [`MailSink`].

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use smtp_proto::{Error as ProtoError, Request};

use super::config::SmtpConfig;
use super::data::DataOutcome;
use super::reply::Reply;
use super::sink::{DeliverError, Envelope, MailSink};

/// What the connection does after a command.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Read the next command.
    Command,
    /// Read a message (after `354`).
    Data,
    /// Flush the reply, then start the TLS handshake (after `STARTTLS`).
    StartTls,
    /// Flush the reply, then close the connection.
    Close,
}

/// A mail transaction: from `MAIL FROM` to the end of `DATA` or `RSET`.
#[derive(Debug)]
struct Transaction {
    mail_from: String,
    rcpt_to: Vec<String>,
    /// Recipients the sink refused, to tell "none given" from "all refused".
    refused: usize,
}

/// State of one client's session.
pub(crate) struct Session {
    config: Arc<SmtpConfig>,
    sink: Arc<dyn MailSink>,
    peer: SocketAddr,
    helo: Option<String>,
    transaction: Option<Transaction>,
    errors: usize,
    tls: bool,
}

impl Session {
    pub(crate) fn new(
        config: Arc<SmtpConfig>,
        sink: Arc<dyn MailSink>,
        peer: SocketAddr,
    ) -> Session {
        Session {
            config,
            sink,
            peer,
            helo: None,
            transaction: None,
            errors: 0,
            tls: false,
        }
    }

    /// The `220` greeting.
    pub(crate) fn greeting(&self) -> Reply {
        Reply::plain(220, vec![format!("{} ESMTP Confab", self.config.hostname)])
    }

    /// The `421` sent when the listener shuts down.
    pub(crate) fn shutting_down(&self) -> Reply {
        Reply::new(
            421,
            "4.3.2",
            format!(
                "{} Service shutting down, try again later",
                self.config.hostname
            ),
        )
    }

    /// The `421` sent when the client stayed silent too long.
    pub(crate) fn timed_out(&self) -> Reply {
        Reply::new(
            421,
            "4.4.2",
            format!("{} Idle timeout, closing connection", self.config.hostname),
        )
    }

    /// TLS is up: the session starts over (RFC 3207 4.2).
    pub(crate) fn tls_started(&mut self) {
        self.tls = true;
        self.helo = None;
        self.transaction = None;
    }

    /// Answers one command line (line ending included) into `out`.
    pub(crate) async fn command(&mut self, line: &[u8], out: &mut Vec<u8>) -> Next {
        let (reply, next) = match Request::parse(&mut line.iter()) {
            Ok(request) => self.request(request).await,
            Err(error) => (parse_error_reply(&error), Next::Command),
        };
        self.answer(reply, next, out)
    }

    /// Answers a command line that was longer than allowed.
    pub(crate) fn line_too_long(&mut self, out: &mut Vec<u8>) -> Next {
        self.answer(
            Reply::new(500, "5.5.2", "Line too long"),
            Next::Command,
            out,
        )
    }

    /// Answers the end of `DATA`: hands the message to the sink.
    pub(crate) async fn message(&mut self, outcome: DataOutcome, out: &mut Vec<u8>) -> Next {
        let reply = match (self.transaction.take(), outcome) {
            (_, DataOutcome::TooLarge) => too_large(),
            (None, DataOutcome::Message(_)) => {
                // `DATA` is only accepted inside a transaction.
                Reply::new(503, "5.5.1", "No transaction in progress")
            }
            (Some(transaction), DataOutcome::Message(data)) => {
                self.deliver(transaction, data).await
            }
        };
        self.answer(reply, Next::Command, out)
    }

    /// Writes `reply`, counting client errors; past the limit the answer is
    /// followed by `421` and the connection closes.
    fn answer(&mut self, reply: Reply, next: Next, out: &mut Vec<u8>) -> Next {
        reply.write_to(out);
        if reply.is_client_error() {
            self.errors += 1;
            if self.errors >= self.config.max_errors {
                tracing::info!(peer = %self.peer, errors = self.errors, "too many SMTP errors; closing");
                Reply::new(421, "4.7.0", "Too many errors, closing connection").write_to(out);
                return Next::Close;
            }
        }
        next
    }

    async fn request(&mut self, request: Request<Cow<'_, str>>) -> (Reply, Next) {
        match request {
            Request::Ehlo { host } => (self.ehlo(host.into_owned()), Next::Command),
            Request::Helo { host } => {
                self.helo = Some(host.into_owned());
                self.transaction = None;
                (
                    Reply::plain(250, vec![self.config.hostname.clone()]),
                    Next::Command,
                )
            }
            Request::Mail { from } => (
                self.mail(from.address.into_owned(), from.size),
                Next::Command,
            ),
            Request::Rcpt { to } => (self.rcpt(to.address.into_owned()).await, Next::Command),
            Request::Data => self.data(),
            Request::Rset => {
                self.transaction = None;
                (ok(), Next::Command)
            }
            Request::Noop { .. } => (ok(), Next::Command),
            Request::Quit => (
                Reply::new(221, "2.0.0", format!("{} Bye", self.config.hostname)),
                Next::Close,
            ),
            Request::Vrfy { .. } => (
                Reply::new(
                    252,
                    "2.5.0",
                    "Cannot VRFY user, but will accept message and attempt delivery",
                ),
                Next::Command,
            ),
            Request::Help { .. } => (Reply::new(214, "2.0.0", "See RFC 5321"), Next::Command),
            Request::StartTls => self.start_tls(),
            Request::Lhlo { .. }
            | Request::Bdat { .. }
            | Request::Auth { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => (
                Reply::new(502, "5.5.1", "Command not implemented"),
                Next::Command,
            ),
        }
    }

    fn ehlo(&mut self, host: String) -> Reply {
        self.helo = Some(host);
        self.transaction = None;
        let mut lines = vec![
            self.config.hostname.clone(),
            "PIPELINING".to_owned(),
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.config.tls.is_some() && !self.tls {
            lines.push("STARTTLS".to_owned());
        }
        Reply::plain(250, lines)
    }

    fn mail(&mut self, from: String, declared_size: usize) -> Reply {
        if self.helo.is_none() {
            return Reply::new(503, "5.5.1", "Send EHLO or HELO first");
        }
        if self.transaction.is_some() {
            return Reply::new(503, "5.5.1", "Sender already given");
        }
        if declared_size > self.config.max_message_size {
            return too_large();
        }
        self.transaction = Some(Transaction {
            mail_from: from,
            rcpt_to: Vec::new(),
            refused: 0,
        });
        ok()
    }

    async fn rcpt(&mut self, to: String) -> Reply {
        let max_recipients = self.config.max_recipients;
        let sink_timeout = self.config.sink_timeout;
        let Some(transaction) = self.transaction.as_mut() else {
            return Reply::new(503, "5.5.1", "Send MAIL FROM first");
        };
        if to.is_empty() {
            return Reply::new(501, "5.1.3", "Bad recipient address syntax");
        }
        if transaction.rcpt_to.contains(&to) {
            return ok();
        }
        if transaction.rcpt_to.len() >= max_recipients {
            return Reply::new(452, "4.5.3", "Too many recipients");
        }
        match tokio::time::timeout(sink_timeout, self.sink.accepts(&to)).await {
            Ok(true) => {
                transaction.rcpt_to.push(to);
                Reply::new(250, "2.1.5", "OK")
            }
            Ok(false) => {
                transaction.refused += 1;
                Reply::new(550, "5.1.1", "No such mailbox here")
            }
            Err(_) => {
                tracing::warn!(peer = %self.peer, "MailSink::accepts timed out");
                Reply::new(451, "4.3.0", "Temporary failure, try again later")
            }
        }
    }

    fn data(&mut self) -> (Reply, Next) {
        match &self.transaction {
            None => (
                Reply::new(503, "5.5.1", "Send MAIL FROM first"),
                Next::Command,
            ),
            Some(transaction) if transaction.rcpt_to.is_empty() && transaction.refused > 0 => (
                Reply::new(554, "5.5.1", "No valid recipients"),
                Next::Command,
            ),
            Some(transaction) if transaction.rcpt_to.is_empty() => (
                Reply::new(503, "5.5.1", "Send RCPT TO first"),
                Next::Command,
            ),
            Some(_) => (
                Reply::plain(354, vec!["End data with <CR><LF>.<CR><LF>".to_owned()]),
                Next::Data,
            ),
        }
    }

    fn start_tls(&mut self) -> (Reply, Next) {
        if self.tls {
            (
                Reply::new(503, "5.5.1", "TLS already active"),
                Next::Command,
            )
        } else if self.config.tls.is_none() {
            (
                Reply::new(502, "5.5.1", "Command not implemented"),
                Next::Command,
            )
        } else {
            (
                Reply::new(220, "2.0.0", "Ready to start TLS"),
                Next::StartTls,
            )
        }
    }

    async fn deliver(&mut self, transaction: Transaction, data: Vec<u8>) -> Reply {
        let envelope = Envelope {
            mail_from: transaction.mail_from,
            rcpt_to: transaction.rcpt_to,
            data,
            helo: self.helo.clone().unwrap_or_default(),
            peer: self.peer,
            tls: self.tls,
        };
        let size = envelope.data.len();
        match tokio::time::timeout(self.config.sink_timeout, self.sink.deliver(envelope)).await {
            Ok(Ok(())) => {
                tracing::debug!(peer = %self.peer, size, "message accepted");
                Reply::new(250, "2.0.0", "Message accepted")
            }
            Ok(Err(error @ DeliverError::Temporary(_))) => {
                tracing::warn!(peer = %self.peer, code = error.code(), %error, "delivery deferred");
                Reply::new(451, "4.3.0", "Temporary failure, try again later")
            }
            Ok(Err(error @ DeliverError::Permanent(_))) => {
                tracing::info!(peer = %self.peer, code = error.code(), %error, "delivery refused");
                Reply::new(554, "5.6.0", "Message refused")
            }
            Err(_) => {
                tracing::warn!(peer = %self.peer, "MailSink::deliver timed out");
                Reply::new(451, "4.3.0", "Temporary failure, try again later")
            }
        }
    }
}

fn ok() -> Reply {
    Reply::new(250, "2.0.0", "OK")
}

fn too_large() -> Reply {
    Reply::new(
        552,
        "5.3.4",
        "Message size exceeds fixed maximum message size",
    )
}

/// The reply to a line smtp-proto could not parse.
fn parse_error_reply(error: &ProtoError) -> Reply {
    match error {
        ProtoError::UnknownCommand => {
            Reply::new(500, "5.5.2", "Syntax error, command unrecognized")
        }
        ProtoError::InvalidSenderAddress => Reply::new(501, "5.1.7", "Bad sender address syntax"),
        ProtoError::InvalidRecipientAddress => {
            Reply::new(501, "5.1.3", "Bad recipient address syntax")
        }
        ProtoError::SyntaxError { syntax } => Reply::new(501, "5.5.4", format!("Syntax: {syntax}")),
        ProtoError::InvalidParameter { param } => {
            Reply::new(501, "5.5.4", format!("Invalid value for parameter {param}"))
        }
        ProtoError::UnsupportedParameter { .. } => {
            Reply::new(555, "5.5.4", "Unsupported parameter")
        }
        ProtoError::NeedsMoreData { .. }
        | ProtoError::ResponseTooLong
        | ProtoError::InvalidResponse { .. } => Reply::new(500, "5.5.2", "Syntax error"),
    }
}
