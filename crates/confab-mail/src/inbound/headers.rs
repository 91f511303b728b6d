//! Header access that does not depend on how mail-parser chose to parse a
//! field: raw values for machine-read fields, and message-id lists.

use mail_parser::{HeaderValue, Message};

/// A top-level header field as it was written: the name with its original
/// case, the value unfolded (line breaks inside it become one space) and
/// trimmed, but not decoded (no RFC 2047).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    /// The field name, e.g. `Auto-Submitted`.
    pub name: String,
    /// The unfolded, trimmed value, e.g. `auto-replied`.
    pub value: String,
}

/// Every top-level header field of `message`, in order.
pub(crate) fn raw_headers(message: &Message<'_>) -> Vec<RawHeader> {
    let raw = message.raw_message();
    message
        .headers()
        .iter()
        .map(|header| {
            let field = raw
                .get(header.offset_field() as usize..header.offset_start() as usize)
                .unwrap_or_default();
            let value = raw
                .get(header.offset_start() as usize..header.offset_end() as usize)
                .unwrap_or_default();
            RawHeader {
                name: field_name(field),
                value: unfold(value),
            }
        })
        .collect()
}

/// The name part of `Name:` (the colon and any white space before it cut).
fn field_name(field: &[u8]) -> String {
    let name = field.strip_suffix(b":").unwrap_or(field);
    String::from_utf8_lossy(name).trim().to_owned()
}

/// Joins folded lines with one space and trims the result.
fn unfold(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The message ids of an `In-Reply-To` or `References` value, without angle
/// brackets, in order, blanks dropped.
pub(crate) fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<&str> = match value {
        HeaderValue::Text(id) => vec![id.as_ref()],
        HeaderValue::TextList(ids) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    ids.into_iter()
        .map(|id| {
            id.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .trim()
        })
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An address from a raw header value: `<a@b>` or `a@b`, trimmed.
pub(crate) fn bare_address(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or(value)
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_and_trims() {
        assert_eq!(unfold(b" a\r\n\tb \r\n"), "a b");
        assert_eq!(unfold(b""), "");
    }

    #[test]
    fn bare_address_strips_brackets() {
        assert_eq!(bare_address(" <a@b.c> "), "a@b.c");
        assert_eq!(bare_address("a@b.c"), "a@b.c");
        assert_eq!(bare_address("<>"), "");
    }
}
