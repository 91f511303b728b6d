//! The agent API at scale: inbox list pages, folder counts and search,
//! timed one request at a time over one keep-alive connection.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::{Client, StatusCode, Url};
use serde_json::{Value, json};

use super::data::Filled;
use crate::server::Server;
use crate::stats::{Summary, median};

/// What a request is part of; each has its own target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    List,
    Counts,
    Search,
}

impl Group {
    pub const ALL: [Group; 3] = [Group::List, Group::Counts, Group::Search];

    pub fn name(self) -> &'static str {
        match self {
            Group::List => "inbox list (first page of 50)",
            Group::Counts => "counts per folder",
            Group::Search => "search with snippets",
        }
    }

    /// The percentile (0.95 or 0.99) and its bound in ms, from issue 6.
    pub fn target(self) -> (f64, f64) {
        match self {
            Group::List | Group::Counts => (0.99, 10.0),
            Group::Search => (0.95, 50.0),
        }
    }
}

/// What the response must show.
#[derive(Debug, Clone, Copy)]
enum Check {
    Page,
    Counts,
    /// Search: every item has a highlighted snippet; hits when expected.
    Search {
        expect_hits: bool,
        planted: Option<u64>,
    },
}

/// One request of a pass.
pub struct Request {
    pub group: Group,
    pub label: String,
    url: Url,
    check: Check,
}

/// A search of the report's table (scope `all`).
#[derive(Debug, Clone)]
pub struct SearchFinding {
    pub query: String,
    /// Messages carrying the word, for the planted ones.
    pub planted: Option<u64>,
    pub hits: usize,
    pub more: bool,
    pub with_snippet: usize,
}

/// The account and the values the filters use.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub account: i64,
    pub tag: String,
    pub inbox: i64,
    pub assignee: i64,
}

/// Every pass's timings, per request.
pub struct QueryResult {
    pub workspace: Workspace,
    pub requests: Vec<Request>,
    /// Measured passes; each holds one duration (ns) per request, in order.
    pub passes: Vec<Vec<u64>>,
    /// Requests that failed or answered wrongly, warm-up included.
    pub failures: Vec<String>,
    pub searches: Vec<SearchFinding>,
}

/// Percentiles of one group (or all requests): medians over the passes.
#[derive(Debug, Clone, Copy)]
pub struct GroupFigures {
    pub per_pass: usize,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

impl QueryResult {
    /// Figures over the requests `group` takes (None: all of them).
    pub fn figures(&self, group: Option<Group>) -> GroupFigures {
        let chosen: Vec<usize> = (0..self.requests.len())
            .filter(|&i| group.is_none_or(|g| self.requests[i].group == g))
            .collect();
        let summaries: Vec<Summary> = self
            .passes
            .iter()
            .map(|pass| Summary::of(chosen.iter().map(|&i| pass[i]).collect()))
            .collect();
        GroupFigures {
            per_pass: chosen.len(),
            p50: median(summaries.iter().map(|s| s.p50)),
            p95: median(summaries.iter().map(|s| s.p95)),
            p99: median(summaries.iter().map(|s| s.p99)),
            max: summaries.iter().map(|s| s.max).max().unwrap_or(0),
        }
    }

    /// Whether a group's figure is within issue 6's bound.
    pub fn met(&self, group: Group) -> bool {
        let figures = self.figures(Some(group));
        let (percentile, bound_ms) = group.target();
        let value = if percentile >= 0.99 {
            figures.p99
        } else {
            figures.p95
        };
        value as f64 <= bound_ms * 1e6
    }

    /// Every time (all passes) of the searches for `query`, over the scopes.
    pub fn search_times(&self, query: &str) -> Summary {
        let suffix = format!(" q={query}");
        Summary::of(
            self.passes
                .iter()
                .flat_map(|pass| self.requests.iter().zip(pass))
                .filter(|(r, _)| r.group == Group::Search && r.label.ends_with(&suffix))
                .map(|(_, &ns)| ns)
                .collect(),
        )
    }

    /// A group's slowest requests (their worst time over the passes), slowest first.
    pub fn slowest(&self, group: Group, count: usize) -> Vec<(String, u64)> {
        let mut worst: HashMap<&str, u64> = HashMap::new();
        for pass in &self.passes {
            for (request, &ns) in self.requests.iter().zip(pass) {
                if request.group != group {
                    continue;
                }
                let slot = worst.entry(request.label.as_str()).or_default();
                *slot = (*slot).max(ns);
            }
        }
        let mut worst: Vec<(String, u64)> = worst
            .into_iter()
            .map(|(l, ns)| (l.to_string(), ns))
            .collect();
        worst.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        worst.truncate(count);
        worst
    }
}

const FOLDERS: [&str; 6] = ["open", "answered", "closed", "snoozed", "deleted", "spam"];
const SCOPES: [&str; 3] = ["mine", "unassigned", "all"];
/// Counts requests per scope in a pass (three scopes alone are too few samples).
const COUNTS_REPEAT: usize = 10;
/// Search requests per query and scope in a pass.
const SEARCH_REPEAT: usize = 2;
/// Real words of the generated text (one, and two that come together).
const SEARCH_WORDS: [&str; 2] = ["refund", "login page"];

/// Signs in as the generated admin, then a warm-up pass and `passes` measured ones.
pub async fn run(server: &Server, filled: &Filled, passes: usize) -> anyhow::Result<QueryResult> {
    let client = Client::builder()
        .no_proxy()
        .cookie_store(true)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(120))
        .build()?;
    let workspace = sign_in(&client, &server.base, &filled.admin_email).await?;
    println!(
        "  signed in as {} (account {}); filters: tag {:?}, inbox {}, assignee {}",
        filled.admin_email, workspace.account, workspace.tag, workspace.inbox, workspace.assignee
    );
    let requests = requests(&server.base, &workspace, filled.messages)?;
    let mut failures = Vec::new();
    let mut searches = Vec::new();
    let mut measured = Vec::new();
    for pass in 0..=passes {
        let started = Instant::now();
        let mut timings = Vec::with_capacity(requests.len());
        let mut findings = Vec::new();
        for request in &requests {
            let (ns, finding) = send(&client, request, &mut failures).await;
            timings.push(ns);
            if let Some(finding) = finding
                && !findings
                    .iter()
                    .any(|f: &SearchFinding| f.query == finding.query)
            {
                findings.push(finding);
            }
        }
        let figures = Summary::of(timings.clone());
        println!(
            "  {} {}: {} requests in {:.1} s · p50 {} · p99 {} · max {} · failed so far {}",
            if pass == 0 { "warm-up" } else { "pass" },
            pass,
            requests.len(),
            started.elapsed().as_secs_f64(),
            crate::stats::ms(figures.p50),
            crate::stats::ms(figures.p99),
            crate::stats::ms(figures.max),
            failures.len()
        );
        if pass > 0 {
            measured.push(timings);
        }
        searches = findings;
    }
    for failure in failures.iter().take(10) {
        println!("  failed: {failure}");
    }
    Ok(QueryResult {
        workspace,
        requests,
        passes: measured,
        failures,
        searches,
    })
}

async fn get_json(client: &Client, url: String) -> anyhow::Result<Value> {
    let response = client.get(&url).send().await?;
    let status = response.status();
    let text = response.text().await?;
    if status != StatusCode::OK {
        bail!("GET {url}: {status} {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("GET {url}: not JSON"))
}

/// Signs in with the password confab-datagen gives every agent (the
/// session cookie stays in the client) and picks the filters' values.
async fn sign_in(client: &Client, base: &str, email: &str) -> anyhow::Result<Workspace> {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": confab_datagen::AGENT_PASSWORD}))
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if status != StatusCode::OK {
        bail!("signing in as {email}: {status} {text}");
    }
    let session: Value = serde_json::from_str(&text)?;
    let account = session["account"]["id"]
        .as_i64()
        .context("no account id in the session")?;
    let admin = session["agent"]["id"].as_i64().context("no agent id")?;
    let api = format!("{base}/api/v1/accounts/{account}");
    let agents = get_json(client, format!("{api}/agents")).await?;
    // Another agent's conversations (the admin's own are `mine`).
    let assignee = agents["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_i64())
        .find(|&id| id != admin)
        .unwrap_or(admin);
    let inboxes = get_json(client, format!("{api}/inboxes")).await?;
    let inbox = inboxes["items"][0]["id"]
        .as_i64()
        .context("the account has no inbox")?;
    let tags = get_json(client, format!("{api}/tags")).await?;
    let tag = tags["items"]
        .as_array()
        .into_iter()
        .flatten()
        .max_by_key(|t| t["conversations"].as_i64().unwrap_or(0))
        .and_then(|t| t["name"].as_str())
        .unwrap_or("billing")
        .to_string();
    Ok(Workspace {
        account,
        tag,
        inbox,
        assignee,
    })
}

/// One pass's requests, in the order they are sent.
fn requests(base: &str, workspace: &Workspace, messages: u64) -> anyhow::Result<Vec<Request>> {
    let list = Url::parse(&format!(
        "{base}/api/v1/accounts/{}/conversations",
        workspace.account
    ))?;
    let counts = Url::parse(&format!("{}/counts", list.as_str()))?;
    let filters: [(&str, String); 7] = [
        ("", String::new()),
        ("unread", "true".into()),
        ("tag", workspace.tag.clone()),
        ("channel", "email".into()),
        ("inbox_id", workspace.inbox.to_string()),
        ("assignee_id", workspace.assignee.to_string()),
        ("waiting", "true".into()),
    ];
    let mut requests = Vec::new();
    for folder in FOLDERS {
        for scope in SCOPES {
            for (name, value) in &filters {
                let mut pairs = vec![("folder", folder), ("scope", scope)];
                if !name.is_empty() {
                    pairs.push((name, value));
                }
                pairs.push(("limit", "50"));
                requests.push(request(Group::List, &list, &pairs, Check::Page));
            }
        }
    }
    for _ in 0..COUNTS_REPEAT {
        for scope in SCOPES {
            requests.push(request(
                Group::Counts,
                &counts,
                &[("scope", scope)],
                Check::Counts,
            ));
        }
    }
    for _ in 0..SEARCH_REPEAT {
        for (query, planted) in search_queries(messages) {
            for scope in SCOPES {
                // Every query has hits in the whole account; a scope may have none.
                let expect_hits = scope == "all" && planted.is_none_or(|n| n > 0);
                let pairs = [
                    ("folder", "any"),
                    ("scope", scope),
                    ("q", query.as_str()),
                    ("limit", "50"),
                ];
                requests.push(request(
                    Group::Search,
                    &list,
                    &pairs,
                    Check::Search {
                        expect_hits,
                        planted,
                    },
                ));
            }
        }
    }
    Ok(requests)
}

/// The searches: confab-datagen's planted words (rare to broad, with how
/// many of `messages` carry each) and real words of its text.
fn search_queries(messages: u64) -> Vec<(String, Option<u64>)> {
    confab_datagen::text::PLANTED
        .iter()
        .map(|(word, period, offset)| {
            let count = confab_datagen::text::planted_count(*period, *offset, messages);
            (word.to_string(), Some(count))
        })
        .chain(SEARCH_WORDS.iter().map(|w| (w.to_string(), None)))
        .collect()
}

fn request(group: Group, url: &Url, pairs: &[(&str, &str)], check: Check) -> Request {
    let mut url = url.clone();
    url.query_pairs_mut().extend_pairs(pairs);
    let label = pairs
        .iter()
        .filter(|(name, _)| *name != "limit")
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(" ");
    let label = match group {
        Group::Counts => format!("counts {label}"),
        _ => label,
    };
    Request {
        group,
        label,
        url,
        check,
    }
}

/// Sends one request; its time from sending to the body's last byte, and
/// for a search in scope `all`, what it found. Problems go to `failures`.
async fn send(
    client: &Client,
    request: &Request,
    failures: &mut Vec<String>,
) -> (u64, Option<SearchFinding>) {
    let started = Instant::now();
    let response = client.get(request.url.clone()).send().await;
    let body = match response {
        Ok(response) => {
            let status = response.status();
            response.bytes().await.map(|bytes| (status, bytes))
        }
        Err(error) => Err(error),
    };
    let ns = started.elapsed().as_nanos() as u64;
    let (status, bytes) = match body {
        Ok(answer) => answer,
        Err(error) => {
            failures.push(format!("{}: {error}", request.label));
            return (ns, None);
        }
    };
    if status != StatusCode::OK {
        let text = String::from_utf8_lossy(&bytes);
        failures.push(format!("{}: {status} {text}", request.label));
        return (ns, None);
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(error) => {
            failures.push(format!("{}: not JSON ({error})", request.label));
            return (ns, None);
        }
    };
    match check(request, &body) {
        Ok(finding) => (ns, finding),
        Err(problem) => {
            failures.push(format!("{}: {problem}", request.label));
            (ns, None)
        }
    }
}

fn check(request: &Request, body: &Value) -> Result<Option<SearchFinding>, String> {
    match request.check {
        Check::Counts => {
            if body["open"].as_i64().is_none() {
                return Err(format!("no open count in {body}"));
            }
            Ok(None)
        }
        Check::Page => {
            let items = body["items"].as_array().ok_or("no items")?;
            if items.len() > 50 {
                return Err(format!("{} items for limit 50", items.len()));
            }
            Ok(None)
        }
        Check::Search {
            expect_hits,
            planted,
        } => {
            let items = body["items"].as_array().ok_or("no items")?;
            if expect_hits && items.is_empty() {
                return Err("no hits".into());
            }
            let with_snippet = items
                .iter()
                .filter(|item| {
                    item["snippet"]
                        .as_str()
                        .is_some_and(|s| s.contains("<mark>"))
                })
                .count();
            if with_snippet < items.len() {
                return Err(format!(
                    "{} of {} hits without a highlighted snippet",
                    items.len() - with_snippet,
                    items.len()
                ));
            }
            let all = request
                .url
                .query_pairs()
                .any(|(k, v)| k == "scope" && v == "all");
            let query = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            Ok(all.then(|| SearchFinding {
                planted,
                query,
                hits: items.len(),
                more: !body["next_cursor"].is_null(),
                with_snippet,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Workspace {
        Workspace {
            account: 1,
            tag: "cobrança".into(),
            inbox: 3,
            assignee: 2,
        }
    }

    #[test]
    fn a_pass_asks_every_folder_scope_and_filter() {
        let requests = requests("http://127.0.0.1:1", &workspace(), 10_000_000).unwrap();
        let count = |g| requests.iter().filter(|r| r.group == g).count();
        assert_eq!(count(Group::List), 6 * 3 * 7);
        assert_eq!(count(Group::Counts), 3 * COUNTS_REPEAT);
        assert_eq!(count(Group::Search), 5 * 3 * SEARCH_REPEAT);
        let urls: Vec<&str> = requests.iter().map(|r| r.url.as_str()).collect();
        assert!(urls.contains(
            &"http://127.0.0.1:1/api/v1/accounts/1/conversations?folder=spam&scope=mine&tag=cobran%C3%A7a&limit=50"
        ));
        assert!(urls.contains(
            &"http://127.0.0.1:1/api/v1/accounts/1/conversations/counts?scope=unassigned"
        ));
        assert!(urls.contains(
            &"http://127.0.0.1:1/api/v1/accounts/1/conversations?folder=any&scope=all&q=login+page&limit=50"
        ));
    }

    #[test]
    fn only_scope_all_must_find_planted_words_that_exist() {
        let requests = requests("http://127.0.0.1:1", &workspace(), 50_000).unwrap();
        let expecting: Vec<&str> = requests
            .iter()
            .filter(|r| {
                matches!(
                    r.check,
                    Check::Search {
                        expect_hits: true,
                        ..
                    }
                )
            })
            .map(|r| r.label.as_str())
            .collect();
        assert!(expecting.contains(&"folder=any scope=all q=zanzibarite"));
        assert!(!expecting.iter().any(|l| l.contains("scope=mine")));
        // With 10 messages no message carries the rare word: no hit is expected.
        let few = super::requests("http://127.0.0.1:1", &workspace(), 10).unwrap();
        assert!(
            !few.iter()
                .any(|r| r.label == "folder=any scope=all q=zanzibarite"
                    && matches!(
                        r.check,
                        Check::Search {
                            expect_hits: true,
                            ..
                        }
                    ))
        );
    }

    #[test]
    fn figures_are_medians_over_passes() {
        let requests = requests("http://127.0.0.1:1", &workspace(), 100).unwrap();
        let n = requests.len();
        let pass = |ns: u64| vec![ns; n];
        let result = QueryResult {
            workspace: workspace(),
            requests,
            passes: vec![pass(3_000_000), pass(1_000_000), pass(20_000_000)],
            failures: Vec::new(),
            searches: Vec::new(),
        };
        let list = result.figures(Some(Group::List));
        assert_eq!(list.per_pass, 126);
        assert_eq!(list.p99, 3_000_000);
        assert_eq!(list.max, 20_000_000);
        assert!(result.met(Group::List));
        assert!(result.met(Group::Search));
        assert_eq!(result.slowest(Group::List, 1)[0].1, 20_000_000);
        assert_eq!(
            result.search_times("zanzibarite").count,
            3 * 3 * SEARCH_REPEAT
        );
    }
}
