//! What this server does with e-mail, as admins see it in settings: where
//! it receives mail and which relay replies leave through (never the
//! relay's credentials).

use serde::Serialize;
use utoipa::ToSchema;

/// Set once by `confab serve` after it starts the mail tasks.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct MailStatus {
    /// The SMTP listener's address (`smtp://host:port`), when receiving.
    pub receiving: Option<String>,
    /// The relay's address without user and password, when sending.
    pub relay: Option<String>,
    /// The From of replies on form tickets.
    pub from: Option<String>,
}

/// `smtp://user:secret@host:587?tls=required` → `smtp://host:587`.
pub fn relay_label(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("?");
            match parsed.port() {
                Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
                None => format!("{}://{host}", parsed.scheme()),
            }
        }
        Err(_) => "(unreadable relay URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::relay_label;

    #[test]
    fn relay_labels_never_show_credentials() {
        assert_eq!(
            relay_label("smtp://user:s3cret@smtp.acme.example:587?tls=required"),
            "smtp://smtp.acme.example:587"
        );
        assert_eq!(
            relay_label("smtps://mail.acme.example"),
            "smtps://mail.acme.example"
        );
        assert!(!relay_label("not a url with s3cret").contains("s3cret"));
    }
}
