//! Small helpers for the writer's synchronous connection (rusqlite): rows
//! into entities through the shared [`EntityRow`] mapping, errors into
//! [`StoreError`], and the few query shapes the writes use. Statements are
//! prepared once and cached by their SQL text.

use std::cell::Cell;

use confab_store::rows::EntityRow;
use confab_store::{StoreError, StoreResult};
use rusqlite::types::FromSql;
use rusqlite::{Connection, OptionalExtension, Params, Row};

/// A rusqlite row, read with the same column mapping the async reads use.
///
/// The mapping names its columns; rusqlite finds a name by comparing it with
/// each column's in turn (a call into SQLite per column), which was 5 % of
/// the writer's time under ingest. The mappings read columns mostly in the
/// order the queries select them, so the column after the last one read is
/// tried first. (A query that selected two columns of the same name could
/// then be read from the later one where rusqlite reads the first: none
/// does; name them apart with `AS`.)
pub(crate) struct LiteRow<'a, 'r> {
    row: &'a Row<'r>,
    next: Cell<usize>,
}

fn decode(error: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

impl<'a, 'r> LiteRow<'a, 'r> {
    pub(crate) fn new(row: &'a Row<'r>) -> Self {
        LiteRow {
            row,
            next: Cell::new(0),
        }
    }

    /// The named column's value.
    fn get<T: FromSql>(&self, column: &str) -> Result<T, sqlx::Error> {
        let statement = self.row.as_ref();
        let next = self.next.get();
        let at = match statement.column_name(next) {
            Ok(name) if name.eq_ignore_ascii_case(column) => next,
            _ => statement.column_index(column).map_err(decode)?,
        };
        self.next.set(at + 1);
        self.row.get(at).map_err(decode)
    }
}

impl EntityRow for LiteRow<'_, '_> {
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.get(column)
    }
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.get(column)
    }
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.get(column)
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
        .query_row(params, |row| Ok(map(&LiteRow::new(row))))
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
        items.push(map(&LiteRow::new(row)).map_err(crate::db_error)?);
    }
    Ok(items)
}
