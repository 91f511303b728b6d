//! Webhooks: the event log, delivered by signed HTTP POSTs with retries.

pub mod dispatcher;
pub mod retry;
pub mod signature;
