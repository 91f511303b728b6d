//! HTML bodies turned into plain text an agent can read.
//!
//! html2text does the parsing (html5ever, the browsers' algorithm), drops
//! `<head>`, `<script>` and `<style>` with their content, decodes entities
//! and linearises layout tables. [`MailTextDecorator`] decides how markup
//! shows up: nothing for emphasis, `> ` for quotes (so [`crate::trim_reply`]
//! sees quoted history), and links as `text <url>` for web and mail links
//! only, so a `javascript:` link keeps its text and loses its target.

use std::panic::{AssertUnwindSafe, catch_unwind};

use html2text::render::{TaggedLine, TextDecorator};

/// Wide enough that paragraphs are never wrapped: the agent UI wraps.
const RENDER_WIDTH: usize = 10_000;

/// Largest HTML body given to html2text, in bytes. Larger bodies (no
/// person writes one) go to the linear tag stripper.
const MAX_RICH_HTML: usize = 1024 * 1024;

/// Deepest element nesting given to html2text. Its cost grows with the
/// square of the depth (20,000 nested `<div>`s take seconds), so deeper
/// documents, which only an attacker writes, go to the tag stripper.
/// Real mail nests a few dozen levels.
const MAX_RICH_DEPTH: usize = 256;

/// The readable text of an HTML body. Never panics and runs in time about
/// linear in the input: html2text for ordinary bodies, mail-parser's
/// simpler tag stripper (which also drops `<script>`, `<style>` and
/// `<head>` and decodes entities) for huge or absurdly nested ones, or if
/// html2text fails.
pub(crate) fn html_to_text(html: &str) -> String {
    if html.len() > MAX_RICH_HTML || nesting_exceeds(html, MAX_RICH_DEPTH) {
        return mail_parser::decoders::html::html_to_text(html);
    }
    // html2text is a large parser fed with hostile input; a bug in it must
    // cost one message its formatting, not the listener its task.
    let html = html.replace([TARGET_START, TARGET_END], "");
    let converted = catch_unwind(AssertUnwindSafe(|| {
        html2text::config::with_decorator(MailTextDecorator::default())
            .raw_mode(true)
            .allow_width_overflow()
            .no_link_wrapping()
            .string_from_read(html.as_bytes(), RENDER_WIDTH)
    }));
    match converted {
        Ok(Ok(text)) => show_link_targets(&text),
        Ok(Err(error)) => {
            tracing::debug!(%error, "html2text failed; stripping tags instead");
            mail_parser::decoders::html::html_to_text(&html)
        }
        Err(_) => {
            tracing::warn!("html2text panicked; stripping tags instead");
            mail_parser::decoders::html::html_to_text(&html)
        }
    }
}

/// Elements that never nest: void elements, and those whose next sibling
/// closes them implicitly.
const NON_NESTING: [&str; 30] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody",
    "tfoot", "colgroup", "rp", "rt", "html", "body",
];

/// Whether elements may nest deeper than `limit`, estimated in one pass
/// over the tags: opening tags of nesting elements count up, closing tags
/// down. Errs on the side of "too deep" (unclosed tags count), which only
/// costs the message the simpler converter.
fn nesting_exceeds(html: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        // Stopping at the next `<` too keeps this linear on `<<<<…`.
        let end = rest.find(['<', '>']).unwrap_or(rest.len());
        let tag = &rest[..end];
        rest = &rest[end..];
        if let Some(closing) = tag.strip_prefix('/') {
            if is_nesting(closing) {
                depth = depth.saturating_sub(1);
            }
        } else if !tag.ends_with('/') && is_nesting(tag) {
            depth += 1;
            if depth > limit {
                return true;
            }
        }
    }
    false
}

/// Whether the tag (text after `<` or `</`) opens or closes an element that
/// can contain itself. Comments, doctypes and processing instructions
/// don't.
fn is_nesting(tag: &str) -> bool {
    let name = tag
        .split(|c: char| c.is_ascii_whitespace() || c == '/')
        .next()
        .unwrap_or_default();
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !NON_NESTING
            .iter()
            .any(|void| name.eq_ignore_ascii_case(void))
}

/// Marks the start of a link target in html2text's output (a private-use
/// character, removed from the input first so only the decorator emits it).
const TARGET_START: char = '\u{E000}';
/// Marks the end of a link target.
const TARGET_END: char = '\u{E001}';

/// Turns the marked link targets into ` <url>`, except where the link text
/// already is the address (`https://x <https://x>` reads as `https://x`).
/// One pass: every marker is looked at once.
fn show_link_targets(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len());
    let mut rest = rendered;
    while let Some(start) = rest.find(TARGET_START) {
        out.push_str(&rest[..start]);
        let after = &rest[start + TARGET_START.len_utf8()..];
        let Some(end) = after.find(TARGET_END) else {
            rest = after;
            break;
        };
        let url = &after[..end];
        let address = url
            .strip_prefix("mailto:")
            .or_else(|| url.strip_prefix("tel:"))
            .unwrap_or(url);
        if !out.ends_with(url) && !out.ends_with(address) {
            out.push_str(" <");
            out.push_str(url);
            out.push('>');
        }
        rest = &after[end + TARGET_END.len_utf8()..];
    }
    out.push_str(rest);
    out.retain(|c| c != TARGET_START && c != TARGET_END);
    out
}

/// Link targets worth showing to an agent.
fn shown_target(url: &str) -> Option<&str> {
    let url = url.trim();
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https" | "mailto" | "tel") if !url.contains(['<', '>', '\n']) => Some(url),
        _ => None,
    }
}

/// Plain text with no decoration except quote and list markers and link
/// targets (marked for [`show_link_targets`]).
#[derive(Clone, Debug, Default)]
struct MailTextDecorator {
    /// Targets of the links being rendered, innermost last.
    open_links: Vec<Option<String>>,
}

impl TextDecorator for MailTextDecorator {
    type Annotation = ();

    fn decorate_link_start(&mut self, url: &str) -> (String, ()) {
        self.open_links.push(shown_target(url).map(str::to_owned));
        (String::new(), ())
    }

    fn decorate_link_end(&mut self) -> String {
        match self.open_links.pop().flatten() {
            Some(url) => format!("{TARGET_START}{url}{TARGET_END}"),
            None => String::new(),
        }
    }

    fn decorate_em_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_em_end(&self) -> String {
        String::new()
    }

    fn decorate_strong_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_strong_end(&self) -> String {
        String::new()
    }

    fn decorate_strikeout_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }

    fn decorate_code_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_code_end(&self) -> String {
        String::new()
    }

    fn decorate_preformat_first(&self) {}

    fn decorate_preformat_cont(&self) {}

    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, ()) {
        let title = title.trim();
        if title.is_empty() {
            (String::new(), ())
        } else {
            (format!("[{title}]"), ())
        }
    }

    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }

    fn quote_prefix(&self) -> String {
        "> ".to_owned()
    }

    fn unordered_item_prefix(&self) -> String {
        "- ".to_owned()
    }

    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }

    fn make_subblock_decorator(&self) -> Self {
        MailTextDecorator::default()
    }

    fn finalise(&mut self, _urls: Vec<String>) -> Vec<TaggedLine<()>> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_script_style_and_head() {
        let text = html_to_text(
            "<html><head><title>T</title><style>p{color:red}</style></head>\
             <body><script>alert('x')</script><p>Hello</p><noscript></noscript></body></html>",
        );
        assert_eq!(text.trim(), "Hello");
    }

    #[test]
    fn decodes_entities() {
        let text = html_to_text("<p>Fish &amp; chips &lt;3 &eacute;t&eacute; &#128512;</p>");
        assert_eq!(text.trim(), "Fish & chips <3 été 😀");
    }

    #[test]
    fn keeps_web_links_as_text_and_drops_script_links() {
        let text = html_to_text(
            "<p>See <a href=\"https://example.com/reset\">the reset page</a> or \
             <a href=\"javascript:alert(1)\">click</a> or \
             <a href=\"https://example.com\">https://example.com</a>.</p>",
        );
        assert_eq!(
            text.trim(),
            "See the reset page <https://example.com/reset> or click or https://example.com."
        );
    }

    #[test]
    fn mail_links_show_the_address_once() {
        let text = html_to_text(
            "<p><a href=\"mailto:ana@example.org\">ana@example.org</a>, \
             <a href=\"mailto:bruno@example.org\">Bruno</a>, \
             <a href=\"https://example.org\">https://example.org</a></p>",
        );
        assert_eq!(
            text.trim(),
            "ana@example.org, Bruno <mailto:bruno@example.org>, https://example.org"
        );
    }

    #[test]
    fn markers_in_the_input_are_removed() {
        let text = html_to_text("<p>a\u{E000}b\u{E001}c <a href=\"https://x.example\">x</a></p>");
        assert_eq!(text.trim(), "abc x <https://x.example>");
    }

    #[test]
    fn quotes_become_angle_brackets() {
        let text = html_to_text("<div>Yes</div><blockquote><div>Which plan?</div></blockquote>");
        assert_eq!(text.trim(), "Yes\n\n> Which plan?");
    }

    #[test]
    fn layout_tables_are_linearised() {
        let text = html_to_text("<table><tr><td>Left</td><td>Right</td></tr></table>");
        assert!(!text.contains('─') && !text.contains('│'), "{text:?}");
        assert!(text.contains("Left") && text.contains("Right"), "{text:?}");
    }

    #[test]
    fn deep_nesting_is_converted_quickly_by_the_stripper() {
        let html = "<div>".repeat(200_000) + "deep<script>x()</script>" + &"</div>".repeat(200_000);
        let started = std::time::Instant::now();
        assert_eq!(html_to_text(&html).trim(), "deep");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn nesting_estimate() {
        assert!(!nesting_exceeds("<div><p>a<p>b<br><img src=x/></div>", 1));
        assert!(nesting_exceeds("<div><div>a</div></div>", 1));
        assert!(!nesting_exceeds("<div></div><div></div><!-- <div> -->", 1));
        assert!(!nesting_exceeds(&"<li>x".repeat(10_000), 2));
        assert!(nesting_exceeds(
            &"<table><tr><td>".repeat(300),
            MAX_RICH_DEPTH
        ));
    }
}
