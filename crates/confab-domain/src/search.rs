//! What a search box query means, independent of the database's engine.

/// The longest query we look at; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// At most this many terms are matched.
pub const MAX_TERMS: usize = 8;

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    /// Words made of letters and digits, as typed; every one must match
    /// (the last one as a prefix, so results come while typing). Each
    /// database folds their case as its own index did (PostgreSQL's
    /// `simple` dictionary, SQLite's FTS5 tokenizer), the snippets with
    /// [`fold`] on both sides.
    pub terms: Vec<String>,
    /// A conversation number, when the query is `#12` or `12`.
    pub number: Option<i64>,
}

impl SearchQuery {
    /// Splits free text into terms: letters and digits, anything else separates.
    /// `ana@example.com` becomes `ana example com`, matching how the indexes
    /// tokenize e-mail addresses and phone numbers.
    pub fn parse(text: &str) -> SearchQuery {
        let text: String = text.chars().take(MAX_QUERY_CHARS).collect();
        let trimmed = text.trim();
        let number = trimmed
            .strip_prefix('#')
            .unwrap_or(trimmed)
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0);
        let terms = words(&text).map(str::to_string).take(MAX_TERMS).collect();
        SearchQuery { terms, number }
    }

    /// Whether there is nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.number.is_none()
    }
}

/// The words of `text` as the search indexes and queries see them: runs of
/// letters and digits; anything else separates.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// A word folded for comparing two words in Rust (the snippets' matches):
/// lower case one character for one (`İ` is `i`, as PostgreSQL's `lower`,
/// where Rust's full mapping adds a combining dot) and the final sigma `ς`
/// as `σ` (which one-for-one mapping cannot tell from `Σ`).
pub fn fold(word: &str) -> String {
    word.chars()
        .map(|c| match c.to_lowercase().next().unwrap_or(c) {
            'ς' => 'σ',
            lower => lower,
        })
        .collect()
}

/// Text normalised for the index: runs of anything but letters and digits
/// become one space, so both databases see the same words.
pub fn index_text(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        for word in words(part) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_emails_and_phones_into_words() {
        let query = SearchQuery::parse("Ana@Example.com +55 11");
        assert_eq!(query.terms, vec!["Ana", "Example", "com", "55", "11"]);
        assert_eq!(query.number, None);
    }

    #[test]
    fn recognises_conversation_numbers() {
        assert_eq!(SearchQuery::parse("#42").number, Some(42));
        assert_eq!(SearchQuery::parse(" 7 ").number, Some(7));
        assert_eq!(SearchQuery::parse("#-1").number, None);
    }

    #[test]
    fn terms_stay_as_typed_and_fold_one_letter_for_one() {
        let query = SearchQuery::parse("İADE Şikayet ΟΔΌΣ");
        assert_eq!(query.terms, vec!["İADE", "Şikayet", "ΟΔΌΣ"]);
        assert_eq!(fold("İADE"), "iade");
        assert_eq!(fold("ΟΔΌΣ"), fold("οδός"));
        assert_eq!(fold("Été"), "été");
    }

    #[test]
    fn operators_are_plain_words() {
        let query = SearchQuery::parse("\"a\" OR b* NEAR(c)");
        assert_eq!(query.terms, vec!["a", "OR", "b", "NEAR", "c"]);
        assert!(SearchQuery::parse("  *** ").is_empty());
    }

    #[test]
    fn index_text_joins_words() {
        assert_eq!(
            index_text(&["ana@x.com", "", "+55 (11)"]),
            "ana x com 55 11"
        );
    }
}
