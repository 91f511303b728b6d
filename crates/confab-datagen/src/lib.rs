//! `confab-datagen`: fills an empty SQLite or PostgreSQL database with a
//! realistic help-desk workspace, fast — for issue 6's performance work.
//!
//! The database is opened through the real store (so its migrations run)
//! and the accounts, agents and inboxes are made through the store's API.
//! The history — contacts, conversations, messages, tags, delivered e-mail
//! replies — is then written with raw sqlx in big batched transactions, with
//! every derived column filled as the stores' write path fills it (see
//! [`generate`]) and the search indexes filled as the stores fill them
//! (SQLite: each message's FTS5 row written beside it, as the store does;
//! conversations' by the schema's trigger; PostgreSQL: generated
//! `tsvector` columns).
//!
//! The history writes **no events**: the event log is what happened since
//! the server (or the generator) started streaming, and only the setup made
//! through the store logs its events (`inbox.created`, …). The accounts'
//! event counters match the log, so the next change through the store takes
//! the next sequence number.

pub mod generate;
mod people;
pub mod rows;
pub mod sink;
pub mod text;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use confab_domain::{AccountId, FolderCounts, InboxKind, Role, Timestamp};
use confab_store::{NewAgent, NewInbox, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::generate::{AccountSetup, Generator};
use crate::sink::Sink;

/// The password of every generated agent.
pub const AGENT_PASSWORD: &str = "datagen-password";

/// What to make.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://path` or `postgres://…`; the database must have no account yet.
    pub database_url: String,
    pub conversations: u64,
    /// Average messages per conversation.
    pub messages_per_conversation: f64,
    pub seed: u64,
    pub accounts: u32,
    /// "Now" for the history: it ends here, snoozes wake after it. With the
    /// same seed and now, the same rows come out.
    pub now: Timestamp,
    /// Conversations per transaction.
    pub batch_conversations: usize,
    /// Print progress lines to stdout.
    pub progress: bool,
}

/// One generated account.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: AccountId,
    pub admin_email: String,
    pub folders: FolderCounts,
    pub conversations: i64,
}

/// What was written, and how fast.
#[derive(Debug, Clone)]
pub struct Summary {
    pub accounts: Vec<AccountSummary>,
    pub contacts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub private_notes: u64,
    pub tags: u64,
    /// Messages carrying each planted word.
    pub planted: Vec<(&'static str, u64)>,
    /// The bulk fill (after the setup through the store).
    pub elapsed: Duration,
    pub database_bytes: u64,
}

impl Summary {
    pub fn conversations_per_second(&self) -> f64 {
        self.conversations as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            confab_store_sqlite::SqliteStore::connect(url)
                .await
                .with_context(|| format!("opening {url}"))?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            confab_store_postgres::PostgresStore::connect(url)
                .await
                .context("connecting to PostgreSQL")?,
        ))
    } else {
        bail!("--database-url must start with sqlite:// or postgres:// (got {url:?})")
    }
}

fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the agents' password: {e}"))
}

/// Makes the accounts, their agents and inboxes through the store.
async fn set_up(store: &dyn Store, config: &Config) -> anyhow::Result<Vec<AccountSetup>> {
    if store.count_accounts().await? > 0 {
        bail!("the database already has accounts: confab-datagen fills an empty database");
    }
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0x5e7_u64);
    let password_hash = hash_password(AGENT_PASSWORD)?;
    let at = config.now.plus_millis(-generate::HISTORY - 24 * 3_600_000);
    let accounts = config.accounts.max(1);
    let mut setups = Vec::new();
    for n in 1..=accounts {
        let domain = format!("a{n}.datagen.confab.test");
        let share = config.conversations / u64::from(accounts)
            + u64::from(u64::from(n) <= config.conversations % u64::from(accounts));
        let (account, admin) = store
            .create_account(
                &format!("Datagen workspace {n}"),
                NewAgent {
                    name: "Ada Admin".into(),
                    email: format!("admin@{domain}"),
                    password_hash: password_hash.clone(),
                    role: Role::Admin,
                },
                at,
            )
            .await?;
        let mut agents = vec![admin.id];
        for name in ["Bruno", "Camila", "Daniel", "Emily", "Felipe"] {
            let agent = store
                .add_agent(
                    account.id,
                    NewAgent {
                        name: format!("{name} Agent"),
                        email: format!("{}@{domain}", name.to_lowercase()),
                        password_hash: password_hash.clone(),
                        role: Role::Agent,
                    },
                    at,
                )
                .await?;
            agents.push(agent.id);
        }
        let mut inboxes = Vec::new();
        for (name, kind, address) in [
            ("Website chat", InboxKind::Chat, None),
            ("Mobile app", InboxKind::InApp, None),
            (
                "Support e-mail",
                InboxKind::Email,
                Some(format!("support@{domain}")),
            ),
            ("Contact form", InboxKind::Form, None),
            ("Help center chat", InboxKind::Chat, None),
        ] {
            let inbox = store
                .create_inbox(
                    account.id,
                    NewInbox {
                        name: name.into(),
                        kind,
                        token: format!("datagen-{n}-{}-{}", inboxes.len(), kind.as_str()),
                        email_address: address,
                        identity_secret: format!(
                            "{:032x}{:032x}",
                            rng.random::<u128>(),
                            rng.random::<u128>()
                        ),
                    },
                    at,
                )
                .await?;
            inboxes.push((inbox.id, kind));
        }
        setups.push(AccountSetup {
            id: account.id,
            agents,
            inboxes,
            conversations: share,
        });
    }
    Ok(setups)
}

/// Fills the database as `config` says.
pub async fn generate(config: &Config) -> anyhow::Result<Summary> {
    let store = open_store(&config.database_url).await?;
    let setups = set_up(store.as_ref(), config).await?;
    // The bulk rows go through a connection of our own; the store's SQLite
    // writer thread ends with it.
    drop(store);
    let sink = Sink::open(&config.database_url).await?;
    let first = sink.first_ids().await?;
    let admin_emails: Vec<(AccountId, String)> = setups
        .iter()
        .enumerate()
        .map(|(n, s)| (s.id, format!("admin@a{}.datagen.confab.test", n + 1)))
        .collect();

    let started = Instant::now();
    let (send, mut batches) = tokio::sync::mpsc::channel(2);
    let batch_size = config.batch_conversations.max(1);
    let mut generator = Generator::new(
        config.seed,
        config.now,
        config.messages_per_conversation,
        setups,
        first,
    );
    // Making text and writing it overlap: one thread makes, this task writes.
    let maker = std::thread::spawn(move || {
        while let Some(batch) = generator.next_batch(batch_size) {
            if send.blocking_send(batch).is_err() {
                break;
            }
        }
        generator.made
    });
    let (mut conversations, mut messages) = (0u64, 0u64);
    let mut last_print = Instant::now();
    while let Some(batch) = batches.recv().await {
        sink.write(&batch).await?;
        conversations += batch.conversations.len() as u64;
        messages += batch.messages.len() as u64;
        if config.progress && last_print.elapsed() >= Duration::from_secs(5) {
            last_print = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "  {conversations:>10} / {} conversations, {messages:>11} messages, {:.0} s ({:.0} conversations/s, {:.0} messages/s)",
                config.conversations,
                secs,
                conversations as f64 / secs,
                messages as f64 / secs
            );
        }
    }
    let made = maker
        .join()
        .map_err(|_| anyhow::anyhow!("the generator thread panicked"))?;
    let last_numbers: Vec<(i64, i64)> = admin_emails
        .iter()
        .zip(&made.last_numbers)
        .map(|((id, _), number)| (id.0, *number))
        .collect();
    sink.finish(&last_numbers).await?;
    let elapsed = started.elapsed();
    let database_bytes = sink.size().await?;
    sink.close().await;

    Ok(Summary {
        accounts: admin_emails
            .into_iter()
            .zip(made.folders.iter().zip(&made.last_numbers))
            .map(|((id, admin_email), (folders, number))| AccountSummary {
                id,
                admin_email,
                folders: folders.clone(),
                conversations: *number,
            })
            .collect(),
        contacts: made.contacts,
        conversations: made.conversations,
        messages: made.messages,
        private_notes: made.private_notes,
        tags: made.tags,
        planted: text::PLANTED
            .iter()
            .map(|(word, period, offset)| {
                (*word, text::planted_count(*period, *offset, made.messages))
            })
            .collect(),
        elapsed,
        database_bytes,
    })
}
