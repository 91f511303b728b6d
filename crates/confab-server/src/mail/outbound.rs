//! Sends agents' replies on e-mail and form tickets through the SMTP relay
//! (`--smtp-relay`): claims due replies from the outbox (leases, so two
//! instances never send the same one and a crashed instance's work is
//! retried), composes each with its threading headers, hands it to the
//! relay, and records the outcome. Temporary failures are retried with
//! backoff for a day; permanent ones mark the reply `failed`, which an agent
//! can retry.

use std::time::Duration;

use confab_mail::compose::{MailFile, Reply, compose_reply};
use confab_store::{MailOutcome, OutboundMail, StoreError};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::state::AppState;
use crate::webhooks::retry::next_attempt;

/// How long a claimed reply is hidden from other senders.
const LEASE_MS: i64 = 120_000;
/// How often the loop looks for work when nothing is due.
const IDLE: Duration = Duration::from_millis(250);
/// Replies sent per round.
const BATCH: u32 = 16;

/// The relay replies leave through.
#[derive(Clone)]
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// From address for inboxes without one (form inboxes).
    default_from: String,
}

impl Relay {
    /// A relay from a URL such as `smtp://127.0.0.1:25`,
    /// `smtp://user:pass@host:587?tls=required` or `smtps://host:465`.
    pub fn from_url(url: &str, default_from: String) -> Result<Relay, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("--smtp-relay {}: {e}", super::status::relay_label(url)))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Relay {
            transport,
            default_from,
        })
    }
}

/// Runs until the task is dropped.
pub async fn run_outbox(state: AppState, relay: Relay) {
    loop {
        let busy = match tick(&state, &relay).await {
            Ok(sent) => sent > 0,
            Err(error) => {
                tracing::error!(%error, "sending e-mail replies");
                false
            }
        };
        if !busy {
            tokio::time::sleep(IDLE).await;
        }
    }
}

/// One round: claim, send, record. Returns how many were attempted.
pub async fn tick(state: &AppState, relay: &Relay) -> Result<usize, StoreError> {
    let now = state.clock.now();
    let jobs = state
        .store
        .claim_outbound_mail(now, now.plus_millis(LEASE_MS), BATCH)
        .await?;
    for job in &jobs {
        let outcome = send(state, relay, job).await;
        if let MailOutcome::Failed { error } | MailOutcome::Retry { error, .. } = &outcome {
            tracing::warn!(message = job.message.id.0, %error, "an e-mail reply was not delivered");
        }
        state
            .store
            .finish_outbound_mail(job.id, outcome, state.clock.now())
            .await?;
        state.changed(job.account);
    }
    Ok(jobs.len())
}

/// The reply token of one of our Message-IDs (`confab.TOKEN@host`).
pub fn reply_token(message_id: &str) -> Option<&str> {
    let token = message_id
        .trim_start_matches('<')
        .strip_prefix("confab.")?
        .split('@')
        .next()?;
    account_of_token(token).map(|_| token)
}

/// The account a reply token (`ACCOUNT-RANDOM`) belongs to.
pub fn account_of_token(token: &str) -> Option<confab_domain::AccountId> {
    let (account, random) = token.split_once('-')?;
    if random.is_empty() || !random.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    account.parse().ok().map(confab_domain::AccountId)
}

/// The Message-ID a reply token stands for, on this server's mail domain.
pub fn message_id_of_token(token: &str, domain: &str) -> String {
    format!("confab.{token}@{domain}")
}

/// `local@domain` with `+token` added to the local part.
pub fn plus_address(address: &str, token: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    Some(format!("{local}+{token}@{domain}"))
}

/// The reply's files, read from disk. A file gone for good fails the
/// reply (an agent can see it and answer again); other disk trouble is
/// retried like a relay that did not answer.
async fn read_files(state: &AppState, job: &OutboundMail) -> Result<Vec<MailFile>, MailOutcome> {
    let mut files = Vec::with_capacity(job.attachments.len());
    for attachment in &job.attachments {
        match state.attachments.read(&attachment.storage_key).await {
            Ok(data) => files.push(MailFile {
                filename: attachment.filename.clone(),
                content_type: attachment.content_type.clone(),
                data,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(MailOutcome::Failed {
                    error: format!("the file of attachment {} is missing", attachment.id),
                });
            }
            Err(error) => {
                let error = format!("reading attachment {}: {error}", attachment.id);
                return Err(
                    match next_attempt(job.message.created_at, job.attempts, state.clock.now()) {
                        Some(retry_at) => MailOutcome::Retry { error, retry_at },
                        None => MailOutcome::Failed { error },
                    },
                );
            }
        }
    }
    Ok(files)
}

async fn send(state: &AppState, relay: &Relay, job: &OutboundMail) -> MailOutcome {
    let from = job
        .inbox
        .email_address
        .clone()
        .unwrap_or_else(|| relay.default_from.clone());
    let Some(message_id) = job.message.email_message_id.as_deref() else {
        return MailOutcome::Failed {
            error: "the reply has no Message-ID".into(),
        };
    };
    let reply_to = reply_token(message_id).and_then(|token| plus_address(&from, token));
    let files = match read_files(state, job).await {
        Ok(files) => files,
        Err(outcome) => return outcome,
    };
    let reply = Reply {
        from: (&from, Some(job.inbox.name.as_str())),
        reply_to: reply_to.as_deref(),
        to: (&job.to, job.to_name.as_deref()),
        subject: job.conversation.subject.as_deref(),
        message_id,
        references: &job.references,
        body: &job.message.body,
        attachments: &files,
    };
    let mail = match compose_reply(&reply) {
        Ok(mail) => mail,
        Err(error) => {
            return MailOutcome::Failed {
                error: error.to_string(),
            };
        }
    };
    match relay.transport.send(mail).await {
        Ok(_) => MailOutcome::Delivered,
        Err(error) if error.is_permanent() => MailOutcome::Failed {
            error: format!("the relay refused the reply: {error}"),
        },
        Err(error) => {
            let error = format!("the relay did not take the reply: {error}");
            match next_attempt(job.message.created_at, job.attempts, state.clock.now()) {
                Some(retry_at) => MailOutcome::Retry { error, retry_at },
                None => MailOutcome::Failed { error },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_tokens_come_from_our_message_ids_only() {
        assert_eq!(
            reply_token("<confab.3-0abc9f@help.acme.test>"),
            Some("3-0abc9f")
        );
        assert_eq!(
            reply_token("confab.3-0abc9f@help.acme.test"),
            Some("3-0abc9f")
        );
        assert_eq!(
            account_of_token("3-0abc9f"),
            Some(confab_domain::AccountId(3))
        );
        assert_eq!(
            message_id_of_token("3-0abc9f", "help.acme.test"),
            "confab.3-0abc9f@help.acme.test"
        );
        assert_eq!(reply_token("<other.1@x>"), None);
        assert_eq!(reply_token("<confab.@x>"), None);
        assert_eq!(reply_token("<confab.0abc9f@x>"), None);
        assert_eq!(reply_token("<confab.x-0abc@x>"), None);
        assert_eq!(reply_token("<confab.3-zz@x>"), None);
        assert_eq!(
            plus_address("support@acme.test", "0abc").as_deref(),
            Some("support+0abc@acme.test")
        );
        assert_eq!(plus_address("no-at-sign", "0abc"), None);
    }
}
