//! The text of a message: its text/plain body when it has one, otherwise
//! its HTML body turned into plain text.

use mail_parser::{Message, PartType};

use super::html::html_to_text;

/// Where [`super::InboundMail::full_body`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSource {
    /// The message's text/plain part(s).
    PlainText,
    /// The message had no readable text/plain part; its HTML was converted.
    Html,
    /// The message has no text body at all (e.g. only an attachment).
    Empty,
}

/// The text an agent reads: text/plain parts joined by a blank line, or,
/// when there are none (or they are blank), the HTML parts converted to
/// text. Control characters other than tab and line breaks are removed.
pub(crate) fn message_text(message: &Message<'_>) -> (String, TextSource) {
    // mail-parser lists the HTML part among the text bodies when a message
    // has no text/plain alternative, so only `PartType::Text` counts here.
    let plain = join(message.text_bodies().filter_map(|part| match &part.body {
        PartType::Text(text) => Some(text.to_string()),
        _ => None,
    }));
    if !plain.trim().is_empty() {
        return (without_control_chars(&plain), TextSource::PlainText);
    }
    let html = join(message.html_bodies().filter_map(|part| match &part.body {
        PartType::Html(html) => Some(html_to_text(html)),
        _ => None,
    }));
    if !html.trim().is_empty() {
        return (without_control_chars(&html), TextSource::Html);
    }
    (String::new(), TextSource::Empty)
}

fn join(texts: impl Iterator<Item = String>) -> String {
    texts
        .filter(|text| !text.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Drops C0/C1 control characters (keeping tab, CR and LF) and the Unicode
/// bidirectional overrides, which can make text read differently from what
/// it says.
fn without_control_chars(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || !(c.is_control()
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(
            without_control_chars("a\u{0}b\u{7}\tc\r\nd\u{202E}e\u{9b}"),
            "ab\tc\r\nde"
        );
    }
}
