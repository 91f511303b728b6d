//! Sends due deliveries: a loop that turns new events into deliveries,
//! claims due ones (leases, so a crashed instance's work is retried and two
//! instances never send the same one at once), POSTs them signed, and
//! records the outcome.

use std::time::Duration;

use confab_store::{DeliveryJob, DeliveryOutcome};
use futures::StreamExt;
use serde_json::json;

use super::retry::next_attempt;
use super::signature::sign;
use crate::state::AppState;

/// How long a claimed delivery is hidden from other senders.
const LEASE_MS: i64 = 60_000;
/// A receiver must answer within this.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries in flight at once.
const CONCURRENCY: usize = 8;
/// How often the loop looks for work when nothing wakes it.
const IDLE: Duration = Duration::from_millis(250);

/// Runs until the task is dropped.
pub async fn run_webhook_dispatcher(state: AppState) {
    let client = match reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("Confab-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the webhook HTTP client; webhooks are off");
            return;
        }
    };
    loop {
        let busy = match tick(&state, &client).await {
            Ok(sent) => sent > 0,
            Err(error) => {
                tracing::error!(%error, "webhook dispatcher");
                false
            }
        };
        if !busy {
            tokio::time::sleep(IDLE).await;
        }
    }
}

/// One round: enqueue, claim, send, record. Returns how many were sent.
pub async fn tick(
    state: &AppState,
    client: &reqwest::Client,
) -> Result<usize, confab_store::StoreError> {
    let now = state.clock.now();
    state.store.enqueue_webhook_deliveries(now, 500).await?;
    let jobs = state
        .store
        .claim_webhook_deliveries(now, now.plus_millis(LEASE_MS), 64)
        .await?;
    let count = jobs.len();
    let outcomes: Vec<_> = futures::stream::iter(jobs)
        .map(|job| async move {
            let outcome = send(state, client, &job).await;
            (job, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (job, outcome) in outcomes {
        state
            .store
            .finish_webhook_delivery(job.delivery.id, outcome, state.clock.now())
            .await?;
    }
    Ok(count)
}

/// The body a receiver gets.
pub fn payload(job: &DeliveryJob) -> Vec<u8> {
    json!({
        "id": job.delivery.id,
        "account_id": job.account,
        "seq": job.event.seq,
        "type": job.event.event_type,
        "at": job.event.at,
        "data": job.event.data,
    })
    .to_string()
    .into_bytes()
}

async fn send(state: &AppState, client: &reqwest::Client, job: &DeliveryJob) -> DeliveryOutcome {
    let body = payload(job);
    let timestamp = state.clock.now().0 / 1000;
    let signature = sign(&job.secret, timestamp, &body);
    let result = client
        .post(&job.url)
        .header("content-type", "application/json")
        .header("confab-delivery", job.delivery.id.to_string())
        .header("confab-event", job.event.event_type.as_str())
        .header("confab-timestamp", timestamp.to_string())
        .header("confab-signature", format!("v1={signature}"))
        .body(body)
        .send()
        .await;
    let (status, error) = match result {
        Ok(response) if response.status().is_success() => {
            return DeliveryOutcome::Delivered {
                status: i64::from(response.status().as_u16()),
            };
        }
        Ok(response) => (
            Some(i64::from(response.status().as_u16())),
            format!("the receiver answered HTTP {}", response.status().as_u16()),
        ),
        Err(error) => (None, describe(&error)),
    };
    let now = state.clock.now();
    match next_attempt(job.delivery.created_at, job.delivery.attempts, now) {
        Some(retry_at) => DeliveryOutcome::Retry {
            status,
            error,
            retry_at,
        },
        None => DeliveryOutcome::GiveUp { status, error },
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the receiver did not answer within 10 s".into()
    } else if error.is_connect() {
        "could not connect to the receiver".into()
    } else {
        format!("sending failed: {error}")
    }
}
