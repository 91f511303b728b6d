//! One clock for the whole bench: nanoseconds since the bench started,
//! read from a single `Instant`, so send and receive instants compare.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static START: OnceLock<Instant> = OnceLock::new();

fn start() -> Instant {
    *START.get_or_init(Instant::now)
}

/// Nanoseconds since the bench started.
pub fn now_ns() -> u64 {
    start().elapsed().as_nanos() as u64
}

/// The instant `ns` nanoseconds after the bench started.
pub fn instant_at(ns: u64) -> Instant {
    start() + Duration::from_nanos(ns)
}
