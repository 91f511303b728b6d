//! Message text: sentences built from English and Portuguese word lists, of
//! very different lengths (a few words to several paragraphs), and a few
//! planted words that search benchmarks can look for.

use rand::Rng;
use rand::rngs::StdRng;

/// The language a contact writes in (agents answer in the same one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Portuguese,
}

const EN_OPENERS: &[&str] = &[
    "Hi",
    "Hello",
    "Hey there",
    "Good morning",
    "Good afternoon",
    "Thanks for getting back to me",
    "Quick question",
    "Sorry to bother you again",
];
const PT_OPENERS: &[&str] = &[
    "Olá",
    "Oi",
    "Bom dia",
    "Boa tarde",
    "Boa noite",
    "Obrigado pelo retorno",
    "Uma dúvida rápida",
    "Desculpe incomodar de novo",
];

const EN_SUBJECTS: &[&str] = &[
    "i",
    "we",
    "my order",
    "the invoice",
    "your app",
    "the payment",
    "my account",
    "the package",
    "our team",
    "the refund",
    "the login page",
    "the report",
    "my card",
    "the subscription",
    "the delivery",
    "the export",
    "this error",
    "the download link",
    "the mobile app",
    "the checkout",
];
const EN_VERBS: &[&str] = &[
    "needs",
    "shows",
    "keeps",
    "was",
    "is",
    "cannot find",
    "did not receive",
    "tried",
    "would like",
    "has",
    "stopped",
    "changed",
    "charged",
    "sent",
    "returned",
    "opened",
    "updated",
    "lost",
    "expected",
    "confirmed",
];
const EN_WORDS: &[&str] = &[
    "again",
    "yesterday",
    "today",
    "this morning",
    "since Monday",
    "twice",
    "a new password",
    "the tracking number",
    "an error message",
    "a blank screen",
    "the wrong amount",
    "a second copy",
    "the old address",
    "a discount",
    "my colleague",
    "the settings",
    "a screenshot",
    "the confirmation e-mail",
    "our VAT number",
    "the annual plan",
    "the last update",
    "a timeout",
    "the shipping label",
    "the customer portal",
    "two items",
    "the warehouse",
    "support",
    "the billing page",
    "a faster option",
    "the API key",
    "the webhook",
    "a CSV file",
    "the dashboard",
    "my phone",
    "the browser",
    "the cache",
    "the same problem",
    "no answer",
    "more details",
    "the contract",
    "next week",
    "as soon as possible",
    "please",
    "anyway",
    "unfortunately",
    "of course",
    "really",
    "still",
    "already",
    "maybe",
];
const PT_SUBJECTS: &[&str] = &[
    "eu",
    "nós",
    "meu pedido",
    "a nota fiscal",
    "o aplicativo",
    "o pagamento",
    "minha conta",
    "o pacote",
    "nossa equipe",
    "o reembolso",
    "a página de login",
    "o relatório",
    "meu cartão",
    "a assinatura",
    "a entrega",
    "o boleto",
    "esse erro",
    "o link de download",
    "o app",
    "o carrinho",
];
const PT_VERBS: &[&str] = &[
    "precisa de",
    "mostra",
    "continua com",
    "estava",
    "está",
    "não encontra",
    "não recebeu",
    "tentou",
    "gostaria de",
    "tem",
    "parou",
    "mudou",
    "cobrou",
    "enviou",
    "devolveu",
    "abriu",
    "atualizou",
    "perdeu",
    "esperava",
    "confirmou",
];
const PT_WORDS: &[&str] = &[
    "de novo",
    "ontem",
    "hoje",
    "hoje cedo",
    "desde segunda",
    "duas vezes",
    "uma senha nova",
    "o código de rastreio",
    "uma mensagem de erro",
    "uma tela em branco",
    "o valor errado",
    "a segunda via",
    "o endereço antigo",
    "um desconto",
    "meu colega",
    "as configurações",
    "um print da tela",
    "o e-mail de confirmação",
    "nosso CNPJ",
    "o plano anual",
    "a última atualização",
    "um tempo esgotado",
    "a etiqueta de envio",
    "o portal do cliente",
    "dois itens",
    "o depósito",
    "o suporte",
    "a página de cobrança",
    "uma opção mais rápida",
    "a chave da API",
    "o webhook",
    "um arquivo CSV",
    "o painel",
    "meu celular",
    "o navegador",
    "o cache",
    "o mesmo problema",
    "nenhuma resposta",
    "mais detalhes",
    "o contrato",
    "semana que vem",
    "o quanto antes",
    "por favor",
    "enfim",
    "infelizmente",
    "claro",
    "realmente",
    "ainda",
    "já",
    "talvez",
];
const EN_CLOSINGS: &[&str] = &[
    "Thanks!",
    "Thank you in advance.",
    "Best regards.",
    "Let me know.",
    "Cheers.",
    "Have a nice day!",
];
const PT_CLOSINGS: &[&str] = &[
    "Obrigado!",
    "Desde já agradeço.",
    "Abraços.",
    "Aguardo retorno.",
    "Valeu!",
    "Tenha um bom dia!",
];

/// Subjects of e-mail and form tickets.
pub const EN_TICKET_SUBJECTS: &[&str] = &[
    "Order not delivered",
    "Invoice question",
    "Can't log in",
    "Refund request",
    "Feature request",
    "Broken link",
    "Charged twice",
    "Change of address",
    "API rate limits",
    "Cancel my subscription",
    "Export to CSV",
    "Password reset not working",
];
/// Portuguese subjects of e-mail and form tickets.
pub const PT_TICKET_SUBJECTS: &[&str] = &[
    "Pedido atrasado",
    "Segunda via do boleto",
    "Não consigo entrar",
    "Pedido de reembolso",
    "Sugestão de melhoria",
    "Link quebrado",
    "Cobrança em dobro",
    "Troca de endereço",
    "Limite da API",
    "Cancelamento",
    "Exportar para CSV",
    "Recuperação de senha",
];

/// Words that never come from the word lists, planted into a known share of
/// messages so search benchmarks have selective and broad terms: every
/// message whose global index `i` has `i % period == offset` carries the word.
pub const PLANTED: &[(&str, u64, u64)] = &[
    // Selective: one message in 100,000 (100 in 10M).
    ("zanzibarite", 100_000, 17),
    // Medium: one in 1,000 (10,000 in 10M).
    ("quokkaflux", 1_000, 3),
    // Broad: one in 20 (500,000 in 10M).
    ("lumenberry", 20, 1),
];

/// How many of `count` messages (indexes 0 .. count) carry a planted word.
pub fn planted_count(period: u64, offset: u64, count: u64) -> u64 {
    if count <= offset {
        0
    } else {
        (count - offset - 1) / period + 1
    }
}

/// Markdown some agent replies end with (the inbox list previews the text
/// it renders to).
pub fn markdown_steps(language: Language) -> &'static str {
    match language {
        Language::English => {
            "\n\n**Next steps:**\n\n1. Clear the app's cache\n2. Sign in again\n\nMore in [the help center](https://help.example.com/articles/42)."
        }
        Language::Portuguese => {
            "\n\n**Próximos passos:**\n\n1. Limpe o cache do app\n2. Entre de novo\n\nMais na [central de ajuda](https://ajuda.example.com/artigos/42)."
        }
    }
}

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn sentence(rng: &mut StdRng, language: Language, out: &mut String) {
    let (subjects, verbs, words) = match language {
        Language::English => (EN_SUBJECTS, EN_VERBS, EN_WORDS),
        Language::Portuguese => (PT_SUBJECTS, PT_VERBS, PT_WORDS),
    };
    let mut text = String::new();
    text.push_str(pick(rng, subjects));
    text.push(' ');
    text.push_str(pick(rng, verbs));
    for _ in 0..rng.random_range(1..6) {
        text.push(' ');
        text.push_str(pick(rng, words));
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push(' ');
    }
    out.push_str(&capitalise(&text));
    out.push(match rng.random_range(0..10) {
        0 => '?',
        1 => '!',
        _ => '.',
    });
}

/// A message body: mostly short (a few words or a sentence or two), some a
/// paragraph, a few several paragraphs; `planted` words are mixed in.
pub fn message(rng: &mut StdRng, language: Language, planted: &[&str]) -> String {
    let mut out = String::new();
    let roll = rng.random_range(0..100);
    let (paragraphs, sentences) = match roll {
        0..=29 => (1, 0),
        30..=64 => (1, rng.random_range(1..3)),
        65..=89 => (1, rng.random_range(3..7)),
        _ => (rng.random_range(2..6), rng.random_range(3..7)),
    };
    if sentences == 0 {
        // A few words only ("Thanks!", "Any news on this?").
        let closings = match language {
            Language::English => EN_CLOSINGS,
            Language::Portuguese => PT_CLOSINGS,
        };
        out.push_str(pick(rng, closings));
    } else {
        let openers = match language {
            Language::English => EN_OPENERS,
            Language::Portuguese => PT_OPENERS,
        };
        if rng.random_bool(0.5) {
            out.push_str(pick(rng, openers));
            out.push_str(",\n\n");
        }
        for paragraph in 0..paragraphs {
            if paragraph > 0 {
                out.push_str("\n\n");
            }
            for _ in 0..sentences {
                sentence(rng, language, &mut out);
            }
        }
    }
    for word in planted {
        out.push(' ');
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn lengths_vary_and_planted_words_appear() {
        let mut rng = StdRng::seed_from_u64(1);
        let lengths: Vec<usize> = (0..2000)
            .map(|_| message(&mut rng, Language::English, &[]).len())
            .collect();
        assert!(lengths.iter().any(|&n| n < 20));
        assert!(lengths.iter().any(|&n| n > 1000));
        let text = message(&mut rng, Language::Portuguese, &["zanzibarite"]);
        assert!(text.ends_with(" zanzibarite"), "{text}");
    }

    #[test]
    fn planted_counts() {
        assert_eq!(planted_count(20, 1, 0), 0);
        assert_eq!(planted_count(20, 1, 2), 1);
        assert_eq!(planted_count(20, 1, 21), 1);
        assert_eq!(planted_count(20, 1, 22), 2);
        assert_eq!(
            (0..1000u64).filter(|i| i % 7 == 3).count() as u64,
            planted_count(7, 3, 1000)
        );
    }
}
