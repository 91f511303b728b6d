//! The inbox list on SQLite, with FTS5 search.

use confab_domain::search::SearchQuery;
use confab_domain::*;
use confab_store::highlight;
use confab_store::listing::{
    PinnedAssignee, cursor_after, cut_page, cut_ranked_page, key_rank, pinned_assignee,
    push_filters, push_order,
};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow};
use confab_store::*;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use crate::db_error;

// How many of the newest matches a search ranks per table: shared with
// PostgreSQL, see `confab_store::listing::SEARCH_WINDOW`.
pub use confab_store::listing::SEARCH_WINDOW;

/// The user's terms as FTS5 phrases, every one required, in a table's text
/// column; with `prefix` the last one also matches longer words, and is
/// asked for whole as well (`("refund" OR "refund"*)`): the rank sums its
/// phrases, so a row holding the word itself ranks above one holding only
/// a longer word (`refunded`), other things equal. Terms hold only letters
/// and digits, so quoting them is enough.
fn terms_expression(search: &SearchQuery, column: &str, prefix: bool) -> Option<String> {
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
                format!("(\"{term}\" OR \"{term}\"*)")
            } else {
                format!("\"{term}\"")
            }
        })
        .collect();
    // `AND` written out: FTS5 ANDs phrases side by side, not a parenthesised group.
    Some(format!("{column} : ({})", parts.join(" AND ")))
}

/// One search table: its FTS5 table, the table whose rows it indexes (the
/// account is checked there) and its text column.
struct SearchTable {
    name: &'static str,
    fts: &'static str,
    rows: &'static str,
    column: &'static str,
}

const MESSAGES: SearchTable = SearchTable {
    name: "messages",
    fts: "message_search",
    rows: "messages",
    column: "body",
};
const CONVERSATIONS: SearchTable = SearchTable {
    name: "conversations",
    fts: "conversation_search",
    rows: "conversations",
    column: "search_text",
};

/// The FTS5 queries of a search, per search table.
struct Expressions {
    messages: String,
    conversations: String,
}

/// Appends `SELECT {columns} FROM {fts} s CROSS JOIN {rows} f … WHERE MATCH …`
/// with the account (and privacy) checks, newest match first, up to the
/// window: FTS5 walks the doclists backwards by rowid and the walk stops at
/// the window. `CROSS JOIN` keeps the FTS5 walk the outer loop: SQLite 3.51
/// otherwise prefers to scan the account's rows and query FTS5 once per row
/// (seconds on a million conversations).
fn push_window(
    qb: &mut QueryBuilder<Sqlite>,
    columns: &str,
    table: &SearchTable,
    expression: &str,
    account: AccountId,
    private: bool,
) {
    qb.push(format!("SELECT {columns}"));
    push_matches(qb, table, expression, account, private);
    qb.push(" ORDER BY s.rowid DESC LIMIT ")
        .push_bind(SEARCH_WINDOW);
}

fn push_matches(
    qb: &mut QueryBuilder<Sqlite>,
    table: &SearchTable,
    expression: &str,
    account: AccountId,
    private: bool,
) {
    qb.push(format!(
        " FROM {fts} s CROSS JOIN {rows} f ON f.id = s.rowid WHERE {fts} MATCH ",
        fts = table.fts,
        rows = table.rows
    ))
    .push_bind(expression.to_string())
    .push(" AND f.account_id = ")
    .push_bind(account.0);
    if table.name == "messages" && !private {
        qb.push(" AND f.private = 0");
    }
}

/// The expression a table is searched with. The last term is a prefix
/// (search as you type), but FTS5 merges the doclists of every word with
/// that prefix before it can walk them, which costs tens of milliseconds for
/// a common word on 10M messages; when the whole word alone already fills
/// the window, the window is the same but for other forms of the word, so
/// the word is searched whole — in a few milliseconds. Deterministic for a
/// given history, so every page of a search uses the same expression.
async fn table_expression(
    pool: &SqlitePool,
    table: &SearchTable,
    search: &SearchQuery,
    account: AccountId,
    private: bool,
) -> StoreResult<Option<String>> {
    let Some(exact) = terms_expression(search, table.column, false) else {
        return Ok(None);
    };
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM (");
    push_window(&mut qb, "s.rowid", table, &exact, account, private);
    qb.push(")");
    let (found,): (i64,) = qb
        .build_query_as()
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    if found >= SEARCH_WINDOW {
        return Ok(Some(exact));
    }
    Ok(terms_expression(search, table.column, true))
}

async fn search_expressions(
    pool: &SqlitePool,
    search: &SearchQuery,
    account: AccountId,
    private: bool,
) -> StoreResult<Option<Expressions>> {
    let messages = table_expression(pool, &MESSAGES, search, account, private).await?;
    let conversations = table_expression(pool, &CONVERSATIONS, search, account, private).await?;
    Ok(messages
        .zip(conversations)
        .map(|(messages, conversations)| Expressions {
            messages,
            conversations,
        }))
}

/// `{name}_ranked(hit, rank)`: the account's newest SEARCH_WINDOW matches
/// of a table with their rank ([`crate::rank`]: bm25 without its IDF, which
/// would read every doclist of the terms whole).
fn push_ranked(
    qb: &mut QueryBuilder<Sqlite>,
    table: &SearchTable,
    expression: &str,
    account: AccountId,
    private: bool,
) {
    qb.push(format!(
        "{}_ranked(hit, rank) AS MATERIALIZED (",
        table.name
    ));
    let columns = format!("s.rowid, {}({})", crate::rank::NAME, table.fts);
    push_window(qb, &columns, table, expression, account, private);
    qb.push("), ");
}

/// The snippets of the page's hits (`("message" | "conversation", rowid)`),
/// one query per search table.
async fn snippets(
    pool: &SqlitePool,
    expressions: &Expressions,
    hits: &[Option<(String, i64)>],
) -> StoreResult<std::collections::HashMap<(String, i64), String>> {
    let (start, end, ellipsis) = (highlight::START, highlight::END, highlight::ELLIPSIS);
    let mut found = std::collections::HashMap::new();
    for (source, table, expression) in [
        ("message", "message_search", &expressions.messages),
        (
            "conversation",
            "conversation_search",
            &expressions.conversations,
        ),
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
        // One FTS5 pass over the hits' rowid range (inside the window, so a
        // few thousand matches at most), keeping the page's hits: with
        // `rowid IN (…)` FTS5 runs the query once per rowid, and a prefix
        // term merges its doclists each time (a minute for "login pa" on
        // 10M messages). `+rowid` keeps the list out of FTS5's hands.
        let (low, high) = (
            ids.iter().copied().min().unwrap_or(0),
            ids.iter().copied().max().unwrap_or(0),
        );
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT rowid AS hit, snippet({table}, 0, '{start}', '{end}', '{ellipsis}', 12) AS snip
             FROM {table} WHERE {table} MATCH "
        ));
        qb.push_bind(expression.clone())
            .push(" AND rowid >= ")
            .push_bind(low)
            .push(" AND rowid <= ")
            .push_bind(high)
            .push(" AND +rowid IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(id);
        }
        qb.push(")");
        // Not kept prepared: the text differs with the page's hit count, and
        // every read connection would keep one prepared FTS5 statement per
        // count (tens of KiB each).
        let rows = qb
            .build()
            .persistent(false)
            .fetch_all(pool)
            .await
            .map_err(db_error)?;
        for row in rows {
            let hit: i64 = row.try_get("hit").map_err(db_error)?;
            let snip: Option<String> = row.try_get("snip").map_err(db_error)?;
            if let Some(snip) = snip {
                found.insert((source.to_string(), hit), snip);
            }
        }
    }
    Ok(found)
}

/// How a folder page that names an assignee (scope `mine`/`unassigned` or an
/// `assignee_id` filter) is read.
enum IndexChoice {
    /// The counters say the folder holds none of the assignee's.
    NothingMatches,
    Use(&'static str),
}

/// Chooses the index of a folder page from the folder counters, which SQLite
/// cannot see (it has no statistics on these columns): with an assignee and
/// another filter, it guesses and sometimes walks a large part of a folder to
/// fill a page (`spam`, `mine`, one inbox: the inbox's whole spam, to find
/// that spam has no assignee). The counters tell how many conversations of
/// the folder the assignee has: none — the page is empty. Otherwise the
/// walk with the smaller bound: the assignee's index reads at most the
/// assignee's rows; the other filter's index reads about a page ×
/// (folder ÷ assignee's) rows to find a page of the assignee's (each row
/// read is a random page read: 2,240 of them took 5–8 ms to find that no
/// answered conversation is unread). Only for the default order, the one
/// these indexes are sorted in.
async fn list_index(
    pool: &SqlitePool,
    account: AccountId,
    query: &ConversationQuery,
) -> StoreResult<Option<IndexChoice>> {
    let Some(folder) = query.folder else {
        return Ok(None);
    };
    if query.sort != Sort::LastActivity {
        return Ok(None);
    }
    let assignee = match pinned_assignee(query) {
        PinnedAssignee::Any => return Ok(None),
        PinnedAssignee::Contradiction => return Ok(Some(IndexChoice::NothingMatches)),
        PinnedAssignee::Key(key) => key,
    };
    let (in_folder, share): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT SUM(n), SUM(CASE WHEN assignee_id = ?3 THEN n ELSE 0 END)
         FROM conversation_counts WHERE account_id = ?1 AND folder = ?2",
    )
    .bind(account.0)
    .bind(folder.as_str())
    .bind(assignee)
    .fetch_one(pool)
    .await
    .map_err(db_error)?;
    let (in_folder, share) = (in_folder.unwrap_or(0), share.unwrap_or(0));
    if share <= 0 {
        return Ok(Some(IndexChoice::NothingMatches));
    }
    let other = if query.tag.is_some() {
        None
    } else if query.unread {
        Some("conversations_folder_unread")
    } else if query.waiting {
        Some("conversations_folder_waiting")
    } else if query.inbox_id.is_some() {
        Some("conversations_folder_inbox")
    } else if query.kind.is_some() {
        Some("conversations_folder_kind")
    } else {
        None
    };
    let page = i64::from(query.limit) + 1;
    Ok(Some(IndexChoice::Use(match other {
        Some(other) if share.saturating_mul(share) > page.saturating_mul(in_folder) => other,
        _ => "conversations_folder_assignee",
    })))
}

pub(crate) async fn list(
    pool: &SqlitePool,
    account: AccountId,
    query: &ConversationQuery,
) -> StoreResult<Page<ListedConversation>> {
    let search = query.search.as_ref().filter(|s| !s.is_empty());
    let Some(search) = search else {
        let index = match list_index(pool, account, query).await? {
            Some(IndexChoice::NothingMatches) => {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            Some(IndexChoice::Use(index)) => format!(" INDEXED BY {index}"),
            None => String::new(),
        };
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c{index} WHERE"
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

    // Each search table ranks its newest SEARCH_WINDOW matches in this
    // account's scope; only the page's best hits get a snippet, afterwards.
    let expressions = search_expressions(pool, search, account, query.search_private).await?;
    let mut qb = QueryBuilder::<Sqlite>::new("WITH ");
    if let Some(expressions) = &expressions {
        push_ranked(
            &mut qb,
            &MESSAGES,
            &expressions.messages,
            account,
            query.search_private,
        );
        push_ranked(
            &mut qb,
            &CONVERSATIONS,
            &expressions.conversations,
            account,
            query.search_private,
        );
    }
    qb.push("hits(cid, rank, source, hit) AS MATERIALIZED (SELECT NULL, NULL, NULL, NULL WHERE 0");
    if expressions.is_some() {
        qb.push(
            " UNION ALL SELECT m.conversation_id, r.rank, 'message', r.hit
              FROM messages_ranked r CROSS JOIN messages m ON m.id = r.hit
              UNION ALL SELECT hit, rank, 'conversation', hit FROM conversations_ranked",
        );
    }
    if let Some(number) = search.number {
        qb.push(
            " UNION ALL SELECT id, -1000000.0, NULL, NULL FROM conversations WHERE account_id = ",
        )
        .push_bind(account.0)
        .push(" AND number = ")
        .push_bind(number);
    }
    // A conversation ranks by its best hit; its snippet comes from its best
    // message hit when it has one (a hit on the subject or contact would
    // show the index text: number, name and address run together).
    // (SQLite takes the bare columns of a MIN() group from its minimum row.)
    qb.push(format!(
        "), best AS (SELECT cid, MIN(rank) AS rank FROM hits GROUP BY cid),
         shown AS (SELECT cid, MIN((source IS NOT 'message') * 1e9 + rank) AS k, source, hit FROM hits GROUP BY cid)
         SELECT {CONVERSATION_COLUMNS}, best.rank AS search_rank, shown.source AS hit_source, shown.hit AS hit_id
         FROM best CROSS JOIN conversations c ON c.id = best.cid JOIN shown ON shown.cid = best.cid WHERE"
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
    let snippets = match &expressions {
        Some(expressions) => snippets(pool, expressions, &hits).await?,
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
    Ok(cut_ranked_page(items, query.limit))
}
