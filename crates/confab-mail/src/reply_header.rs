//! Attribution headers that introduce quoted history ("On … wrote:" and its
//! translations), including headers that mail clients wrapped over several
//! lines.

use std::sync::LazyLock;

use regex::Regex;

use crate::patterns::{alternation, compile};

/// How many physical lines one header may span. Gmail sometimes puts the
/// address on lines of its own (`<`, `mailto:…`, `> wrote:`).
const MAX_HEADER_LINES: usize = 6;

/// Lines longer than this are prose, never part of a header.
const MAX_HEADER_LINE_CHARS: usize = 300;

/// "wrote" in the languages our contacts write in, as it appears at the end
/// of an attribution line.
const WROTE: &[&str] = &[
    "wrote",
    "writes",
    "escreveu",
    "escribió",
    "escribio",
    "a écrit",
    "a ecrit",
    "ha scritto",
    "scrisse",
    "schrieb",
    "schreef",
    "het volgende geschreven",
    "geschreven",
    "skrev",
    "skrevet",
    "kirjoitti",
    "napisał(a)",
    "napisała",
    "napisał",
    "napsal",
    "napsala",
    "napísal",
    "написал(а)",
    "написала",
    "написал",
    "написав",
    "пише",
    "írta",
    "yazdı",
    "a scris",
    "写道",
    "寫道",
];

/// Verbs that come before the author ("Am … schrieb Max <max@example.de>:").
const WROTE_BEFORE_AUTHOR: &[&str] = &["schrieb", "schreef", "skrev", "escreveu"];

/// Words that open an attribution line ("On", "Em", "El", "Le", "Am", …).
const OPENING_WORDS: &[&str] = &[
    "on",
    "em",
    "no dia",
    "el",
    "le",
    "am",
    "op",
    "il",
    "il giorno",
    "den",
    "w dniu",
    "dne",
];

/// "… wrote:" (or Zoho's "… wrote ----") at the end of the header.
static WROTE_AT_END: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^.*\b(?:{})(?:\s*[:：]|\s+-{{2,}})$",
        alternation(WROTE)
    ))
});

/// "Am 3. Jan. 2022 um 10:00 schrieb Max <max@example.de>:".
static WROTE_BEFORE_AUTHOR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^.*\b(?:{})\s.+[:：]$",
        alternation(WROTE_BEFORE_AUTHOR)
    ))
});

/// Gmail's verb-less form: "2016-10-24 15:36 GMT+02:00 Foo Bar <foo@bar.example>:".
static DATE_THEN_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?i)^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b.*<\s*[^<>\s]+@[^<>\s]+\s*>\s*[:：]?$")
});

/// A line that starts like an attribution: an opening word or a date.
static OPENS_LIKE_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^[-\s]*(?:(?:{})\s|\d)",
        alternation(OPENING_WORDS)
    ))
});

/// A time of day ("10:48", "20.42", "14h05") or an e-mail address.
static TIME_OR_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b\d{1,2}[:.h]\d{2}\b|[^\s<>]@[^\s<>]"));

/// A four-digit year.
static YEAR: LazyLock<Regex> = LazyLock::new(|| compile(r"\b(?:19|20)\d{2}\b"));

/// If a reply header starts at `lines[start]`, returns how many lines it
/// spans.
///
/// A header may wrap over up to [`MAX_HEADER_LINES`] lines with at most one
/// blank line inside, but it never swallows the start of another header
/// (that one is the real header; the lines before it are prose).
pub(crate) fn reply_header_len(lines: &[&str], start: usize) -> Option<usize> {
    header_len(lines, start, Nested::Refuse)
}

/// Whether a header may run into a line where another header starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nested {
    /// Look for a header starting on each continuation line and stop there.
    Refuse,
    /// Don't look (used for that look itself, so the search stays shallow).
    Ignore,
}

fn header_len(lines: &[&str], start: usize, nested: Nested) -> Option<usize> {
    let first = lines.get(start)?.trim();
    if !could_open_header(first) {
        return None;
    }
    let mut joined = String::new();
    let mut seen_blank = false;
    for (offset, line) in lines.iter().skip(start).take(MAX_HEADER_LINES).enumerate() {
        let line = line.trim();
        if line.chars().count() > MAX_HEADER_LINE_CHARS {
            return None;
        }
        if line.is_empty() {
            if seen_blank {
                return None;
            }
            seen_blank = true;
            continue;
        }
        if offset > 0
            && nested == Nested::Refuse
            && OPENS_LIKE_HEADER.is_match(line)
            && header_len(lines, start + offset, Nested::Ignore).is_some()
        {
            return None;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line);
        if is_complete_header(&joined) {
            return Some(offset + 1);
        }
    }
    None
}

/// Cheap filter: a header's first line names a date, an address, or opens
/// with "On"/"Em"/… . Quoted lines are history, never a header of our own.
fn could_open_header(first_line: &str) -> bool {
    !first_line.is_empty()
        && !first_line.starts_with('>')
        && first_line.chars().count() <= MAX_HEADER_LINE_CHARS
        && (first_line.contains(|c: char| c.is_ascii_digit() || c == '@')
            || OPENS_LIKE_HEADER.is_match(first_line))
}

/// Whether `text` (one header, its lines joined by spaces) is a complete
/// attribution. Every form must also carry evidence of a date or an address,
/// so prose such as "Here is what I wrote:" is not mistaken for one.
fn is_complete_header(text: &str) -> bool {
    let has_time_or_address = TIME_OR_ADDRESS.is_match(text);
    let has_date = has_time_or_address || YEAR.is_match(text);
    (has_date && WROTE_AT_END.is_match(text))
        || (has_time_or_address && WROTE_BEFORE_AUTHOR_LINE.is_match(text))
        || DATE_THEN_ADDRESS.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::reply_header_len;

    fn header_len(text: &str) -> Option<usize> {
        let lines: Vec<&str> = text.lines().collect();
        reply_header_len(&lines, 0)
    }

    #[test]
    fn recognises_single_line_headers_in_many_languages() {
        let headers = [
            "On Mon, Feb 1, 2016 at 4:58 AM, Some One <foo@bar.com> wrote:",
            "Em seg., 3 de jan. de 2022 às 10:00, Ana <ana@exemplo.com.br> escreveu:",
            "No dia 3/01/2022, às 10:00, Ana escreveu:",
            "El lun, 3 ene 2022 a las 10:00, Ana (<ana@ejemplo.es>) escribió:",
            "Le lun. 3 janv. 2022 à 10:00, Ana <ana@exemple.fr> a écrit\u{a0}:",
            "Am 03.01.2022 um 10:00 schrieb Ana <ana@beispiel.de>:",
            "Il giorno lun 3 gen 2022 alle ore 10:00 Ana <ana@esempio.it> ha scritto:",
            "Op ma 3 jan. 2022 om 10:00 schreef Ana <ana@voorbeeld.nl>:",
            "---- On Tue, 22 Dec 2015 14:17:36 +0530 Sam wrote ----",
            "2016-10-24 15:36 GMT+02:00 Foo Bar <foo@bar.example>:",
        ];
        for header in headers {
            assert_eq!(header_len(header), Some(1), "{header}");
        }
    }

    #[test]
    fn recognises_wrapped_headers() {
        assert_eq!(
            header_len("On Mon, Feb 1, 2016 at 6:32 PM, Jeff <info@example.org>\nwrote:"),
            Some(2)
        );
        assert_eq!(
            header_len(
                "On Thu, 31 Mar 2016 at 11:16 Some One\n\n<\nmailto:Some One <s@o.example>\n> wrote:"
            ),
            Some(5)
        );
    }

    #[test]
    fn ignores_prose_and_does_not_reach_into_the_next_header() {
        assert_eq!(header_len("Here is what I wrote:"), None);
        assert_eq!(header_len("On this day\n\nI wrote something"), None);
        assert_eq!(
            header_len("On Monday at 3pm I called.\nOn Mon, 3 Jan 2022 at 10:00, Ana wrote:"),
            None
        );
        assert_eq!(
            header_len(
                "Text that mentions @someone.\nOp 16 aug. 2014 05:13 schreef \"x\" <x@y.example> het\nvolgende geschreven:"
            ),
            None
        );
    }
}
