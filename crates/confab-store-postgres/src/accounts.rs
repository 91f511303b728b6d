//! Accounts, agents, credentials and inboxes.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::rows::{AGENT_COLUMNS, CONVERSATION_COLUMNS, EntityRow, INBOX_COLUMNS};
use confab_store::*;
use sqlx::PgConnection;

use crate::conversations::save_and_log;
use crate::events::append_event;
use crate::{PostgresStore, db_error};

async fn insert_agent(
    tx: &mut PgConnection,
    account: AccountId,
    agent: &NewAgent,
    now: Timestamp,
) -> StoreResult<Agent> {
    let sql = format!(
        "INSERT INTO agents (account_id, name, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING {AGENT_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(&agent.name)
        .bind(&agent.email)
        .bind(&agent.password_hash)
        .bind(agent.role.as_str())
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    row.agent().map_err(db_error)
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_account(
        &self,
        name: &str,
        admin: NewAgent,
        now: Timestamp,
    ) -> StoreResult<(Account, Agent)> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(name)
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let account = Account {
            id: AccountId(id),
            name: name.to_string(),
            created_at: now,
        };
        let agent = insert_agent(&mut tx, account.id, &admin, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok((account, agent))
    }

    async fn count_accounts(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn get_account(&self, id: AccountId) -> StoreResult<Account> {
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT id, name, created_at FROM accounts WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if exists.is_none() {
            return Err(StoreError::NotFound("account"));
        }
        let agent = insert_agent(&mut tx, account, &agent, now).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(agent)
    }

    async fn get_agent(&self, account: AccountId, id: AgentId) -> StoreResult<Agent> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("agent"))?;
        row.agent().map_err(db_error)
    }

    async fn list_agents(&self, account: AccountId) -> StoreResult<Vec<Agent>> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .fetch_all(&self.pool)
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
        let sql = format!(
            "UPDATE agents SET name = COALESCE($3, name), role = COALESCE($4, role),
                    password_hash = COALESCE($5, password_hash), locale = COALESCE($6, locale)
             WHERE account_id = $1 AND id = $2 RETURNING {AGENT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .bind(patch.name)
            .bind(patch.role.map(Role::as_str))
            .bind(patch.password_hash)
            .bind(patch.locale.map(Locale::as_str))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("agent"))?;
        row.agent().map_err(db_error)
    }

    async fn delete_agent(
        &self,
        account: AccountId,
        id: AgentId,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Their conversations locked in id order (as every write that locks
        // several does), then the agent, then (with the events) the account.
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c
             WHERE c.account_id = $1 AND c.assignee_id = $2 ORDER BY c.id FOR NO KEY UPDATE"
        );
        let assigned = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        // The foreign key unassigns their conversations.
        let deleted = sqlx::query("DELETE FROM agents WHERE account_id = $1 AND id = $2")
            .bind(account.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound("agent"));
        }
        // Live inboxes hear of each unassignment.
        for row in &assigned {
            let mut conversation = row.conversation().map_err(db_error)?;
            conversation.assignee_id = None;
            save_and_log(&mut tx, &conversation, "assign", Actor::System, now).await?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn agent_for_login(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        let sql = format!("SELECT {AGENT_COLUMNS}, password_hash FROM agents WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email)
            .fetch_optional(&self.pool)
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
        sqlx::query("INSERT INTO credentials (token_hash, agent_id, kind, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(agent.0)
            .bind(kind.as_str())
            .bind(expires_at.map(|t| t.0))
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
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
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.map(|row| row.agent().map_err(db_error)).transpose()
    }

    async fn delete_credential(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM credentials WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

#[async_trait]
impl InboxStore for PostgresStore {
    async fn create_inbox(
        &self,
        account: AccountId,
        inbox: NewInbox,
        now: Timestamp,
    ) -> StoreResult<Inbox> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let sql = format!(
            "INSERT INTO inboxes (account_id, name, kind, token, email_address, identity_secret, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {INBOX_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(&inbox.name)
            .bind(inbox.kind.as_str())
            .bind(&inbox.token)
            .bind(&inbox.email_address)
            .bind(&inbox.identity_secret)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let inbox = row.inbox().map_err(db_error)?;
        append_event(
            &mut tx,
            account,
            EventType::InboxCreated,
            now,
            serde_json::json!({"inbox": inbox}),
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        Ok(inbox)
    }

    async fn list_inboxes(&self, account: AccountId) -> StoreResult<Vec<Inbox>> {
        let sql = format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE account_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .fetch_all(&self.pool)
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
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("inbox"))?;
        row.inbox().map_err(db_error)
    }

    async fn inbox_by_token(&self, token: &str) -> StoreResult<Option<Inbox>> {
        let sql = format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE token = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| row.inbox().map_err(db_error)).transpose()
    }

    async fn inbox_by_email(&self, address: &str) -> StoreResult<Option<Inbox>> {
        let sql =
            format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE LOWER(email_address) = LOWER($1)");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(address.trim())
            .fetch_optional(&self.pool)
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
        let sql = format!(
            "UPDATE inboxes SET name = COALESCE($3, name),
                    identity_required = COALESCE($4, identity_required),
                    widget = COALESCE($5, widget),
                    thank_you_url = CASE WHEN $6 THEN $7 ELSE thank_you_url END
             WHERE account_id = $1 AND id = $2 RETURNING {INBOX_COLUMNS}"
        );
        let widget = patch.widget.as_ref().map(widget_json).transpose()?;
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(id.0)
            .bind(patch.name)
            .bind(patch.identity_required)
            .bind(widget)
            .bind(patch.thank_you_url.is_some())
            .bind(patch.thank_you_url.flatten())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound("inbox"))?;
        row.inbox().map_err(db_error)
    }

    async fn inbox_identity_secret(&self, account: AccountId, id: InboxId) -> StoreResult<String> {
        sqlx::query_scalar::<_, String>(
            "SELECT identity_secret FROM inboxes WHERE account_id = $1 AND id = $2",
        )
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("inbox"))
    }
}

/// Widget settings as the JSON text the `widget` column holds.
fn widget_json(widget: &confab_domain::WidgetSettings) -> StoreResult<String> {
    serde_json::to_string(widget).map_err(|e| StoreError::Database(e.to_string()))
}

/// Loads an inbox of the account inside a transaction.
pub(crate) async fn load_inbox(
    conn: &mut PgConnection,
    account: AccountId,
    id: InboxId,
) -> StoreResult<Inbox> {
    let sql = format!("SELECT {INBOX_COLUMNS} FROM inboxes WHERE account_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("inbox"))?;
    row.inbox().map_err(db_error)
}
