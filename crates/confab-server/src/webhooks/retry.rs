//! When to try a failed delivery again: exponential backoff from 30 s,
//! capped at 4 h, for at least 24 h after the event; then give up.

use confab_domain::Timestamp;

/// First retry delay.
pub const FIRST_DELAY_MS: i64 = 30_000;
/// Longest delay between attempts.
pub const MAX_DELAY_MS: i64 = 4 * 60 * 60 * 1000;
/// How long Confab keeps trying.
pub const GIVE_UP_AFTER_MS: i64 = 24 * 60 * 60 * 1000;

/// The next attempt after the `attempts`-th failed at `now`, or `None` to give up.
pub fn next_attempt(created_at: Timestamp, attempts: i64, now: Timestamp) -> Option<Timestamp> {
    if now.0 - created_at.0 >= GIVE_UP_AFTER_MS {
        return None;
    }
    let exponent = attempts.clamp(1, 20) - 1;
    let delay = FIRST_DELAY_MS
        .saturating_mul(1 << exponent)
        .min(MAX_DELAY_MS);
    Some(now.plus_millis(delay))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_then_gives_up_after_a_day() {
        let start = Timestamp(0);
        assert_eq!(next_attempt(start, 1, start), Some(Timestamp(30_000)));
        assert_eq!(next_attempt(start, 2, start), Some(Timestamp(60_000)));
        assert_eq!(next_attempt(start, 3, start), Some(Timestamp(120_000)));
        assert_eq!(
            next_attempt(start, 30, start),
            Some(Timestamp(MAX_DELAY_MS))
        );
        // Following the schedule from the first failure: it keeps trying for 24 h.
        let (mut now, mut attempts) = (start, 1);
        while let Some(next) = next_attempt(start, attempts, now) {
            now = next;
            attempts += 1;
        }
        assert!(now.0 >= GIVE_UP_AFTER_MS, "gave up after {} ms", now.0);
        assert!(attempts > 10);
    }
}
