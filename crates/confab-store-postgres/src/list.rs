//! The inbox list on PostgreSQL, with `tsvector` + GIN search.

use confab_domain::search::SearchQuery;
use confab_domain::*;
use confab_store::highlight;
use confab_store::listing::{
    PinnedAssignee, SEARCH_WINDOW, cursor_after, cut_page, cut_ranked_page, key_rank,
    pinned_assignee, push_filters, push_order,
};
use confab_store::rows::{CONVERSATION_COLUMNS, EntityRow};
use confab_store::*;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use crate::db_error;

/// Which forms of each word a tsquery text holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forms {
    /// As typed, and the other forms text in the index may hold it in
    /// (`(ΟΔΌΣ | οδός)`): the search itself.
    All,
    /// As typed only: the planner's estimate, which adds its guess for every
    /// form its statistics do not know (an unknown word ORed with another
    /// form of itself was estimated at twice the guess, enough to have a
    /// rare word walked through the whole table).
    Typed,
}

/// A `to_tsquery` text where every term must match, with `prefix` the last
/// as a prefix (search as you type): `term1 & term2 & term3:*`. Terms hold
/// only letters and digits, so none of them is an operator; the text is
/// still bound as a parameter in the search itself.
///
/// A term goes as typed: the `simple` dictionary lowercases it as it did
/// the indexed text, with the database's own rules (`İ` is `i`). With
/// [`Forms::All`], where Rust's lowercase reads the word as a whole
/// differently (a final `Σ` is `ς`, which one-letter-at-a-time lowercasing
/// makes `σ`), that form is accepted too: `(ΟΔΌΣ | οδός)`. And a word typed
/// with a final `ς` is also tried with `σ`, the form that text stored in
/// capitals was indexed with: `(οδός | οδόσ)`.
fn tsquery_text(search: &SearchQuery, prefix: bool, forms: Forms) -> Option<String> {
    let count = search.terms.len();
    if count == 0 {
        return None;
    }
    let parts: Vec<String> = search
        .terms
        .iter()
        .enumerate()
        .map(|(i, term)| {
            let suffix = if prefix && i + 1 == count { ":*" } else { "" };
            let mut alternatives = vec![format!("{term}{suffix}")];
            if forms == Forms::All {
                let whole = term.to_lowercase();
                let letters: String = term.chars().flat_map(char::to_lowercase).collect();
                if whole != letters {
                    alternatives.push(format!("{whole}{suffix}"));
                }
                // From the term as typed: PostgreSQL lowercases the rest
                // (Rust's `İ` would bring a combining dot back). A capital
                // `Σ` never lowercases to `ς` one letter at a time.
                if term.contains('ς') {
                    alternatives.push(format!("{}{suffix}", term.replace('ς', "σ")));
                }
            }
            if alternatives.len() == 1 {
                alternatives.remove(0)
            } else {
                format!("({})", alternatives.join(" | "))
            }
        })
        .collect();
    Some(parts.join(" & "))
}

/// A search table: its name and, for messages, whether private notes are left out.
#[derive(Debug, Clone, Copy)]
struct SearchTable {
    table: &'static str,
    /// The columns a hit gives: its conversation, and its message (none for
    /// a hit on the conversation's own search text).
    cid: &'static str,
    message: &'static str,
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
    message: "t.id",
};
const CONVERSATIONS: SearchTable = SearchTable {
    table: "conversations",
    cid: "t.id",
    message: "NULL::bigint",
};

/// How a search table's newest [`SEARCH_WINDOW`] matches are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchPath {
    /// The GIN index gives the matches in the id ranges `0 ..= last` (every
    /// row: `last` is past the highest id), newest ranges first
    /// ([`index_tiers`]: the newest 32nd of them, at least two, then as
    /// many more ranges as were asked each time, while the window is not
    /// full); each match
    /// is read from the table and the newest window kept. Costs about one
    /// row read per match in the ranges asked (a word in 10,000 of 10M
    /// messages: 2,504 instead of 9,976).
    Index { last: i64 },
    /// As `Index`, but the first ranges asked are `first ..= last`: those
    /// the window spans by the statistics' estimate.
    Range { first: i64, last: i64 },
    /// The table is walked newest first (its primary key backwards) and the
    /// walk stops at the window's last match. Costs about window × rows ÷
    /// matches row reads, but no GIN read: GIN has no order, and reading a
    /// common word's posting lists is itself slow (`login & page`, 1.3M and
    /// 1.1M of 10M messages: 245 ms before a single row is read).
    Walk,
}

/// What one search table's path is chosen from.
#[derive(Debug, Clone, Copy)]
struct TableEstimate {
    /// The planner's estimate of the search's matches.
    matches: f64,
    /// Its estimate for a word outside its statistics (it guesses the same
    /// for every such word): an estimate no higher is a guess.
    unknown: f64,
    /// The table's row count (`reltuples`, -1 before it was ever analysed).
    rows: f64,
    /// The table's highest id.
    max_id: i64,
}

/// How much wider than the estimate says the window spans a range is taken.
const RANGE_MARGIN: f64 = 1.5;
/// The bits of an id under its range's number: ranges of 65,536 ids, as
/// in the index's function (migration 0013).
const RANGE_BITS: u32 = 16;

/// A search table's indexed text (migration 0013): each word of its
/// `search` column prefixed with the row's id range, `~152~refund` for
/// ids 152 × 65,536 up to the next range. No text gives such a lexeme ('~'
/// is neither a letter nor a digit). Written as in the indexes, as
/// PostgreSQL needs to use them.
const INDEXED: &str = "confab_search_ranged(t.search, t.id)";

/// The id ranges asked of the index, newest first: `first ..= last`, then
/// as many more ranges each time as were asked before (twice as many in
/// all), down to range 0. Each is read only while the ones before it held
/// fewer matches than the window, so the ranges read are at most twice
/// those the window spans, or the first read when that is wider.
fn index_tiers(first: i64, last: i64) -> Vec<(i64, i64)> {
    let mut tiers = vec![(first, last)];
    let mut next = first - 1;
    while next >= 0 {
        let asked = last - next;
        let first = (next - asked + 1).max(0);
        tiers.push((first, next));
        next = first - 1;
    }
    tiers
}

/// Pushes a CTE `name` holding `q.query` asked of the id ranges
/// `first ..= last` in [`INDEXED`]'s form: each lexeme, as PostgreSQL
/// normalised it, ORed over the ranges (`'refund':*` →
/// `('~12~refund':* | '~13~refund':*)`). Lexemes hold letters and digits
/// only, so a quoted one ends at the next quote; the patterns and the
/// replacement are bound, not written as literals. A phrase's operators
/// (`<->`, `<2>`: PostgreSQL splits a term such as `H₂O` into the phrase
/// `h <-> o`) become `&`, as the index's lexemes have no positions; the
/// window's query tests the stored `search` for the phrase. The CTE is
/// materialised: the planner sees no value, estimates `@@` with its
/// default share of the rows and reads GIN (it misjudges an OR of many
/// prefixes as most of the table, and a plan over a CTE's row is never
/// parallel — starting workers costs more than these reads).
fn push_ranged_query(qb: &mut QueryBuilder<Postgres>, name: &str, first: i64, last: i64) {
    // `\1` is the lexeme, `\2` its prefix mark.
    let alternatives: Vec<String> = (first..=last)
        .map(|range| format!("'~{range}~\\1'\\2"))
        .collect();
    qb.push(format!(
        "{name} AS MATERIALIZED (SELECT regexp_replace(regexp_replace(q.query::text, "
    ))
    .push_bind(r"<(-|[0-9]+)>")
    .push(", '&', 'g'), ")
    .push_bind(r"'([^']*)'(:\*)?")
    .push(", ")
    .push_bind(format!("({})", alternatives.join(" | ")))
    .push(", 'g')::tsquery AS query FROM q)");
}

/// The path with fewer row reads. A match read through the index (random,
/// from the bitmap) costs about three rows of a walk (sequential, in the
/// table's order), measured on 10M messages (9,976 matches in 28 ms; 40,489
/// rows walked in 25 ms). The window of a word whose estimate comes from
/// the statistics spans about window × rows ÷ matches ids: when that is
/// under half the table (a word in 14,000 of 1M subjects: 141,000 ids; one
/// in 10,000 of 10M messages: 2M ids) the ranges holding it go first
/// (about 3,000 rows read instead of 14,000 or 10,000). A table never
/// analysed has no row count: the index, whose cost is bounded by the
/// real matches, not by a guess.
fn match_path(estimate: TableEstimate) -> MatchPath {
    let TableEstimate {
        matches,
        unknown,
        rows,
        max_id,
    } = estimate;
    let window = SEARCH_WINDOW as f64;
    // One range past the highest id, for the rows written since it was read.
    let last = (max_id.max(0) >> RANGE_BITS) + 1;
    if rows <= 0.0 || matches <= window {
        return MatchPath::Index { last };
    }
    if 3.0 * matches * matches > window * rows.max(matches) {
        return MatchPath::Walk;
    }
    let span = RANGE_MARGIN * window * rows / matches;
    let first = max_id.saturating_sub(span as i64).max(0) >> RANGE_BITS;
    if matches > unknown * 1.01 && span < rows / 2.0 && first > 0 {
        return MatchPath::Range { first, last };
    }
    MatchPath::Index { last }
}

/// The planner's estimate of a table's matches for a tsquery expression
/// (from the column's statistics of common words). The query and account
/// are written into the statement as constants: a bound parameter would be
/// planned without its value, and the planner would guess.
async fn estimated_matches(
    pool: &PgPool,
    table: SearchTable,
    tsquery: &str,
    account: AccountId,
    private: bool,
) -> StoreResult<f64> {
    let private_filter = table.privacy(private);
    let sql = format!(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM {} t WHERE t.search @@ {tsquery} \
         AND t.account_id = {}{private_filter}",
        table.table, account.0,
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

/// `to_tsquery('simple', '…')` for a tsquery text. The text holds letters,
/// digits and tsquery operators only (`tsquery_text`); quotes are doubled
/// all the same.
fn to_tsquery_sql(text: &str) -> String {
    format!("to_tsquery('simple', '{}')", text.replace('\'', "''"))
}

/// A tsquery no row matches and the statistics cannot know: the index text
/// holds letters and digits only.
const NO_WORD: &str = "'~'::tsquery";

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
    let (Some(typed), Some(whole)) = (
        tsquery_text(search, true, Forms::Typed),
        tsquery_text(search, false, Forms::Typed),
    ) else {
        return Ok(None);
    };
    let (typed, whole) = (to_tsquery_sql(&typed), to_tsquery_sql(&whole));
    let table = |table: SearchTable| {
        let (typed, whole) = (typed.clone(), whole.clone());
        async move {
            let sizes = async {
                sqlx::query_as::<_, (f32, Option<i64>)>(sqlx::AssertSqlSafe(format!(
                    "SELECT (SELECT reltuples FROM pg_class WHERE oid = '{0}'::regclass),
                            (SELECT max(id) FROM {0})",
                    table.table
                )))
                .fetch_one(pool)
                .await
                .map_err(db_error)
            };
            let estimate = |text| estimated_matches(pool, table, text, account, private);
            let ((rows, max_id), typed, whole, unknown) =
                tokio::try_join!(sizes, estimate(&typed), estimate(&whole), estimate(NO_WORD),)?;
            StoreResult::Ok(match_path(TableEstimate {
                matches: typed.max(whole),
                unknown,
                rows: f64::from(rows),
                max_id: max_id.unwrap_or(0),
            }))
        }
    };
    // Eight small queries, sent at once on as many connections.
    let (messages, conversations) = tokio::try_join!(table(MESSAGES), table(CONVERSATIONS))?;
    Ok(Some((messages, conversations)))
}

/// A conversation's best hit in one search table: its rank (the negated
/// `ts_rank`, smaller is better, like SQLite's) and where its snippet comes
/// from.
#[derive(Debug, Clone, Copy)]
struct Hit {
    conversation: i64,
    rank: f64,
    snippet: Snippet,
}

/// Where a hit's snippet comes from. When a conversation has several hits,
/// the first of these kinds wins (as on SQLite): a message's body, else none
/// for a hit on the number alone, else the conversation's search text — the
/// index text, number, name and address run together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Snippet {
    Message(i64),
    Nothing,
    SearchText,
}

impl Snippet {
    /// As the page query's `mid`: the message, 0 for none, NULL for the
    /// search text.
    fn as_mid(self) -> Option<i64> {
        match self {
            Snippet::Message(id) => Some(id),
            Snippet::Nothing => Some(0),
            Snippet::SearchText => None,
        }
    }
}

/// One table's hits: its newest [`SEARCH_WINDOW`] matches found by `path`,
/// ranked, then each conversation's best (for messages, the best message).
///
/// The rank is `ts_rank` of the search plus that of its words all whole
/// (`whole`): a row holding the last word itself ranks above one holding
/// only a longer word that starts with it (`refund`, `refunded`), other
/// things equal (`ts_rank` of `refund | refund:*` does not tell them
/// apart). Only the window's rows are ranked, so it costs no index read.
async fn table_hits(
    pool: &PgPool,
    table: SearchTable,
    path: MatchPath,
    (tsquery, whole): (&str, &str),
    account: AccountId,
    private: bool,
) -> StoreResult<Vec<Hit>> {
    // `ts_match_vq` is `@@` as a plain function, which no index serves: the
    // planner walks the primary key for the order instead. `id + 0` is no
    // index's order: the planner takes the GIN matches and sorts them.
    // `source` is the CTE of the ranged query the GIN index is asked (none
    // for the walk); `extra` more conditions.
    let window = |qb: &mut QueryBuilder<Postgres>, source: Option<&str>, extra: &str| {
        let (matching, order, join) = match source {
            None => (
                "ts_match_vq(t.search, q.query)".to_string(),
                "t.id",
                String::new(),
            ),
            // The stored `search` tested too: the index's lexemes have no
            // positions, so a phrase (`h <-> o`, from a term PostgreSQL
            // splits, such as `H₂O`) is asked of it as `h & o`.
            Some(cte) => (
                format!("{INDEXED} @@ {cte}.query AND t.search @@ q.query"),
                "t.id + 0",
                format!(" CROSS JOIN {cte}"),
            ),
        };
        qb.push(format!(
            "SELECT {cid} AS cid, t.search, {mid} AS mid, t.id
             FROM {table} t CROSS JOIN q{join} WHERE {matching}{extra} AND t.account_id = ",
            cid = table.cid,
            mid = table.message,
            table = table.table,
        ))
        .push_bind(account.0)
        .push(table.privacy(private));
        qb.push(format!(" ORDER BY {order} DESC LIMIT "))
            .push_bind(SEARCH_WINDOW);
    };
    let mut qb = QueryBuilder::<Postgres>::new("WITH q AS (SELECT to_tsquery('simple', ");
    qb.push_bind(tsquery.to_string())
        .push(") AS query, to_tsquery('simple', ")
        .push_bind(whole.to_string())
        .push(") AS whole), ");
    let tiers = match path {
        MatchPath::Index { last } => {
            // The newest 32nd of the ranges first, and at least the newest
            // range with rows and the one after it.
            let first = last - ((last + 32) / 32).max(2) + 1;
            index_tiers(first, last)
        }
        MatchPath::Range { first, last } => index_tiers(first, last),
        MatchPath::Walk => Vec::new(),
    };
    match path {
        // Each tier's matches (`tier0`, `tier1`…) are read only when the
        // tiers before it held fewer than the window: they are newer.
        MatchPath::Index { .. } | MatchPath::Range { .. } => {
            let mut held = Vec::new();
            for (i, &(first, last)) in tiers.iter().enumerate() {
                let tier = format!("tier{i}");
                push_ranged_query(&mut qb, &format!("{tier}_query"), first, last);
                qb.push(format!(", {tier} AS MATERIALIZED ("));
                let gate = if held.is_empty() {
                    String::new()
                } else {
                    format!(" AND {} < {SEARCH_WINDOW}", held.join(" + "))
                };
                window(&mut qb, Some(&format!("{tier}_query")), &gate);
                qb.push("), ");
                held.push(format!("(SELECT count(*) FROM {tier})"));
            }
            let union: Vec<String> = (0..tiers.len())
                .map(|i| format!("SELECT * FROM tier{i}"))
                .collect();
            qb.push(format!(
                "w AS (SELECT * FROM ({}) u ORDER BY u.id DESC LIMIT ",
                union.join(" UNION ALL ")
            ))
            .push_bind(SEARCH_WINDOW)
            .push(")");
        }
        MatchPath::Walk => {
            qb.push("w AS (");
            window(&mut qb, None, "");
            qb.push(")");
        }
    }
    // Ranked outside the window's query, so only the window's rows are
    // ranked (a word in 14,000 subjects: the newest 2,000).
    qb.push(
        " SELECT DISTINCT ON (w.cid) w.cid,
                (-(ts_rank(w.search, q.query) + ts_rank(w.search, q.whole)))::float8 AS rank, w.mid
         FROM w CROSS JOIN q ORDER BY w.cid, rank",
    );
    // The ranges are written in the statement, whose text changes as the
    // table grows: not prepared (but the walk's).
    let rows = qb
        .build()
        .persistent(path == MatchPath::Walk)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(Hit {
                conversation: row.try_get("cid")?,
                rank: row.try_get("rank")?,
                snippet: row
                    .try_get::<Option<i64>, _>("mid")?
                    .map_or(Snippet::SearchText, Snippet::Message),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(db_error)
}

/// The conversation a search for `#number` names, as a hit ranked first.
async fn number_hit(pool: &PgPool, account: AccountId, number: i64) -> StoreResult<Vec<Hit>> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM conversations WHERE account_id = $1 AND number = $2")
            .bind(account.0)
            .bind(number)
            .fetch_all(pool)
            .await
            .map_err(db_error)?;
    Ok(ids
        .into_iter()
        .map(|conversation| Hit {
            conversation,
            rank: NUMBER_RANK,
            snippet: Snippet::Nothing,
        })
        .collect())
}

/// The rank of the conversation a search's number names: before any text hit.
const NUMBER_RANK: f64 = -1_000_000.0;

/// Each conversation's best hit over the tables, in the list's order (rank,
/// then id): its best rank, and its snippet's source (see [`Snippet`]).
fn best_hits(tables: impl IntoIterator<Item = Vec<Hit>>) -> Vec<Hit> {
    let mut best: std::collections::HashMap<i64, Hit> = std::collections::HashMap::new();
    for hit in tables.into_iter().flatten() {
        best.entry(hit.conversation)
            .and_modify(|kept| {
                kept.rank = kept.rank.min(hit.rank);
                kept.snippet = kept.snippet.min(hit.snippet);
            })
            .or_insert(hit);
    }
    let mut hits: Vec<Hit> = best.into_values().collect();
    hits.sort_by(|a, b| {
        a.rank
            .total_cmp(&b.rank)
            .then(a.conversation.cmp(&b.conversation))
    });
    hits
}

/// How many of the best hits the first page query takes (times the page):
/// most pages are filled from the best few, and each hit costs a row read.
const FIRST_HITS_PER_ROW: usize = 4;

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
    // SEARCH_WINDOW matches, and the conversation number. The tables are
    // searched at once, on two connections: a common word's two windows
    // (one walked, one read through the index) take about as long each.
    let tsquery = tsquery_text(search, true, Forms::All);
    let whole = tsquery_text(search, false, Forms::All);
    let private = query.search_private;
    let paths = choose_paths(pool, search, account, private).await?;
    let text_hits = async {
        match (&tsquery, &whole, paths) {
            (Some(text), Some(whole), Some((messages, conversations))) => {
                let texts = (text.as_str(), whole.as_str());
                let (messages, conversations) = tokio::try_join!(
                    table_hits(pool, MESSAGES, messages, texts, account, private),
                    table_hits(pool, CONVERSATIONS, conversations, texts, account, private),
                )?;
                Ok(vec![messages, conversations])
            }
            _ => Ok(Vec::new()),
        }
    };
    let numbered = async {
        match search.number {
            Some(number) => number_hit(pool, account, number).await,
            None => Ok(Vec::new()),
        }
    };
    let (mut tables, numbered) = tokio::try_join!(text_hits, numbered)?;
    tables.push(numbered);
    let mut hits = best_hits(tables);
    if let Some(cursor) = query.cursor {
        let (rank, id) = (key_rank(cursor.key), cursor.id);
        hits.retain(|hit| hit.rank > rank || (hit.rank == rank && hit.conversation > id));
    }
    // The page: the best hits whose conversations pass the filters. Most
    // pages fill from the first few hits; the rest are read only if not.
    let wanted = query.limit as usize + 1;
    let terms = tsquery.as_ref().map(|_| search.terms.as_slice());
    let first = hits.len().min(wanted * FIRST_HITS_PER_ROW);
    let mut rows = page_rows(pool, account, query, terms, &hits[..first]).await?;
    if rows.len() < wanted && first < hits.len() {
        rows.extend(page_rows(pool, account, query, terms, &hits[first..]).await?);
    }
    rows.truncate(wanted);
    Ok(cut_ranked_page(rows, query.limit))
}

/// The listed conversations of `hits` (in the list's order) that pass the
/// query's filters, at most a page and one, each with its rank and a
/// snippet: from its message hit's body, or else from its own search text.
async fn page_rows(
    pool: &PgPool,
    account: AccountId,
    query: &ConversationQuery,
    terms: Option<&[String]>,
    hits: &[Hit],
) -> StoreResult<Vec<(ListedConversation, f64)>> {
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Postgres>::new("WITH h AS (SELECT * FROM unnest(");
    qb.push_bind(hits.iter().map(|h| h.conversation).collect::<Vec<i64>>())
        .push("::bigint[], ")
        .push_bind(hits.iter().map(|h| h.rank).collect::<Vec<f64>>())
        .push("::float8[], ")
        .push_bind(
            hits.iter()
                .map(|h| h.snippet.as_mid())
                .collect::<Vec<Option<i64>>>(),
        )
        .push("::bigint[]) AS h(cid, rank, mid)) ");
    // The snippet's text: its message hit's body, or else its own search
    // text; none for a hit on the number alone.
    qb.push(format!(
        "SELECT {CONVERSATION_COLUMNS}, h.rank AS search_rank,
         CASE WHEN h.mid = 0 THEN NULL
              ELSE COALESCE((SELECT m.body FROM messages m WHERE m.id = h.mid), c.search_text)
         END AS doc"
    ));
    qb.push(" FROM h JOIN conversations c ON c.id = h.cid WHERE");
    push_filters(&mut qb, account, query);
    qb.push(" ORDER BY h.rank, c.id LIMIT ")
        .push_bind(i64::from(query.limit) + 1);
    let rows = qb.build().fetch_all(pool).await.map_err(db_error)?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let conversation = row.conversation().map_err(db_error)?;
        let rank: f64 = row.try_get("search_rank").map_err(db_error)?;
        let doc: Option<String> = row.try_get("doc").map_err(db_error)?;
        let snippet = doc
            .zip(terms)
            .and_then(|(doc, terms)| highlight::snippet(&doc, terms, true));
        items.push((
            ListedConversation {
                conversation,
                snippet: snippet.map(|s| highlight::render(&s)),
            },
            rank,
        ));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(matches: f64, unknown: f64, rows: f64) -> MatchPath {
        match_path(TableEstimate {
            matches,
            unknown,
            rows,
            max_id: rows as i64,
        })
    }

    /// The index path for a table of `rows` rows (ids 1 ..= rows).
    fn index(rows: f64) -> MatchPath {
        MatchPath::Index {
            last: ((rows as i64).max(0) >> RANGE_BITS) + 1,
        }
    }

    #[test]
    fn terms_go_as_typed_with_a_final_sigma_both_ways() {
        let text = |q: &str, prefix| tsquery_text(&SearchQuery::parse(q), prefix, Forms::All);
        assert_eq!(
            text("İADE talebim", true).as_deref(),
            Some("İADE & talebim:*")
        );
        assert_eq!(
            text("ΟΔΌΣ κλειστή", false).as_deref(),
            Some("(ΟΔΌΣ | οδός) & κλειστή")
        );
        assert_eq!(text("ΟΔΌΣ", true).as_deref(), Some("(ΟΔΌΣ:* | οδός:*)"));
        assert_eq!(text("οδός", false).as_deref(), Some("(οδός | οδόσ)"));
        assert_eq!(text("οδός", true).as_deref(), Some("(οδός:* | οδόσ:*)"));
        assert_eq!(text("ΟΔΌς", false).as_deref(), Some("(ΟΔΌς | ΟΔΌσ)"));
        assert_eq!(text("İας", false).as_deref(), Some("(İας | İασ)"));
        assert_eq!(text("?!", true), None);
    }

    #[test]
    fn the_estimate_asks_for_each_word_as_typed_only() {
        let text = |q: &str| tsquery_text(&SearchQuery::parse(q), true, Forms::Typed);
        assert_eq!(text("ΟΔΌΣ κλειστή").as_deref(), Some("ΟΔΌΣ & κλειστή:*"));
        assert_eq!(text("οδός").as_deref(), Some("οδός:*"));
        // Why: twice the planner's guess for an unknown word (its estimate
        // of the word ORed with another form of it) has it walked.
        assert_eq!(path(49_752.0, 49_752.0, 1e7), index(1e7));
        assert_eq!(path(2.0 * 49_752.0, 49_752.0, 1e7), MatchPath::Walk);
    }

    #[test]
    fn rare_words_take_the_index_and_common_ones_the_walk() {
        // 10M messages, where a word outside the statistics is guessed at
        // 49,752: a word in 100 or any unknown word is read through the index ...
        assert_eq!(path(100.0, 49_752.0, 1e7), index(1e7));
        assert_eq!(path(49_752.0, 49_752.0, 1e7), index(1e7));
        // ... one in 5 % of them is walked (40,000 rows for the window).
        assert_eq!(path(500_000.0, 49_752.0, 1e7), MatchPath::Walk);
        // Never a walk when the window holds every match, nor for no rows.
        assert_eq!(path(2_000.0, 0.0, 2_000.0), index(2_000.0));
        assert_eq!(path(0.0, 0.0, 0.0), index(0.0));
        // Unknown row counts (never analysed: -1): the index.
        assert_eq!(path(3_000.0, 0.0, -1.0), index(-1.0));
        assert_eq!(path(3_000.0, 0.0, 0.0), index(0.0));
    }

    #[test]
    fn older_ranges_are_asked_twice_as_many_at_a_time() {
        assert_eq!(
            index_tiers(149, 153),
            vec![
                (149, 153),
                (144, 148),
                (134, 143),
                (114, 133),
                (74, 113),
                (0, 73)
            ]
        );
        assert_eq!(index_tiers(1, 1), vec![(1, 1), (0, 0)]);
        assert_eq!(index_tiers(0, 1), vec![(0, 1)]);
    }

    #[test]
    fn a_known_word_with_a_narrow_window_reads_its_range_first() {
        // 14,130 of 1M subjects (the statistics know it; unknown words are
        // guessed at 5,000): the window spans about 141,500 ids, 212,000
        // with the margin: from id 787,686 (range 12) to 1M (range 15),
        // and the range after it.
        assert_eq!(
            path(14_130.0, 5_000.0, 1e6),
            MatchPath::Range {
                first: 12,
                last: 16
            }
        );
        // The same figure as a guess: the index, whatever the span.
        assert_eq!(path(5_000.0, 5_000.0, 1e6), index(1e6));
        // 10,000 of 10M messages: 3M ids, 48 ranges.
        assert_eq!(
            path(10_000.0, 5_000.0, 1e7),
            MatchPath::Range {
                first: 106,
                last: 153
            }
        );
        // A range over half the table or more saves little: the index.
        assert_eq!(path(4_000.0, 100.0, 100_000.0), index(100_000.0));
        // Nor one whose first range would be range 0: the index.
        assert_eq!(path(7_000.0, 100.0, 100_000.0), index(100_000.0));
    }
}
