//! Single-line and block markers after which nothing is the contact's own
//! text: signature delimiters, "Original message" and forward separators,
//! Outlook header blocks and "Sent from my phone" lines.

use std::sync::LazyLock;

use regex::Regex;

use crate::patterns::{alternation, compile};

/// Device signatures longer than this are sentences, not signatures.
const MAX_DEVICE_SIGNATURE_CHARS: usize = 100;

/// Outlook and Thunderbird: "-----Original Message-----".
const ORIGINAL_MESSAGE: &[&str] = &[
    "original message",
    "mensagem original",
    "mensaje original",
    "message d'origine",
    "message original",
    "ursprüngliche nachricht",
    "messaggio originale",
    "oorspronkelijk bericht",
    "originalmeddelande",
    "oprindelig meddelelse",
    "opprinnelig melding",
    "wiadomość oryginalna",
    "původní zpráva",
    "исходное сообщение",
];

/// Gmail: "---------- Forwarded message ---------".
const FORWARDED_MESSAGE: &[&str] = &[
    "forwarded message",
    "mensagem encaminhada",
    "mensaje reenviado",
    "message transféré",
    "weitergeleitete nachricht",
    "messaggio inoltrato",
    "doorgestuurd bericht",
    "videresendt melding",
    "vidarebefordrat meddelande",
    "przekazana wiadomość",
    "пересылаемое сообщение",
];

/// Apple Mail: "Begin forwarded message:".
const BEGIN_FORWARDED: &[&str] = &[
    "begin forwarded message",
    "início da mensagem encaminhada",
    "inicio del mensaje reenviado",
    "début du message réexpédié",
    "anfang der weitergeleiteten nachricht",
    "inizio messaggio inoltrato",
    "begin doorgestuurd bericht",
];

/// The field that opens an Outlook header block ("From:", "De:", "Von:", …).
const FROM_FIELD: &[&str] = &[
    "from",
    "de",
    "von",
    "da",
    "van",
    "fra",
    "från",
    "od",
    "от",
    "lähettäjä",
    "feladó",
    "kimden",
];

/// "Sent:"/"Date:" and translations.
const SENT_FIELD: &[&str] = &[
    "sent",
    "date",
    "enviado",
    "enviada",
    "enviado el",
    "data",
    "fecha",
    "gesendet",
    "datum",
    "envoyé",
    "inviato",
    "verzonden",
    "sendt",
    "skickat",
    "wysłano",
    "отправлено",
    "дата",
];

/// "Subject:" and translations.
const SUBJECT_FIELD: &[&str] = &[
    "subject",
    "assunto",
    "asunto",
    "betreff",
    "objet",
    "oggetto",
    "onderwerp",
    "emne",
    "ämne",
    "temat",
    "тема",
];

/// The other fields of a header block ("To:", "Cc:", "Para:", "A:", …).
const OTHER_FIELD: &[&str] = &[
    "to",
    "cc",
    "bcc",
    "reply-to",
    "para",
    "cco",
    "an",
    "à",
    "a",
    "risposta",
    "aan",
    "til",
    "till",
    "do",
    "kopia",
    "кому",
    "копия",
];

/// Mail apps' own signatures: "Sent from my iPhone", "Enviado do meu
/// iPhone", "Get Outlook for Android", …
const DEVICE_SIGNATURE: &[&str] = &[
    r"sent (?:from|with|via|using) \S.*",
    r"get outlook for \S.*",
    r"enviad[oa] (?:do|da|de|desde|pelo|pela|via|com|con|a partir d[oe]) \S.*",
    r"obtenha o outlook para \S.*",
    r"obtener outlook para \S.*",
    r"envoyé (?:de|depuis|avec|à partir d[eu]) \S.*",
    r"von meine[mr] \S.* gesendet\.?",
    r"gesendet (?:von|mit|vom) \S.*",
    r"inviato da \S.*",
    r"(?:verzonden|verstuurd) (?:met|vanaf|van|via) \S.*",
    r"sendt fra \S.*",
    r"skickat från \S.*",
    r"wysłane z \S.*",
    r"отправлено (?:с|из) \S.*",
    r"发自我的\s*\S.*",
    r"從我的\s*\S.*傳送",
];

static HISTORY_DELIMITER: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^\s*(?:-{{2,}}\s*(?:{original}|{forwarded})\s*-{{2,}}|(?:{begin})\s*:|_{{20,}})\s*$",
        original = alternation(ORIGINAL_MESSAGE),
        forwarded = alternation(FORWARDED_MESSAGE),
        begin = alternation(BEGIN_FORWARDED),
    ))
});

static FROM_FIELD_LINE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^\*{{0,2}}(?:{})\s*:\*{{0,2}}\s*\S",
        alternation(FROM_FIELD)
    ))
});

static HEADER_FIELD_LINE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^\*{{0,2}}(?:{}|{}|{})\s*:",
        alternation(SENT_FIELD),
        alternation(SUBJECT_FIELD),
        alternation(OTHER_FIELD)
    ))
});

/// A whole header block flattened onto one line (HTML-to-text conversions):
/// "From: … Sent: … To: … Subject: …".
static ONE_LINE_HEADER_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^\*{{0,2}}(?:{from})\s*:.+\s\*{{0,2}}(?:{sent})\s*:.+\s\*{{0,2}}(?:{subject})\s*:",
        from = alternation(FROM_FIELD),
        sent = alternation(SENT_FIELD),
        subject = alternation(SUBJECT_FIELD),
    ))
});

static DEVICE_SIGNATURE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    // Device signatures are written as patterns, not phrases, so they are
    // joined here rather than escaped by `alternation`.
    compile(&format!(
        r"(?i)^[(<\[\s]*(?:{})$",
        DEVICE_SIGNATURE.join("|")
    ))
});

/// A header block needs its "From:" line plus this many further fields.
const MIN_FIELDS_AFTER_FROM: usize = 2;

/// A line of quoted history (`> …`), possibly indented.
pub(crate) fn is_quote(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The conventional signature delimiter "-- " (its trailing space is gone
/// after normalisation).
pub(crate) fn is_signature_delimiter(line: &str) -> bool {
    line == "--"
}

/// "-----Original Message-----", Gmail's forwarded-message rule, Apple
/// Mail's "Begin forwarded message:" and Outlook's line of underscores.
pub(crate) fn is_history_delimiter(line: &str) -> bool {
    HISTORY_DELIMITER.is_match(line)
}

/// "Sent from my iPhone" and the like, on a short line of its own.
pub(crate) fn is_device_signature(line: &str) -> bool {
    line.chars().count() <= MAX_DEVICE_SIGNATURE_CHARS && DEVICE_SIGNATURE_LINE.is_match(line)
}

/// An Outlook-style header block starting at `lines[start]`: "From:" (or a
/// translation) followed by at least two more header fields, or all of them
/// flattened onto one line.
pub(crate) fn is_header_block(lines: &[&str], start: usize) -> bool {
    let Some(first) = lines.get(start) else {
        return false;
    };
    if !FROM_FIELD_LINE.is_match(first) {
        return false;
    }
    let following_fields = lines
        .iter()
        .skip(start + 1)
        .take_while(|line| HEADER_FIELD_LINE.is_match(line))
        .count();
    following_fields >= MIN_FIELDS_AFTER_FROM || ONE_LINE_HEADER_BLOCK.is_match(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_pattern_compiles() {
        LazyLock::force(&HISTORY_DELIMITER);
        LazyLock::force(&FROM_FIELD_LINE);
        LazyLock::force(&HEADER_FIELD_LINE);
        LazyLock::force(&ONE_LINE_HEADER_BLOCK);
        LazyLock::force(&DEVICE_SIGNATURE_LINE);
    }

    #[test]
    fn recognises_history_delimiters() {
        for line in [
            "-----Original Message-----",
            "-------- Original Message --------",
            "-----Mensagem original-----",
            "---------- Forwarded message ---------",
            "---------- Mensagem encaminhada ---------",
            "Begin forwarded message:",
            "Início da mensagem encaminhada:",
            "________________________________",
        ] {
            assert!(is_history_delimiter(line), "{line}");
        }
        for line in ["-----", "Original message follows", "____"] {
            assert!(!is_history_delimiter(line), "{line}");
        }
    }

    #[test]
    fn recognises_device_signatures_but_not_sentences() {
        for line in [
            "Sent from my iPhone",
            "Enviado do meu iPhone",
            "Enviado desde mi Samsung",
            "Envoyé depuis mon iPhone",
            "Von meinem iPhone gesendet",
            "Sent from Mail for Windows",
            "Get Outlook for Android",
            "(Sent from mobile device)",
        ] {
            assert!(is_device_signature(line), "{line}");
        }
        assert!(!is_device_signature("I sent the invoice yesterday"));
        assert!(!is_device_signature(
            "Sent from the billing page, the error appears every single time I press the button, and the page hangs"
        ));
    }

    #[test]
    fn recognises_header_blocks() {
        let outlook = [
            "From: Ana <ana@example.com>",
            "Sent: Monday",
            "To: Support",
            "Subject: Hi",
        ];
        assert!(is_header_block(&outlook, 0));
        let portuguese = [
            "De: Ana",
            "Enviado: segunda-feira",
            "Para: Suporte",
            "Assunto: Oi",
        ];
        assert!(is_header_block(&portuguese, 0));
        let flattened = ["From: Ana Sent: Monday To: Support Subject: Hi"];
        assert!(is_header_block(&flattened, 0));
        let prose = ["From: my phone I cannot log in", "Thanks"];
        assert!(!is_header_block(&prose, 0));
    }
}
