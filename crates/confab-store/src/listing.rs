//! The inbox list's SQL that both databases share: the WHERE clauses for
//! folder, scope and quick filters, the keyset order, and page cutting.
//! Search (which differs per engine) is added by each store.

use confab_domain::{AccountId, Conversation};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::cursor::Cursor;
use crate::model::*;

/// How many of the newest matches (per search table) a search ranks.
///
/// SQLite's FTS5 serves `ORDER BY rowid DESC LIMIT n` by walking the
/// doclists backwards and stops after `n` rows, so the cost of a search is
/// bounded by this window, not by how many rows the words match (PostgreSQL
/// walks its tables newest first for common words, see its store). Words with fewer
/// matches (most searches) are ranked exactly over all of them; a very common
/// word is ranked among its newest `SEARCH_WINDOW` matches only, so older
/// conversations that match only such words are not listed at all. Bigger
/// windows rank more of the history and cost linearly more (the rank and a
/// `messages` row lookup per match); 2,000 keeps a common word's search
/// within tens of milliseconds on a 10M-message workspace.
pub const SEARCH_WINDOW: i64 = 2_000;

/// Sort key for "oldest waiting first" when a conversation is not waiting.
pub const NOT_WAITING: i64 = i64::MAX;

/// Appends `c.account_id = … AND` the folder, scope and quick filters.
pub fn push_filters<DB>(qb: &mut QueryBuilder<DB>, account: AccountId, query: &ConversationQuery)
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    qb.push(" c.account_id = ").push_bind(account.0);
    if let Some(folder) = query.folder {
        qb.push(" AND c.folder = ")
            .push_bind(folder.as_str().to_string());
    }
    match query.scope {
        Scope::All => {}
        Scope::Mine => {
            qb.push(" AND c.assignee_id = ")
                .push_bind(query.viewer.map(|v| v.0).unwrap_or(-1));
        }
        Scope::Unassigned => {
            qb.push(" AND c.assignee_id IS NULL");
        }
    }
    if let Some(inbox) = query.inbox_id {
        qb.push(" AND c.inbox_id = ").push_bind(inbox.0);
    }
    if let Some(kind) = query.kind {
        qb.push(" AND c.inbox_kind = ")
            .push_bind(kind.as_str().to_string());
    }
    if let Some(assignee) = query.assignee_id {
        qb.push(" AND c.assignee_id = ").push_bind(assignee.0);
    }
    if let Some(tag) = &query.tag {
        qb.push(" AND EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = c.id AND t.tag = ")
            .push_bind(tag.clone())
            .push(")");
    }
    if query.unread {
        qb.push(" AND c.unread_count > 0");
    }
    if query.waiting {
        qb.push(" AND c.waiting_since IS NOT NULL");
    }
    if let Some(at) = query.created_after {
        qb.push(" AND c.created_at >= ").push_bind(at.0);
    }
    if let Some(at) = query.created_before {
        qb.push(" AND c.created_at < ").push_bind(at.0);
    }
    if let Some(at) = query.activity_after {
        qb.push(" AND c.last_activity_at >= ").push_bind(at.0);
    }
    if let Some(at) = query.activity_before {
        qb.push(" AND c.last_activity_at < ").push_bind(at.0);
    }
    if let Some(contact) = query.contact_id {
        qb.push(" AND c.contact_id = ").push_bind(contact.0);
    }
}

/// The one assignee a folder page is limited to, as the folder counters
/// name it (0: unassigned), from its scope and `assignee_id` filter.
#[derive(Debug, PartialEq, Eq)]
pub enum PinnedAssignee {
    /// No scope or filter names an assignee.
    Any,
    /// Scope and filter name different assignees: nothing can match.
    Contradiction,
    /// The counters' assignee key.
    Key(i64),
}

/// See [`PinnedAssignee`]; a store reads the counters with the key to
/// answer an empty page without walking the folder.
pub fn pinned_assignee(query: &ConversationQuery) -> PinnedAssignee {
    let scoped = match query.scope {
        Scope::All => None,
        Scope::Mine => Some(query.viewer.map(|v| v.0).unwrap_or(-1)),
        Scope::Unassigned => Some(0),
    };
    match (scoped, query.assignee_id.map(|a| a.0)) {
        (None, None) => PinnedAssignee::Any,
        (Some(a), Some(b)) if a != b => PinnedAssignee::Contradiction,
        (Some(a), _) | (None, Some(a)) => PinnedAssignee::Key(a),
    }
}

/// The sort key column expression of an order.
fn sort_key(sort: Sort) -> String {
    match sort {
        Sort::LastActivity => "c.last_activity_at".into(),
        Sort::Created => "c.created_at".into(),
        Sort::OldestWaiting => format!("COALESCE(c.waiting_since, {NOT_WAITING})"),
    }
}

/// Appends the keyset condition (`AND …` after the cursor) and `ORDER BY … LIMIT`.
pub fn push_order<DB>(qb: &mut QueryBuilder<DB>, query: &ConversationQuery)
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    let key = sort_key(query.sort);
    let (compare, direction) = match query.sort {
        Sort::LastActivity | Sort::Created => ("<", "DESC"),
        Sort::OldestWaiting => (">", "ASC"),
    };
    if let Some(cursor) = query.cursor {
        qb.push(format!(" AND ({key} {compare} "))
            .push_bind(cursor.key)
            .push(format!(" OR ({key} = "))
            .push_bind(cursor.key)
            .push(format!(" AND c.id {compare} "))
            .push_bind(cursor.id)
            .push("))");
    }
    qb.push(format!(
        " ORDER BY {key} {direction}, c.id {direction} LIMIT "
    ))
    .push_bind(i64::from(query.limit) + 1);
}

/// The cursor after a conversation, for an order.
pub fn cursor_after(conversation: &Conversation, sort: Sort) -> Cursor {
    let key = match sort {
        Sort::LastActivity => conversation.last_activity_at.0,
        Sort::Created => conversation.created_at.0,
        Sort::OldestWaiting => conversation
            .waiting_since
            .map(|t| t.0)
            .unwrap_or(NOT_WAITING),
    };
    Cursor {
        key,
        id: conversation.id.0,
    }
}

/// Cuts a page fetched with `limit + 1` rows: the extra row says there is a next page.
pub fn cut_page<T>(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(cursor_of)
    } else {
        None
    };
    Page { items, next_cursor }
}

/// A page of search results from listed conversations with their ranks (a
/// page and one, in the list's order): the cursor after the last is its
/// rank and id.
pub fn cut_ranked_page(
    items: Vec<(ListedConversation, f64)>,
    limit: u32,
) -> Page<ListedConversation> {
    let page = cut_page(items, limit, |(item, rank)| Cursor {
        key: rank_key(*rank),
        id: item.conversation.id.0,
    });
    Page {
        items: page.items.into_iter().map(|(item, _)| item).collect(),
        next_cursor: page.next_cursor,
    }
}

/// A search rank as a cursor key (exact: the float's bits).
pub fn rank_key(rank: f64) -> i64 {
    rank.to_bits() as i64
}

/// The search rank a cursor key holds.
pub fn key_rank(key: i64) -> f64 {
    f64::from_bits(key as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_domain::AgentId;

    #[test]
    fn the_pinned_assignee_follows_scope_and_filter() {
        let query = |scope, viewer: Option<i64>, assignee: Option<i64>| ConversationQuery {
            scope,
            viewer: viewer.map(AgentId),
            assignee_id: assignee.map(AgentId),
            ..ConversationQuery::default()
        };
        assert_eq!(
            pinned_assignee(&query(Scope::All, Some(1), None)),
            PinnedAssignee::Any
        );
        assert_eq!(
            pinned_assignee(&query(Scope::Mine, Some(1), None)),
            PinnedAssignee::Key(1)
        );
        assert_eq!(
            pinned_assignee(&query(Scope::Unassigned, Some(1), None)),
            PinnedAssignee::Key(0)
        );
        assert_eq!(
            pinned_assignee(&query(Scope::All, Some(1), Some(7))),
            PinnedAssignee::Key(7)
        );
        assert_eq!(
            pinned_assignee(&query(Scope::Mine, Some(1), Some(1))),
            PinnedAssignee::Key(1)
        );
        assert_eq!(
            pinned_assignee(&query(Scope::Mine, Some(1), Some(7))),
            PinnedAssignee::Contradiction
        );
        assert_eq!(
            pinned_assignee(&query(Scope::Unassigned, Some(1), Some(7))),
            PinnedAssignee::Contradiction
        );
        // No viewer: "mine" is nobody's.
        assert_eq!(
            pinned_assignee(&query(Scope::Mine, None, None)),
            PinnedAssignee::Key(-1)
        );
    }
}
