//! The people on the other side: names, addresses, companies and what the
//! widget sees of visitors.

use confab_domain::{AccountId, InboxKind};
use rand::Rng;
use rand::rngs::StdRng;

use crate::rows::ContactRow;
use crate::text::Language;

const FIRST_NAMES: &[&str] = &[
    "Ana", "Bruno", "Carla", "Diego", "Elisa", "Fernando", "Gabriela", "Henrique", "Isabela",
    "João", "Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago", "Emma",
    "Liam", "Olivia", "Noah", "Ava", "James", "Mia", "Lucas", "Chloe", "Ethan", "Grace", "Oscar",
];
const LAST_NAMES: &[&str] = &[
    "Silva",
    "Souza",
    "Oliveira",
    "Santos",
    "Costa",
    "Pereira",
    "Almeida",
    "Ferreira",
    "Gonçalves",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Martin",
    "Clarke",
    "Walker",
    "Young",
];
const COMPANIES: &[&str] = &[
    "Padaria Pão Quente",
    "Loja Verde",
    "Northwind",
    "Contoso",
    "Café Central",
    "Globex",
    "Oficina do Zé",
    "Initech",
    "Umbrella",
    "Hooli",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
];
const PLANS: &[&str] = &["free", "starter", "pro", "enterprise"];
const BROWSERS: &[(&str, &str)] = &[
    ("Chrome 131", "Windows 11"),
    ("Safari 18", "macOS 15"),
    ("Firefox 133", "Ubuntu 24.04"),
    ("Safari 18", "iOS 18"),
    ("Chrome 131", "Android 15"),
    ("Edge 131", "Windows 10"),
];
const PAGES: &[&str] = &[
    "/pricing",
    "/checkout",
    "/docs/getting-started",
    "/account/billing",
    "/",
    "/blog/release-notes",
];
const CITIES: &[&str] = &[
    "São Paulo, BR",
    "Rio de Janeiro, BR",
    "Lisbon, PT",
    "London, GB",
    "New York, US",
    "Toronto, CA",
    "Belo Horizonte, BR",
];

/// Lower-case ASCII for e-mail local parts.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'á' | 'ã' | 'â' | 'à' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'õ' | 'ô' => 'o',
            'ú' => 'u',
            'ç' => 'c',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A random item.
pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A new contact who first writes to an inbox of `kind` at `at`, and the
/// language they write in.
pub fn contact(
    rng: &mut StdRng,
    id: i64,
    account: AccountId,
    kind: InboxKind,
    at: i64,
) -> (ContactRow, Language) {
    let language = if rng.random_bool(0.5) {
        Language::Portuguese
    } else {
        Language::English
    };
    let first = *pick(rng, FIRST_NAMES);
    let last = *pick(rng, LAST_NAMES);
    let named = match kind {
        InboxKind::Email | InboxKind::Form => rng.random_bool(0.95),
        InboxKind::InApp => true,
        InboxKind::Chat => rng.random_bool(0.6),
    };
    let has_email = match kind {
        InboxKind::Email | InboxKind::Form => true,
        InboxKind::InApp => rng.random_bool(0.85),
        InboxKind::Chat => rng.random_bool(0.45),
    };
    let email = has_email.then(|| {
        format!(
            "{}.{}{id}@{}",
            ascii(first),
            ascii(last),
            pick(rng, DOMAINS)
        )
    });
    let phone = rng
        .random_bool(0.2)
        .then(|| format!("+55 11 9{:04}-{:04}", id % 10_000, (id * 7) % 10_000));
    let company = rng
        .random_bool(0.35)
        .then(|| (*pick(rng, COMPANIES)).to_string());
    let external_id = match kind {
        InboxKind::InApp => Some(format!("user-{id}")),
        InboxKind::Chat if rng.random_bool(0.25) => Some(format!("user-{id}")),
        _ => None,
    };
    let mut attributes = serde_json::Map::new();
    attributes.insert("plan".into(), (*pick(rng, PLANS)).into());
    attributes.insert("customer_since".into(), rng.random_range(2015..2027).into());
    let mut browser = serde_json::Map::new();
    if matches!(kind, InboxKind::Chat | InboxKind::InApp) {
        let (name, os) = *pick(rng, BROWSERS);
        browser.insert("browser".into(), name.into());
        browser.insert("os".into(), os.into());
        browser.insert(
            "page".into(),
            format!("https://shop.example.com{}", pick(rng, PAGES)).into(),
        );
        browser.insert("location".into(), (*pick(rng, CITIES)).into());
        browser.insert(
            "language".into(),
            match language {
                Language::Portuguese => "pt-BR",
                Language::English => "en-US",
            }
            .into(),
        );
    }
    // A few contacts are spammers: flagged, so their tickets go to spam.
    let spam = kind != InboxKind::InApp && rng.random_bool(0.02);
    let name = named.then(|| format!("{first} {last}"));
    let row = ContactRow {
        id,
        account_id: account.0,
        name: name.clone(),
        email: email.clone(),
        phone: phone.clone(),
        company,
        external_id,
        custom_attributes: serde_json::Value::Object(attributes).to_string(),
        browser: serde_json::Value::Object(browser).to_string(),
        spam,
        first_seen_at: at,
        last_seen_at: at,
    };
    (row, language)
}
