//! [`parse_inbound`]: raw RFC 5322 bytes to an [`InboundMail`].

use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderName, MessageParser, MimeHeaders};

use super::address::Mailbox;
use super::body::{TextSource, message_text};
use super::headers::{RawHeader, bare_address, message_ids, raw_headers};
use crate::{normalize, trim_reply};

/// Why raw bytes could not be read as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but white space was delivered.
    #[error("the message is empty")]
    Empty,
    /// The bytes hold no header section MIME parsing could make sense of.
    #[error("the message has no readable header section")]
    Malformed,
}

impl ParseError {
    /// A stable code for logs and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Empty => "mail_empty",
            ParseError::Malformed => "mail_malformed",
        }
    }
}

/// A file attached to a message (inline images included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the sender gave, decoded; `None` when there is none.
    pub filename: Option<String>,
    /// The MIME type, lower case (`image/png`); `application/octet-stream`
    /// when the part did not say.
    pub content_type: String,
    /// The `Content-ID` without angle brackets, for images an HTML body
    /// refers to as `cid:…`.
    pub content_id: Option<String>,
    /// Whether the part asked to be shown inline rather than as a file.
    pub inline: bool,
    /// The decoded content (base64 and quoted-printable undone).
    pub data: Vec<u8>,
}

/// What Confab needs from one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids, without angle brackets (normally one).
    pub in_reply_to: Vec<String>,
    /// `References` ids, without angle brackets, oldest first.
    pub references: Vec<String>,
    /// The first `From` mailbox.
    pub from: Option<Mailbox>,
    /// `Reply-To` mailboxes: where the sender wants answers to go.
    pub reply_to: Vec<Mailbox>,
    /// `To` mailboxes, from every `To` field.
    pub to: Vec<Mailbox>,
    /// `Cc` mailboxes, from every `Cc` field.
    pub cc: Vec<Mailbox>,
    /// `Delivered-To` addresses, as added by the mail servers on the way.
    pub delivered_to: Vec<String>,
    /// `Subject`, decoded.
    pub subject: Option<String>,
    /// `Date`, when present and valid.
    pub date: Option<DateTime<Utc>>,
    /// What the contact wrote: [`InboundMail::full_body`] with quoted
    /// history, reply headers and signature cut by [`trim_reply`].
    pub body: String,
    /// The whole text, normalised by [`normalize`] (LF line endings, no
    /// trailing white space).
    pub full_body: String,
    /// Whether [`InboundMail::body`] is shorter than the full text.
    pub body_trimmed: bool,
    /// Whether the text came from a text/plain or an HTML part.
    pub text_source: TextSource,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// The top-level `Content-Type`, lower case, without parameters
    /// (`multipart/report`).
    pub content_type: String,
    /// Every top-level header field, raw, for rules that read headers.
    pub headers: Vec<RawHeader>,
    /// The SMTP envelope sender (`MAIL FROM`), when the message came through
    /// SMTP: `Some("")` is the null sender of bounces. [`parse_inbound`]
    /// leaves it `None`; the receiver fills it in from the envelope.
    pub envelope_from: Option<String>,
}

impl InboundMail {
    /// The first value of the header field `name` (any case), raw.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }

    /// Every value of the header field `name` (any case), raw, in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }
}

/// Reads a raw message (RFC 5322, MIME, any charset mail-parser decodes).
///
/// Never panics, whatever the bytes. Missing fields are `None` or empty;
/// only input with no usable header section at all is an error, and so is
/// a message mail-parser itself panics on: 0.11.9 subtracts past zero in
/// its quoted-printable decoder for a part ending in `=C3=` (found by
/// `mail_like_bytes_never_panic`), so its work runs behind `catch_unwind`
/// and such a message is refused as malformed.
pub fn parse_inbound(raw: &[u8]) -> Result<InboundMail, ParseError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_message(raw)))
        .unwrap_or(Err(ParseError::Malformed))
}

fn read_message(raw: &[u8]) -> Result<InboundMail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::Malformed)?;
    let headers = raw_headers(&message);
    if headers.is_empty() {
        return Err(ParseError::Malformed);
    }

    let (text, text_source) = message_text(&message);
    let trimmed = trim_reply(&text);
    let attachments = message
        .attachments()
        .map(|part| Attachment {
            filename: part.attachment_name().map(str::to_owned),
            content_type: part
                .content_type()
                .map(mime_type)
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            content_id: part
                .content_id()
                .map(|id| bare_address(id).to_owned())
                .filter(|id| !id.is_empty()),
            inline: part
                .content_disposition()
                .is_some_and(|disposition| disposition.ctype().eq_ignore_ascii_case("inline")),
            data: part.contents().to_vec(),
        })
        .collect();

    Ok(InboundMail {
        message_id: message
            .message_id()
            .map(|id| bare_address(id).to_owned())
            .filter(|id| !id.is_empty()),
        in_reply_to: message_ids(message.in_reply_to()),
        references: message_ids(message.references()),
        from: message
            .from()
            .and_then(|from| mailboxes(from).into_iter().next()),
        reply_to: message.reply_to().map(mailboxes).unwrap_or_default(),
        to: message.all_to().flat_map(mailboxes).collect(),
        cc: message.all_cc().flat_map(mailboxes).collect(),
        delivered_to: headers
            .iter()
            .filter(|header| {
                header
                    .name
                    .eq_ignore_ascii_case(HeaderName::DeliveredTo.as_str())
            })
            .map(|header| bare_address(&header.value).to_owned())
            .filter(|address| !address.is_empty())
            .collect(),
        subject: message.subject().map(|subject| subject.trim().to_owned()),
        date: message
            .date()
            .filter(|date| date.is_valid())
            .and_then(|date| DateTime::from_timestamp(date.to_timestamp(), 0)),
        full_body: normalize(&text),
        body: trimmed.body,
        body_trimmed: trimmed.trimmed,
        text_source,
        attachments,
        content_type: message
            .root_part()
            .content_type()
            .map(mime_type)
            .unwrap_or_else(|| "text/plain".to_owned()),
        headers,
        envelope_from: None,
    })
}

/// `type/subtype`, lower case.
fn mime_type(content_type: &mail_parser::ContentType<'_>) -> String {
    match content_type.subtype() {
        Some(subtype) => format!("{}/{}", content_type.ctype(), subtype).to_ascii_lowercase(),
        None => content_type.ctype().to_ascii_lowercase(),
    }
}

/// The mailboxes of an address field (groups flattened), those without an
/// address dropped.
fn mailboxes(address: &Address<'_>) -> Vec<Mailbox> {
    address
        .iter()
        .filter_map(|addr| {
            let address = addr.address()?.trim();
            if address.is_empty() {
                return None;
            }
            Some(Mailbox {
                address: address.to_owned(),
                name: addr
                    .name()
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned),
            })
        })
        .collect()
}
