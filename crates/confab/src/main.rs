//! `confab`: serve the help desk, apply migrations, script installs.

mod allocator;
mod config;
mod demo;
mod store;

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use confab_domain::{AccountId, Role, validate};
use confab_server::{AppState, Clock, SystemClock};
use confab_store::{CredentialKind, NewAgent};

use crate::config::{DatabaseArgs, ServeArgs};

#[derive(Parser)]
#[command(
    name = "confab",
    version,
    about = "Confab, the help desk in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (HTTP API, UI, scheduler). Applies migrations first.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Scripted administration.
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Subcommand)]
enum Admin {
    /// Create an account with its first admin; prints {account_id, agent_id, token}.
    Bootstrap {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long)]
        account: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// The admin's display name (default: the part of the e-mail before @).
        #[arg(long)]
        name: Option<String>,
    },
    /// Add an agent to an account; prints {account_id, agent_id, token}.
    AddAgent {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long)]
        account: i64,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "agent", value_parser = ["agent", "admin"])]
        role: String,
    },
}

fn main() -> anyhow::Result<()> {
    allocator::limit_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONFAB_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(args) => {
            store::open(&args.url()).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Admin(Admin::Bootstrap {
            database,
            account,
            email,
            password,
            name,
        }) => {
            let store = store::open(&database.url()).await?;
            let (agent, token) = new_agent(&email, &password, name)?;
            let agent = NewAgent {
                password_hash: hash(agent.password_hash).await?,
                ..agent
            };
            let account_name =
                validate::required_text("account", &account, validate::MAX_NAME_CHARS)?;
            let (account, agent) = store
                .create_account(&account_name, agent, SystemClock.now())
                .await?;
            print_credentials(store.as_ref(), account.id, agent.id, token).await
        }
        Command::Admin(Admin::AddAgent {
            database,
            account,
            email,
            password,
            name,
            role,
        }) => {
            let store = store::open(&database.url()).await?;
            let (agent, token) = new_agent(&email, &password, name)?;
            let role = Role::parse(&role).unwrap_or(Role::Agent);
            let agent = NewAgent {
                password_hash: hash(agent.password_hash).await?,
                role,
                ..agent
            };
            let agent = store
                .add_agent(AccountId(account), agent, SystemClock.now())
                .await?;
            print_credentials(store.as_ref(), agent.account_id, agent.id, token).await
        }
    }
}

/// Validates an agent's fields; the password is hashed by the caller.
fn new_agent(
    email: &str,
    password: &str,
    name: Option<String>,
) -> anyhow::Result<(NewAgent, String)> {
    let email = validate::email("email", email)?;
    validate::password(password)?;
    let name = match name {
        Some(name) => validate::required_text("name", &name, validate::MAX_NAME_CHARS)?,
        None => email.split('@').next().unwrap_or("admin").to_string(),
    };
    let agent = NewAgent {
        name,
        email,
        password_hash: password.to_string(),
        role: Role::Admin,
    };
    Ok((agent, confab_server::auth::new_token()))
}

async fn hash(password: String) -> anyhow::Result<String> {
    confab_server::auth::hash_password(password)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))
}

async fn print_credentials(
    store: &dyn confab_store::Store,
    account: AccountId,
    agent: confab_domain::AgentId,
    token: String,
) -> anyhow::Result<()> {
    let hash = confab_server::auth::token_hash(&token);
    store
        .create_credential(
            agent,
            CredentialKind::ApiToken,
            &hash,
            None,
            SystemClock.now(),
        )
        .await?;
    println!(
        "{}",
        serde_json::json!({"account_id": account, "agent_id": agent, "token": token})
    );
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.resolve()?;
    if settings.nats_url.is_some() && settings.database_url.starts_with("sqlite:") {
        anyhow::bail!(
            "--nats-url joins instances that share one PostgreSQL database: use a postgres:// --database-url"
        );
    }
    let store = store::open(&settings.database_url).await?;
    allocator::spawn_trimmer();
    if settings.demo {
        let password_hash = hash(demo::ADMIN_PASSWORD.into()).await?;
        if demo::seed(store.as_ref(), password_hash, SystemClock.now()).await? {
            eprintln!(
                "Demo workspace created: sign in as {} / {}",
                demo::ADMIN_EMAIL,
                demo::ADMIN_PASSWORD
            );
        }
    }
    let mut state = AppState::new(store, Arc::new(SystemClock), settings.server);
    if settings.dev_clock {
        tracing::warn!("--dev-clock: admins can move this server's clock forward (tests only)");
        state = state.with_dev_clock();
    }
    if let Some(url) = &settings.nats_url {
        let cluster = confab_server::events::cluster::Cluster::connect(url)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        state.hub.join(Arc::new(cluster));
        tracing::info!(%url, "joined the cluster");
    }
    let scheduler = tokio::spawn(confab_server::scheduler::run_snooze_scheduler(
        state.clone(),
    ));
    let webhooks = tokio::spawn(confab_server::webhooks::dispatcher::run_webhook_dispatcher(
        state.clone(),
    ));
    let mail = start_mail(&settings.mail, &state).await?;
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, database = state.store.backend(), "confab is serving");
    // One write: stderr is unbuffered, and `eprintln!` writes its pieces
    // one by one — a reader of this line (the UI tests, a script) could
    // see the address cut short.
    let line = format!("Confab is running at http://{address} (press Ctrl+C to stop)\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    if settings.demo
        && let Some(token) = demo::chat_token(state.store.as_ref()).await?
    {
        eprintln!("Try the chat widget: http://{address}/try-widget.html?inbox={token}");
    }
    confab_server::serve(listener, state, shutdown_signal()).await?;
    scheduler.abort();
    webhooks.abort();
    mail.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// The mail tasks `serve` runs: the SMTP listener and the outbox sender.
struct MailTasks {
    stop: Arc<tokio::sync::Notify>,
    listener: Option<tokio::task::JoinHandle<()>>,
    outbox: Option<tokio::task::JoinHandle<()>>,
}

impl MailTasks {
    async fn stop(self) {
        self.stop.notify_one();
        if let Some(listener) = self.listener {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), listener).await;
        }
        if let Some(outbox) = self.outbox {
            outbox.abort();
        }
    }
}

async fn start_mail(
    settings: &config::MailSettings,
    state: &AppState,
) -> anyhow::Result<MailTasks> {
    use confab_mail::smtp::{SmtpConfig, SmtpTls};
    use confab_server::mail::{inbound::InboxMail, outbound};
    let stop = Arc::new(tokio::sync::Notify::new());
    let domain = state.config.mail_domain();
    let from = settings
        .from
        .clone()
        .unwrap_or_else(|| format!("noreply@{domain}"));
    let mut status = confab_server::mail::status::MailStatus {
        from: Some(from.clone()),
        ..Default::default()
    };
    let outbox = match &settings.relay {
        Some(url) => {
            let relay =
                outbound::Relay::from_url(url, from.clone()).map_err(|e| anyhow::anyhow!(e))?;
            status.relay = Some(confab_server::mail::status::relay_label(url));
            tracing::info!(relay = %status.relay.as_deref().unwrap_or_default(), "e-mail replies leave through the relay");
            Some(tokio::spawn(outbound::run_outbox(state.clone(), relay)))
        }
        None => None,
    };
    let listener = match &settings.listen {
        Some(address) => {
            let mut config = SmtpConfig::new(domain);
            config.max_message_size = settings.max_message_bytes;
            if let Some((cert, key)) = &settings.tls {
                let cert =
                    std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
                let key =
                    std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
                config.tls =
                    Some(SmtpTls::from_pem(&cert, &key).map_err(|e| anyhow::anyhow!("{e}"))?);
            }
            let socket = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("listening for mail on {address}"))?;
            let bound = socket.local_addr()?;
            eprintln!("Confab receives mail at smtp://{bound}");
            status.receiving = Some(format!("smtp://{bound}"));
            let sink = InboxMail::new(state.clone(), Some(from));
            let stopped = stop.clone();
            Some(tokio::spawn(confab_mail::smtp::serve(
                socket,
                config,
                sink,
                async move { stopped.notified().await },
            )))
        }
        None => None,
    };
    let _ = state.mail.set(status);
    Ok(MailTasks {
        stop,
        listener,
        outbox,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
