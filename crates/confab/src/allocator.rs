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

/// Resident memory the process may gain over what it had after the last
/// trim before the trimmer tries again (what it cannot give back becomes
/// the new mark).
const RESIDENT_SLACK: usize = 1 << 20;

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
/// holds back to the system when
/// - the allocator's free memory has grown by more than [`TRIM_SLACK`]
///   since the last time (a burst of requests ended),
/// - or the process's own resident memory has (free memory used again
///   after a trim is resident again, while the allocator's count of free
///   bytes, which a trim does not lower, stays the same),
/// - or the server has gone quiet (no change over a second) with anything
///   freed since.
///
/// Otherwise it only reads the allocator's statistics and `/proc/self/statm`.
pub fn spawn_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut ticks = tokio::time::interval(TRIM_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut trimmed = Reading::default();
        let mut last = Reading::default();
        loop {
            ticks.tick().await;
            let now = Reading::now();
            if should_trim(now, last, trimmed) {
                // SAFETY: malloc_trim releases free pages; it takes the
                // arenas' locks like any allocation does.
                unsafe {
                    libc::malloc_trim(0);
                }
                trimmed = Reading::now();
            } else {
                trimmed = trimmed.lowest(now);
            }
            last = now;
        }
    });
}

/// What the trimmer looks at.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Reading {
    /// Bytes the allocator holds free (`mallinfo2().fordblks`).
    free: usize,
    /// The process's resident memory that no file backs, in bytes (0 where
    /// it cannot be read).
    resident: usize,
}

impl Reading {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn now() -> Reading {
        // SAFETY: mallinfo2 reads the allocator's statistics.
        let free = unsafe { libc::mallinfo2() }.fordblks;
        Reading {
            free,
            resident: std::fs::read_to_string("/proc/self/statm")
                .ok()
                .and_then(|statm| private_resident_pages(&statm))
                // SAFETY: sysconf only reads a system setting.
                .map(|pages| pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as usize)
                .unwrap_or(0),
        }
    }

    fn lowest(self, other: Reading) -> Reading {
        Reading {
            free: self.free.min(other.free),
            resident: self.resident.min(other.resident),
        }
    }
}

/// Resident pages no file backs, from `/proc/self/statm` (`size resident
/// shared …`, in pages): resident minus shared.
fn private_resident_pages(statm: &str) -> Option<usize> {
    let mut fields = statm.split_ascii_whitespace().skip(1);
    let resident: usize = fields.next()?.parse().ok()?;
    let shared: usize = fields.next()?.parse().ok()?;
    Some(resident.saturating_sub(shared))
}

/// Whether to trim, given a reading now, a tick ago (`last`) and after the
/// last trim (`trimmed`): free or resident memory grown past the slack, or
/// free memory grown at all and still since the last tick.
fn should_trim(now: Reading, last: Reading, trimmed: Reading) -> bool {
    now.free > trimmed.free.saturating_add(TRIM_SLACK)
        || now.resident > trimmed.resident.saturating_add(RESIDENT_SLACK)
        || (now.free > trimmed.free && now.free == last.free)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn free(free: usize) -> Reading {
        Reading { free, resident: 0 }
    }

    #[test]
    fn trims_after_a_burst_or_once_quiet() {
        // Nothing freed since the last trim: never.
        assert!(!should_trim(free(0), free(0), free(0)));
        assert!(!should_trim(free(4 * MIB), free(4 * MIB), free(4 * MIB)));
        // Still moving, within the slack: not yet.
        assert!(!should_trim(free(TRIM_SLACK), free(0), free(0)));
        assert!(!should_trim(
            free(5 * MIB),
            free(4 * MIB + 1),
            free(4 * MIB)
        ));
        // Grown past the slack: at once, moving or not.
        assert!(should_trim(free(TRIM_SLACK + 1), free(0), free(0)));
        assert!(should_trim(
            free(usize::MAX),
            free(0),
            free(usize::MAX - 1 - TRIM_SLACK)
        ));
        // Grown a little, and quiet for a tick: now.
        assert!(should_trim(free(5 * MIB), free(5 * MIB), free(4 * MIB)));
    }

    #[test]
    fn trims_when_free_memory_is_resident_again() {
        // The allocator's free bytes are what they were after the trim (a
        // trim does not lower them), and the work goes on, but the freed
        // pages were used again: resident memory says so.
        let trimmed = Reading {
            free: 6 * MIB,
            resident: 8 * MIB,
        };
        let last = Reading {
            free: 6 * MIB - 4096,
            resident: 10 * MIB,
        };
        let now = Reading {
            free: 6 * MIB,
            resident: 11 * MIB,
        };
        assert!(should_trim(now, last, trimmed));
        // Within the slack: not yet.
        let now = Reading {
            free: 6 * MIB,
            resident: 9 * MIB,
        };
        assert!(!should_trim(now, last, trimmed));
        // Where resident memory cannot be read, it counts for nothing.
        let unknown = Reading {
            free: 6 * MIB,
            resident: 0,
        };
        assert!(!should_trim(unknown, last, trimmed));
    }

    #[test]
    fn reads_private_resident_pages_from_statm() {
        assert_eq!(
            private_resident_pages("5000 3000 1200 300 0 900 0\n"),
            Some(1800)
        );
        assert_eq!(
            private_resident_pages("5000 1000 1200 300 0 900 0"),
            Some(0)
        );
        assert_eq!(private_resident_pages("5000"), None);
        assert_eq!(private_resident_pages(""), None);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn reads_this_process() {
        let now = Reading::now();
        assert!(now.resident > 0, "{now:?}");
    }
}
