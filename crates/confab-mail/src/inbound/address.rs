//! Addresses: a mailbox as written in a header, and the reply token carried
//! in the local part of Confab's own reply addresses.

/// An address from a header, with the display name written beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The address as written (`ana@example.com`), trimmed; never empty.
    pub address: String,
    /// The display name (`Ana Souza`), decoded; `None` when absent or blank.
    pub name: Option<String>,
}

/// Longest reply token accepted, in bytes. Confab's own tokens are far
/// shorter; the cap keeps hostile addresses from carrying payloads.
const MAX_TOKEN_LEN: usize = 64;

/// The token of a reply address of the form `local+TOKEN@domain`.
///
/// Angle brackets around the address are allowed. The token is the text
/// after the first `+` of the local part; it must be 1 to 64 characters of
/// `A-Z a-z 0-9 - _`, otherwise (or when the address has no `+`, no `@`, or
/// a quoted local part) there is no token. The domain is not checked here:
/// the caller knows which domains are its own.
///
/// ```
/// use confab_mail::inbound::reply_token;
/// assert_eq!(reply_token("support+c7Hq2@help.example.com"), Some("c7Hq2"));
/// assert_eq!(reply_token("<support+c7Hq2@help.example.com>"), Some("c7Hq2"));
/// assert_eq!(reply_token("support@help.example.com"), None);
/// ```
pub fn reply_token(address: &str) -> Option<&str> {
    let address = address.trim();
    let address = address
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or(address);
    let (local, domain) = address.rsplit_once('@')?;
    if domain.is_empty() || local.starts_with('"') {
        return None;
    }
    let (_, token) = local.split_once('+')?;
    let well_formed = !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(token)
}

/// The reply address that carries `token`: `local+token@domain`, the
/// inverse of [`reply_token`].
pub fn reply_address(local: &str, token: &str, domain: &str) -> String {
    format!("{local}+{token}@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_from_plus_address() {
        assert_eq!(
            reply_token("support+abc-123_X@example.com"),
            Some("abc-123_X")
        );
        assert_eq!(reply_token(" <support+abc@example.com> "), Some("abc"));
        // Only the first `+` separates: the rest is the token and must be clean.
        assert_eq!(reply_token("support+a+b@example.com"), None);
    }

    #[test]
    fn no_token_without_a_well_formed_plus_part() {
        for address in [
            "support@example.com",
            "support+@example.com",
            "support+abc",
            "support+abc@",
            "support+a b@example.com",
            "support+<script>@example.com",
            "\"support+abc\"@example.com",
            "",
            "@",
        ] {
            assert_eq!(reply_token(address), None, "{address:?}");
        }
        let long = format!("s+{}@example.com", "a".repeat(MAX_TOKEN_LEN + 1));
        assert_eq!(reply_token(&long), None);
    }

    #[test]
    fn reply_address_round_trips() {
        let address = reply_address("support", "c7Hq2", "help.example.com");
        assert_eq!(address, "support+c7Hq2@help.example.com");
        assert_eq!(reply_token(&address), Some("c7Hq2"));
    }
}
