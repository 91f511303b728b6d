//! Accounts, agents, credentials and inboxes.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::rows::{AGENT_COLUMNS, EntityRow, INBOX_COLUMNS};
use confab_store::*;
use rusqlite::{Connection, params};

use crate::conversations::{load_conversation, save_and_log};
use crate::events::append_event;
use crate::lite::{execute, query_all, query_one};
use crate::{SqliteStore, db_error};

fn insert_agent(
    tx: &Connection,
    account: AccountId,
    agent: &NewAgent,
    now: Timestamp,
) -> StoreResult<Agent> {
    query_one(
        tx,
        &format!(
            "INSERT INTO agents (account_id, name, email, password_hash, role, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING {AGENT_COLUMNS}"
        ),
        params![
            account.0,
            agent.name,
            agent.email,
            agent.password_hash,
            agent.role.as_str(),
            now.0
        ],
        "agent",
        |row| row.agent(),
    )
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(
        &self,
        name: &str,
        admin: NewAgent,
        now: Timestamp,
    ) -> StoreResult<(Account, Agent)> {
        let name = name.to_string();
        self.writer
            .write(move |tx| {
                let id = query_one(
                    tx,
                    "INSERT INTO accounts (name, created_at) VALUES (?1, ?2) RETURNING id",
                    params![name, now.0],
                    "account",
                    |row| row.int("id"),
                )?;
                let account = Account {
                    id: AccountId(id),
                    name,
                    created_at: now,
                };
                let agent = insert_agent(tx, account.id, &admin, now)?;
                Ok((account, agent))
            })
            .await
    }

    async fn count_accounts(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.reader)
            .await
            .map_err(db_error)
    }

    async fn get_account(&self, id: AccountId) -> StoreResult<Account> {
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT id, name, created_at FROM accounts WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.reader)
                .await
                .map_err(db_error)?;
        let (id, name, created_at) = row.ok_or(StoreError::NotFound("account"))?;
        Ok(Account {
            id: AccountId(id),
            name,
            created_at: Timestamp(created_at),
        })
    }

    async fn add_agent(
        &self,
        account: AccountId,
        agent: NewAgent,
        now: Timestamp,
    ) -> StoreResult<Agent> {
        self.writer
            .write(move |tx| {
                query_one(
                    tx,
                    "SELECT id FROM accounts WHERE id = ?1",
                    [account.0],
                    "account",
                    |row| row.int("id"),
                )?;
                insert_agent(tx, account, &agent, now)
            })
            .await
    }

    async fn get_agent(&self, account: AccountId, id: AgentId) -> StoreResult<Agent> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("agent"))?;
        row.agent().map_err(db_error)
    }

    async fn list_agents(&self, account: AccountId) -> StoreResult<Vec<Agent>> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| row.agent().map_err(db_error))
            .collect()
    }

    async fn update_agent(
        &self,
        account: AccountId,
        id: AgentId,
        patch: AgentPatch,
    ) -> StoreResult<Agent> {
        self.writer
            .write(move |tx| {
                query_one(
                    tx,
                    &format!(
                        "UPDATE agents SET name = COALESCE(?3, name), role = COALESCE(?4, role),
                                password_hash = COALESCE(?5, password_hash), locale = COALESCE(?6, locale)
                         WHERE account_id = ?1 AND id = ?2 RETURNING {AGENT_COLUMNS}"
                    ),
                    params![
                        account.0,
                        id.0,
                        patch.name,
                        patch.role.map(Role::as_str),
                        patch.password_hash,
                        patch.locale.map(Locale::as_str)
                    ],
                    "agent",
                    |row| row.agent(),
                )
            })
            .await
    }

    async fn delete_agent(
        &self,
        account: AccountId,
        id: AgentId,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.writer
            .write(move |tx| {
                let assigned = query_all(
                    tx,
                    "SELECT id FROM conversations WHERE account_id = ?1 AND assignee_id = ?2 ORDER BY id",
                    [account.0, id.0],
                    |row| row.int("id"),
                )?;
                // The foreign key unassigns their conversations.
                let deleted = execute(
                    tx,
                    "DELETE FROM agents WHERE account_id = ?1 AND id = ?2",
                    [account.0, id.0],
                )?;
                if deleted == 0 {
                    return Err(StoreError::NotFound("agent"));
                }
                // Live inboxes hear of each unassignment.
                for conversation in assigned {
                    let conversation = load_conversation(tx, account, ConversationId(conversation))?;
                    save_and_log(tx, &conversation, "assign", Actor::System, now)?;
                }
                Ok(())
            })
            .await
    }

    async fn agent_for_login(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        let sql = format!("SELECT {AGENT_COLUMNS}, password_hash FROM agents WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((
                row.agent().map_err(db_error)?,
                row.text("password_hash").map_err(db_error)?,
            ))),
        }
    }

    async fn create_credential(
        &self,
        agent: AgentId,
        kind: CredentialKind,
        token_hash: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_string();
        self.writer
            .write(move |tx| {
                execute(
                    tx,
                    "INSERT INTO credentials (token_hash, agent_id, kind, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![token_hash, agent.0, kind.as_str(), expires_at.map(|t| t.0), now.0],
                )?;
                Ok(())
            })
            .await
    }

    async fn agent_by_credential(
        &self,
        kind: CredentialKind,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Agent>> {
        let row = sqlx::query(
            "SELECT a.id, a.account_id, a.name, a.email, a.role, a.locale, a.created_at
             FROM credentials k JOIN agents a ON a.id = k.agent_id
             WHERE k.token_hash = $1 AND k.kind = $2 AND (k.expires_at IS NULL OR k.expires_at > $3)",
        )
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(now.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        row.map(|row| row.agent().map_err(db_error)).transpose()
    }

    async fn delete_credential(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_string();
        self.writer
            .write(move |tx| {
                execute(
                    tx,
                    "DELETE FROM credentials WHERE token_hash = ?1",
                    [token_hash],
                )?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl InboxStore for SqliteStore {
    async fn create_inbox(
        &self,
        account: AccountId,
        inbox: NewInbox,
        now: Timestamp,
    ) -> StoreResult<Inbox> {
        self.writer
            .write(move |tx| {
                let inbox = query_one(
                    tx,
                    &format!(
                        "INSERT INTO inboxes (account_id, name, kind, token, email_address, identity_secret, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING {INBOX_COLUMNS}"
                    ),
                    params![
                        account.0,
                        inbox.name,
                        inbox.kind.as_str(),
                        inbox.token,
                        inbox.email_address,
                        inbox.identity_secret,
                        now.0
                    ],
                    "inbox",
                    |row| row.inbox(),
                )?;
                append_event(
                    tx,
                    account,
                    EventType::InboxCreated,
                    now,
                    serde_json::json!({"inbox": inbox}),
                )?;
                Ok(inbox)
            })
            .await
    }

    async fn list_inboxes(&self, account: AccountId) -> StoreResult<Vec<Inbox>> {
        let sql = format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE account_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| row.inbox().map_err(db_error))
            .collect()
    }

    async fn get_inbox(&self, account: AccountId, id: InboxId) -> StoreResult<Inbox> {
        let sql = format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("inbox"))?;
        row.inbox().map_err(db_error)
    }

    async fn inbox_by_token(&self, token: &str) -> StoreResult<Option<Inbox>> {
        let sql = format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE token = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?;
        row.map(|row| row.inbox().map_err(db_error)).transpose()
    }

    async fn inbox_by_email(&self, address: &str) -> StoreResult<Option<Inbox>> {
        let sql =
            format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE LOWER(email_address) = LOWER($1)");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(address.trim())
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?;
        row.map(|row| row.inbox().map_err(db_error)).transpose()
    }

    async fn update_inbox(
        &self,
        account: AccountId,
        id: InboxId,
        patch: InboxPatch,
    ) -> StoreResult<Inbox> {
        let widget = patch
            .widget
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Database(e.to_string()))?;
        self.writer
            .write(move |tx| {
                query_one(
                    tx,
                    &format!(
                        "UPDATE inboxes SET name = COALESCE(?3, name),
                                identity_required = COALESCE(?4, identity_required),
                                widget = COALESCE(?5, widget),
                                thank_you_url = CASE WHEN ?6 THEN ?7 ELSE thank_you_url END
                         WHERE account_id = ?1 AND id = ?2 RETURNING {INBOX_COLUMNS}"
                    ),
                    params![
                        account.0,
                        id.0,
                        patch.name,
                        patch.identity_required,
                        widget,
                        patch.thank_you_url.is_some(),
                        patch.thank_you_url.flatten()
                    ],
                    "inbox",
                    |row| row.inbox(),
                )
            })
            .await
    }

    async fn inbox_identity_secret(&self, account: AccountId, id: InboxId) -> StoreResult<String> {
        sqlx::query_scalar::<_, String>(
            "SELECT identity_secret FROM inboxes WHERE account_id = $1 AND id = $2",
        )
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("inbox"))
    }
}

/// Loads an inbox of the account inside a write.
pub(crate) fn load_inbox(tx: &Connection, account: AccountId, id: InboxId) -> StoreResult<Inbox> {
    query_one(
        tx,
        &format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE account_id = ?1 AND id = ?2"),
        [account.0, id.0],
        "inbox",
        |row| row.inbox(),
    )
}
