//! Fresh servers with ready accounts: a temp dir, databases, `confab serve`
//! processes, and per account a chat inbox and a few contact sessions.

use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};

use crate::server::{self, Credentials, Server};
use crate::{api, postgres};

/// An account as the scenarios use it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub token: String,
    pub inbox: String,
    pub contacts: Vec<String>,
}

/// Running servers over one database, with accounts.
pub struct Fixture {
    pub servers: Vec<Server>,
    pub accounts: Vec<Account>,
    /// The database the servers run on.
    pub database_url: String,
    /// The PostgreSQL database made for this run, dropped on release.
    database: Option<String>,
}

impl Fixture {
    pub fn bases(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.base.clone()).collect()
    }
}

/// Where databases come from.
enum Database {
    /// A SQLite template bootstrapped once and copied for every run (the
    /// CLI takes ~0.1 s per account; copying is instant).
    Sqlite,
    /// PostgreSQL: a database made on this server for every run.
    Postgres { server_url: String },
}

/// The temp dir and everything made in it.
pub struct Lab {
    pub confab: PathBuf,
    pub dir: PathBuf,
    database: Database,
    nats_url: Option<String>,
    credentials: Vec<Credentials>,
    runs: usize,
    keep: bool,
}

impl Lab {
    pub fn new(
        confab: &Path,
        database_url: Option<&str>,
        nats_url: Option<&str>,
        temp_dir: Option<&Path>,
        keep: bool,
    ) -> anyhow::Result<Lab> {
        let confab = std::fs::canonicalize(confab)
            .with_context(|| format!("no confab binary at {}", confab.display()))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        let dir = temp_dir
            .map_or_else(std::env::temp_dir, Path::to_path_buf)
            .join(format!("confab-bench-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let database = match database_url {
            Some(url) => Database::Postgres {
                server_url: url.into(),
            },
            None => Database::Sqlite,
        };
        Ok(Lab {
            confab,
            dir,
            database,
            nats_url: nats_url.map(str::to_string),
            credentials: Vec::new(),
            runs: 0,
            keep,
        })
    }

    /// A fresh database with `count` bootstrapped accounts: its URL, the
    /// accounts, and the PostgreSQL database name to drop afterwards.
    async fn database(
        &mut self,
        count: usize,
    ) -> anyhow::Result<(String, Vec<Credentials>, Option<String>)> {
        self.runs += 1;
        let run = self.runs;
        match &self.database {
            Database::Postgres { server_url } => {
                let name = format!("confab_bench_{}_{run}", std::process::id());
                let url = postgres::create(server_url, &name).await?;
                let names: Vec<String> = (0..count).map(|i| format!("bench-{i}")).collect();
                let credentials = bootstrap_in_parallel(&self.confab, &url, &names)?;
                Ok((url, credentials, Some(name)))
            }
            Database::Sqlite => {
                let template_dir = self.dir.join("template");
                std::fs::create_dir_all(&template_dir)?;
                let template_url = format!("sqlite://{}/confab.db", template_dir.display());
                while self.credentials.len() < count {
                    let name = format!("bench-{}", self.credentials.len());
                    self.credentials
                        .push(server::bootstrap(&self.confab, &template_url, &name)?);
                }
                let run_dir = self.dir.join(format!("run-{run}"));
                std::fs::create_dir_all(&run_dir)?;
                for file in ["confab.db", "confab.db-wal"] {
                    let from = template_dir.join(file);
                    if from.exists() {
                        std::fs::copy(&from, run_dir.join(file))?;
                    }
                }
                let url = format!("sqlite://{}/confab.db", run_dir.display());
                Ok((url, self.credentials[..count].to_vec(), None))
            }
        }
    }

    /// Fresh servers over a fresh database with `count` ready accounts.
    pub async fn fixture(
        &mut self,
        servers: usize,
        count: usize,
        contacts: usize,
    ) -> anyhow::Result<Fixture> {
        let (url, credentials, database) = self.database(count).await?;
        let mut fixture = Fixture {
            servers: Vec::new(),
            accounts: Vec::new(),
            database_url: url.clone(),
            database,
        };
        let started = self.start(&mut fixture, &url, servers, credentials, contacts);
        match started.await {
            Ok(()) => Ok(fixture),
            Err(error) => {
                self.release(fixture).await;
                Err(error)
            }
        }
    }

    async fn start(
        &self,
        fixture: &mut Fixture,
        url: &str,
        servers: usize,
        credentials: Vec<Credentials>,
        contacts: usize,
    ) -> anyhow::Result<()> {
        for n in 0..servers {
            let log = self.dir.join(format!("serve-{}-{n}.log", self.runs));
            let nats = self.nats_url.as_deref().filter(|_| servers > 1);
            let server = Server::start(&self.confab, url, nats, log).await?;
            fixture.servers.push(server);
        }
        let base = fixture.servers[0].base.clone();
        fixture.accounts = prepare(&base, credentials, contacts).await?;
        Ok(())
    }

    /// Stops the fixture's servers and drops its PostgreSQL database.
    pub async fn release(&self, fixture: Fixture) {
        for server in fixture.servers {
            server.stop().await;
        }
        if let (Some(name), Database::Postgres { server_url }) = (fixture.database, &self.database)
        {
            if self.keep {
                eprintln!("kept database {name}");
            } else if let Err(error) = postgres::drop(server_url, &name).await {
                eprintln!("warning: {error:#}");
            }
        }
    }
}

/// `confab admin bootstrap` for each name, four at a time (PostgreSQL takes it).
fn bootstrap_in_parallel(
    confab: &Path,
    url: &str,
    names: &[String],
) -> anyhow::Result<Vec<Credentials>> {
    let chunk = names.len().div_ceil(4).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = names
            .chunks(chunk)
            .map(|names| {
                scope.spawn(move || {
                    names
                        .iter()
                        .map(|name| server::bootstrap(confab, url, name))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(names.len());
        for worker in workers {
            all.extend(worker.join().expect("a bootstrap thread")?);
        }
        Ok(all)
    })
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Creates each account's chat inbox and contact sessions through the API.
async fn prepare(
    base: &str,
    credentials: Vec<Credentials>,
    contacts: usize,
) -> anyhow::Result<Vec<Account>> {
    let client = api::client();
    futures::stream::iter(credentials)
        .map(|c| {
            let client = client.clone();
            async move {
                let inbox = api::create_inbox(&client, base, c.account, &c.token).await?;
                let mut tokens = Vec::with_capacity(contacts);
                for _ in 0..contacts {
                    tokens.push(api::contact_session(&client, base, &inbox).await?);
                }
                anyhow::Ok(Account {
                    id: c.account,
                    token: c.token,
                    inbox,
                    contacts: tokens,
                })
            }
        })
        .buffered(16)
        .try_collect()
        .await
}
