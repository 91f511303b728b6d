//! Confab's storage contract.
//!
//! A few narrow async traits, gathered in [`Store`], implemented once per
//! database (`confab-store-sqlite`, `confab-store-postgres`). Every
//! implementation must pass the [`conformance`] suite, written once here.
//!
//! Rules every implementation keeps:
//! - every query is scoped to an account: another account's ids are "not found";
//! - a change and the event it produces are committed in one transaction, and
//!   the per-account event sequence is gap-free and ascending;
//! - folder changes are decided by [`confab_domain::transition`], never here.

pub mod conformance;
pub mod cursor;
mod error;
pub mod highlight;
pub mod listing;
mod model;
pub mod plan;
pub mod rows;
mod traits;

pub use error::{StoreError, StoreResult};
pub use model::*;
pub use traits::*;
