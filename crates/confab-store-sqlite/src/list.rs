//! The inbox list on SQLite, with FTS5 search.

use confab_domain::search::SearchQuery;
use confab_domain::*;
use confab_store::highlight;
use confab_store::listing::{cursor_after, cut_page, key_rank, push_filters, push_order, rank_key};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow};
use confab_store::*;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use crate::db_error;

/// An FTS5 query where every term must match, the last as a prefix.
/// Terms hold only letters and digits, so quoting them is enough.
fn match_expression(search: &SearchQuery) -> Option<String> {
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
                format!("\"{term}\"*")
            } else {
                format!("\"{term}\"")
            }
        })
        .collect();
    Some(parts.join(" "))
}

/// The snippets of the page's hits (`("message" | "conversation", rowid)`),
/// one query per search table.
async fn snippets(
    pool: &SqlitePool,
    expression: &str,
    hits: &[Option<(String, i64)>],
) -> StoreResult<std::collections::HashMap<(String, i64), String>> {
    let (start, end, ellipsis) = (highlight::START, highlight::END, highlight::ELLIPSIS);
    let mut found = std::collections::HashMap::new();
    for (source, table) in [
        ("message", "message_search"),
        ("conversation", "conversation_search"),
    ] {
        let ids: Vec<i64> = hits
            .iter()
            .flatten()
            .filter(|(s, _)| s == source)
            .map(|(_, id)| *id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT rowid AS hit, snippet({table}, 0, '{start}', '{end}', '{ellipsis}', 12) AS snip
             FROM {table} WHERE {table} MATCH "
        ));
        qb.push_bind(expression.to_string()).push(" AND rowid IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(id);
        }
        qb.push(")");
        for row in qb.build().fetch_all(pool).await.map_err(db_error)? {
            let hit: i64 = row.try_get("hit").map_err(db_error)?;
            let snip: Option<String> = row.try_get("snip").map_err(db_error)?;
            if let Some(snip) = snip {
                found.insert((source.to_string(), hit), snip);
            }
        }
    }
    Ok(found)
}

pub(crate) async fn list(
    pool: &SqlitePool,
    account: AccountId,
    query: &ConversationQuery,
) -> StoreResult<Page<ListedConversation>> {
    let search = query.search.as_ref().filter(|s| !s.is_empty());
    let Some(search) = search else {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
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

    // Every match is ranked, but only the page's best hits get a snippet
    // (afterwards): making snippets is what costs, and a common word matches
    // hundreds of thousands of messages.
    let expression = match_expression(search);
    let mut qb = QueryBuilder::<Sqlite>::new(
        "WITH hits(cid, rank, source, hit) AS (SELECT NULL, NULL, NULL, NULL WHERE 0",
    );
    if let Some(expression) = &expression {
        qb.push(
            " UNION ALL SELECT m.conversation_id, bm25(message_search), 'message', message_search.rowid
              FROM message_search JOIN messages m ON m.id = message_search.rowid
              WHERE message_search MATCH ",
        )
        .push_bind(expression.clone())
        .push(" AND m.account_id = ")
        .push_bind(account.0);
        if !query.search_private {
            qb.push(" AND m.private = 0");
        }
        qb.push(
            " UNION ALL SELECT conversation_search.rowid, bm25(conversation_search), 'conversation', conversation_search.rowid
              FROM conversation_search WHERE conversation_search MATCH ",
        )
        .push_bind(expression.clone());
    }
    if let Some(number) = search.number {
        qb.push(
            " UNION ALL SELECT id, -1000000.0, NULL, NULL FROM conversations WHERE account_id = ",
        )
        .push_bind(account.0)
        .push(" AND number = ")
        .push_bind(number);
    }
    // (SQLite takes the bare columns of a MIN() group from its minimum row.)
    qb.push(format!(
        "), best AS (SELECT cid, MIN(rank) AS rank, source, hit FROM hits GROUP BY cid)
         SELECT {CONVERSATION_COLUMNS}, best.rank AS search_rank, best.source AS hit_source, best.hit AS hit_id
         FROM best JOIN conversations c ON c.id = best.cid WHERE"
    ));
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
    let mut hits = Vec::with_capacity(rows.len());
    for row in &rows {
        let source: Option<String> = row.try_get("hit_source").map_err(db_error)?;
        let hit: Option<i64> = row.try_get("hit_id").map_err(db_error)?;
        hits.push(source.zip(hit));
    }
    let snippets = match &expression {
        Some(expression) => snippets(pool, expression, &hits).await?,
        None => Default::default(),
    };
    let mut items = Vec::with_capacity(rows.len());
    for (row, hit) in rows.iter().zip(&hits) {
        let conversation = row.conversation().map_err(db_error)?;
        let rank: f64 = row.try_get("search_rank").map_err(db_error)?;
        let snippet = hit.as_ref().and_then(|hit| snippets.get(hit));
        items.push((
            ListedConversation {
                conversation,
                snippet: snippet.map(|s| highlight::render(s)),
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
