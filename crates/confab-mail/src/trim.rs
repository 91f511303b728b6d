//! The trimming pass: find where the contact's own text starts and ends.

use crate::markers::{
    is_device_signature, is_header_block, is_history_delimiter, is_quote, is_signature_delimiter,
};
use crate::normalize::normalize;
use crate::reply_header::reply_header_len;

/// What a contact wrote in a reply, with quoted history, reply headers,
/// forwarded blocks and signatures removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trimmed {
    /// The contact's own text, normalised (LF line endings, no trailing
    /// white space, no leading or trailing blank lines).
    pub body: String,
    /// Whether anything besides white space was cut. `false` also when
    /// trimming would have left nothing and the whole text was kept.
    pub trimmed: bool,
}

/// Trims a plain-text e-mail reply down to what the contact wrote.
///
/// Never panics and never returns more text than the normalised input
/// ([`crate::normalize`]). If every line would be cut (a bare forward, a
/// message that is only a quote) the normalised text is returned whole, so
/// no message ever arrives empty.
pub fn trim_reply(text: &str) -> Trimmed {
    let normalized = normalize(text);
    let lines: Vec<&str> = normalized.split('\n').collect();
    let answer = skip_leading_history(&lines);
    let own_text = without_outer_blank_lines(without_trailing_quote(before_first_cut(answer)));
    if own_text.is_empty() {
        return Trimmed {
            body: normalized,
            trimmed: false,
        };
    }
    let body = own_text.join("\n");
    let trimmed = body != normalized;
    Trimmed { body, trimmed }
}

/// Bottom-posted replies open with the header and the quote they answer
/// ("On … wrote:" then `> …`, the answer below). Skips that header and the
/// quoted block right after it.
fn skip_leading_history<'a>(lines: &'a [&'a str]) -> &'a [&'a str] {
    let Some(header_len) = reply_header_len(lines, 0) else {
        return lines;
    };
    let after_header = lines.get(header_len..).unwrap_or_default();
    let quoted_len = after_header
        .iter()
        .take_while(|line| line.is_empty() || is_quote(line))
        .count();
    after_header.get(quoted_len..).unwrap_or_default()
}

/// Everything before the first line that starts history or a signature.
/// Quoted lines are never cut points: markers inside a quote belong to the
/// quote.
fn before_first_cut<'a>(lines: &'a [&'a str]) -> &'a [&'a str] {
    let cut = (0..lines.len())
        .find(|&index| starts_history_or_signature(lines, index))
        .unwrap_or(lines.len());
    lines.get(..cut).unwrap_or(lines)
}

fn starts_history_or_signature(lines: &[&str], index: usize) -> bool {
    let Some(line) = lines.get(index) else {
        return false;
    };
    !is_quote(line)
        && (is_signature_delimiter(line)
            || is_history_delimiter(line)
            || is_device_signature(line)
            || is_header_block(lines, index)
            || reply_header_len(lines, index).is_some())
}

/// Drops a quote that ends the message (top-posting's history without a
/// header). Quotes followed by the contact's own text stay: they are the
/// context of an interleaved answer.
fn without_trailing_quote<'a>(lines: &'a [&'a str]) -> &'a [&'a str] {
    let kept = lines
        .iter()
        .rposition(|line| !line.is_empty() && !is_quote(line))
        .map_or(0, |last| last + 1);
    lines.get(..kept).unwrap_or(lines)
}

fn without_outer_blank_lines<'a>(lines: &'a [&'a str]) -> &'a [&'a str] {
    let Some(first) = lines.iter().position(|line| !line.is_empty()) else {
        return &[];
    };
    let last = lines
        .iter()
        .rposition(|line| !line.is_empty())
        .unwrap_or(first);
    lines.get(first..=last).unwrap_or(lines)
}

#[cfg(test)]
mod tests {
    use super::trim_reply;

    #[test]
    fn keeps_a_plain_message() {
        let reply = trim_reply("Hello,\n\nmy order never arrived.\n");
        assert_eq!(reply.body, "Hello,\n\nmy order never arrived.");
        assert!(!reply.trimmed);
    }

    #[test]
    fn cuts_a_trailing_quote() {
        let reply = trim_reply("Thanks!\n\n> Your ticket was closed.\n");
        assert_eq!(reply.body, "Thanks!");
        assert!(reply.trimmed);
    }

    #[test]
    fn keeps_the_text_when_everything_would_be_cut() {
        let reply = trim_reply("> only a quote\n");
        assert_eq!(reply.body, "> only a quote");
        assert!(!reply.trimmed);
    }
}
