//! Command-line settings and the scenarios they resolve to.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "confab-bench",
    about = "Measures real-time delivery of `confab serve`: contact POST to agent WebSocket \
             latency, and memory per idle WebSocket"
)]
pub struct Args {
    /// The `confab` binary to start.
    #[arg(long, default_value = "target/release/confab")]
    pub confab: PathBuf,
    /// Which parts to run (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "a,b,memory")]
    pub scenario: Vec<Part>,
    /// Measured seconds per latency run (default 10; 2 with --quick).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Unmeasured warm-up seconds before each latency run (default 2; 0.5 with --quick).
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Runs per latency scenario; the report gives the median (default 3; 1 with --quick).
    #[arg(long)]
    pub runs: Option<usize>,
    /// Idle agent sockets for the memory figure (default 2000; 50 with --quick).
    #[arg(long)]
    pub idle_sockets: Option<usize>,
    /// Messages per second for the latency scenarios, instead of theirs
    /// (to find where a target is lost).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Concurrent open-loop senders, each on its own share of the fixed schedule.
    #[arg(long, default_value_t = 50)]
    pub senders: usize,
    /// Contacts (so conversations) writing per account.
    #[arg(long, default_value_t = 4)]
    pub contacts: usize,
    /// `confab serve` instances; more than one needs PostgreSQL and `--nats-url`.
    #[arg(long, default_value_t = 1)]
    pub servers: usize,
    /// A PostgreSQL server to run on instead of SQLite, e.g.
    /// postgres://postgres@127.0.0.1:5432/test: every run creates (and then
    /// drops) a database of its own there. Default: a fresh SQLite file per run.
    #[arg(long)]
    pub database_url: Option<String>,
    /// NATS for the cluster case (`--servers` > 1).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Smoke mode: 3 accounts × 2 sockets, 20 msg/s, 2 s, one run, 50 idle sockets.
    #[arg(long)]
    pub quick: bool,
    /// Replace (or append) the bench's section of this Markdown file with the figures.
    #[arg(long)]
    pub write_markdown: Option<PathBuf>,
    /// What the confab binary was built from, for the report (default: the
    /// current dir's git HEAD, marked when the work tree has uncommitted changes).
    #[arg(long)]
    pub revision: Option<String>,
    /// Where to make the temp dir (databases, logs); e.g. /dev/shm to take
    /// the disk's fsync out of the figures. Default: the system temp dir.
    #[arg(long)]
    pub temp_dir: Option<PathBuf>,
    /// The Markdown section to write (default: streams, streams-postgres
    /// or streams-cluster, by database and server count).
    #[arg(long)]
    pub section: Option<String>,
    /// Write CSVs per latency run into this directory, to see where the time
    /// goes: per message (sent, POST round trip, slowest delivery) and per
    /// socket (p50, p99, max).
    #[arg(long)]
    pub trace_dir: Option<PathBuf>,
    /// Keep the temp dir (databases, server logs) for inspection; with
    /// `scale`, the filled SQLite file can then be passed to `--scale-data`.
    #[arg(long)]
    pub keep: bool,
    /// `scale`: conversations confab-datagen fills (about 10 messages each;
    /// default 1,000,000; 5,000 with --quick).
    #[arg(long)]
    pub scale_conversations: Option<u64>,
    /// `scale`: a SQLite file already filled by confab-datagen, used instead
    /// of filling one (the server may change it: due snoozes wake); or, with
    /// `--database-url`, a `postgres://…` database filled the same way (kept).
    #[arg(long)]
    pub scale_data: Option<PathBuf>,
    /// `scale`: the generator's seed.
    #[arg(long, default_value_t = 6)]
    pub scale_seed: u64,
    /// `ingest`: contact POSTs in flight at once (closed loop, keep-alive
    /// connections); several, comma-separated, measure one row each
    /// (default 128,512; 8 with --quick).
    #[arg(long, value_delimiter = ',')]
    pub ingest_concurrency: Vec<usize>,
    /// `ingest`: accounts, each with a chat inbox (default 8; 2 with --quick).
    #[arg(long)]
    pub ingest_accounts: Option<usize>,
    /// `ingest`: contacts (so conversations) per account (default 128; 8 with --quick).
    #[arg(long)]
    pub ingest_contacts: Option<usize>,
    /// `ingest`: idle agent sockets per account reading the events, so every
    /// message is fanned out (default 2).
    #[arg(long, default_value_t = 2)]
    pub ingest_sockets: usize,
    /// `ingest`: messages per transaction for the raw limit.
    #[arg(long, default_value_t = 1000)]
    pub raw_batch: usize,
    /// `ingest` on PostgreSQL: pgbench's connections for the raw limit
    /// (its rate is flat from 4 to 12 on two cores and falls beyond).
    #[arg(long, default_value_t = 8)]
    pub pgbench_clients: usize,
    /// `load`: the send rates (messages/s) at which scenario (a) is run for
    /// the latency-against-load chart (default 250,500,1000,1500,2000;
    /// 10,20 with --quick).
    #[arg(long, value_delimiter = ',')]
    pub load_rates: Option<Vec<f64>>,
    /// `load`: where to draw the chart (PNG). Default: latency-vs-load.png
    /// beside the --write-markdown file, or in the current dir without it.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// `load`: the TrueType font for the chart's text (read at run time; none
    /// is shipped with the bench).
    #[arg(
        long,
        default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    )]
    pub chart_font: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// 100 accounts × 10 agent sockets, 1,000 messages/s.
    A,
    /// One account with 1,000 agent sockets, 100 messages/s.
    B,
    /// Memory per idle agent socket.
    Memory,
    /// Issue 6's query side at scale: a database filled by confab-datagen,
    /// start-up time and idle memory, inbox list, counts and search latency.
    /// Runs on its own.
    Scale,
    /// Issue 6's write side: contact-message ingest over HTTP (closed loop,
    /// persisted messages/s) against the raw limit of batched inserts into
    /// the same schema in the same run (on PostgreSQL: pgbench writing the
    /// same rows). Runs on its own.
    Ingest,
    /// Scenario (a) at several send rates (`--load-rates`): p50/p99 delivery
    /// latency against load, as a table and a PNG chart. Runs on its own.
    Load,
}

/// One latency scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    pub key: &'static str,
    pub accounts: usize,
    pub sockets_per_account: usize,
    /// Messages per second over all accounts.
    pub rate: f64,
    pub target_p99_ms: f64,
}

impl Plan {
    pub fn title(&self) -> String {
        format!(
            "({}) {} account{} × {} agent sockets, {} msg/s",
            self.key,
            self.accounts,
            if self.accounts == 1 { "" } else { "s" },
            self.sockets_per_account,
            self.rate
        )
    }
}

/// Settings shared by every latency run.
#[derive(Debug, Clone)]
pub struct Timing {
    pub duration: Duration,
    pub warmup: Duration,
    pub senders: usize,
    pub contacts: usize,
}

impl Args {
    pub fn plans(&self) -> Vec<Plan> {
        let mut plans = self.standard_plans();
        if let Some(rate) = self.rate.filter(|r| *r > 0.0) {
            for plan in &mut plans {
                plan.rate = rate;
            }
        }
        plans
    }

    fn standard_plans(&self) -> Vec<Plan> {
        if self.quick {
            let wanted = self.scenario.iter().any(|p| matches!(p, Part::A | Part::B));
            return wanted
                .then_some(Plan {
                    key: "quick",
                    accounts: 3,
                    sockets_per_account: 2,
                    rate: 20.0,
                    target_p99_ms: 25.0,
                })
                .into_iter()
                .collect();
        }
        let mut plans = Vec::new();
        if self.scenario.contains(&Part::A) {
            plans.push(Plan {
                key: "a",
                accounts: 100,
                sockets_per_account: 10,
                rate: 1000.0,
                target_p99_ms: 10.0,
            });
        }
        if self.scenario.contains(&Part::B) {
            plans.push(Plan {
                key: "b",
                accounts: 1,
                sockets_per_account: 1000,
                rate: 100.0,
                target_p99_ms: 25.0,
            });
        }
        plans
    }

    pub fn timing(&self) -> Timing {
        let (duration, warmup) = if self.quick { (2.0, 0.5) } else { (10.0, 2.0) };
        Timing {
            duration: Duration::from_secs_f64(self.duration.unwrap_or(duration)),
            warmup: Duration::from_secs_f64(self.warmup.unwrap_or(warmup)),
            senders: self.senders.max(1),
            contacts: self.contacts.max(1),
        }
    }

    pub fn scale_conversations(&self) -> u64 {
        self.scale_conversations
            .unwrap_or(if self.quick { 5_000 } else { 1_000_000 })
            .max(1)
    }

    pub fn runs(&self) -> usize {
        self.runs.unwrap_or(if self.quick { 1 } else { 3 }).max(1)
    }

    /// Whether one of the scenarios that run on their own was asked for.
    pub fn alone(&self) -> Option<Part> {
        [Part::Scale, Part::Ingest, Part::Load]
            .into_iter()
            .find(|p| self.scenario.contains(p))
    }

    /// The numbers of `POST`s in flight to measure, a table row each: a
    /// moderate load and a high one (beyond 256 on two CPUs the rate's gain
    /// was within the runs' spread while the `POST`'s wait doubled).
    pub fn ingest_concurrency(&self) -> Vec<usize> {
        if !self.ingest_concurrency.is_empty() {
            self.ingest_concurrency.iter().map(|&c| c.max(1)).collect()
        } else if self.quick {
            vec![8]
        } else {
            vec![128, 512]
        }
    }

    pub fn ingest_accounts(&self) -> usize {
        self.ingest_accounts
            .unwrap_or(if self.quick { 2 } else { 8 })
            .max(1)
    }

    pub fn ingest_contacts(&self) -> usize {
        self.ingest_contacts
            .unwrap_or(if self.quick { 8 } else { 128 })
            .max(1)
    }

    /// The send rates of the latency-against-load chart, ascending.
    pub fn load_rates(&self) -> Vec<f64> {
        let mut rates: Vec<f64> = match &self.load_rates {
            Some(rates) => rates.iter().copied().filter(|r| *r > 0.0).collect(),
            None if self.quick => vec![10.0, 20.0],
            None => vec![250.0, 500.0, 1000.0, 1500.0, 2000.0],
        };
        rates.sort_by(f64::total_cmp);
        rates.dedup();
        rates
    }

    /// The plan the `load` scenario runs at each rate: (a), or the quick one.
    pub fn load_plan(&self, rate: f64) -> Plan {
        let (key, accounts, sockets_per_account) = if self.quick {
            ("quick", 3, 2)
        } else {
            ("a", 100, 10)
        };
        Plan {
            key,
            accounts,
            sockets_per_account,
            rate,
            target_p99_ms: 10.0,
        }
    }

    pub fn idle_sockets(&self) -> Option<usize> {
        self.scenario.contains(&Part::Memory).then(|| {
            self.idle_sockets
                .unwrap_or(if self.quick { 50 } else { 2000 })
        })
    }
}
