//! Confab's mail handling.
//!
//! - [`inbound`]: reading received messages ([`inbound::parse_inbound`])
//!   and recognising machine-sent mail so Confab never answers it
//!   automatically ([`inbound::classify`]).
//! - [`smtp`]: the SMTP listener that receives mail and hands each message
//!   to a [`smtp::MailSink`].
//! - **Reply trimming**: [`trim_reply`] cuts a plain-text e-mail reply down
//!   to what the contact wrote, so agents read the new message and not the
//!   whole thread again.
//!
//! # Reply trimming rules
//!
//! The text is first normalised ([`normalize`]): CRLF and CR become LF,
//! trailing white space goes, and blank lines around the text are dropped.
//! Then, in order:
//!
//! 1. **Bottom posting.** If the message *opens* with a reply header ("On …
//!    wrote:"), that header and the `>` quote right after it are the
//!    history being answered; the text after them is kept.
//! 2. **Cut points.** Everything from the first of these lines on is cut
//!    (lines inside a `>` quote never count):
//!    - a reply header in any of the supported languages ("On … wrote:",
//!      "Em … escreveu:", "El … escribió:", "Le … a écrit :", "Am …
//!      schrieb …:", "Il … ha scritto:", "Op … schreef …:", Scandinavian,
//!      Polish, Russian, Ukrainian, Chinese, Gmail's `2016-10-24 15:36
//!      Name <address>:`), also when wrapped over several lines;
//!    - "-----Original Message-----", "---------- Forwarded message
//!      ---------", "Begin forwarded message:" and their translations, and
//!      Outlook's line of underscores;
//!    - an Outlook header block: "From:"/"De:"/"Von:"/"Da:" … followed by
//!      at least two more header fields ("Sent:", "Enviado:", "To:", …), or
//!      all of them on one line;
//!    - the signature delimiter "-- ";
//!    - a short "Sent from my iPhone" line, in several languages ("Enviado
//!      do meu iPhone", "Von meinem iPhone gesendet", "Get Outlook for
//!      Android", …).
//! 3. **Trailing quote.** A `>` quote that ends the message is cut.
//!
//! # Decisions
//!
//! - **Inline quotes are kept.** A `>` quote followed by more of the
//!   contact's text is the context of an interleaved answer ("> Which
//!   plan?" / "The yearly one."); cutting it would leave answers without
//!   their questions. Only a quote at the end, or the one right under an
//!   opening reply header, is history.
//! - **Sign-offs are kept.** "Thanks,\nAna" is part of what the contact
//!   wrote, and names cannot be told apart from text reliably.
//! - **Never empty.** If trimming would leave nothing (a bare forward, a
//!   message that is only a quote), the whole normalised text is kept and
//!   [`Trimmed::trimmed`] is `false`.
//! - Reply headers must carry a time, a year or an address, so prose such
//!   as "Here is what I wrote:" is not mistaken for one.

pub mod compose;
pub mod inbound;
pub mod smtp;

mod markers;
mod normalize;
mod patterns;
mod reply_header;
mod trim;

pub use normalize::normalize;
pub use trim::{Trimmed, trim_reply};
