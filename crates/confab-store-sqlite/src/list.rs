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

    let (start, end, ellipsis) = (highlight::START, highlight::END, highlight::ELLIPSIS);
    let mut qb = QueryBuilder::<Sqlite>::new(
        "WITH hits(cid, rank, snip) AS (SELECT NULL, NULL, NULL WHERE 0",
    );
    if let Some(expression) = match_expression(search) {
        qb.push(format!(
            " UNION ALL SELECT m.conversation_id, bm25(message_search), snippet(message_search, 0, '{start}', '{end}', '{ellipsis}', 12)
              FROM message_search JOIN messages m ON m.id = message_search.rowid
              WHERE message_search MATCH "
        ))
        .push_bind(expression.clone())
        .push(" AND m.account_id = ")
        .push_bind(account.0);
        if !query.search_private {
            qb.push(" AND m.private = 0");
        }
        qb.push(format!(
            " UNION ALL SELECT conversation_search.rowid, bm25(conversation_search), snippet(conversation_search, 0, '{start}', '{end}', '{ellipsis}', 12)
              FROM conversation_search WHERE conversation_search MATCH "
        ))
        .push_bind(expression);
    }
    if let Some(number) = search.number {
        qb.push(" UNION ALL SELECT id, -1000000.0, NULL FROM conversations WHERE account_id = ")
            .push_bind(account.0)
            .push(" AND number = ")
            .push_bind(number);
    }
    qb.push(format!(
        "), best AS (SELECT cid, MIN(rank) AS rank, snip FROM hits GROUP BY cid)
         SELECT {CONVERSATION_COLUMNS}, best.rank AS search_rank, best.snip AS snippet
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
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let conversation = row.conversation().map_err(db_error)?;
        let rank: f64 = row.try_get("search_rank").map_err(db_error)?;
        let snippet: Option<String> = row.try_get("snippet").map_err(db_error)?;
        items.push((
            ListedConversation {
                conversation,
                snippet: snippet.map(|s| highlight::render(&s)),
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
