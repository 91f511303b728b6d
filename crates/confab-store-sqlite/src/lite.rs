//! Small helpers for the writer's synchronous connection (rusqlite): rows
//! into entities through the shared [`EntityRow`] mapping, errors into
//! [`StoreError`], and the few query shapes the writes use. Statements are
//! prepared once and cached by their SQL text.

use confab_store::rows::EntityRow;
use confab_store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, Params, Row};

/// A rusqlite row, read with the same column mapping the async reads use.
pub(crate) struct LiteRow<'a, 'r>(pub &'a Row<'r>);

fn decode(error: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

impl EntityRow for LiteRow<'_, '_> {
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.0.get(column).map_err(decode)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.0.get(column).map_err(decode)
    }
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.0.get(column).map_err(decode)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.0.get(column).map_err(decode)
    }
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.0.get(column).map_err(decode)
    }
}

/// Maps a rusqlite error the way [`crate::db_error`] maps sqlx's.
pub(crate) fn lite_error(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, message) = &error
        && matches!(
            code.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return StoreError::Duplicate {
            field: crate::duplicate_field(message.as_deref().unwrap_or("")),
        };
    }
    StoreError::Database(error.to_string())
}

/// Runs a statement; returns the number of rows changed.
pub(crate) fn execute(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<usize> {
    let mut statement = conn.prepare_cached(sql).map_err(lite_error)?;
    statement.execute(params).map_err(lite_error)
}

/// The first row mapped by `map`, if there is one.
pub(crate) fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl FnOnce(&LiteRow) -> Result<T, sqlx::Error>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(lite_error)?;
    let found = statement
        .query_row(params, |row| Ok(map(&LiteRow(row))))
        .optional()
        .map_err(lite_error)?;
    found.transpose().map_err(crate::db_error)
}

/// Exactly one row mapped by `map`; `missing` names what was not found.
pub(crate) fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    missing: &'static str,
    map: impl FnOnce(&LiteRow) -> Result<T, sqlx::Error>,
) -> StoreResult<T> {
    query_opt(conn, sql, params, map)?.ok_or(StoreError::NotFound(missing))
}

/// Every row mapped by `map`.
pub(crate) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    mut map: impl FnMut(&LiteRow) -> Result<T, sqlx::Error>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(lite_error)?;
    let mut rows = statement.query(params).map_err(lite_error)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(lite_error)? {
        items.push(map(&LiteRow(row)).map_err(crate::db_error)?);
    }
    Ok(items)
}
