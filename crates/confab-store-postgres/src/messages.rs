//! Messages from contacts and agents, through the state machine.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::plan::{
    apply_outcome, attachment_request, conversation_event, list_preview, mail_plan, may_mail,
    message_event,
};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow, INBOX_COLUMNS, MESSAGE_COLUMNS};
use confab_store::*;
use sqlx::{PgConnection, Row};

use crate::attachments::{attach, fill_attachments};
use crate::contacts::lock_contact_seen;
use crate::conversations::{
    insert_conversation, load_conversation, lock_conversation, save_conversation,
};
use crate::events::append_event;
use crate::{PostgresStore, db_error, is_idempotency_conflict};

struct NewMessageRow<'a> {
    account: AccountId,
    conversation: ConversationId,
    sender_type: SenderType,
    sender_id: i64,
    body: &'a str,
    full_body: Option<&'a str>,
    private: bool,
    idempotency_key: Option<&'a str>,
    email_message_id: Option<&'a str>,
    delivery: Option<DeliveryStatus>,
}

async fn insert_message(
    tx: &mut PgConnection,
    row: NewMessageRow<'_>,
    now: Timestamp,
) -> StoreResult<Message> {
    let sql = format!(
        "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id, body, full_body, private, idempotency_key, created_at, email_message_id, delivery)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {MESSAGE_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(row.account.0)
        .bind(row.conversation.0)
        .bind(row.sender_type.as_str())
        .bind(row.sender_id)
        .bind(row.body)
        .bind(row.full_body)
        .bind(row.private)
        .bind(row.idempotency_key)
        .bind(now.0)
        .bind(row.email_message_id)
        .bind(row.delivery.map(DeliveryStatus::as_str))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    row.message().map_err(db_error)
}

/// An earlier message answered again, with its conversation: nothing written.
async fn replayed(
    tx: &mut PgConnection,
    account: AccountId,
    message: Option<Message>,
) -> StoreResult<Option<Posted>> {
    let Some(mut message) = message else {
        return Ok(None);
    };
    fill_attachments(tx, std::slice::from_mut(&mut message)).await?;
    let conversation = load_conversation(tx, account, message.conversation_id).await?;
    Ok(Some(Posted {
        conversation,
        message,
        created_conversation: false,
        created_message: false,
    }))
}

/// The message an idempotency key already produced, with its conversation.
async fn replay(
    tx: &mut PgConnection,
    account: AccountId,
    sender_type: SenderType,
    sender_id: i64,
    key: Option<&str>,
) -> StoreResult<Option<Posted>> {
    let Some(key) = key else { return Ok(None) };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND sender_type = $2 AND sender_id = $3 AND idempotency_key = $4"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(sender_type.as_str())
        .bind(sender_id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    let message = row.map(|row| row.message()).transpose().map_err(db_error)?;
    replayed(tx, account, message).await
}

/// The message an e-mail `Message-ID` already produced in the account.
async fn replay_email(
    tx: &mut PgConnection,
    account: AccountId,
    id: Option<&str>,
) -> StoreResult<Option<Posted>> {
    let Some(id) = id else { return Ok(None) };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1 AND email_message_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    let message = row.map(|row| row.message()).transpose().map_err(db_error)?;
    replayed(tx, account, message).await
}

/// A post whose idempotency key lost a race: the index refused the second
/// message, so answer with the first one, like a replay before the insert.
async fn replay_after_conflict(
    store: &PostgresStore,
    result: StoreResult<Posted>,
    account: AccountId,
    sender_type: SenderType,
    sender_id: i64,
    key: Option<&str>,
    email_id: Option<&str>,
) -> StoreResult<Posted> {
    match result {
        Err(error) if is_idempotency_conflict(&error) => {
            let mut conn = store.pool.acquire().await.map_err(db_error)?;
            if let Some(posted) = replay(&mut conn, account, sender_type, sender_id, key).await? {
                return Ok(posted);
            }
            match replay_email(&mut conn, account, email_id).await? {
                Some(posted) => Ok(posted),
                None => Err(error),
            }
        }
        result => result,
    }
}

/// Who posts a contact message: known ids, or the widget's inbox token and
/// session hash, looked up in the write's own transaction.
#[derive(Clone, Copy)]
enum Poster<'a> {
    Ids(AccountId, InboxId, ContactId),
    Token { inbox: &'a str, session: &'a str },
}

/// The inbox and contact of a widget's post: the inbox by its token (the
/// whole row, which the write needs), the contact by the session's hash for
/// that inbox only.
async fn poster_by_token(
    conn: &mut PgConnection,
    inbox_token: &str,
    session_hash: &str,
) -> StoreResult<(Inbox, ContactId)> {
    // The select list's bare names are the inbox's: only `inboxes` is in
    // the outer FROM.
    let sql = format!(
        "SELECT {INBOX_COLUMNS},
                (SELECT s.contact_id FROM contact_sessions s
                 WHERE s.token_hash = $2 AND s.inbox_id = i.id) AS session_contact
         FROM inboxes i WHERE i.token = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(inbox_token)
        .bind(session_hash)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("inbox"))?;
    let contact: Option<i64> = row.try_get("session_contact").map_err(db_error)?;
    let contact = contact.ok_or(StoreError::NotFound("contact session"))?;
    Ok((row.inbox().map_err(db_error)?, ContactId(contact)))
}

impl PostgresStore {
    async fn post_contact_message_once(
        &self,
        poster: Poster<'_>,
        message: &NewContactMessage,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // A widget's post finds its inbox row by the token; known ids load it.
        let (account, inbox, contact) = match poster {
            Poster::Ids(account, inbox, contact) => {
                let inbox = crate::accounts::load_inbox(&mut tx, account, inbox).await?;
                (account, inbox, contact)
            }
            Poster::Token { inbox, session } => {
                let (inbox, contact) = poster_by_token(&mut tx, inbox, session).await?;
                (inbox.account_id, inbox, contact)
            }
        };
        if let Some(posted) = replay(
            &mut tx,
            account,
            SenderType::Contact,
            contact.0,
            message.idempotency_key.as_deref(),
        )
        .await?
        {
            return Ok(posted);
        }
        if let Some(posted) =
            replay_email(&mut tx, account, message.email_message_id.as_deref()).await?
        {
            return Ok(posted);
        }
        let attachments = attachment_request(&message.attachments)?;
        // The contact's lock serialises their posts: two first messages
        // cannot both start a conversation. Taken by marking them seen.
        let contact = lock_contact_seen(&mut tx, account, contact, now).await?;
        let target = match message.conversation_id {
            _ if message.new_conversation => None,
            Some(id) => {
                let conversation = lock_conversation(&mut tx, account, id).await?;
                if conversation.contact_id != contact.id {
                    return Err(StoreError::NotFound("conversation"));
                }
                Some(conversation)
            }
            None => {
                let sql = format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations c
                     WHERE c.account_id = $1 AND c.contact_id = $2 AND c.inbox_id = $3 ORDER BY c.id DESC LIMIT 1
                     FOR NO KEY UPDATE"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account.0)
                    .bind(contact.id.0)
                    .bind(inbox.id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?;
                row.map(|row| row.conversation().map_err(db_error))
                    .transpose()?
            }
        };
        let action = Action::ContactWrites {
            flagged: contact.spam,
        };
        let mut existing = None;
        if let Some(mut conversation) = target {
            let outcome = transition(conversation.folder, conversation.inbox_kind, action)?;
            if !outcome.start_new_conversation {
                let before = conversation.folder;
                apply_outcome(&mut conversation, &outcome);
                existing = Some((conversation, before));
            }
        }
        let (mut conversation, created_conversation, folder_changed) = match existing {
            Some((conversation, before)) => {
                let changed = before != conversation.folder;
                (conversation, false, changed)
            }
            None => {
                let folder = initial_folder(contact.spam);
                let conversation = insert_conversation(
                    &mut tx,
                    &inbox,
                    &contact,
                    folder,
                    message.subject.as_deref(),
                    now,
                )
                .await?;
                (conversation, true, false)
            }
        };
        let mut stored = insert_message(
            &mut tx,
            NewMessageRow {
                account,
                conversation: conversation.id,
                sender_type: SenderType::Contact,
                sender_id: contact.id.0,
                body: &message.body,
                full_body: message.full_body.as_deref(),
                private: false,
                idempotency_key: message.idempotency_key.as_deref(),
                email_message_id: message.email_message_id.as_deref(),
                delivery: None,
            },
            now,
        )
        .await?;
        stored.attachments = attach(
            &mut tx,
            account,
            &stored,
            Uploader::Contact(contact.id),
            &attachments,
            now,
        )
        .await?;
        conversation.unread_count += 1;
        conversation.waiting_since = conversation.waiting_since.or(Some(now));
        conversation.last_activity_at = now;
        conversation.last_message_preview =
            Some(list_preview(&stored.body, false, &stored.attachments));
        save_conversation(&mut tx, &conversation).await?;
        let actor = Actor::Contact(contact.id);
        if created_conversation {
            append_event(
                &mut tx,
                account,
                EventType::ConversationCreated,
                now,
                conversation_event(&conversation, "create", actor),
            )
            .await?;
        } else if folder_changed {
            append_event(
                &mut tx,
                account,
                EventType::ConversationUpdated,
                now,
                conversation_event(&conversation, action.name(), actor),
            )
            .await?;
        }
        append_event(
            &mut tx,
            account,
            EventType::MessageCreated,
            now,
            message_event(&conversation, &stored),
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Posted {
            conversation,
            message: stored,
            created_conversation,
            created_message: true,
        })
    }

    async fn post_agent_message_once(
        &self,
        account: AccountId,
        conversation: ConversationId,
        message: &NewAgentMessage,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if let Some(posted) = replay(
            &mut tx,
            account,
            SenderType::Agent,
            message.agent_id.0,
            message.idempotency_key.as_deref(),
        )
        .await?
        {
            return Ok(posted);
        }
        let attachments = attachment_request(&message.attachments)?;
        let mut conversation = lock_conversation(&mut tx, account, conversation).await?;
        let action = if message.private {
            Action::AgentNote
        } else {
            Action::AgentReplies
        };
        let outcome = transition(conversation.folder, conversation.inbox_kind, action)?;
        let before = conversation.folder;
        apply_outcome(&mut conversation, &outcome);
        // A reply on an e-mail or form ticket leaves by e-mail, when the contact
        // has an address; on chat, later, for a visitor who left the page.
        let has_email = may_mail(conversation.inbox_kind, message)
            && crate::contacts::load_contact(&mut tx, account, conversation.contact_id)
                .await?
                .email
                .is_some();
        let plan = mail_plan(conversation.inbox_kind, message, has_email, now);
        let mail_id = plan.and(message.email_message_id.as_deref());
        let mut stored = insert_message(
            &mut tx,
            NewMessageRow {
                account,
                conversation: conversation.id,
                sender_type: SenderType::Agent,
                sender_id: message.agent_id.0,
                body: &message.body,
                full_body: None,
                private: message.private,
                idempotency_key: message.idempotency_key.as_deref(),
                email_message_id: mail_id,
                delivery: plan
                    .filter(|p| !p.unless_received)
                    .map(|_| DeliveryStatus::Pending),
            },
            now,
        )
        .await?;
        stored.attachments = attach(
            &mut tx,
            account,
            &stored,
            Uploader::Agent(message.agent_id),
            &attachments,
            now,
        )
        .await?;
        if let Some(plan) = plan {
            sqlx::query(
                "INSERT INTO outbound_mail (account_id, message_id, status, next_attempt_at, created_at, unless_received)
                 VALUES ($1, $2, 'pending', $3, $4, $5)",
            )
            .bind(account.0)
            .bind(stored.id.0)
            .bind(plan.send_at.0)
            .bind(now.0)
            .bind(plan.unless_received)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        if !message.private {
            conversation.unread_count = 0;
            conversation.waiting_since = None;
            conversation.last_activity_at = now;
            conversation.last_message_preview =
                Some(list_preview(&stored.body, true, &stored.attachments));
        }
        save_conversation(&mut tx, &conversation).await?;
        if before != conversation.folder {
            let actor = Actor::Agent(message.agent_id);
            append_event(
                &mut tx,
                account,
                EventType::ConversationUpdated,
                now,
                conversation_event(&conversation, action.name(), actor),
            )
            .await?;
        }
        append_event(
            &mut tx,
            account,
            EventType::MessageCreated,
            now,
            message_event(&conversation, &stored),
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Posted {
            conversation,
            message: stored,
            created_conversation: false,
            created_message: true,
        })
    }
}

impl PostgresStore {
    /// Inbox and session looked up in the write's transaction (the
    /// default asks twice before it, each on a pool connection of its own,
    /// and the pool is what 128 concurrent posts queue for).
    pub(crate) async fn post_by_token(
        &self,
        inbox_token: &str,
        session_hash: &str,
        message: NewContactMessage,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        let poster = Poster::Token {
            inbox: inbox_token,
            session: session_hash,
        };
        let result = self.post_contact_message_once(poster, &message, now).await;
        match result {
            // A retry that raced its first attempt (rare): who posted is
            // looked up again to find the first message.
            Err(error) if is_idempotency_conflict(&error) => {
                let mut conn = self.pool.acquire().await.map_err(db_error)?;
                let (inbox, contact) =
                    poster_by_token(&mut conn, inbox_token, session_hash).await?;
                drop(conn);
                replay_after_conflict(
                    self,
                    Err(error),
                    inbox.account_id,
                    SenderType::Contact,
                    contact.0,
                    message.idempotency_key.as_deref(),
                    message.email_message_id.as_deref(),
                )
                .await
            }
            result => result,
        }
    }
}

#[async_trait]
impl MessageStore for PostgresStore {
    async fn post_contact_message(
        &self,
        account: AccountId,
        inbox: InboxId,
        contact: ContactId,
        message: NewContactMessage,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        let result = self
            .post_contact_message_once(Poster::Ids(account, inbox, contact), &message, now)
            .await;
        let key = message.idempotency_key.as_deref();
        let email_id = message.email_message_id.as_deref();
        replay_after_conflict(
            self,
            result,
            account,
            SenderType::Contact,
            contact.0,
            key,
            email_id,
        )
        .await
    }

    async fn post_agent_message(
        &self,
        account: AccountId,
        conversation: ConversationId,
        message: NewAgentMessage,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        let result = self
            .post_agent_message_once(account, conversation, &message, now)
            .await;
        let (sender, key) = (message.agent_id.0, message.idempotency_key.as_deref());
        replay_after_conflict(self, result, account, SenderType::Agent, sender, key, None).await
    }

    async fn email_thread(
        &self,
        account: AccountId,
        message_ids: &[String],
    ) -> StoreResult<Option<ConversationId>> {
        if message_ids.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = message_ids.iter().take(100).cloned().collect();
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT conversation_id FROM messages
             WHERE account_id = $1 AND email_message_id = ANY($2)
             ORDER BY id DESC LIMIT 1",
        )
        .bind(account.0)
        .bind(ids)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(found.map(ConversationId))
    }

    async fn list_messages(
        &self,
        account: AccountId,
        conversation: ConversationId,
        include_private: bool,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Page<Message>> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        load_conversation(&mut conn, account, conversation).await?;
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE conversation_id = $1 AND id > $2 AND ($3 OR private = FALSE)
             ORDER BY id LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(conversation.0)
            .bind(after.map(|m| m.0).unwrap_or(0))
            .bind(include_private)
            .bind(i64::from(limit) + 1)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        let mut items = rows
            .iter()
            .map(|row| row.message().map_err(db_error))
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|m| confab_store::cursor::Cursor { key: 0, id: m.id.0 })
        } else {
            None
        };
        fill_attachments(&mut conn, &mut items).await?;
        Ok(Page { items, next_cursor })
    }
}
