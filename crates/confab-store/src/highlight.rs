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

/// The most words a [`snippet`] shows.
pub const SNIPPET_WORDS: usize = 20;
/// How many words a [`snippet`] shows before its first match, when it can.
const LEAD_WORDS: usize = 3;

/// A stretch of `text` around the search's `terms` (lowercase letters and
/// digits; the last one a prefix when `prefix_last`), with every matching
/// word between the sentinels and [`ELLIPSIS`] where text is left out — as
/// the indexes see words: runs of letters and digits, compared lowercase.
/// The stretch holds at most [`SNIPPET_WORDS`] words, chosen to show the
/// most distinct terms, then the most matches, then the earliest. `None`
/// when no word matches.
pub fn snippet(text: &str, terms: &[String], prefix_last: bool) -> Option<String> {
    let words = words(text);
    let matched: Vec<Option<usize>> = words
        .iter()
        .map(|&(start, end)| term_of(&text[start..end], terms, prefix_last))
        .collect();
    // The best window: most distinct terms, then most matches, then first.
    let mut best: Option<(usize, usize, usize)> = None;
    for first in (0..words.len()).filter(|&i| matched[i].is_some()) {
        let end = (first + SNIPPET_WORDS).min(words.len());
        let mut seen = vec![false; terms.len()];
        let mut hits = 0;
        for term in matched[first..end].iter().flatten() {
            seen[*term] = true;
            hits += 1;
        }
        let distinct = seen.iter().filter(|s| **s).count();
        if best.is_none_or(|(_, d, h)| (distinct, hits) > (d, h)) {
            best = Some((first, distinct, hits));
        }
    }
    let (first, _, _) = best?;
    // Some words before the first match, while the stretch has room.
    let last_match = (first..(first + SNIPPET_WORDS).min(words.len()))
        .rev()
        .find(|&i| matched[i].is_some())
        .unwrap_or(first);
    let room = SNIPPET_WORDS - (last_match - first + 1);
    let mut start = first.saturating_sub(LEAD_WORDS.min(room));
    let end = (start + SNIPPET_WORDS).min(words.len());
    // Near the text's end, the room left goes to words before.
    if end - start < SNIPPET_WORDS {
        start = end.saturating_sub(SNIPPET_WORDS);
    }
    let mut out = String::with_capacity(text.len().min(400) + 16);
    if start > 0 {
        out.push_str(ELLIPSIS);
    }
    // A whole text keeps what is around its first and last word.
    let mut at = if start == 0 { 0 } else { words[start].0 };
    for i in start..end {
        let (word_start, word_end) = words[i];
        out.push_str(&text[at..word_start]);
        if matched[i].is_some() {
            out.push_str(START);
            out.push_str(&text[word_start..word_end]);
            out.push_str(END);
        } else {
            out.push_str(&text[word_start..word_end]);
        }
        at = word_end;
    }
    if end < words.len() {
        out.push_str(ELLIPSIS);
    } else {
        out.push_str(&text[at..]);
    }
    Some(out)
}

/// The byte ranges of `text`'s words: runs of letters and digits.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    words
}

/// Which term `word` matches, if any.
fn term_of(word: &str, terms: &[String], prefix_last: bool) -> Option<usize> {
    let lower = word.to_lowercase();
    terms.iter().enumerate().position(|(i, term)| {
        *term == lower || (prefix_last && i + 1 == terms.len() && lower.starts_with(term.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::{ELLIPSIS, END, START, snippet};

    fn terms(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn marks_every_match_as_written() {
        let text = "Ana@Example.com wrote: the REFUND for order 12 is late; refunds take days.";
        let got = snippet(text, &terms(&["refund"]), true).unwrap();
        assert_eq!(
            got,
            format!(
                "Ana@Example.com wrote: the {START}REFUND{END} for order 12 is late; {START}refunds{END} take days."
            )
        );
        // Whole words only, unless the last term is a prefix.
        let got = snippet(text, &terms(&["refund"]), false).unwrap();
        assert!(!got.contains(&format!("{START}refunds")), "{got}");
        // Parts of addresses are words, as in the index.
        let got = snippet(text, &terms(&["example"]), false).unwrap();
        assert!(
            got.starts_with(&format!("Ana@{START}Example{END}.com")),
            "{got}"
        );
        assert_eq!(snippet(text, &terms(&["nothing"]), true), None);
    }

    #[test]
    fn long_texts_are_cut_around_the_most_terms() {
        let filler = "word ".repeat(40);
        let text = format!("{filler}login only here. {filler}the login page again. {filler}");
        let got = snippet(&text, &terms(&["login", "page"]), true).unwrap();
        assert!(
            got.contains(&format!("{START}login{END} {START}page{END}")),
            "{got}"
        );
        assert!(
            got.starts_with(ELLIPSIS) && got.ends_with(ELLIPSIS),
            "{got}"
        );
        assert!(
            got.split_whitespace().count() <= super::SNIPPET_WORDS + 1,
            "{got}"
        );
        // A few words of context before the first match.
        assert!(
            got.starts_with(&format!("{ELLIPSIS}word word the {START}login")),
            "{got}"
        );
    }

    #[test]
    fn escapes_and_marks() {
        let raw = format!("<b>{}x{}</b> & more", super::START, super::END);
        assert_eq!(
            super::render(&raw),
            "&lt;b&gt;<mark>x</mark>&lt;/b&gt; &amp; more"
        );
    }
}
