//! Search snippets: the databases mark matches with private-use sentinels;
//! here the text is HTML-escaped and the sentinels become `<mark>` tags, so
//! a snippet is safe to insert into a page as it is.

/// Put before a match by the database's snippet function.
pub const START: &str = "\u{E000}";
/// Put after a match by the database's snippet function.
pub const END: &str = "\u{E001}";
/// Marks text left out of a snippet.
pub const ELLIPSIS: &str = "…";

/// Escapes `raw` for HTML and turns the sentinels into `<mark>`/`</mark>`.
pub fn render(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        match c {
            '\u{E000}' => out.push_str("<mark>"),
            '\u{E001}' => out.push_str("</mark>"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_and_marks() {
        let raw = format!("<b>{}x{}</b> & more", super::START, super::END);
        assert_eq!(
            super::render(&raw),
            "&lt;b&gt;<mark>x</mark>&lt;/b&gt; &amp; more"
        );
    }
}
