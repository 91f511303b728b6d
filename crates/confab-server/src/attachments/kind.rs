//! What a file is, decided by its content (magic bytes), not by what the
//! sender claims; which files are refused; how a file is served; and file
//! names made safe to show and to put in a header.

/// Why a file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// Extensions refused whatever the content: programs and scripts, and
/// documents a browser would run (HTML, SVG, JavaScript).
const REFUSED_EXTENSIONS: &[&str] = &[
    "exe", "dll", "com", "scr", "msi", "bat", "cmd", "vbs", "vbe", "ps1", "jar", "js", "mjs",
    "cjs", "jse", "wsf", "hta", "html", "htm", "xhtml", "shtml", "svg", "svgz", "xht", "sh", "apk",
    "app", "lnk",
];

/// Declared types refused whatever the content.
const REFUSED_TYPES: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "text/ecmascript",
    "application/x-msdownload",
    "application/x-sh",
];

/// Types served inline (shown in the browser); everything else is a download.
const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/avif",
    "application/pdf",
    "text/plain",
];

/// Longest file name kept, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;

fn extension(filename: &str) -> Option<String> {
    filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.trim().to_ascii_lowercase())
}

/// The leading bytes, without a byte-order mark and white space, lower case.
fn markup_start(head: &[u8]) -> Vec<u8> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    head[start..].to_ascii_lowercase()
}

/// Whether the content is markup a browser could render as a page or an
/// SVG image (with scripts).
fn looks_like_active_markup(head: &[u8]) -> bool {
    let start = markup_start(head);
    if infer::text::is_html(&start) {
        return true;
    }
    let window = String::from_utf8_lossy(&start);
    [
        "<!doctype html",
        "<html",
        "<script",
        "<svg",
        "<?xml-stylesheet",
    ]
    .iter()
    .any(|tag| window.starts_with(tag))
        || (window.starts_with("<?xml") || window.starts_with("<!doctype"))
            && (window.contains("<svg") || window.contains("<html") || window.contains("<script"))
}

/// Whether the leading bytes are text (UTF-8 without NULs; a character cut
/// at the end of the window is fine).
fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none(),
    }
}

/// Decides a file's content type from its first bytes (and, for text, the
/// declared type), or refuses it: executables, HTML, SVG and JavaScript.
pub fn content_type(
    head: &[u8],
    declared: Option<&str>,
    filename: &str,
) -> Result<String, Refused> {
    let declared = declared
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty());
    if let Some(ext) = extension(filename)
        && REFUSED_EXTENSIONS.contains(&ext.as_str())
    {
        return Err(Refused(
            "programs, scripts, HTML and SVG files are not accepted",
        ));
    }
    if let Some(declared) = declared.as_deref()
        && REFUSED_TYPES.contains(&declared)
    {
        return Err(Refused(
            "programs, scripts, HTML and SVG files are not accepted",
        ));
    }
    if looks_like_active_markup(head) {
        return Err(Refused("HTML and SVG files are not accepted"));
    }
    if let Some(kind) = infer::get(head) {
        let mime = kind.mime_type();
        return match kind.matcher_type() {
            infer::MatcherType::App if mime != "application/x-x509-ca-cert" => {
                Err(Refused("programs are not accepted"))
            }
            infer::MatcherType::Text if mime != "text/xml" => {
                Err(Refused("scripts and HTML files are not accepted"))
            }
            _ => Ok(mime.to_string()),
        };
    }
    if is_text(head) {
        // Plain text, or a text type the sender named (CSV, Markdown …).
        return Ok(match declared.as_deref() {
            Some(t) if t.starts_with("text/") && !t.contains("xml") => t.to_string(),
            _ => "text/plain".to_string(),
        });
    }
    Ok("application/octet-stream".to_string())
}

/// How a file is served: the `Content-Type` header and whether it is shown
/// inline (images, PDF, text) or downloaded.
pub fn served_as(content_type: &str) -> (String, bool) {
    if content_type.starts_with("text/") {
        return ("text/plain; charset=utf-8".to_string(), true);
    }
    if INLINE_TYPES.contains(&content_type) {
        return (content_type.to_string(), true);
    }
    ("application/octet-stream".to_string(), false)
}

/// A file name safe to store and show: the last path segment, without
/// control or direction-changing characters, not starting with a dot, at
/// most [`MAX_FILENAME_CHARS`] characters (the extension kept);
/// `attachment` when nothing is left.
pub fn clean_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return "attachment".to_string();
    }
    if cleaned.chars().count() <= MAX_FILENAME_CHARS {
        return cleaned.to_string();
    }
    let ext = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.chars().count() <= 16);
    match ext {
        Some(ext) => {
            let stem: String = cleaned
                .chars()
                .take(MAX_FILENAME_CHARS - ext.chars().count() - 1)
                .collect();
            format!("{stem}.{ext}")
        }
        None => cleaned.chars().take(MAX_FILENAME_CHARS).collect(),
    }
}

/// The `Content-Disposition` header: `inline` or `attachment`, with an
/// ASCII fallback name and the exact name in RFC 5987 form.
pub fn content_disposition(filename: &str, inline: bool) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | ';' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn content_decides_the_type() {
        assert_eq!(
            content_type(PNG, Some("text/plain"), "x.txt").unwrap(),
            "image/png"
        );
        assert_eq!(
            content_type(b"%PDF-1.7\n", None, "doc.pdf").unwrap(),
            "application/pdf"
        );
        assert_eq!(content_type(b"hello", None, "a.txt").unwrap(), "text/plain");
        assert_eq!(
            content_type(b"a,b\n1,2\n", Some("text/csv"), "a.csv").unwrap(),
            "text/csv"
        );
        assert_eq!(
            content_type(b"\x00\x01\x02garbage", Some("image/png"), "x.png").unwrap(),
            "application/octet-stream"
        );
        // A cut multi-byte character at the end of the window is still text.
        assert_eq!(
            content_type("olá".as_bytes()[..3].as_ref(), None, "a").unwrap(),
            "text/plain"
        );
    }

    #[test]
    fn programs_and_active_documents_are_refused() {
        assert!(content_type(b"MZ\x90\x00\x03\x00\x00\x00", None, "setup.dat").is_err());
        let elf = [b"\x7fELF\x02\x01\x01".as_slice(), &[0u8; 60]].concat();
        assert!(content_type(&elf, None, "tool").is_err());
        assert!(content_type(b"  <!DOCTYPE html><p>hi", None, "page.txt").is_err());
        assert!(
            content_type(b"<svg xmlns=\"http://www.w3.org/2000/svg\">", None, "a.png").is_err()
        );
        assert!(
            content_type(
                b"<?xml version=\"1.0\"?>\n<svg onload=\"x()\">",
                None,
                "img"
            )
            .is_err()
        );
        assert!(content_type(b"alert(1)", None, "app.js").is_err());
        assert!(content_type(b"alert(1)", Some("application/javascript"), "a").is_err());
        assert!(content_type(b"#!/bin/sh\nrm -rf /", None, "run").is_err());
        assert!(content_type(b"hello", None, "invoice.PDF.exe").is_err());
    }

    #[test]
    fn serving_shows_only_safe_types_inline() {
        assert_eq!(served_as("image/png"), ("image/png".into(), true));
        assert_eq!(
            served_as("application/pdf"),
            ("application/pdf".into(), true)
        );
        assert_eq!(
            served_as("text/csv"),
            ("text/plain; charset=utf-8".into(), true)
        );
        assert_eq!(
            served_as("application/zip"),
            ("application/octet-stream".into(), false)
        );
        assert_eq!(
            served_as("text/xml").0,
            "text/plain; charset=utf-8",
            "never served as markup"
        );
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\ana\\report.pdf"), "report.pdf");
        assert_eq!(clean_filename("a\u{0}b\r\nc.txt"), "abc.txt");
        assert_eq!(clean_filename("evil\u{202E}fdp.exe"), "evilfdp.exe");
        assert_eq!(clean_filename(".."), "attachment");
        assert_eq!(clean_filename("  "), "attachment");
        assert_eq!(clean_filename(".htaccess"), "htaccess");
        let long = format!("{}.pdf", "x".repeat(500));
        let cleaned = clean_filename(&long);
        assert_eq!(cleaned.chars().count(), MAX_FILENAME_CHARS);
        assert!(cleaned.ends_with(".pdf"));
    }

    #[test]
    fn dispositions_quote_nothing_they_should_not() {
        assert_eq!(
            content_disposition("a \"b\".pdf", true),
            "inline; filename=\"a _b_.pdf\"; filename*=UTF-8''a%20%22b%22.pdf"
        );
        assert_eq!(
            content_disposition("relatório.zip", false),
            "attachment; filename=\"relat_rio.zip\"; filename*=UTF-8''relat%C3%B3rio.zip"
        );
    }
}
