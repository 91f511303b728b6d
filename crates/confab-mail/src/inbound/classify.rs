//! Loop protection: recognising mail that a machine sent, which Confab must
//! never answer automatically (acknowledgements, auto-replies, CSAT
//! surveys), or two robots would mail each other forever.
//!
//! The signals follow RFC 3834 (`Auto-Submitted`), RFC 2369/2919 (`List-*`),
//! RFC 3464/6522 (`multipart/report`) and the de-facto headers of common
//! auto-responders (`Precedence`, `X-Autoreply`, `X-Autorespond`, Exchange's
//! `X-Auto-Response-Suppress`).

use super::headers::bare_address;
use super::parse::InboundMail;

/// What kind of sender produced a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// Written by a person: answer it like any other message.
    Personal,
    /// A delivery failure or other delivery/read report.
    Bounce(Signal),
    /// An automatic answer (vacation, out-of-office, ticket acknowledgement)
    /// or other automatically submitted mail.
    AutoReply(Signal),
    /// Bulk mail (newsletters, campaigns).
    Bulk(Signal),
    /// Mail distributed by a mailing list.
    MailingList(Signal),
}

impl MailKind {
    /// Whether a machine sent it: no automatic response may go back.
    pub fn is_automated(self) -> bool {
        self != MailKind::Personal
    }

    /// The header or envelope detail that decided, if not personal.
    pub fn signal(self) -> Option<Signal> {
        match self {
            MailKind::Personal => None,
            MailKind::Bounce(signal)
            | MailKind::AutoReply(signal)
            | MailKind::Bulk(signal)
            | MailKind::MailingList(signal) => Some(signal),
        }
    }
}

/// The evidence [`classify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Envelope sender `<>` (or `Return-Path: <>`): the mark of a bounce.
    NullSender,
    /// `Content-Type: multipart/report` (delivery status, read receipts).
    DeliveryReport,
    /// From `MAILER-DAEMON@…` or `postmaster@…`.
    DaemonSender,
    /// `Auto-Submitted` with any value but `no`.
    AutoSubmitted,
    /// `X-Autoreply`, `X-Autorespond` or a similar auto-responder header.
    AutoReplyHeader,
    /// `X-Auto-Response-Suppress` asking for no automatic answers.
    AutoResponseSuppress,
    /// `Precedence: bulk`, `junk`, `list` or `auto_reply`.
    Precedence,
    /// `List-Id`.
    ListId,
    /// `List-Unsubscribe`.
    ListUnsubscribe,
}

/// Headers whose mere presence marks an auto-responder.
const AUTO_REPLY_HEADERS: [&str; 4] = [
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-AutoReply-From",
];

/// Decides whether `mail` came from a person or a machine.
///
/// Checks run from the most to the least specific: bounce signals, then
/// auto-reply signals, then bulk and list signals. Fill in
/// [`InboundMail::envelope_from`] first so a null sender is seen.
pub fn classify(mail: &InboundMail) -> MailKind {
    if let Some(signal) = bounce_signal(mail) {
        return MailKind::Bounce(signal);
    }
    if let Some(signal) = auto_reply_signal(mail) {
        return MailKind::AutoReply(signal);
    }
    if let Some(precedence) = mail.header("Precedence") {
        match first_token(precedence).as_str() {
            "bulk" | "junk" => return MailKind::Bulk(Signal::Precedence),
            "list" => return MailKind::MailingList(Signal::Precedence),
            "auto_reply" => return MailKind::AutoReply(Signal::Precedence),
            _ => {}
        }
    }
    if mail.header("List-Id").is_some() {
        return MailKind::MailingList(Signal::ListId);
    }
    if mail.header("List-Unsubscribe").is_some() {
        return MailKind::Bulk(Signal::ListUnsubscribe);
    }
    MailKind::Personal
}

fn bounce_signal(mail: &InboundMail) -> Option<Signal> {
    let null_envelope = mail.envelope_from.as_deref().map(bare_address) == Some("");
    let null_return_path = mail.header("Return-Path").map(bare_address) == Some("");
    if null_envelope || null_return_path {
        return Some(Signal::NullSender);
    }
    if mail.content_type == "multipart/report" {
        return Some(Signal::DeliveryReport);
    }
    // The raw field too: `From: MAILER-DAEMON` has no `@`, so no parsed
    // mailbox.
    let daemon = mail
        .from
        .as_ref()
        .is_some_and(|from| is_daemon(&from.address))
        || mail
            .header("From")
            .is_some_and(|from| is_daemon(raw_address(from)));
    daemon.then_some(Signal::DaemonSender)
}

/// Whether the address (or bare name) is a mail system's own.
fn is_daemon(address: &str) -> bool {
    let local = address
        .rsplit_once('@')
        .map_or(address, |(local, _)| local)
        .trim();
    local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
}

/// The address in a raw `From` value: inside `<…>` if there is one,
/// otherwise the first word (`MAILER-DAEMON (Mail Delivery System)`).
fn raw_address(from: &str) -> &str {
    match from
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
    {
        Some((address, _)) => address,
        None => from.split_whitespace().next().unwrap_or_default(),
    }
}

fn auto_reply_signal(mail: &InboundMail) -> Option<Signal> {
    if mail
        .header("Auto-Submitted")
        .is_some_and(|value| first_token(value) != "no")
    {
        return Some(Signal::AutoSubmitted);
    }
    if AUTO_REPLY_HEADERS
        .iter()
        .any(|name| mail.header(name).is_some())
    {
        return Some(Signal::AutoReplyHeader);
    }
    // Exchange sets this on its own automatic messages; values such as
    // `OOF`, `AutoReply` or `All` ask every responder to stay quiet.
    if mail
        .header("X-Auto-Response-Suppress")
        .is_some_and(|value| {
            value.split(',').any(|item| {
                let item = item.trim();
                ["All", "OOF", "AutoReply"]
                    .iter()
                    .any(|word| item.eq_ignore_ascii_case(word))
            })
        })
    {
        return Some(Signal::AutoResponseSuppress);
    }
    None
}

/// The value up to the first `;`, `(` or white space, lower case: the part
/// that matters in `auto-replied; owner-email="…"` or `bulk (newsletter)`.
fn first_token(value: &str) -> String {
    value
        .trim()
        .split(|c: char| c == ';' || c == '(' || c.is_whitespace())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}
