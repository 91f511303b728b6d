//! `confab serve --demo`: fills an empty database with a living demo
//! workspace — inboxes of every kind, agents, ~60 contacts with profiles and
//! ~200 conversations spread over every folder, with replies, private notes,
//! tags and assignments — so a newcomer sees a real inbox at once. It does
//! nothing on a database that already has an account.

use confab_domain::{AccountId, Agent, Contact, Inbox, InboxKind, Role, Timestamp};
use confab_store::{
    Actor, FolderAction, NewAgent, NewAgentMessage, NewContact, NewContactMessage, NewInbox, Store,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The demo admin's sign-in.
pub const ADMIN_EMAIL: &str = "admin@demo.confab.test";
pub const ADMIN_PASSWORD: &str = "demo-password";

const FIRST_NAMES: &[&str] = &[
    "Ana", "Bruno", "Carla", "Diego", "Elisa", "Fernando", "Gabriela", "Henrique", "Isabela",
    "João", "Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago", "Emma",
    "Liam", "Olivia", "Noah", "Ava", "James", "Mia", "Lucas", "Chloe", "Ethan",
];
const LAST_NAMES: &[&str] = &[
    "Silva", "Souza", "Oliveira", "Santos", "Costa", "Pereira", "Almeida", "Ferreira", "Smith",
    "Johnson", "Brown", "Taylor", "Wilson", "Martin",
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
];
const PLANS: &[&str] = &["free", "starter", "pro", "enterprise"];
const BROWSERS: &[(&str, &str)] = &[
    ("Chrome 131", "Windows 11"),
    ("Safari 18", "macOS 15"),
    ("Firefox 133", "Ubuntu 24.04"),
    ("Safari 18", "iOS 18"),
    ("Chrome 131", "Android 15"),
];
const PAGES: &[&str] = &[
    "/pricing",
    "/checkout",
    "/docs/getting-started",
    "/account/billing",
    "/",
];

/// Opening messages: (subject, text).
const OPENERS: &[(&str, &str)] = &[
    (
        "Order not delivered",
        "Hi! My order #4821 was supposed to arrive yesterday and the tracking hasn't moved since Monday.",
    ),
    (
        "Pedido atrasado",
        "Olá, meu pedido 7730 ainda não chegou. Podem verificar, por favor?",
    ),
    (
        "Invoice question",
        "Could you send me the invoice for October with our VAT number on it?",
    ),
    (
        "Segunda via do boleto",
        "Bom dia! Preciso da segunda via do boleto deste mês.",
    ),
    (
        "Can't log in",
        "I reset my password twice but the login page keeps saying the link expired.",
    ),
    (
        "Trocar plano",
        "Quero mudar do plano Starter para o Pro. Como faço?",
    ),
    (
        "Refund",
        "I was charged twice for the annual plan. Can you refund one of them?",
    ),
    (
        "Dúvida sobre a API",
        "A API de vocês tem limite de requisições por minuto?",
    ),
    (
        "Feature request",
        "It would be great to export the reports as CSV.",
    ),
    ("Horário de funcionamento", "Vocês abrem aos domingos?"),
    (
        "Broken link",
        "The download link in your welcome e-mail returns a 404.",
    ),
    (
        "Cancelamento",
        "Gostaria de cancelar minha assinatura ao fim do período.",
    ),
];
const FOLLOW_UPS: &[&str] = &[
    "Any news on this?",
    "Thanks, that worked!",
    "Alguma novidade?",
    "Obrigada pela ajuda!",
    "I attached a screenshot in my previous e-mail.",
    "Still happening today, unfortunately.",
];
const REPLIES: &[&str] = &[
    "Thanks for reaching out! I'm checking this with our logistics team and will get back to you today.",
    "Olá! Já verifiquei aqui e o pedido sai para entrega amanhã.",
    "I've just sent the corrected invoice to your e-mail.",
    "Pronto, a segunda via foi enviada para o seu e-mail.",
    "Could you tell me which browser you're using? That helps us reproduce it.",
    "Done! Your plan is now **Pro**; the difference is prorated on the next invoice.",
];
const NOTES: &[&str] = &[
    "Customer since 2021, always pays on time.",
    "Checked with finance: the duplicate charge is real, refund approved.",
    "Possible bug in the password reset flow — filed ENG-2231.",
    "Cliente VIP, priorizar.",
];
const TAGS: &[&str] = &[
    "billing",
    "shipping",
    "bug",
    "feature-request",
    "vip",
    "login",
    "refund",
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Fills the database when it has no account yet (every demo agent signs
/// in with the password `password_hash` is the hash of); returns whether it did.
pub async fn seed(
    store: &dyn Store,
    password_hash: String,
    now: Timestamp,
) -> anyhow::Result<bool> {
    if store.count_accounts().await? > 0 {
        return Ok(false);
    }
    let mut rng = StdRng::seed_from_u64(2026);
    let start = now.plus_minutes(-30 * 24 * 60);
    let (account, admin) = store
        .create_account(
            "Acme Support",
            NewAgent {
                name: "Ada Admin".into(),
                email: ADMIN_EMAIL.into(),
                password_hash: password_hash.clone(),
                role: Role::Admin,
            },
            start,
        )
        .await?;
    let mut agents = vec![admin];
    for (name, email) in [
        ("Bruno Agent", "bruno@demo.confab.test"),
        ("Camila Agent", "camila@demo.confab.test"),
    ] {
        agents.push(
            store
                .add_agent(
                    account.id,
                    NewAgent {
                        name: name.into(),
                        email: email.into(),
                        password_hash: password_hash.clone(),
                        role: Role::Agent,
                    },
                    start,
                )
                .await?,
        );
    }
    let mut inboxes = Vec::new();
    for (name, kind, address) in [
        ("Website chat", InboxKind::Chat, None),
        ("Mobile app", InboxKind::InApp, None),
        (
            "Support e-mail",
            InboxKind::Email,
            Some("support@demo.confab.test"),
        ),
        ("Contact form", InboxKind::Form, None),
    ] {
        inboxes.push(
            store
                .create_inbox(
                    account.id,
                    NewInbox {
                        name: name.into(),
                        kind,
                        token: format!("demo-{}", kind.as_str().replace('_', "-")),
                        email_address: address.map(str::to_string),
                        identity_secret: format!("{:064x}", rng.random::<u128>()),
                    },
                    start,
                )
                .await?,
        );
    }
    let mut contacts = Vec::new();
    for n in 0..60 {
        let first = *pick(&mut rng, FIRST_NAMES);
        let last = *pick(&mut rng, LAST_NAMES);
        let (browser, os) = *pick(&mut rng, BROWSERS);
        let mut attributes = serde_json::Map::new();
        attributes.insert("plan".into(), (*pick(&mut rng, PLANS)).into());
        attributes.insert("customer_since".into(), (2019 + n % 7).into());
        let mut seen = serde_json::Map::new();
        seen.insert("browser".into(), browser.into());
        seen.insert("os".into(), os.into());
        seen.insert(
            "page".into(),
            format!("https://acme.test{}", pick(&mut rng, PAGES)).into(),
        );
        seen.insert(
            "language".into(),
            if n % 2 == 0 { "pt-BR" } else { "en-US" }.into(),
        );
        contacts.push(
            store
                .create_contact(
                    account.id,
                    NewContact {
                        name: Some(format!("{first} {last}")),
                        email: Some(format!(
                            "{}.{}{n}@example.com",
                            first.to_lowercase().replace(['ã', 'á', 'ó', 'é'], "a"),
                            last.to_lowercase()
                        )),
                        phone: (n % 3 == 0)
                            .then(|| format!("+55 11 9{:04}-{:04}", 1000 + n, 2000 + n)),
                        company: (n % 2 == 0).then(|| (*pick(&mut rng, COMPANIES)).to_string()),
                        custom_attributes: attributes,
                        browser: seen,
                        ..NewContact::default()
                    },
                    start,
                )
                .await?,
        );
    }
    for n in 0..200 {
        let at = start.plus_minutes(30 * 24 * 60 * n / 200 + rng.random_range(0..60));
        let fate = rng.random_range(0..100);
        let inbox = pick(&mut rng, &inboxes).clone();
        // Spam comes from senders of its own (marking it flags the sender).
        let contact = if SPAM.contains(&fate) {
            let spammer = NewContact {
                name: Some(format!("Promo Deals {n}")),
                email: Some(format!("deals{n}@promo.example")),
                ..NewContact::default()
            };
            store.create_contact(account.id, spammer, at).await?
        } else {
            pick(&mut rng, &contacts).clone()
        };
        let place = Place {
            account: account.id,
            inbox: &inbox,
            contact: &contact,
            at,
            now,
        };
        conversation(store, &mut rng, &agents, place, fate).await?;
    }
    Ok(true)
}

/// Fates (0..100) that end in spam.
const SPAM: std::ops::RangeInclusive<u32> = 80..=85;

/// Where and when a demo conversation happens.
struct Place<'a> {
    account: AccountId,
    inbox: &'a Inbox,
    contact: &'a Contact,
    at: Timestamp,
    now: Timestamp,
}

/// One conversation with a plausible history and `fate` (0..100).
async fn conversation(
    store: &dyn Store,
    rng: &mut StdRng,
    agents: &[Agent],
    place: Place<'_>,
    fate: u32,
) -> anyhow::Result<()> {
    let Place {
        account,
        inbox,
        contact,
        at,
        now,
    } = place;
    let (subject, text) = *pick(rng, OPENERS);
    let posted = store
        .post_contact_message(
            account,
            inbox.id,
            contact.id,
            NewContactMessage {
                body: text.into(),
                subject: Some(subject.into()),
                new_conversation: true,
                ..NewContactMessage::default()
            },
            at,
        )
        .await?;
    let id = posted.conversation.id;
    let agent = pick(rng, agents).clone();
    if SPAM.contains(&fate) {
        let _ = store
            .act_on_conversation(
                account,
                id,
                FolderAction::MarkSpam,
                Actor::Agent(agent.id),
                at.plus_minutes(5),
            )
            .await;
        return Ok(());
    }
    if fate < 70 {
        store
            .assign_conversation(
                account,
                id,
                Some(agent.id),
                Actor::Agent(agent.id),
                at.plus_minutes(2),
            )
            .await?;
    }
    if rng.random_bool(0.3) {
        let tags: Vec<String> = (0..rng.random_range(1..3))
            .map(|_| (*pick(rng, TAGS)).to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        store
            .set_tags(
                account,
                id,
                &tags,
                Actor::Agent(agent.id),
                at.plus_minutes(3),
            )
            .await?;
    }
    if rng.random_bool(0.25) {
        let note = NewAgentMessage {
            agent_id: agent.id,
            body: (*pick(rng, NOTES)).into(),
            private: true,
            idempotency_key: None,
            email_message_id: None,
            chat_email_at: None,
            attachments: Vec::new(),
        };
        store
            .post_agent_message(account, id, note, at.plus_minutes(4))
            .await?;
    }
    if fate >= 25 {
        let reply = NewAgentMessage {
            agent_id: agent.id,
            body: (*pick(rng, REPLIES)).into(),
            private: false,
            idempotency_key: None,
            email_message_id: None,
            chat_email_at: None,
            attachments: Vec::new(),
        };
        store
            .post_agent_message(account, id, reply, at.plus_minutes(9))
            .await?;
        if rng.random_bool(0.4) {
            let follow_up = NewContactMessage {
                body: (*pick(rng, FOLLOW_UPS)).into(),
                conversation_id: Some(id),
                ..NewContactMessage::default()
            };
            store
                .post_contact_message(
                    account,
                    inbox.id,
                    contact.id,
                    follow_up,
                    at.plus_minutes(30),
                )
                .await?;
        }
    }
    let action = match fate {
        45..=69 => Some(FolderAction::Close),
        70..=79 => Some(FolderAction::Snooze {
            minutes: rng.random_range(60..=1440),
        }),
        86..=90 => Some(FolderAction::Delete),
        _ => None,
    };
    if let Some(action) = action {
        // Snoozes are set "now", so they wake in the future.
        let when = match action {
            FolderAction::Snooze { .. } => now,
            _ => at.plus_minutes(40),
        };
        // A move the folder rules refuse is simply skipped.
        let _ = store
            .act_on_conversation(account, id, action, Actor::Agent(agent.id), when)
            .await;
    }
    Ok(())
}

/// The public token of the demo workspace's first chat inbox, to try the
/// widget on `/try-widget.html` (none when the demo admin is gone).
pub async fn chat_token(store: &dyn Store) -> anyhow::Result<Option<String>> {
    let Some((admin, _)) = store.agent_for_login(ADMIN_EMAIL).await? else {
        return Ok(None);
    };
    let inboxes = store.list_inboxes(admin.account_id).await?;
    Ok(inboxes
        .into_iter()
        .find(|inbox| inbox.kind == confab_domain::InboxKind::Chat)
        .map(|inbox| inbox.token))
}
