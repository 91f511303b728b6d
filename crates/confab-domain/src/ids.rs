//! Typed ids: an `AccountId` can never be passed where a `ConversationId` is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = i64)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A company's workspace.
    AccountId,
    /// A person who answers conversations.
    AgentId,
    /// One channel instance of an account.
    InboxId,
    /// The person on the other side.
    ContactId,
    /// A ticket.
    ConversationId,
    /// One entry of a conversation.
    MessageId,
    /// A webhook endpoint of an account.
    WebhookId,
    /// One event sent (or to be sent) to one webhook.
    DeliveryId,
    /// A file uploaded to an account, attached (or to be attached) to a message.
    AttachmentId,
);
