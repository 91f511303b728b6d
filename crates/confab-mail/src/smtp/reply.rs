//! SMTP replies: a code, an optional enhanced status code (RFC 3463) and
//! text, possibly over several lines.

/// One reply to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status code: `550 5.1.1 text`.
    pub(crate) fn new(code: u16, status: &str, text: impl AsRef<str>) -> Reply {
        Reply {
            code,
            lines: vec![format!("{status} {}", text.as_ref())],
        }
    }

    /// A reply without an enhanced status code (the greeting, `EHLO`,
    /// `HELO`), one line per text.
    pub(crate) fn plain(code: u16, lines: Vec<String>) -> Reply {
        Reply { code, lines }
    }

    /// Whether this reply reports a client error (counted toward
    /// `max_errors`).
    pub(crate) fn is_client_error(&self) -> bool {
        self.code >= 500 || self.code == 452
    }

    /// The reply on the wire: `code-text` for every line but the last,
    /// `code text` for the last, each ending in CRLF.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (index, line) in self.lines.iter().enumerate() {
            let separator = if index == last { ' ' } else { '-' };
            // Replies never carry client text, but make sure no line
            // break could ever split one into two.
            let line: String = line.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
            out.extend_from_slice(format!("{}{separator}{line}\r\n", self.code).as_bytes());
        }
        if self.lines.is_empty() {
            out.extend_from_slice(format!("{}\r\n", self.code).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: &Reply) -> String {
        let mut out = Vec::new();
        reply.write_to(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn one_line_with_status() {
        assert_eq!(wire(&Reply::new(250, "2.0.0", "OK")), "250 2.0.0 OK\r\n");
    }

    #[test]
    fn several_lines() {
        let reply = Reply::plain(250, vec!["mx.example".into(), "PIPELINING".into()]);
        assert_eq!(wire(&reply), "250-mx.example\r\n250 PIPELINING\r\n");
    }
}
