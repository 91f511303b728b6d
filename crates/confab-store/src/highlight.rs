//! Search snippets: the databases mark matches with private-use sentinels;
//! here the text is HTML-escaped and the sentinels become `<mark>` tags, so
//! a snippet is safe to insert into a page as it is.

use confab_domain::search::fold;

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

/// The most characters of a snippet's text between two words (or before
/// its first, after its last): longer runs of punctuation or spaces are
/// cut, and so are longer words.
const MAX_PIECE: usize = 40;

/// A stretch of `text` around the search's `terms` (lowercase letters and
/// digits; the last one a prefix when `prefix_last`), with every matching
/// word between the sentinels and [`ELLIPSIS`] where text is left out — as
/// the indexes see words: runs of letters and digits, compared lowercase.
/// The stretch holds at most [`SNIPPET_WORDS`] words, chosen to show the
/// most distinct terms, then the most matches, then the earliest; when no
/// word matches (a database that folds case a little differently), the
/// text's first words. `None` for a text without words.
pub fn snippet(text: &str, terms: &[String], prefix_last: bool) -> Option<String> {
    let words = words(text);
    if words.is_empty() {
        return None;
    }
    let terms: Vec<String> = terms.iter().map(|t| fold(t)).collect();
    let matched: Vec<Option<usize>> = words
        .iter()
        .map(|&(start, end)| term_of(&text[start..end], &terms, prefix_last))
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
    let first = best.map_or(0, |(first, _, _)| first);
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
    let mut out = String::with_capacity(400);
    if start > 0 {
        out.push_str(ELLIPSIS);
    } else {
        push_piece(&mut out, &text[..words[0].0], Cut::Start);
    }
    for i in start..end {
        let (word_start, word_end) = words[i];
        if i > start {
            push_piece(&mut out, &text[words[i - 1].1..word_start], Cut::Middle);
        }
        let word = &text[word_start..word_end];
        if matched[i].is_some() {
            out.push_str(START);
            push_piece(&mut out, word, Cut::End);
            out.push_str(END);
        } else {
            push_piece(&mut out, word, Cut::End);
        }
    }
    if end < words.len() {
        out.push_str(ELLIPSIS);
    } else {
        push_piece(&mut out, &text[words[end - 1].1..], Cut::End);
    }
    Some(out)
}

/// Which part of a piece longer than [`MAX_PIECE`] characters is left out.
#[derive(Clone, Copy)]
enum Cut {
    Start,
    Middle,
    End,
}

/// Appends `piece`, cut to [`MAX_PIECE`] characters with [`ELLIPSIS`].
fn push_piece(out: &mut String, piece: &str, cut: Cut) {
    let count = piece.chars().count();
    if count <= MAX_PIECE {
        out.push_str(piece);
        return;
    }
    let at = |n: usize| piece.char_indices().nth(n).map_or(piece.len(), |(i, _)| i);
    match cut {
        Cut::Start => {
            out.push_str(ELLIPSIS);
            out.push_str(&piece[at(count - MAX_PIECE)..]);
        }
        Cut::Middle => {
            out.push_str(&piece[..at(MAX_PIECE / 2)]);
            out.push_str(ELLIPSIS);
            out.push_str(&piece[at(count - MAX_PIECE / 2)..]);
        }
        Cut::End => {
            out.push_str(&piece[..at(MAX_PIECE)]);
            out.push_str(ELLIPSIS);
        }
    }
}

/// The byte ranges of `text`'s words (`confab_domain::search::words`).
fn words(text: &str) -> Vec<(usize, usize)> {
    confab_domain::search::words(text)
        .map(|word| {
            let start = word.as_ptr() as usize - text.as_ptr() as usize;
            (start, start + word.len())
        })
        .collect()
}

/// Which term (folded) `word` matches, if any.
fn term_of(word: &str, terms: &[String], prefix_last: bool) -> Option<usize> {
    let lower = fold(word);
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
        // No word matches: the first words, unmarked.
        let got = snippet(text, &terms(&["nothing"]), true).unwrap();
        assert!(
            got.starts_with("Ana@Example.com wrote") && !got.contains(START),
            "{got}"
        );
        assert_eq!(snippet("?!", &terms(&["x"]), true), None);
        // Folded one character for one, as PostgreSQL's lower() does.
        let got = snippet("İade talebim var", &terms(&["iade"]), true).unwrap();
        assert_eq!(got, format!("{START}İade{END} talebim var"));
    }

    #[test]
    fn long_runs_between_words_and_long_words_are_cut() {
        let bangs = "!".repeat(100_000);
        let got = snippet(&format!("refund{bangs}"), &terms(&["refund"]), true).unwrap();
        assert!(got.chars().count() < 60, "{} chars", got.chars().count());
        let got = snippet(
            &format!("{bangs}refund{bangs}now"),
            &terms(&["refund"]),
            true,
        )
        .unwrap();
        assert!(got.chars().count() < 120, "{} chars", got.chars().count());
        assert!(got.contains(&format!("{START}refund{END}")), "{got}");
        let blob = "a".repeat(10_000);
        let got = snippet(&format!("refund {blob}"), &terms(&["refund"]), true).unwrap();
        assert!(got.chars().count() < 60, "{} chars", got.chars().count());
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
