//! How `confab` uses glibc's allocator: twice the cores in arenas, and free
//! memory given back to the system after a burst.
//!
//! glibc gives threads that allocate at once arenas of their own (up to
//! eight per core), and memory freed into an arena stays with the process:
//! after a burst of searches on 10M messages the server kept 42 MiB with
//! the default and 32–34 MiB with two arenas, before the trimmer below.
//! What a burst freed stays mapped until glibc happens to shrink the top of
//! a heap; `malloc_trim` returns every free page, and with it the number of
//! arenas costs little: 24.0–24.5 MiB after the 1M-conversation requests
//! with two arenas, 25.1–26.7 with four, 26.6 with eight.
//!
//! Too few arenas cost time instead: the SQLite writer thread allocates
//! what the request threads free and the other way round, and with two
//! arenas it slept on their locks about 1,600 times a second under
//! contact-message ingest (perf, `sched_switch`). With four, ingest runs in
//! turn: 14,217 / 13,471 / 14,052 → 15,615 / 14,622 / 16,077 messages/s
//! (docs/benchmarks.md).
//! Other allocators and platforms: nothing to do.
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

/// CPU time (clock ticks, 1/100 s on Linux) the process may use over a tick
/// and still count as quiet: background timers, not requests.
const QUIET_CPU_TICKS: u64 = 5;

/// The most ticks a trim for resident growth waits while every tick finds
/// more: under steady load freed pages are used again at once, and a trim
/// each second would cost (it holds the arenas' locks: 1–5 ms on a heap of
/// 11 MiB with 20,000 free pieces) without keeping anything.
const MAX_RESIDENT_WAIT: u32 = 32;

/// At most twice the cores in arenas ([`arenas`]). Call before any thread
/// starts; `MALLOC_ARENA_MAX` in the environment still wins.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let most = libc::c_int::try_from(arenas(cores)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets an allocator parameter; no thread has
        // been started yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, most);
        }
    }
}

/// Twice the cores (glibc's default on 64-bit is eight times): four on two
/// cores, where it was measured (module comment; memory was measured with
/// two, four and eight arenas on two cores only).
fn arenas(cores: usize) -> usize {
    cores.saturating_mul(2).max(2)
}

/// Starts a task that, once a second, gives the free memory the allocator
/// holds back to the system when
/// - the allocator's free memory has grown by more than [`TRIM_SLACK`]
///   since the last time (a burst of requests ended),
/// - or the server has gone quiet (no change over a second) with anything
///   freed since,
/// - or the process's own resident memory has grown by [`RESIDENT_SLACK`]
///   (free memory used again after a trim is resident again, while the
///   allocator's count of free bytes, which a trim does not lower, stays
///   the same); while every tick finds it grown again and the process
///   busy, these trims back off up to [`MAX_RESIDENT_WAIT`] ticks apart,
///   and a quiet tick (at most [`QUIET_CPU_TICKS`] of CPU) trims at once.
///
/// Otherwise it only reads the allocator's statistics and `/proc/self/statm`.
pub fn spawn_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut ticks = tokio::time::interval(TRIM_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut trimmer = Trimmer::default();
        loop {
            ticks.tick().await;
            let now = Reading::now();
            let trim = trimmer.decide(now);
            let after = if trim == Trim::No {
                now
            } else {
                // SAFETY: malloc_trim releases free pages; it takes the
                // arenas' locks like any allocation does.
                unsafe {
                    libc::malloc_trim(0);
                }
                Reading::now()
            };
            trimmer.record(now, trim, after);
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
    /// The process's CPU time so far, user and system, in clock ticks (0
    /// where it cannot be read).
    cpu: u64,
}

impl Reading {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn now() -> Reading {
        // SAFETY: mallinfo2 reads the allocator's statistics.
        let free = unsafe { libc::mallinfo2() }.fordblks;
        // SAFETY: sysconf only reads a system setting.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as usize;
        Reading {
            free,
            resident: std::fs::read_to_string("/proc/self/statm")
                .ok()
                .and_then(|statm| private_resident_pages(&statm))
                .map(|pages| pages.saturating_mul(page))
                .unwrap_or(0),
            cpu: std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|stat| cpu_ticks(&stat))
                .unwrap_or(0),
        }
    }
}

/// User plus system CPU time from `/proc/self/stat`, in clock ticks: fields
/// 14 and 15, counted after the command name's closing parenthesis (the
/// name may hold spaces).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user.saturating_add(system))
}

/// Resident pages no file backs, from `/proc/self/statm` (`size resident
/// shared …`, in pages): resident minus shared.
fn private_resident_pages(statm: &str) -> Option<usize> {
    let mut fields = statm.split_ascii_whitespace().skip(1);
    let resident: usize = fields.next()?.parse().ok()?;
    let shared: usize = fields.next()?.parse().ok()?;
    Some(resident.saturating_sub(shared))
}

/// Why a tick trims, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trim {
    No,
    /// Free memory came back to the allocator (a burst ended), or the
    /// server went quiet with some.
    Freed,
    /// Resident memory grew.
    Resident,
}

/// The trimmer's memory from tick to tick.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Trimmer {
    /// The reading a tick ago.
    last: Reading,
    /// The marks: free memory after the last trim (lowered when it falls),
    /// resident memory after the last trim.
    trimmed: Reading,
    /// Ticks a trim for resident growth still waits.
    wait: u32,
    /// The wait after the next such trim (doubles while ticks keep finding
    /// growth, back to 1 once one does not).
    backoff: u32,
}

impl Default for Trimmer {
    fn default() -> Self {
        Trimmer {
            last: Reading::default(),
            trimmed: Reading::default(),
            wait: 0,
            backoff: 1,
        }
    }
}

impl Trimmer {
    /// Whether this tick, with reading `now`, trims.
    fn decide(&self, now: Reading) -> Trim {
        let free = self.trimmed.free;
        if now.free > free.saturating_add(TRIM_SLACK)
            || (now.free > free && now.free == self.last.free)
        {
            Trim::Freed
        } else if self.resident_grew(now) && (self.wait == 0 || self.quiet(now)) {
            Trim::Resident
        } else {
            Trim::No
        }
    }

    fn resident_grew(&self, now: Reading) -> bool {
        now.resident > self.trimmed.resident.saturating_add(RESIDENT_SLACK)
    }

    /// Whether the process used next to no CPU since the last tick.
    fn quiet(&self, now: Reading) -> bool {
        now.cpu != 0 && now.cpu.saturating_sub(self.last.cpu) <= QUIET_CPU_TICKS
    }

    /// Ends the tick: `now` was read before it, `after` after its trim
    /// (`now` again when it did not trim).
    fn record(&mut self, now: Reading, trim: Trim, after: Reading) {
        match trim {
            Trim::No => {
                self.trimmed.free = self.trimmed.free.min(now.free);
                if self.resident_grew(now) {
                    self.wait = self.wait.saturating_sub(1);
                } else {
                    self.wait = 0;
                    self.backoff = 1;
                }
            }
            Trim::Freed => self.trimmed = after,
            Trim::Resident if self.quiet(now) => {
                self.trimmed = after;
                self.wait = 0;
                self.backoff = 1;
            }
            Trim::Resident => {
                self.trimmed = after;
                self.wait = self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_RESIDENT_WAIT);
            }
        }
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn twice_the_cores_in_arenas_and_never_fewer_than_two() {
        assert_eq!(arenas(2), 4);
        assert_eq!(arenas(8), 16);
        assert_eq!(arenas(1), 2);
        assert_eq!(arenas(0), 2);
    }

    fn free(free: usize) -> Reading {
        Reading {
            free,
            ..Reading::default()
        }
    }

    /// A trimmer that trimmed at `trimmed` and read `last` a tick ago.
    fn trimmer(last: Reading, trimmed: Reading) -> Trimmer {
        Trimmer {
            last,
            trimmed,
            ..Trimmer::default()
        }
    }

    fn should_trim(now: Reading, last: Reading, trimmed: Reading) -> bool {
        trimmer(last, trimmed).decide(now) != Trim::No
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

    fn at(free: usize, resident: usize, cpu: u64) -> Reading {
        Reading {
            free,
            resident,
            cpu,
        }
    }

    #[test]
    fn trims_when_free_memory_is_resident_again() {
        // The allocator's free bytes are what they were after the trim (a
        // trim does not lower them), and the work goes on, but the freed
        // pages were used again: resident memory says so.
        let trimmed = at(6 * MIB, 8 * MIB, 100);
        let last = at(6 * MIB - 4096, 10 * MIB, 200);
        let now = at(6 * MIB, 11 * MIB, 300);
        assert_eq!(trimmer(last, trimmed).decide(now), Trim::Resident);
        // Within the slack: not yet.
        assert!(!should_trim(at(6 * MIB, 9 * MIB, 300), last, trimmed));
        // Where resident memory cannot be read, it counts for nothing.
        assert!(!should_trim(at(6 * MIB, 0, 300), last, trimmed));
    }

    /// Runs busy ticks (a CPU-second each) where the work keeps using the
    /// freed pages again: each reading `grown` above what a trim leaves
    /// (`base`); returns the ticks that trimmed.
    fn steady_load(trimmer: &mut Trimmer, ticks: u32, base: usize, grown: usize) -> Vec<u32> {
        let mut trimmed_on = Vec::new();
        for tick in 0..ticks {
            // The free count moves a little every tick: never quiet.
            let now = at(
                6 * MIB - 4096 - (tick as usize % 2) * 4096,
                base + grown,
                trimmer.last.cpu + 100,
            );
            let trim = trimmer.decide(now);
            let after = if trim == Trim::No {
                now
            } else {
                trimmed_on.push(tick);
                Reading {
                    resident: base,
                    ..now
                }
            };
            trimmer.record(now, trim, after);
        }
        trimmed_on
    }

    fn loaded() -> Trimmer {
        trimmer(at(6 * MIB, 8 * MIB, 100), at(6 * MIB, 8 * MIB, 100))
    }

    #[test]
    fn backs_off_while_every_busy_tick_finds_resident_growth() {
        let mut t = loaded();
        let trimmed_on = steady_load(&mut t, 200, 8 * MIB, 3 * MIB);
        // 1, then waits of 1, 2, 4, … ticks, then every 33rd tick at most.
        assert_eq!(
            trimmed_on,
            vec![0, 2, 5, 10, 19, 36, 69, 102, 135, 168],
            "{trimmed_on:?}"
        );

        // Once a tick finds no growth (the load ended), the next growth is
        // trimmed at once again.
        let cpu = t.last.cpu + 100;
        let calm = at(6 * MIB - 8192, 8 * MIB, cpu);
        let trim = t.decide(calm);
        assert_eq!(trim, Trim::No);
        t.record(calm, trim, calm);
        assert_eq!(steady_load(&mut t, 3, 8 * MIB, 3 * MIB), vec![0, 2]);
    }

    #[test]
    fn a_quiet_tick_trims_at_once_whatever_the_back_off() {
        let mut t = loaded();
        steady_load(&mut t, 12, 8 * MIB, 3 * MIB);
        assert!(t.wait > 0, "{t:?}");
        // The load ended: memory stays resident, the process idles (a
        // background timer's CPU), the free count still moves.
        let idle = at(6 * MIB - 12288, 11 * MIB, t.last.cpu + 1);
        assert_eq!(t.decide(idle), Trim::Resident);
        t.record(idle, Trim::Resident, at(6 * MIB - 12288, 8 * MIB, idle.cpu));
        assert_eq!((t.wait, t.backoff), (0, 1));
        // Where the CPU time cannot be read, never quiet.
        let mut t = loaded();
        steady_load(&mut t, 12, 8 * MIB, 3 * MIB);
        t.last.cpu = 0;
        assert_eq!(t.decide(at(6 * MIB - 12288, 11 * MIB, 0)), Trim::No);
    }

    #[test]
    fn reads_cpu_ticks_after_the_command_name() {
        let stat = "4242 (confab (serve) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 731 212 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(943));
        assert_eq!(cpu_ticks("4242 (confab) S 1"), None);
        assert_eq!(cpu_ticks("no name here"), None);
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
    fn reads_this_process_as_its_status_does() {
        let now = Reading::now();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let anon_kib: usize = status
            .lines()
            .find_map(|line| line.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        let diff = (now.resident / 1024).abs_diff(anon_kib);
        assert!(
            diff < 4096,
            "statm {} KiB, status {anon_kib} KiB",
            now.resident / 1024
        );
        assert!(now.resident > 0);
    }
}
