//! Confab's domain: pure Rust, no I/O, no async.
//!
//! The folder state machine ([`folder::transition`]) is the heart of the
//! product; every other layer asks it what a change does and never decides
//! on its own.

pub mod entities;
pub mod event;
pub mod folder;
pub mod ids;
pub mod search;
pub mod time;
pub mod validate;
pub mod widget;

pub use entities::*;
pub use event::EventType;
pub use folder::{
    Action, Folder, InboxKind, Outcome, Refusal, SnoozeTimer, initial_folder, transition,
};
pub use ids::*;
pub use time::Timestamp;
pub use widget::{PreChat, WidgetPosition, WidgetSettings};
