//! Contacts and contact sessions.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::cursor::Cursor;
use confab_store::plan::{contact_event, conversation_search_text, merge_attributes};
use confab_store::rows::{CONTACT_COLUMNS, EntityRow};
use confab_store::*;
use sqlx::PgConnection;

use crate::events::append_event;
use crate::{PostgresStore, db_error};

/// Loads a contact (without locking it).
pub(crate) async fn load_contact(
    conn: &mut PgConnection,
    account: AccountId,
    id: ContactId,
) -> StoreResult<Contact> {
    let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = $1 AND id = $2");
    fetch_contact(conn, sql, account, id).await
}

/// Loads a contact the transaction will change, locking its row until the
/// transaction ends. Contacts are locked before conversations.
pub(crate) async fn lock_contact(
    tx: &mut PgConnection,
    account: AccountId,
    id: ContactId,
) -> StoreResult<Contact> {
    let sql = format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = $1 AND id = $2 FOR NO KEY UPDATE"
    );
    fetch_contact(tx, sql, account, id).await
}

/// Locks a contact who is writing and marks them seen at `now`, in one
/// statement (the update takes the same row lock as `lock_contact`).
pub(crate) async fn lock_contact_seen(
    tx: &mut PgConnection,
    account: AccountId,
    id: ContactId,
    now: Timestamp,
) -> StoreResult<Contact> {
    let sql = format!(
        "UPDATE contacts SET last_seen_at = $3 WHERE account_id = $1 AND id = $2 RETURNING {CONTACT_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(id.0)
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("contact"))?;
    row.contact().map_err(db_error)
}

async fn fetch_contact(
    tx: &mut PgConnection,
    sql: String,
    account: AccountId,
    id: ContactId,
) -> StoreResult<Contact> {
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("contact"))?;
    row.contact().map_err(db_error)
}

/// Writes every field of a contact back.
pub(crate) async fn save_contact(tx: &mut PgConnection, contact: &Contact) -> StoreResult<()> {
    sqlx::query(
        "UPDATE contacts SET name = $3, email = $4, phone = $5, company = $6, custom_attributes = $7,
                browser = $8, spam = $9, last_seen_at = $10
         WHERE account_id = $1 AND id = $2",
    )
    .bind(contact.account_id.0)
    .bind(contact.id.0)
    .bind(&contact.name)
    .bind(&contact.email)
    .bind(&contact.phone)
    .bind(&contact.company)
    .bind(serde_json::Value::Object(contact.custom_attributes.clone()).to_string())
    .bind(serde_json::Value::Object(contact.browser.clone()).to_string())
    .bind(contact.spam)
    .bind(contact.last_seen_at.0)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl ContactStore for PostgresStore {
    async fn create_contact(
        &self,
        account: AccountId,
        contact: NewContact,
        now: Timestamp,
    ) -> StoreResult<Contact> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let sql = format!(
            "INSERT INTO contacts (account_id, name, email, phone, company, external_id, custom_attributes, browser, first_seen_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {CONTACT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(&contact.name)
            .bind(&contact.email)
            .bind(&contact.phone)
            .bind(&contact.company)
            .bind(&contact.external_id)
            .bind(serde_json::Value::Object(contact.custom_attributes).to_string())
            .bind(serde_json::Value::Object(contact.browser).to_string())
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let contact = row.contact().map_err(db_error)?;
        append_event(
            &mut tx,
            account,
            EventType::ContactCreated,
            now,
            contact_event(&contact),
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        Ok(contact)
    }

    async fn get_contact(&self, account: AccountId, id: ContactId) -> StoreResult<Contact> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        load_contact(&mut conn, account, id).await
    }

    async fn contact_by_email(
        &self,
        account: AccountId,
        email: &str,
    ) -> StoreResult<Option<Contact>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = $1 AND email = $2 ORDER BY id LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| row.contact().map_err(db_error)).transpose()
    }

    async fn contact_by_external_id(
        &self,
        account: AccountId,
        external_id: &str,
    ) -> StoreResult<Option<Contact>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = $1 AND external_id = $2 ORDER BY id LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| row.contact().map_err(db_error)).transpose()
    }

    async fn update_contact(
        &self,
        account: AccountId,
        id: ContactId,
        patch: ContactPatch,
        now: Timestamp,
    ) -> StoreResult<Contact> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let mut contact = lock_contact(&mut tx, account, id).await?;
        let searchable_changed =
            patch.name.is_some() || patch.email.is_some() || patch.phone.is_some();
        if let Some(name) = patch.name {
            contact.name = name;
        }
        if let Some(email) = patch.email {
            contact.email = email;
        }
        if let Some(phone) = patch.phone {
            contact.phone = phone;
        }
        if let Some(company) = patch.company {
            contact.company = company;
        }
        if let Some(changes) = patch.custom_attributes {
            merge_attributes(&mut contact.custom_attributes, changes);
        }
        if let Some(browser) = patch.browser {
            contact.browser = browser;
        }
        contact.last_seen_at = contact.last_seen_at.max(now);
        save_contact(&mut tx, &contact).await?;
        if searchable_changed {
            let rows: Vec<(i64, i64, Option<String>)> =
                sqlx::query_as(
                    "SELECT id, number, subject FROM conversations WHERE account_id = $1 AND contact_id = $2
                     ORDER BY id FOR NO KEY UPDATE",
                )
                    .bind(account.0)
                    .bind(id.0)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
            for (conversation, number, subject) in rows {
                sqlx::query("UPDATE conversations SET search_text = $2 WHERE id = $1")
                    .bind(conversation)
                    .bind(conversation_search_text(
                        number,
                        subject.as_deref(),
                        &contact,
                    ))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
        }
        append_event(
            &mut tx,
            account,
            EventType::ContactUpdated,
            now,
            contact_event(&contact),
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        Ok(contact)
    }

    async fn list_contacts(
        &self,
        account: AccountId,
        q: Option<&str>,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Page<Contact>> {
        // Lowercased by PostgreSQL on both sides, with the database's rules
        // (Rust's lowercase makes `İ` an `i` with a combining dot).
        let pattern = q.map(|q| {
            format!(
                "%{}%",
                q.trim()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts
             WHERE account_id = $1 AND id < $2
               AND ($3 IS NULL OR LOWER(COALESCE(name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company, '')) LIKE LOWER($3) ESCAPE '\\')
             ORDER BY id DESC LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(cursor.map(|c| c.id).unwrap_or(i64::MAX))
            .bind(pattern)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let mut items = rows
            .iter()
            .map(|row| row.contact().map_err(db_error))
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|c| Cursor { key: 0, id: c.id.0 })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn create_contact_session(
        &self,
        contact: ContactId,
        inbox: InboxId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO contact_sessions (token_hash, contact_id, inbox_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(contact.0)
            .bind(inbox.0)
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn contact_by_session(
        &self,
        inbox: InboxId,
        token_hash: &str,
    ) -> StoreResult<Option<Contact>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = (SELECT contact_id FROM contact_sessions WHERE token_hash = $1 AND inbox_id = $2)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(inbox.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| row.contact().map_err(db_error)).transpose()
    }
}
