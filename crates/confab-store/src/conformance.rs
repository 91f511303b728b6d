//! The conformance suite: written once, run against every store.
//!
//! An implementation crate runs it with
//! `confab_store::conformance_tests!(path::to::fresh_store);` in a test file,
//! where `fresh_store()` returns a store on a new, empty database.

mod attachments;
mod cases;
mod fixture;
pub mod search_window;

pub use attachments::*;
pub use cases::*;
pub use fixture::Fixture;

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@cases $factory;
            accounts_agents_and_credentials,
            another_accounts_ids_are_not_found,
            contact_messages_start_and_continue_conversations,
            every_row_of_the_folder_table,
            refused_actions_change_nothing,
            contact_writing_into_deleted_or_spam,
            agent_replies_and_notes,
            idempotency_keys_return_the_first_message,
            event_log_is_gap_free_under_concurrent_writers,
            snooze_wakes_once_and_is_cancelled,
            list_filters_scopes_and_sorts,
            list_pages_with_keyset_cursors,
            counts_per_folder_and_scope,
            counts_follow_every_change,
            search_finds_bodies_contacts_and_numbers,
            search_ranks_where_the_words_occur_most_first,
            search_ranks_the_word_itself_above_longer_words,
            search_folds_capitals_as_the_index_does,
            contact_posts_by_inbox_token_and_session,
            search_combines_with_filters_and_pages,
            search_keeps_to_its_account_and_notes_and_pages_once,
            contacts_profile_and_sessions,
            assignment_and_tags,
            tags_are_listed_renamed_and_removed_everywhere,
            webhooks_queue_every_event_once_with_leases_and_retries,
            webhook_claims_never_overlap_and_stay_in_their_account,
            trash_is_purged_after_its_retention_once,
            email_threads_dedupes_and_finds_inboxes_by_address,
            email_replies_leave_through_the_outbox_once,
            chat_replies_reach_visitors_who_left_by_email,
            inbox_identity_secrets_and_settings,
            inbox_widget_settings,
            contacts_are_found_by_external_id_in_their_account,
            last_message_previews_follow_replies_not_notes,
            attachments_are_taken_by_messages_in_their_transaction,
            attachments_of_others_are_refused,
            unused_attachments_are_purged_once,
            email_replies_carry_their_attachments,
            messages_refused_among_concurrent_writers_leave_no_trace,
            posted_messages_are_what_is_stored,
        );
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let store = $factory().await;
            $crate::conformance::$case(&store).await;
        }
    )*};
}
