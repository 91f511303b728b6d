//! The inbox list on PostgreSQL, with `tsvector` + GIN search.

use confab_domain::search::SearchQuery;
use confab_domain::*;
use confab_store::highlight;
use confab_store::listing::{
    PinnedAssignee, SEARCH_WINDOW, cursor_after, cut_page, key_rank, pinned_assignee, push_filters,
    push_order, rank_key,
};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow};
use confab_store::*;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use crate::db_error;

/// A `to_tsquery` text where every term must match, with `prefix` the last
/// as a prefix (search as you type): `term1 & term2 & term3:*`. Terms hold
/// only letters and digits, so none of them is an operator; the text is
/// still bound as a parameter in the search itself.
fn tsquery_text(search: &SearchQuery, prefix: bool) -> Option<String> {
    let count = search.terms.len();
    if count == 0 {
        return None;
    }
    let parts: Vec<String> = search
        .terms
        .iter()
        .enumerate()
        .map(|(i, term)| {
            if prefix && i + 1 == count {
                format!("{term}:*")
            } else {
                term.clone()
            }
        })
        .collect();
    Some(parts.join(" & "))
}

/// Put after every character that is neither a letter, a digit nor a space
/// while `ts_headline` runs, and removed from its result. PostgreSQL's
/// parser reads `ana@example.com`, `shop.example.com/x-y` or `1.5` as single
/// tokens (which the index, built from the text with those characters made
/// spaces, never holds, so nothing in them would be highlighted) and drops
/// `<b>`-like HTML tags from headlines; the mark splits such tokens into
/// the words the index has and keeps the text as written.
const SPLIT: char = '\u{E004}';

/// `ts_headline` options: the highlight sentinels around matches, a short
/// stretch of text around the best match.
fn headline_options() -> String {
    let (start, end, ellipsis) = (highlight::START, highlight::END, highlight::ELLIPSIS);
    format!(
        "StartSel={start}, StopSel={end}, MaxWords=20, MinWords=5, FragmentDelimiter={ellipsis}"
    )
}

/// A search table: its name and, for messages, whether private notes are left out.
#[derive(Debug, Clone, Copy)]
struct SearchTable {
    table: &'static str,
    /// The columns a hit gives: its conversation, its text, and whether it
    /// is the conversation's own search text (1) or a message (0).
    cid: &'static str,
    doc: &'static str,
    shown: i32,
}

impl SearchTable {
    /// The condition that leaves private notes out, unless they are searched.
    fn privacy(self, private: bool) -> &'static str {
        if self.table == "messages" && !private {
            " AND NOT t.private"
        } else {
            ""
        }
    }
}

const MESSAGES: SearchTable = SearchTable {
    table: "messages",
    cid: "t.conversation_id",
    doc: "t.body",
    shown: 0,
};
const CONVERSATIONS: SearchTable = SearchTable {
    table: "conversations",
    cid: "t.id",
    doc: "t.search_text",
    shown: 1,
};

/// How a search table's newest [`SEARCH_WINDOW`] matches are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchPath {
    /// The GIN index gives every match; each is read from the table and the
    /// newest window kept. Costs about one row read per match.
    Index,
    /// The table is walked newest first (its primary key backwards) and the
    /// walk stops at the window's last match. Costs about window × rows ÷
    /// matches row reads, but no GIN read: GIN has no order, and reading a
    /// common word's posting lists is itself slow (`login & page`, 1.3M and
    /// 1.1M of 10M messages: 245 ms before a single row is read).
    Walk,
}

/// The path with fewer row reads for `matches` estimated matches among
/// `rows`: a match read through the index (random, from the bitmap) costs
/// about three rows of a walk (sequential, in the table's order), measured
/// on 10M messages (9,976 matches in 28 ms; 40,489 rows walked in 25 ms).
/// A table never analysed has no row count (`reltuples` -1): the index,
/// whose cost is bounded by the real matches, not by a guess.
fn match_path(matches: f64, rows: f64) -> MatchPath {
    let window = SEARCH_WINDOW as f64;
    if rows > 0.0 && matches > window && 3.0 * matches * matches > window * rows.max(matches) {
        MatchPath::Walk
    } else {
        MatchPath::Index
    }
}

/// The planner's estimate of a table's matches for a tsquery text (from the
/// column's statistics of common words). The text and account are written
/// into the statement as constants: a bound parameter would be planned
/// without its value, and the planner would guess. The text holds letters,
/// digits and tsquery operators only (`tsquery_text`); quotes are doubled
/// all the same.
async fn estimated_matches(
    pool: &PgPool,
    table: SearchTable,
    tsquery: &str,
    account: AccountId,
    private: bool,
) -> StoreResult<f64> {
    let private_filter = table.privacy(private);
    let sql = format!(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM {} t WHERE t.search @@ to_tsquery('simple', '{}') \
         AND t.account_id = {}{private_filter}",
        table.table,
        tsquery.replace('\'', "''"),
        account.0,
    );
    // Not prepared: every search has its own text, and prepared statements
    // would push the hot ones out of the connection's statement cache.
    let plan: serde_json::Value = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    Ok(plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0))
}

/// Chooses each search table's path (messages, conversations) from the
/// planner's estimate of its matches and the table's row count. PostgreSQL's
/// own choice for `ORDER BY id DESC LIMIT n` walks the table for rare words
/// too (seconds on 10M messages). The estimate is the larger of the
/// search's and of the same words all whole: the planner's statistics know
/// whole words, and for a prefix it guesses low (2 % of the rows for a word
/// in all of them).
async fn choose_paths(
    pool: &PgPool,
    search: &SearchQuery,
    account: AccountId,
    private: bool,
) -> StoreResult<Option<(MatchPath, MatchPath)>> {
    let (Some(typed), Some(whole)) = (tsquery_text(search, true), tsquery_text(search, false))
    else {
        return Ok(None);
    };
    let (messages, conversations): (f32, f32) = sqlx::query_as(
        "SELECT (SELECT reltuples FROM pg_class WHERE oid = 'messages'::regclass),
                (SELECT reltuples FROM pg_class WHERE oid = 'conversations'::regclass)",
    )
    .fetch_one(pool)
    .await
    .map_err(db_error)?;
    let mut paths = Vec::with_capacity(2);
    for (table, rows) in [(MESSAGES, messages), (CONVERSATIONS, conversations)] {
        let matches = estimated_matches(pool, table, &typed, account, private)
            .await?
            .max(estimated_matches(pool, table, &whole, account, private).await?);
        paths.push(match_path(matches, f64::from(rows)));
    }
    Ok(Some((paths[0], paths[1])))
}

/// Appends one table's hits: its newest [`SEARCH_WINDOW`] matches by `path`
/// with their rank, the negated `ts_rank` (smaller is better, like SQLite's).
fn push_hits(
    qb: &mut QueryBuilder<Postgres>,
    table: SearchTable,
    path: MatchPath,
    account: AccountId,
    private: bool,
) {
    // `ts_match_vq` is `@@` as a plain function, which no index serves: the
    // planner walks the primary key for the order instead. `id + 0` is no
    // index's order: the planner takes the GIN matches and sorts them.
    let (matching, order) = match path {
        MatchPath::Walk => ("ts_match_vq(t.search, q.query)", "t.id"),
        MatchPath::Index => ("t.search @@ q.query", "t.id + 0"),
    };
    // Ranked outside the window's query, so only the window's rows are
    // ranked (a word in 14,000 subjects: the newest 2,000).
    qb.push(format!(
        "(SELECT w.cid, (-ts_rank(w.search, q.query))::float8 AS rank, w.doc, {shown} AS shown
         FROM (SELECT {cid} AS cid, t.search, {doc} AS doc
               FROM {table} t CROSS JOIN q WHERE {matching} AND t.account_id = ",
        cid = table.cid,
        doc = table.doc,
        shown = table.shown,
        table = table.table,
    ))
    .push_bind(account.0)
    .push(table.privacy(private));
    qb.push(format!(" ORDER BY {order} DESC LIMIT "))
        .push_bind(SEARCH_WINDOW)
        .push(") w CROSS JOIN q)");
}

/// Whether the folder counters say a folder page that names an assignee is
/// empty (the folder holds none of theirs, or scope and filter name two):
/// then it is answered without walking the folder — the planner would walk
/// the folder's index looking for them (`spam`, `mine`, unread: 56 ms on a
/// million conversations, for nothing).
async fn nothing_there(
    pool: &PgPool,
    account: AccountId,
    query: &ConversationQuery,
) -> StoreResult<bool> {
    let Some(folder) = query.folder else {
        return Ok(false);
    };
    let assignee = match pinned_assignee(query) {
        PinnedAssignee::Any => return Ok(false),
        PinnedAssignee::Contradiction => return Ok(true),
        PinnedAssignee::Key(key) => key,
    };
    let n: i64 = sqlx::query_scalar(
        "SELECT ((SELECT COALESCE(SUM(n), 0) FROM conversation_counts
                  WHERE account_id = $1 AND folder = $2 AND assignee_id = $3)
               + (SELECT COALESCE(SUM(n), 0) FROM conversation_count_deltas
                  WHERE account_id = $1 AND folder = $2 AND assignee_id = $3))::BIGINT",
    )
    .bind(account.0)
    .bind(folder.as_str())
    .bind(assignee)
    .fetch_one(pool)
    .await
    .map_err(db_error)?;
    Ok(n <= 0)
}

pub(crate) async fn list(
    pool: &PgPool,
    account: AccountId,
    query: &ConversationQuery,
) -> StoreResult<Page<ListedConversation>> {
    let search = query.search.as_ref().filter(|s| !s.is_empty());
    let Some(search) = search else {
        if nothing_there(pool, account, query).await? {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE"
        ));
        push_filters(&mut qb, account, query);
        push_order(&mut qb, query);
        let rows = qb.build().fetch_all(pool).await.map_err(db_error)?;
        let items = rows
            .iter()
            .map(|row| {
                row.conversation().map(|conversation| ListedConversation {
                    conversation,
                    snippet: None,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_error)?;
        return Ok(cut_page(items, query.limit, |item| {
            cursor_after(&item.conversation, query.sort)
        }));
    };

    // Hits: messages (private notes only when asked), the conversations'
    // search text (number, subject, contact), each table's newest
    // SEARCH_WINDOW matches, and the conversation number. A rank is the
    // negated ts_rank, so that smaller is better (like SQLite's bm25) and
    // the keyset is "ascending rank, then id".
    let tsquery = tsquery_text(search, true);
    let private = query.search_private;
    let paths = choose_paths(pool, search, account, private).await?;
    let mut qb = QueryBuilder::<Postgres>::new("WITH ");
    if let Some(text) = &tsquery {
        qb.push("q AS (SELECT to_tsquery('simple', ")
            .push_bind(text.clone())
            .push(") AS query), ");
    }
    qb.push("hits AS (");
    if let Some((messages, conversations)) = paths {
        push_hits(&mut qb, MESSAGES, messages, account, private);
        qb.push(" UNION ALL ");
        push_hits(&mut qb, CONVERSATIONS, conversations, account, private);
    }
    if let Some(number) = search.number {
        if tsquery.is_some() {
            qb.push(" UNION ALL ");
        }
        qb.push(
            "SELECT c.id AS cid, (-1000000.0)::float8 AS rank, NULL::text AS doc, 1 AS shown
             FROM conversations c WHERE c.account_id = ",
        )
        .push_bind(account.0)
        .push(" AND c.number = ")
        .push_bind(number);
    }
    // Per conversation its best rank, and the text its snippet comes from:
    // its best message hit when it has one (a hit on the subject or contact
    // would show the index text: number, name and address run together).
    // ts_headline is costly, so PostgreSQL evaluates it after the sort and
    // limit: only for the rows of the page.
    qb.push(
        "), best AS (SELECT DISTINCT ON (cid) cid, MIN(rank) OVER (PARTITION BY cid) AS rank, doc
         FROM hits ORDER BY cid, shown, rank) ",
    );
    qb.push(format!(
        "SELECT {CONVERSATION_COLUMNS}, best.rank AS search_rank, "
    ));
    if tsquery.is_some() {
        qb.push(
            "ts_headline('simple', regexp_replace(best.doc, '([^[:alnum:][:space:]])', '\\1' || ",
        )
        .push_bind(SPLIT.to_string())
        .push(", 'g'), q.query, ")
        .push_bind(headline_options())
        .push(") AS snippet FROM best JOIN conversations c ON c.id = best.cid CROSS JOIN q WHERE");
    } else {
        qb.push("NULL::text AS snippet FROM best JOIN conversations c ON c.id = best.cid WHERE");
    }
    push_filters(&mut qb, account, query);
    if let Some(cursor) = query.cursor {
        let rank = key_rank(cursor.key);
        qb.push(" AND (best.rank > ")
            .push_bind(rank)
            .push(" OR (best.rank = ")
            .push_bind(rank)
            .push(" AND c.id > ")
            .push_bind(cursor.id)
            .push("))");
    }
    qb.push(" ORDER BY best.rank, c.id LIMIT ")
        .push_bind(i64::from(query.limit) + 1);
    let rows = qb.build().fetch_all(pool).await.map_err(db_error)?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let conversation = row.conversation().map_err(db_error)?;
        let rank: f64 = row.try_get("search_rank").map_err(db_error)?;
        let snippet: Option<String> = row.try_get("snippet").map_err(db_error)?;
        items.push((
            ListedConversation {
                conversation,
                snippet: snippet.map(|s| highlight::render(&s.replace(SPLIT, ""))),
            },
            rank,
        ));
    }
    let page = cut_page(items, query.limit, |(item, rank)| {
        confab_store::cursor::Cursor {
            key: rank_key(*rank),
            id: item.conversation.id.0,
        }
    });
    Ok(Page {
        items: page.items.into_iter().map(|(item, _)| item).collect(),
        next_cursor: page.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_words_take_the_index_and_common_ones_the_walk() {
        // 10M messages: a word in 100 or in 44,000 (the planner's guess for
        // any word outside its statistics) is read through the index ...
        assert_eq!(match_path(100.0, 1e7), MatchPath::Index);
        assert_eq!(match_path(44_140.0, 1e7), MatchPath::Index);
        // ... one in 5 % of them is walked (40,000 rows for the window).
        assert_eq!(match_path(500_000.0, 1e7), MatchPath::Walk);
        // Never a walk when the window holds every match, nor for no rows.
        assert_eq!(match_path(2_000.0, 2_000.0), MatchPath::Index);
        assert_eq!(match_path(0.0, 0.0), MatchPath::Index);
        // Unknown row counts (never analysed: -1): the index.
        assert_eq!(match_path(3_000.0, -1.0), MatchPath::Index);
        assert_eq!(match_path(3_000.0, 0.0), MatchPath::Index);
    }
}
