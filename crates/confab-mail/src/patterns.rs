//! Small helpers for building the case-insensitive pattern tables.

use regex::Regex;

/// Joins phrases into a regex alternation; each phrase is matched literally,
/// except that a space matches any run of white space (clients differ).
pub(crate) fn alternation(phrases: &[&str]) -> String {
    phrases
        .iter()
        .map(|phrase| regex::escape(phrase).replace(' ', r"\s+"))
        .collect::<Vec<_>>()
        .join("|")
}

/// Compiles one of this crate's built-in patterns.
///
/// The patterns are constants checked by the unit tests, so failing here is a
/// programming error, never a reaction to input.
pub(crate) fn compile(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(regex) => regex,
        Err(error) => panic!("built-in pattern {pattern:?} does not compile: {error}"),
    }
}
