//! How `confab` uses glibc's allocator: few arenas, and free memory given
//! back to the system after a burst.
//!
//! glibc gives threads that allocate at once arenas of their own (up to
//! eight per core), and memory freed into an arena stays with the process:
//! after a burst of searches on 10M messages the server kept 42 MiB with
//! the default and 32–34 MiB with two arenas (one: 30 MiB, but every thread
//! would then share one lock). Even then, what a burst freed stays mapped
//! until glibc happens to shrink the top of a heap; `malloc_trim` returns
//! every free page. Other allocators and platforms: nothing to do.
#![cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]

use std::time::Duration;

/// How often the trimmer looks at the allocator.
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// Free memory the allocator may hold beyond what it held after the last
/// trim before the trimmer returns it.
const TRIM_SLACK: usize = 2 << 20;

/// At most two arenas. Call before any thread starts; `MALLOC_ARENA_MAX` in
/// the environment still wins.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; no thread has
        // been started yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Starts a task that, once a second, gives the free memory the allocator
/// holds back to the system: at once when it has grown by more than
/// [`TRIM_SLACK`] since the last time (a burst of requests ended), and
/// otherwise once the server has gone quiet (no change over a second) with
/// anything freed since. While nothing changes it only reads the
/// allocator's statistics.
pub fn spawn_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut ticks = tokio::time::interval(TRIM_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut trimmed_at = 0usize;
        let mut last = 0usize;
        loop {
            ticks.tick().await;
            // SAFETY: mallinfo2 reads the allocator's statistics.
            let free = unsafe { libc::mallinfo2() }.fordblks;
            if should_trim(free, last, trimmed_at) {
                // SAFETY: malloc_trim releases free pages; it takes the
                // arenas' locks like any allocation does.
                unsafe {
                    libc::malloc_trim(0);
                }
                trimmed_at = unsafe { libc::mallinfo2() }.fordblks;
            } else {
                trimmed_at = trimmed_at.min(free);
            }
            last = free;
        }
    });
}

/// Whether to trim, given the allocator's free bytes now (`free`), a tick
/// ago (`last`) and after the last trim (`trimmed_at`): grown past the
/// slack, or grown at all and still since the last tick.
fn should_trim(free: usize, last: usize, trimmed_at: usize) -> bool {
    free > trimmed_at.saturating_add(TRIM_SLACK) || (free > trimmed_at && free == last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_after_a_burst_or_once_quiet() {
        const MIB: usize = 1 << 20;
        // Nothing freed since the last trim: never.
        assert!(!should_trim(0, 0, 0));
        assert!(!should_trim(4 * MIB, 4 * MIB, 4 * MIB));
        // Still moving, within the slack: not yet.
        assert!(!should_trim(TRIM_SLACK, 0, 0));
        assert!(!should_trim(5 * MIB, 4 * MIB + 1, 4 * MIB));
        // Grown past the slack: at once, moving or not.
        assert!(should_trim(TRIM_SLACK + 1, 0, 0));
        assert!(should_trim(usize::MAX, 0, usize::MAX - 1 - TRIM_SLACK));
        // Grown a little, and quiet for a tick: now.
        assert!(should_trim(5 * MIB, 5 * MIB, 4 * MIB));
    }
}
