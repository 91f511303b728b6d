//! Reply-trimming cases of our own, none of them from the acceptance corpus,
//! to show that the rules generalise beyond it: other languages and
//! clients, inline quoting, messages that must come back untouched.

use confab_mail::trim_reply;

/// Asserts that trimming `input` cuts something and leaves `expected`.
#[track_caller]
fn assert_trims(input: &str, expected: &str) {
    let reply = trim_reply(input);
    assert_eq!(reply.body, expected, "input:\n{input}");
    assert!(reply.trimmed, "expected a cut for input:\n{input}");
}

/// Asserts that `input` comes back as it was (up to normalisation).
#[track_caller]
fn assert_unchanged(input: &str, normalized: &str) {
    let reply = trim_reply(input);
    assert_eq!(reply.body, normalized, "input:\n{input}");
    assert!(!reply.trimmed, "expected no cut for input:\n{input}");
}

// --- Reply headers -------------------------------------------------------

#[test]
fn brazilian_portuguese_gmail_header() {
    assert_trims(
        "Oi, o boleto chegou, obrigada!\n\n\
         Em seg., 3 de jan. de 2022 às 10:00, Suporte Confab <suporte@confab.example> escreveu:\n\n\
         > Olá Ana, segue o boleto.\n",
        "Oi, o boleto chegou, obrigada!",
    );
}

#[test]
fn european_portuguese_header() {
    assert_trims(
        "Já está resolvido.\n\n\
         No dia 03/01/2022, às 10:00, Suporte Confab escreveu:\n\
         > Consegue enviar uma captura de ecrã?\n",
        "Já está resolvido.",
    );
}

#[test]
fn portuguese_header_wrapped_over_two_lines() {
    assert_trims(
        "Pode cancelar o pedido 4711.\n\n\
         Em qua., 5 de jan. de 2022 às 09:12, Fulano de Tal <\n\
         fulano@exemplo.com.br> escreveu:\n\n\
         > Recebemos o seu pedido.\n",
        "Pode cancelar o pedido 4711.",
    );
}

#[test]
fn spanish_header() {
    assert_trims(
        "Ya funciona, gracias.\n\n\
         El lun, 3 ene 2022 a las 10:00, Soporte (<soporte@confab.example>) escribió:\n\
         > ¿Puede reiniciar el router?\n",
        "Ya funciona, gracias.",
    );
}

#[test]
fn german_header_with_author_after_the_verb() {
    assert_trims(
        "Danke, das Problem ist gelöst.\n\n\
         Am 03.01.2022 um 10:00 schrieb Support <support@confab.example>:\n\n\
         > Bitte leeren Sie den Cache.\n",
        "Danke, das Problem ist gelöst.",
    );
}

#[test]
fn french_header_with_non_breaking_space_before_the_colon() {
    assert_trims(
        "Merci, c'est réglé.\n\n\
         Le lun. 3 janv. 2022 à 10:00, Support <support@confab.example> a écrit\u{a0}:\n\
         > Pouvez-vous réessayer ?\n",
        "Merci, c'est réglé.",
    );
}

#[test]
fn italian_and_dutch_headers() {
    assert_trims(
        "Perfetto, grazie.\n\n\
         Il giorno lun 3 gen 2022 alle ore 10:00 Supporto <supporto@confab.example> ha scritto:\n\
         > Ha provato a riavviare?\n",
        "Perfetto, grazie.",
    );
    assert_trims(
        "Het werkt weer.\n\n\
         Op ma 3 jan. 2022 om 10:00 schreef Support <support@confab.example>:\n\
         > Kunt u het opnieuw proberen?\n",
        "Het werkt weer.",
    );
}

#[test]
fn english_header_without_a_following_quote_still_cuts_the_history() {
    assert_trims(
        "Sounds good.\n\n\
         On Tue, Mar 8, 2022 at 9:15 AM Confab Support <help@confab.example> wrote:\n\n\
         Your refund was issued today.\n",
        "Sounds good.",
    );
}

#[test]
fn bottom_posted_reply_keeps_the_answer_below_the_quote() {
    assert_trims(
        "On Tue, Mar 8, 2022 at 9:15 AM Confab Support <help@confab.example> wrote:\n\
         > Which plan are you on?\n\
         >\n\
         > Regards, Confab\n\n\
         The yearly one.\n",
        "The yearly one.",
    );
}

// --- Outlook, forwards, separators ----------------------------------------

#[test]
fn outlook_block_after_an_underscore_separator() {
    assert_trims(
        "Please close the ticket.\r\n\r\n\
         ________________________________\r\n\
         From: Confab Support <help@confab.example>\r\n\
         Sent: Monday, March 7, 2022 4:02 PM\r\n\
         To: Ana Lima <ana@example.com>\r\n\
         Subject: RE: Invoice 2022-03\r\n\r\n\
         Hi Ana,\r\n",
        "Please close the ticket.",
    );
}

#[test]
fn portuguese_outlook_block_without_a_separator() {
    assert_trims(
        "Segue o comprovante em anexo.\n\n\
         De: Suporte Confab <suporte@confab.example>\n\
         Enviado: segunda-feira, 7 de março de 2022 16:02\n\
         Para: Ana Lima <ana@example.com>\n\
         Assunto: RE: Fatura de março\n\n\
         Olá Ana,\n",
        "Segue o comprovante em anexo.",
    );
}

#[test]
fn original_message_separator_in_portuguese() {
    assert_trims(
        "Obrigado pelo retorno.\n\n-----Mensagem original-----\nDe: Suporte\nAssunto: Chamado 12\n",
        "Obrigado pelo retorno.",
    );
}

#[test]
fn apple_mail_forward_below_a_note() {
    assert_trims(
        "See the complaint below.\n\nBegin forwarded message:\n\nFrom: Bob <bob@example.com>\nSubject: Broken\n",
        "See the complaint below.",
    );
}

#[test]
fn a_bare_forward_is_kept_rather_than_emptied() {
    let forward = "---------- Forwarded message ---------\n\
                   From: Bob <bob@example.com>\n\
                   Date: Tue, Mar 8, 2022 at 9:15 AM\n\
                   Subject: Broken\n\n\
                   The app crashes on start.";
    assert_unchanged(forward, forward);
}

// --- Signatures -----------------------------------------------------------

#[test]
fn brazilian_iphone_signature_before_a_reply_header() {
    assert_trims(
        "Pode ser amanhã às 14h.\n\n\
         Enviado do meu iPhone\n\n\
         Em 8 de mar. de 2022, à(s) 09:15, Suporte Confab <suporte@confab.example> escreveu:\n\n\
         > Qual o melhor horário?\n",
        "Pode ser amanhã às 14h.",
    );
}

#[test]
fn device_signatures_in_several_languages() {
    for signature in [
        "Sent from Mail for Windows",
        "Sent from my Galaxy",
        "Enviado desde mi iPhone",
        "Von meinem iPhone gesendet",
        "Get Outlook for Android",
    ] {
        assert_trims(
            &format!("All fixed, thanks.\n\n{signature}\n"),
            "All fixed, thanks.",
        );
    }
}

#[test]
fn signature_delimiter_cuts_the_signature_but_keeps_the_sign_off() {
    assert_trims(
        "The export works now.\n\nThanks,\nAna\n\n-- \nAna Lima | Finance\n+55 11 5555-0000\n",
        "The export works now.\n\nThanks,\nAna",
    );
}

// --- Inline quotes --------------------------------------------------------

/// Interleaved answers keep their quotes: the quote is what the answer
/// refers to. Only the quote that ends the message is history.
#[test]
fn inline_quotes_followed_by_answers_are_kept() {
    assert_trims(
        "Hi,\n\n\
         > Which plan are you on?\n\n\
         The yearly one.\n\n\
         > Since when does the error appear?\n\n\
         Since Monday.\n\n\
         > Regards, Confab Support\n",
        "Hi,\n\n> Which plan are you on?\n\nThe yearly one.\n\n\
         > Since when does the error appear?\n\nSince Monday.",
    );
}

// --- Messages that must come back unchanged -------------------------------

#[test]
fn plain_message_comes_back_unchanged() {
    let message =
        "Hello,\n\nI can't log in since the update.\n\n  Error 503 at 10:42\n\nThanks,\nAna";
    assert_unchanged(message, message);
}

#[test]
fn prose_that_looks_a_little_like_a_header_is_kept() {
    let message = "On Monday I wrote to your colleague:\n\nthe invoice address is wrong.\n\n\
                   From: the billing page, nothing else.\n\nSent items are missing too.";
    assert_unchanged(message, message);
}

#[test]
fn line_endings_and_trailing_white_space_are_normalised() {
    assert_unchanged(
        "\r\nFirst line   \r\nsecond\tline\t\r\n\r\n",
        "First line\nsecond\tline",
    );
}

#[test]
fn empty_and_blank_input_give_an_empty_body() {
    assert_unchanged("", "");
    assert_unchanged(" \n\r\n\t", "");
}
