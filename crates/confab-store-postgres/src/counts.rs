//! Folder counts from maintained counters (migration 0010): the counters
//! plus the deltas triggers appended since the last fold.

use confab_domain::{AccountId, AgentId, Folder, FolderCounts};
use confab_store::{Scope, StoreResult};
use sqlx::{PgPool, Row};

use crate::db_error;

/// How many unfolded deltas a read tolerates before it folds them.
const FOLD_AFTER: i64 = 256;

/// Conversations per folder for a scope; folds the account's deltas
/// afterwards when there were many.
pub(crate) async fn count(
    pool: &PgPool,
    account: AccountId,
    scope: Scope,
    viewer: Option<AgentId>,
) -> StoreResult<FolderCounts> {
    // One statement, one snapshot: a fold commits atomically, so a read
    // sees each delta either in the counters or among the deltas.
    let rows = sqlx::query(
        "WITH d AS (SELECT folder, assignee_id, n FROM conversation_count_deltas WHERE account_id = $1),
              c AS (SELECT folder, assignee_id, n FROM conversation_counts WHERE account_id = $1
                    UNION ALL SELECT folder, assignee_id, n FROM d)
         SELECT folder, SUM(n)::BIGINT AS n, (SELECT COUNT(*) FROM d) AS deltas FROM c
         WHERE $2 = 'all' OR ($2 = 'mine' AND assignee_id = $3) OR ($2 = 'unassigned' AND assignee_id = 0)
         GROUP BY folder",
    )
    .bind(account.0)
    .bind(scope.as_str())
    .bind(viewer.map(|v| v.0).unwrap_or(-1))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let mut counts = FolderCounts::default();
    let mut deltas = 0;
    for row in rows {
        let folder: String = row.try_get("folder").map_err(db_error)?;
        let n: i64 = row.try_get("n").map_err(db_error)?;
        deltas = row.try_get("deltas").map_err(db_error)?;
        if let Some(folder) = Folder::parse(&folder) {
            counts.add(folder, n);
        }
    }
    if deltas >= FOLD_AFTER {
        fold_count_deltas(pool, Some(account)).await?;
    }
    Ok(counts)
}

/// Moves the deltas (of one account, or all) into the counters, in one
/// transaction. A fold already running for the same deltas makes this one
/// wait and then find nothing left to move.
pub async fn fold_count_deltas(pool: &PgPool, account: Option<AccountId>) -> StoreResult<()> {
    sqlx::query(
        "WITH moved AS (
             DELETE FROM conversation_count_deltas WHERE $1::BIGINT IS NULL OR account_id = $1
             RETURNING account_id, folder, assignee_id, n)
         INSERT INTO conversation_counts (account_id, folder, assignee_id, n)
         SELECT account_id, folder, assignee_id, SUM(n) FROM moved
         GROUP BY account_id, folder, assignee_id
         ORDER BY account_id, folder, assignee_id
         ON CONFLICT (account_id, folder, assignee_id)
         DO UPDATE SET n = conversation_counts.n + excluded.n",
    )
    .bind(account.map(|a| a.0))
    .execute(pool)
    .await
    .map_err(db_error)?;
    Ok(())
}
