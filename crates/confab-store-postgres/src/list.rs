//! The inbox list on PostgreSQL, with `tsvector` + GIN search.

use confab_domain::search::SearchQuery;
use confab_domain::*;
use confab_store::highlight;
use confab_store::listing::{
    PinnedAssignee, cursor_after, cut_page, key_rank, pinned_assignee, push_filters, push_order,
    rank_key,
};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow};
use confab_store::*;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use crate::db_error;

/// A `to_tsquery` text where every term must match, the last as a prefix:
/// `term1 & term2 & term3:*`. Terms hold only letters and digits, so none
/// of them is an operator; the text is still bound as a parameter.
fn tsquery_text(search: &SearchQuery) -> Option<String> {
    let count = search.terms.len();
    if count == 0 {
        return None;
    }
    let parts: Vec<String> = search
        .terms
        .iter()
        .enumerate()
        .map(|(i, term)| {
            if i + 1 == count {
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
    // search text (number, subject, contact), and the conversation number.
    // A rank is the negated ts_rank, so that smaller is better (like
    // SQLite's bm25) and the keyset is "ascending rank, then id".
    let tsquery = tsquery_text(search);
    let mut qb = QueryBuilder::<Postgres>::new("WITH ");
    if let Some(text) = &tsquery {
        qb.push("q AS (SELECT to_tsquery('simple', ")
            .push_bind(text.clone())
            .push(") AS query), ");
    }
    qb.push("hits AS (");
    if tsquery.is_some() {
        qb.push(
            "SELECT m.conversation_id AS cid, (-ts_rank(m.search, q.query))::float8 AS rank, m.body AS doc, 0 AS shown
             FROM messages m CROSS JOIN q WHERE m.search @@ q.query AND m.account_id = ",
        )
        .push_bind(account.0);
        if !query.search_private {
            qb.push(" AND NOT m.private");
        }
        qb.push(
            " UNION ALL SELECT c.id, (-ts_rank(c.search, q.query))::float8, c.search_text, 1
             FROM conversations c CROSS JOIN q WHERE c.search @@ q.query AND c.account_id = ",
        )
        .push_bind(account.0);
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
