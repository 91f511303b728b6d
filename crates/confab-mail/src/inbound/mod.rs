//! Inbound mail: turning the raw bytes an SMTP client delivered into the
//! fields a conversation needs, and telling people apart from machines.
//!
//! - [`parse_inbound`] reads a message (MIME, encodings, charsets) into an
//!   [`InboundMail`]: threading ids, addresses, subject, date, the text the
//!   contact wrote and the attachments.
//! - [`classify`] says whether a message is [`MailKind::Personal`] or
//!   something Confab must never answer automatically (auto-replies, bulk
//!   and mailing-list mail, bounces), so two robots cannot loop.
//! - [`reply_token`] reads the token of a `local+TOKEN@domain` address, so
//!   a reply can be threaded by the address it was sent to.

mod address;
mod body;
mod classify;
mod headers;
mod html;
mod parse;

pub use address::{Mailbox, reply_address, reply_token};
pub use body::TextSource;
pub use classify::{MailKind, Signal, classify};
pub use headers::RawHeader;
pub use parse::{Attachment, InboundMail, ParseError, parse_inbound};
