//! `confab-datagen`: fills an empty SQLite or PostgreSQL database with a
//! realistic help-desk workspace (see docs/benchmarks.md, "Data generator").

use std::process::ExitCode;

use clap::Parser;
use confab_datagen::{AGENT_PASSWORD, Config, Summary};
use confab_domain::{Folder, Timestamp};

#[derive(Parser, Debug)]
#[command(
    name = "confab-datagen",
    about = "Fills an empty Confab database (SQLite or PostgreSQL) with a realistic workspace: \
             contacts, conversations in every folder, messages, tags"
)]
struct Args {
    /// `sqlite://path/to/file.db` (created if missing) or `postgres://…`;
    /// the database must not have an account yet.
    #[arg(long, env = "CONFAB_DATABASE_URL")]
    database_url: String,
    /// Conversations to make (spread evenly over the accounts).
    #[arg(long)]
    conversations: u64,
    /// Average messages per conversation (private notes included).
    #[arg(long, default_value_t = 10.0)]
    messages_per_conversation: f64,
    /// Seed of the pseudo-random history: the same seed and `--now` give the same rows.
    #[arg(long, default_value_t = 6)]
    seed: u64,
    /// Accounts (workspaces).
    #[arg(long, default_value_t = 1)]
    accounts: u32,
    /// Where the history ends (RFC 3339); default: the current time. Snoozed
    /// conversations wake within 24 hours of it and the trash holds
    /// conversations deleted in the 29 days before it.
    #[arg(long)]
    now: Option<String>,
    /// Conversations per transaction.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let now = match args.now.as_deref() {
        None => Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default(),
        ),
        Some(text) => match Timestamp::parse_rfc3339(text) {
            Some(at) => at,
            None => {
                eprintln!("confab-datagen: --now {text:?} is not an RFC 3339 date-time");
                return ExitCode::from(2);
            }
        },
    };
    let config = Config {
        database_url: args.database_url,
        conversations: args.conversations,
        messages_per_conversation: args.messages_per_conversation,
        seed: args.seed,
        accounts: args.accounts,
        now,
        batch_conversations: args.batch,
        progress: true,
    };
    println!(
        "confab-datagen: {} conversations, ~{} messages each, {} account(s), seed {}, history ending {}",
        config.conversations,
        config.messages_per_conversation,
        config.accounts,
        config.seed,
        now.to_rfc3339()
    );
    match confab_datagen::generate(&config).await {
        Ok(summary) => {
            print_summary(&summary);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("confab-datagen: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn print_summary(summary: &Summary) {
    let secs = summary.elapsed.as_secs_f64();
    println!(
        "wrote {} contacts, {} conversations, {} messages ({} private notes), {} tags in {secs:.1} s",
        summary.contacts,
        summary.conversations,
        summary.messages,
        summary.private_notes,
        summary.tags
    );
    println!(
        "rate: {:.0} conversations/s, {:.0} messages/s; database size {:.1} MiB",
        summary.conversations_per_second(),
        summary.messages_per_second(),
        summary.database_bytes as f64 / (1024.0 * 1024.0)
    );
    for account in &summary.accounts {
        let counts = &account.folders;
        let folders: Vec<String> = Folder::ALL
            .iter()
            .map(|folder| {
                let n = match folder {
                    Folder::Open => counts.open,
                    Folder::Answered => counts.answered,
                    Folder::Closed => counts.closed,
                    Folder::Snoozed => counts.snoozed,
                    Folder::Deleted => counts.deleted,
                    Folder::Spam => counts.spam,
                };
                format!("{} {n}", folder.as_str())
            })
            .collect();
        println!(
            "account {} ({} conversations; sign in as {} / {AGENT_PASSWORD}): {}",
            account.id,
            account.conversations,
            account.admin_email,
            folders.join(", ")
        );
    }
    let planted: Vec<String> = summary
        .planted
        .iter()
        .map(|(word, n)| format!("{word:?} in {n} messages"))
        .collect();
    println!("planted search words: {}", planted.join(", "));
}
