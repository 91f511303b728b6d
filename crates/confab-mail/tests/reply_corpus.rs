//! Runs every case of the email-replies acceptance corpus
//! (`tests/corpus/email-replies`, MIT, see its README and LICENSE) and
//! reports all failing cases at once, each with a unified diff.

use std::fs;
use std::path::{Path, PathBuf};

use confab_mail::trim_reply;
use similar::TextDiff;

/// The corpus holds exactly this many cases; fewer means files went missing.
const EXPECTED_CASES: usize = 32;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/email-replies")
}

/// The comparison the corpus README asks for: LF line endings, no trailing
/// white space on any line or at the end.
fn comparable(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_owned()
}

fn case_names() -> Vec<String> {
    let emails = corpus_dir().join("emails");
    let entries = fs::read_dir(&emails)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", emails.display()));
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".txt"))
        .collect();
    names.sort();
    names
}

fn read(kind: &str, name: &str) -> String {
    let path = corpus_dir().join(kind).join(name);
    fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Returns a report for a failing case, `None` when it passes.
fn check_case(name: &str) -> Option<String> {
    let expected = comparable(&read("trimmed", name));
    let actual = comparable(&trim_reply(&read("emails", name)).body);
    if expected == actual {
        return None;
    }
    // Both sides end in a newline so the diff shows content, not a
    // "no newline at end of file" hint.
    let (expected, actual) = (expected + "\n", actual + "\n");
    let diff = TextDiff::from_lines(&expected, &actual)
        .unified_diff()
        .context_radius(3)
        .header(&format!("trimmed/{name} (expected)"), "trim_reply (actual)")
        .to_string();
    Some(format!("=== {name}\n{diff}"))
}

#[test]
fn every_corpus_case_is_trimmed_as_expected() {
    let names = case_names();
    assert_eq!(
        names.len(),
        EXPECTED_CASES,
        "corpus cases found in {}: {names:?}",
        corpus_dir().display()
    );
    let failures: Vec<String> = names.iter().filter_map(|name| check_case(name)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
