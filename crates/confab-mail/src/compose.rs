//! Replies that leave by e-mail: the MIME message for an agent's reply,
//! threaded into the contact's mail client (`Message-ID`, `In-Reply-To`,
//! `References`, `Re:` subject), with a plain-text part (the Markdown the
//! agent wrote) and an HTML part rendered from it (raw HTML in the source
//! is shown as text, never passed through), and the reply's files as
//! MIME attachments.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// What a reply needs to become a mail.
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    /// The inbox's address and display name.
    pub from: (&'a str, Option<&'a str>),
    /// Where the contact's answer should go (the inbox's address with a
    /// reply token), if different from `from`.
    pub reply_to: Option<&'a str>,
    /// The contact's address and name.
    pub to: (&'a str, Option<&'a str>),
    /// The conversation's subject, if it has one.
    pub subject: Option<&'a str>,
    /// The reply's own `Message-ID` (without angle brackets, as stored).
    pub message_id: &'a str,
    /// Earlier `Message-ID`s of the conversation, oldest first (without
    /// angle brackets).
    pub references: &'a [String],
    /// What the agent wrote (Markdown).
    pub body: &'a str,
    /// Files that go with the reply.
    pub attachments: &'a [MailFile],
}

/// A file attached to a reply.
#[derive(Debug, Clone)]
pub struct MailFile {
    pub filename: String,
    /// A MIME type; an unreadable one is sent as `application/octet-stream`.
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Why a reply could not be made into a mail (a permanent problem).
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("invalid address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("building the message: {0}")]
    Build(String),
}

fn mailbox(address: &str, name: Option<&str>) -> Result<Mailbox, ComposeError> {
    let email = address
        .parse()
        .map_err(|e: lettre::address::AddressError| ComposeError::Address {
            address: address.to_string(),
            reason: e.to_string(),
        })?;
    Ok(Mailbox::new(name.map(str::to_string), email))
}

/// `<id>`, whether or not `id` already has its angle brackets.
fn bracketed(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

/// The subject of a reply: `Re: ` once, before the conversation's subject.
pub fn reply_subject(subject: Option<&str>) -> String {
    let subject = subject.map(str::trim).filter(|s| !s.is_empty());
    match subject {
        None => "Re: your message".to_string(),
        Some(s) if s.len() >= 3 && s[..3].eq_ignore_ascii_case("re:") => s.to_string(),
        Some(s) => format!("Re: {s}"),
    }
}

/// Renders the agent's Markdown to HTML as the agent UI shows it: raw HTML
/// in it is escaped and links other than http(s), mailto and relative ones
/// lose their address, so a reply can never carry markup the agent did not
/// mean; a single line break stays a line break.
pub fn render_fragment(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    )
    .map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        Event::SoftBreak => Event::HardBreak,
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, parser);
    out
}

/// The reply's HTML part: [`render_fragment`] in a minimal document.
pub fn render_html(markdown: &str) -> String {
    format!(
        "<!DOCTYPE html><html><body style=\"font-family: sans-serif; line-height: 1.5\">{}</body></html>",
        render_fragment(markdown)
    )
}

/// The address itself when it is http(s), mailto or relative; else empty.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| !scheme.contains(['/', '?', '#']));
    match scheme {
        None => url,
        Some(scheme)
            if ["http", "https", "mailto"]
                .iter()
                .any(|safe| scheme.eq_ignore_ascii_case(safe)) =>
        {
            url
        }
        Some(_) => CowStr::Borrowed(""),
    }
}

/// The mail for a reply.
pub fn compose_reply(reply: &Reply) -> Result<lettre::Message, ComposeError> {
    let mut builder = lettre::Message::builder()
        .from(mailbox(reply.from.0, reply.from.1)?)
        .to(mailbox(reply.to.0, reply.to.1)?)
        .subject(reply_subject(reply.subject))
        .message_id(Some(bracketed(reply.message_id)));
    if let Some(reply_to) = reply.reply_to {
        builder = builder.reply_to(mailbox(reply_to, reply.from.1)?);
    }
    if let Some(last) = reply.references.last() {
        let references: Vec<String> = reply.references.iter().map(|id| bracketed(id)).collect();
        builder = builder
            .in_reply_to(bracketed(last))
            .references(references.join(" "));
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(reply.body.to_string()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(render_html(reply.body)),
        );
    let body = if reply.attachments.is_empty() {
        body
    } else {
        let octet = || ContentType::parse("application/octet-stream");
        reply
            .attachments
            .iter()
            .try_fold(MultiPart::mixed().multipart(body), |mixed, file| {
                let content_type = ContentType::parse(&file.content_type)
                    .or_else(|_| octet())
                    .map_err(|e| ComposeError::Build(e.to_string()))?;
                let part =
                    Attachment::new(file.filename.clone()).body(file.data.clone(), content_type);
                Ok::<_, ComposeError>(mixed.singlepart(part))
            })?
    };
    builder
        .multipart(body)
        .map_err(|e| ComposeError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply<'a>(references: &'a [String]) -> Reply<'a> {
        Reply {
            from: ("support@acme.test", Some("Acme Support")),
            reply_to: Some("support+abc123@acme.test"),
            to: ("carla@example.com", Some("Carla")),
            subject: Some("Invoice question"),
            message_id: "confab.1@acme.test",
            references,
            body: "Here it is: **paid**.\n\n<script>alert(1)</script>",
            attachments: &[],
        }
    }

    #[test]
    fn threads_into_the_contacts_mail_client() {
        let references = vec!["in1@mail.test".to_string(), "<out0@acme.test>".to_string()];
        let mail = compose_reply(&reply(&references)).unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        assert!(text.contains("Message-ID: <confab.1@acme.test>"), "{text}");
        assert!(text.contains("In-Reply-To: <out0@acme.test>"), "{text}");
        assert!(
            text.contains("References: <in1@mail.test> <out0@acme.test>"),
            "{text}"
        );
        assert!(text.contains("Subject: Re: Invoice question"), "{text}");
        assert!(
            text.contains("From: \"Acme Support\" <support@acme.test>"),
            "{text}"
        );
        assert!(
            text.contains("Reply-To: \"Acme Support\" <support+abc123@acme.test>"),
            "{text}"
        );
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(
            text.contains("text/plain") && text.contains("text/html"),
            "{text}"
        );
    }

    #[test]
    fn files_go_as_mime_attachments() {
        let files = vec![MailFile {
            filename: "relatório.pdf".into(),
            content_type: "application/pdf".into(),
            data: b"%PDF-1.7 fake".to_vec(),
        }];
        let mut with_files = reply(&[]);
        with_files.attachments = &files;
        let mail = compose_reply(&with_files).unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        assert!(text.contains("multipart/mixed"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("Content-Type: application/pdf"), "{text}");
        assert!(text.contains("Content-Disposition: attachment"), "{text}");
        // Parsed back, the file is there with its name and content.
        let parsed = crate::inbound::parse_inbound(&mail.formatted()).unwrap();
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(
            parsed.attachments[0].filename.as_deref(),
            Some("relatório.pdf")
        );
        assert_eq!(parsed.attachments[0].data, b"%PDF-1.7 fake");
        assert_eq!(
            parsed.body,
            "Here it is: **paid**.\n\n<script>alert(1)</script>"
        );
    }

    #[test]
    fn a_first_reply_has_no_in_reply_to() {
        let mail = compose_reply(&reply(&[])).unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        assert!(!text.contains("In-Reply-To"), "{text}");
    }

    #[test]
    fn subjects_get_one_re() {
        assert_eq!(reply_subject(Some("Hello")), "Re: Hello");
        assert_eq!(reply_subject(Some("RE: Hello")), "RE: Hello");
        assert_eq!(reply_subject(Some("  ")), "Re: your message");
        assert_eq!(reply_subject(None), "Re: your message");
    }

    #[test]
    fn html_never_passes_raw_markup() {
        let html = render_html("**bold** <script>alert(1)</script> <b>x</b>");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn html_keeps_line_breaks_and_drops_unsafe_links() {
        let html = render_html("Hi Ana,\nyour order left today.");
        assert!(html.contains("Hi Ana,<br />"), "{html}");
        let html = render_html(
            "[a](javascript:alert(1)) [b](https://acme.test/x?y=1:2) [c](/help) [d](JavaScript:x) ![e](data:image/png;base64,AA)",
        );
        assert!(!html.to_lowercase().contains("javascript"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(
            html.contains("href=\"https://acme.test/x?y=1:2\""),
            "{html}"
        );
        assert!(html.contains("href=\"/help\""), "{html}");
    }

    #[test]
    fn bad_addresses_are_errors_not_panics() {
        let mut bad = reply(&[]);
        bad.to = ("not an address", None);
        assert!(matches!(
            compose_reply(&bad),
            Err(ComposeError::Address { .. })
        ));
    }
}
