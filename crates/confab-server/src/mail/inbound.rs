//! Mail received by the SMTP listener (`--smtp-listen`) becomes contact
//! messages: recipients are the e-mail inboxes' addresses (with an optional
//! `+token`), the sender is matched to a contact by address (or becomes
//! one), and the mail threads into its conversation by `In-Reply-To`,
//! `References` or the reply token. Mail delivered twice (same
//! `Message-ID`) is stored once. Bounces, auto-replies, bulk and list mail
//! are accepted and dropped, so Confab never answers a robot and no mail
//! loops.

use std::sync::Arc;

use confab_domain::AttachmentId;
use confab_domain::validate::MAX_BODY_CHARS;
use confab_domain::{Inbox, InboxKind};
use confab_mail::inbound::{InboundMail, MailKind, reply_token};
use confab_mail::smtp::{BoxFuture, DeliverError, Envelope, MailSink};
use confab_store::{NewContact, NewContactMessage, Store, StoreError, Uploader};

use super::outbound::{account_of_token, message_id_of_token};
use crate::attachments::{FileRefused, Incoming, keep_bytes};
use crate::state::AppState;

/// The listener's sink: mail for inboxes, into the store.
pub struct InboxMail {
    state: AppState,
    /// The From address of replies on form tickets (`--smtp-from`): mail to
    /// it with a reply token goes to the token's conversation.
    reply_address: Option<String>,
}

impl InboxMail {
    pub fn new(state: AppState, reply_address: Option<String>) -> Arc<InboxMail> {
        let reply_address = reply_address.map(|a| base_address(&a).to_lowercase());
        Arc::new(InboxMail {
            state,
            reply_address,
        })
    }

    /// The inbox a recipient's mail goes to: an e-mail inbox by its
    /// address, or — for the reply address — the inbox of the conversation
    /// its reply token names.
    async fn route(&self, recipient: &str) -> Result<Option<Inbox>, StoreError> {
        let store = self.state.store.as_ref();
        if let Some(inbox) = inbox_for(store, recipient).await? {
            return Ok(Some(inbox));
        }
        let is_reply_address = self
            .reply_address
            .as_deref()
            .is_some_and(|reply| base_address(recipient).to_lowercase() == reply);
        let token = reply_token(recipient).filter(|_| is_reply_address);
        let Some((token, account)) = token.and_then(|t| Some((t, account_of_token(t)?))) else {
            return Ok(None);
        };
        let id = message_id_of_token(token, &self.state.config.mail_domain());
        let Some(conversation) = store.email_thread(account, &[id]).await? else {
            return Ok(None);
        };
        let conversation = store.get_conversation(account, conversation).await?;
        Ok(Some(store.get_inbox(account, conversation.inbox_id).await?))
    }
}

/// `local+token@domain` → `local@domain`.
fn base_address(recipient: &str) -> String {
    let recipient = recipient
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    match recipient.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            format!("{local}@{domain}")
        }
        None => recipient.to_string(),
    }
}

/// The e-mail inbox receiving at this recipient address.
async fn inbox_for(store: &dyn Store, recipient: &str) -> Result<Option<Inbox>, StoreError> {
    Ok(store
        .inbox_by_email(&base_address(recipient))
        .await?
        .filter(|inbox| inbox.kind == InboxKind::Email))
}

/// Cuts text to the longest body a message may have.
fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_BODY_CHARS) {
        Some((end, _)) => text[..end].to_string(),
        None => text.to_string(),
    }
}

fn temporary(error: StoreError) -> DeliverError {
    tracing::error!(%error, "storing received mail");
    DeliverError::Temporary("local error storing the message, try again later".into())
}

impl InboxMail {
    async fn deliver_mail(&self, envelope: Envelope) -> Result<(), DeliverError> {
        let recipients = envelope.rcpt_to.clone();
        let mail = tokio::task::spawn_blocking(move || envelope.parse())
            .await
            .map_err(|_| DeliverError::Temporary("parsing failed".into()))?
            .map_err(|e| DeliverError::Permanent(format!("unreadable message: {e}")))?;
        let kind = confab_mail::inbound::classify(&mail);
        if kind.is_automated() {
            tracing::info!(?kind, message_id = ?mail.message_id, "dropped automated mail");
            return Ok(());
        }
        let mut done = Vec::new();
        for recipient in &recipients {
            let Some(inbox) = self.route(recipient).await.map_err(temporary)? else {
                continue;
            };
            if done.contains(&inbox.id) {
                continue;
            }
            done.push(inbox.id);
            self.deliver_to(&inbox, recipient, &mail, kind)
                .await
                .map_err(temporary)?;
        }
        Ok(())
    }

    async fn deliver_to(
        &self,
        inbox: &Inbox,
        recipient: &str,
        mail: &InboundMail,
        kind: MailKind,
    ) -> Result<(), StoreError> {
        let store = self.state.store.as_ref();
        let now = self.state.clock.now();
        let account = inbox.account_id;
        let Some(from) = mail.from.as_ref() else {
            tracing::info!(?kind, "dropped mail without a sender");
            return Ok(());
        };
        let address = from.address.trim().to_lowercase();
        let contact = match store.contact_by_email(account, &address).await? {
            Some(contact) => contact,
            None => {
                store
                    .create_contact(
                        account,
                        NewContact {
                            name: from.name.clone().filter(|n| !n.trim().is_empty()),
                            email: Some(address.clone()),
                            ..NewContact::default()
                        },
                        now,
                    )
                    .await?
            }
        };
        let mut refers: Vec<String> = mail
            .in_reply_to
            .iter()
            .chain(mail.references.iter())
            .cloned()
            .collect();
        if let Some(token) = reply_token(recipient) {
            refers.push(message_id_of_token(token, &self.state.config.mail_domain()));
        }
        let thread = store.email_thread(account, &refers).await?;
        let attachments = self.store_attachments(account, contact.id, mail).await?;
        let body = if !mail.body.trim().is_empty() {
            bounded(&mail.body)
        } else if attachments.is_empty() {
            "(no text)".to_string()
        } else {
            String::new()
        };
        let full_body = (mail.body_trimmed && !mail.full_body.trim().is_empty())
            .then(|| bounded(&mail.full_body));
        let message = NewContactMessage {
            body,
            full_body,
            subject: mail.subject.clone(),
            conversation_id: thread,
            email_message_id: mail.message_id.clone(),
            attachments,
            ..NewContactMessage::default()
        };
        let posted = store
            .post_contact_message(account, inbox.id, contact.id, message.clone(), now)
            .await;
        match posted {
            // Someone else answering in a contact's thread (a colleague on
            // copy): their mail starts a conversation of their own.
            Err(StoreError::NotFound("conversation")) if thread.is_some() => {
                let message = NewContactMessage {
                    conversation_id: None,
                    new_conversation: true,
                    ..message
                };
                store
                    .post_contact_message(account, inbox.id, contact.id, message, now)
                    .await?;
            }
            posted => {
                posted?;
            }
        }
        self.state.changed(account);
        Ok(())
    }
}

impl InboxMail {
    /// Stores the mail's files for the contact (unattached until the
    /// message takes them). Images shown inside the HTML body (inline, with
    /// a `Content-ID`: logos, signatures) are not kept; files too large or
    /// of a refused kind are skipped — the mail itself is still taken. A
    /// second delivery of the same mail stores copies no message takes,
    /// which the scheduler deletes a day later.
    async fn store_attachments(
        &self,
        account: confab_domain::AccountId,
        contact: confab_domain::ContactId,
        mail: &InboundMail,
    ) -> Result<Vec<AttachmentId>, StoreError> {
        let mut ids = Vec::new();
        for part in &mail.attachments {
            if part.inline && part.content_id.is_some() {
                continue;
            }
            if ids.len() >= confab_domain::validate::MAX_ATTACHMENTS {
                tracing::info!(message_id = ?mail.message_id, "more files than a message takes; the rest were skipped");
                break;
            }
            let incoming = Incoming {
                account,
                conversation: None,
                uploader: Uploader::Email(contact),
                filename: part.filename.as_deref(),
                declared_type: Some(&part.content_type),
            };
            match keep_bytes(&self.state, &part.data, incoming).await {
                Ok(stored) => ids.push(stored.id),
                Err(FileRefused::Store(error)) => return Err(error),
                Err(FileRefused::Storage(crate::attachments::StorageError::Io(error))) => {
                    return Err(StoreError::Database(format!(
                        "storing a mail attachment: {error}"
                    )));
                }
                Err(refused) => {
                    tracing::info!(filename = ?part.filename, reason = %refused, "skipped a mail attachment");
                }
            }
        }
        Ok(ids)
    }
}

impl MailSink for InboxMail {
    fn accepts<'a>(&'a self, recipient: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            match self.route(recipient).await {
                Ok(inbox) => inbox.is_some(),
                Err(error) => {
                    tracing::error!(%error, "looking up a recipient");
                    false
                }
            }
        })
    }

    fn deliver(&self, envelope: Envelope) -> BoxFuture<'_, Result<(), DeliverError>> {
        Box::pin(self.deliver_mail(envelope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_tokens_come_off_the_address() {
        assert_eq!(base_address("support+ab12@acme.test"), "support@acme.test");
        assert_eq!(base_address("<support@acme.test>"), "support@acme.test");
        assert_eq!(base_address("a+b+c@x"), "a@x");
    }

    #[test]
    fn bodies_are_bounded() {
        let long = "é".repeat(MAX_BODY_CHARS + 10);
        assert_eq!(bounded(&long).chars().count(), MAX_BODY_CHARS);
        assert_eq!(bounded("short"), "short");
    }
}
