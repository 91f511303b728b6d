//! Field validation shared by every entry point. Each failure names the field.

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidField {
    pub field: &'static str,
    pub problem: String,
}

impl InvalidField {
    /// A failure of `field`.
    pub fn new(field: &'static str, problem: impl Into<String>) -> InvalidField {
        InvalidField {
            field,
            problem: problem.into(),
        }
    }
}

/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 65_536;
/// Longest name-like field, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Most tags on one conversation.
pub const MAX_TAGS: usize = 50;
/// Most files attached to one message.
pub const MAX_ATTACHMENTS: usize = 20;
/// Shortest password.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A required, trimmed, bounded text (names and the like).
pub fn required_text(field: &'static str, value: &str, max: usize) -> Result<String, InvalidField> {
    let value = value.trim();
    if value.is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    optional_text(field, Some(value), max).map(|v| v.unwrap_or_default())
}

/// An optional bounded text; blank becomes `None`.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, InvalidField> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(InvalidField::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(InvalidField::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(value.to_string()))
}

/// A message body: not blank, at most [`MAX_BODY_CHARS`].
pub fn message_body(value: &str) -> Result<String, InvalidField> {
    if value.trim().is_empty() {
        return Err(InvalidField::new("body", "must not be empty"));
    }
    if value.chars().count() > MAX_BODY_CHARS {
        return Err(InvalidField::new(
            "body",
            format!("must be at most {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(value.replace('\0', ""))
}

/// A message body that may be empty when files are attached: at most
/// [`MAX_BODY_CHARS`], and not blank unless `has_attachments`.
pub fn message_body_with_attachments(
    value: &str,
    has_attachments: bool,
) -> Result<String, InvalidField> {
    if has_attachments && value.trim().is_empty() {
        return Ok(String::new());
    }
    message_body(value)
}

/// An e-mail address: one `@`, something on both sides, a dot in the domain,
/// no spaces. Lower-cased.
pub fn email(field: &'static str, value: &str) -> Result<String, InvalidField> {
    let value = value.trim();
    let problem = || InvalidField::new(field, "must be an e-mail address like ana@example.com");
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(problem());
    }
    let (local, domain) = value.split_once('@').ok_or_else(problem)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(problem());
    }
    Ok(value.to_lowercase())
}

/// A password: at least [`MIN_PASSWORD_CHARS`] characters, at most 1024.
pub fn password(value: &str) -> Result<(), InvalidField> {
    let length = value.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(InvalidField::new(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if length > 1024 {
        return Err(InvalidField::new(
            "password",
            "must be at most 1024 characters",
        ));
    }
    Ok(())
}

/// A tag set: trimmed, lower-cased, de-duplicated, sorted.
pub fn tags(values: &[String]) -> Result<Vec<String>, InvalidField> {
    if values.len() > MAX_TAGS {
        return Err(InvalidField::new(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        out.push(tag_in("tags", value)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// One tag, normalised as `tags` does (trimmed, lower case, no comma);
/// `field` names it in the error.
pub fn tag_in(field: &'static str, value: &str) -> Result<String, InvalidField> {
    let tag = required_text(field, value, MAX_TAG_CHARS)?.to_lowercase();
    if tag.contains(',') {
        return Err(InvalidField::new(field, "a tag must not contain a comma"));
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            email("email", " Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "@x.com",
            "ana@x",
            "a b@x.com",
            "a@@x.com",
            "a@x.com.",
        ] {
            assert_eq!(email("email", bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn tags_are_normalised() {
        let got = tags(&["VIP".into(), " billing ".into(), "vip".into()]).unwrap();
        assert_eq!(got, vec!["billing", "vip"]);
        assert!(tags(&["".into()]).is_err());
    }

    #[test]
    fn bodies() {
        assert!(message_body("  ").is_err());
        assert_eq!(message_body("hi\0").unwrap(), "hi");
        assert!(message_body(&"x".repeat(MAX_BODY_CHARS + 1)).is_err());
        assert_eq!(message_body_with_attachments("  ", true).unwrap(), "");
        assert!(message_body_with_attachments("  ", false).is_err());
        assert_eq!(message_body_with_attachments("hi", true).unwrap(), "hi");
    }
}
