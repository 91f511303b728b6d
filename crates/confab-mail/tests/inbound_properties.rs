//! `parse_inbound` (and `classify` after it) never panic, whatever the
//! bytes: they read mail from anyone on the internet.

use confab_mail::inbound::{classify, parse_inbound};
use proptest::prelude::*;

/// Pieces of real messages, so random input reaches the MIME, charset and
/// HTML paths and not only the "no headers" early exit.
fn mail_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        Just(b"From: =?UTF-8?B?QW5h?= <ana@example.org>\r\n".to_vec()),
        Just(b"Content-Type: multipart/mixed; boundary=\"b\"\r\n".to_vec()),
        Just(b"Content-Type: multipart/alternative; boundary=b\r\n".to_vec()),
        Just(b"Content-Type: text/html; charset=iso-2022-jp\r\n".to_vec()),
        Just(b"Content-Type: text/plain; charset=windows-1252\r\n".to_vec()),
        Just(b"Content-Type: message/rfc822\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: quoted-printable\r\n".to_vec()),
        Just(b"Content-Disposition: attachment; filename*=UTF-8''%E2%9C\r\n".to_vec()),
        Just(b"References: <a@b> <c@d\r\n".to_vec()),
        Just(b"Date: Mon, 31 Feb 99999 25:61:61 +9999\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"--b\r\n".to_vec()),
        Just(b"--b--\r\n".to_vec()),
        Just(b"<div><blockquote><a href=\"javascript:x\">".to_vec()),
        Just(b"<script>".to_vec()),
        Just(b"=C3=\r\n".to_vec()),
        Just(b"On Mon, 3 Jan 2022 at 10:00, Ana <ana@example.com> wrote:\r\n> q\r\n".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(raw in any::<Vec<u8>>()) {
        if let Ok(mail) = parse_inbound(&raw) {
            let _ = classify(&mail);
        }
    }

    #[test]
    fn mail_like_bytes_never_panic(pieces in prop::collection::vec(mail_piece(), 0..24)) {
        let raw = pieces.concat();
        if let Ok(mail) = parse_inbound(&raw) {
            let _ = classify(&mail);
            // The trimmed body is never longer than the whole text.
            prop_assert!(mail.body.len() <= mail.full_body.len());
        }
    }
}
