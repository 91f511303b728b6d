//! Properties that hold for any input: trimming never panics and never
//! returns more text than the normalised input.

use confab_mail::{normalize, trim_reply};
use proptest::prelude::*;

/// Lines built from the pieces the rules look for, so the property tests
/// reach the interesting branches and not only random noise.
fn mail_like_line() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(String::new()),
        Just("--".to_owned()),
        Just("-- ".to_owned()),
        Just("> quoted".to_owned()),
        Just("On Mon, 3 Jan 2022 at 10:00, Ana <ana@example.com> wrote:".to_owned()),
        Just("On Mon, 3 Jan 2022 at 10:00, Ana <".to_owned()),
        Just("ana@example.com> wrote:".to_owned()),
        Just("Em 3 de jan. de 2022, às 10:00, Ana escreveu:".to_owned()),
        Just("-----Original Message-----".to_owned()),
        Just("From: Ana".to_owned()),
        Just("Sent: Monday".to_owned()),
        Just("To: Support".to_owned()),
        Just("Enviado do meu iPhone".to_owned()),
        Just("________________________________".to_owned()),
        "[ -~\u{a0}é\r\t]{0,40}",
    ]
}

fn mail_like_text() -> impl Strategy<Value = String> {
    prop::collection::vec(mail_like_line(), 0..24)
        .prop_flat_map(|lines| {
            (
                Just(lines),
                prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
            )
        })
        .prop_map(|(lines, ending)| lines.join(ending))
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic_nor_grow(text in any::<String>()) {
        let reply = trim_reply(&text);
        prop_assert!(reply.body.len() <= normalize(&text).len());
    }

    #[test]
    fn mail_like_text_never_panics_nor_grows(text in mail_like_text()) {
        let reply = trim_reply(&text);
        let normalized = normalize(&text);
        prop_assert!(reply.body.len() <= normalized.len());
        // An untrimmed reply is exactly the normalised input.
        if !reply.trimmed {
            prop_assert_eq!(&reply.body, &normalized);
        }
        // Something non-blank in, something non-blank out.
        prop_assert_eq!(reply.body.trim().is_empty(), normalized.trim().is_empty());
    }
}
