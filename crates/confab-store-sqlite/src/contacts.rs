//! Contacts and contact sessions.

use async_trait::async_trait;
use confab_domain::*;
use confab_store::cursor::Cursor;
use confab_store::plan::{contact_event, conversation_search_text, merge_attributes};
use confab_store::rows::{CONTACT_COLUMNS, EntityRow};
use confab_store::*;
use rusqlite::{Connection, params};
use sqlx::SqliteConnection;

use crate::events::append_event;
use crate::lite::{execute, query_all, query_one};
use crate::{SqliteStore, db_error};

/// Loads a contact for a read.
pub(crate) async fn read_contact(
    conn: &mut SqliteConnection,
    account: AccountId,
    id: ContactId,
) -> StoreResult<Contact> {
    let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound("contact"))?;
    row.contact().map_err(db_error)
}

/// Loads a contact inside a write.
pub(crate) fn load_contact(
    tx: &Connection,
    account: AccountId,
    id: ContactId,
) -> StoreResult<Contact> {
    query_one(
        tx,
        &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = ?1 AND id = ?2"),
        [account.0, id.0],
        "contact",
        |row| row.contact(),
    )
}

/// Writes every field of a contact back.
pub(crate) fn save_contact(tx: &Connection, contact: &Contact) -> StoreResult<()> {
    execute(
        tx,
        "UPDATE contacts SET name = ?3, email = ?4, phone = ?5, company = ?6, custom_attributes = ?7,
                browser = ?8, spam = ?9, last_seen_at = ?10
         WHERE account_id = ?1 AND id = ?2",
        params![
            contact.account_id.0,
            contact.id.0,
            contact.name,
            contact.email,
            contact.phone,
            contact.company,
            serde_json::Value::Object(contact.custom_attributes.clone()).to_string(),
            serde_json::Value::Object(contact.browser.clone()).to_string(),
            contact.spam,
            contact.last_seen_at.0,
        ],
    )?;
    Ok(())
}

#[async_trait]
impl ContactStore for SqliteStore {
    async fn create_contact(
        &self,
        account: AccountId,
        contact: NewContact,
        now: Timestamp,
    ) -> StoreResult<Contact> {
        self.writer
            .write(move |tx| {
                let contact = query_one(
                    tx,
                    &format!(
                        "INSERT INTO contacts (account_id, name, email, phone, company, external_id, custom_attributes, browser, first_seen_at, last_seen_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) RETURNING {CONTACT_COLUMNS}"
                    ),
                    params![
                        account.0,
                        contact.name,
                        contact.email,
                        contact.phone,
                        contact.company,
                        contact.external_id,
                        serde_json::Value::Object(contact.custom_attributes).to_string(),
                        serde_json::Value::Object(contact.browser).to_string(),
                        now.0,
                    ],
                    "contact",
                    |row| row.contact(),
                )?;
                append_event(
                    tx,
                    account,
                    EventType::ContactCreated,
                    now,
                    contact_event(&contact),
                )?;
                Ok(contact)
            })
            .await
    }

    async fn get_contact(&self, account: AccountId, id: ContactId) -> StoreResult<Contact> {
        let mut conn = self.reader.acquire().await.map_err(db_error)?;
        read_contact(&mut conn, account, id).await
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
            .fetch_optional(&self.reader)
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
            .fetch_optional(&self.reader)
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
        self.writer
            .write(move |tx| {
                let mut contact = load_contact(tx, account, id)?;
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
                save_contact(tx, &contact)?;
                if searchable_changed {
                    let rows = query_all(
                        tx,
                        "SELECT id, number, subject FROM conversations WHERE account_id = ?1 AND contact_id = ?2",
                        [account.0, id.0],
                        |row| Ok((row.int("id")?, row.int("number")?, row.opt_text("subject")?)),
                    )?;
                    for (conversation, number, subject) in rows {
                        execute(
                            tx,
                            "UPDATE conversations SET search_text = ?2 WHERE id = ?1",
                            params![
                                conversation,
                                conversation_search_text(number, subject.as_deref(), &contact),
                            ],
                        )?;
                    }
                }
                append_event(
                    tx,
                    account,
                    EventType::ContactUpdated,
                    now,
                    contact_event(&contact),
                )?;
                Ok(contact)
            })
            .await
    }

    async fn list_contacts(
        &self,
        account: AccountId,
        q: Option<&str>,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Page<Contact>> {
        let pattern = q.map(|q| {
            format!(
                "%{}%",
                confab_domain::search::fold(q.trim())
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts
             WHERE account_id = $1 AND id < $2
               AND ($3 IS NULL OR confab_fold(COALESCE(name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company, '')) LIKE $3 ESCAPE '\\')
             ORDER BY id DESC LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.0)
            .bind(cursor.map(|c| c.id).unwrap_or(i64::MAX))
            .bind(pattern)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.reader)
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
        let token_hash = token_hash.to_string();
        self.writer
            .write(move |tx| {
                execute(
                    tx,
                    "INSERT INTO contact_sessions (token_hash, contact_id, inbox_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![token_hash, contact.0, inbox.0, now.0],
                )?;
                Ok(())
            })
            .await
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
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?;
        row.map(|row| row.contact().map_err(db_error)).transpose()
    }
}
