//! Whitespace normalisation applied before any trimming rule runs.

/// Normalises a plain-text body: CRLF and lone CR become LF, trailing
/// white space is removed from every line, and blank lines at the start and
/// end are dropped.
///
/// Indentation at the start of a line is kept (it is often code or a
/// quoted layout). The result is never longer than `text`.
pub fn normalize(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.split('\n').map(str::trim_end).collect();
    let first = lines.iter().position(|line| !line.is_empty());
    let last = lines.iter().rposition(|line| !line.is_empty());
    match (first, last) {
        (Some(first), Some(last)) => lines[first..=last].join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn converts_crlf_and_lone_cr_to_lf() {
        assert_eq!(normalize("a\r\nb\rc\n"), "a\nb\nc");
    }

    #[test]
    fn trims_trailing_white_space_and_outer_blank_lines() {
        assert_eq!(
            normalize("\n \n  indented  \t\nnext \n\n\n"),
            "  indented\nnext"
        );
    }

    #[test]
    fn blank_input_becomes_empty() {
        assert_eq!(normalize(" \r\n\t\n"), "");
    }
}
