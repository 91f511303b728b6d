//! The operating system: open-files limit, a process's RSS, the machine.

use anyhow::Context;

/// Raises this process's open-files limit (1,000+ sockets need it).
/// Returns the soft limit in force afterwards.
pub fn raise_open_files(want: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur >= want {
            return limit.rlim_cur;
        }
        let raised = libc::rlimit {
            rlim_cur: want,
            rlim_max: limit.rlim_max.max(want),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return want;
        }
        // Not allowed past the hard limit: go as far as it.
        let capped = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &capped) == 0 {
            return limit.rlim_max;
        }
        limit.rlim_cur
    }
}

/// A process's resident set size (VmRSS), in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

/// What the figures were measured on.
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    /// The 1-minute load average when the bench started (others may share the machine).
    pub load: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_default();
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
            .unwrap_or_default();
        Machine {
            load,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_gib: memory_kib / (1024.0 * 1024.0),
            kernel,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} CPUs ({}), {:.1} GiB RAM, Linux {} (load average {} at the start)",
            self.cpus, self.cpu_model, self.memory_gib, self.kernel, self.load
        )
    }
}

/// The source revision the binaries were built from, as far as git knows
/// (run from the workspace root).
pub fn revision() -> Option<String> {
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    // The bench and the docs it writes do not change the server.
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no", "--", "."])
        .args([":(exclude)crates/confab-bench", ":(exclude)docs"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty {
        format!("{head} with uncommitted changes")
    } else {
        head
    })
}

/// CPU ticks spent busy by the whole machine (all CPUs, from /proc/stat).
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
    let total: u64 = fields.iter().take(8).sum();
    Some(total - fields.get(3)? - fields.get(4)?)
}

/// CPU ticks (user + system) a process has used.
fn process_ticks(pid: u32) -> Option<u64> {
    stat_ticks(std::path::Path::new(&format!("/proc/{pid}/stat")))
}

/// User + system ticks from a `/proc/…/stat` file (a process's or a thread's).
fn stat_ticks(path: &std::path::Path) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Measures how much CPU processes other than the bench and its servers use.
pub struct OtherLoad {
    pids: Vec<u32>,
    start: Option<(u64, u64, std::time::Instant)>,
}

impl OtherLoad {
    pub fn start(servers: &[u32]) -> OtherLoad {
        let mut pids = servers.to_vec();
        pids.push(std::process::id());
        let mut load = OtherLoad { pids, start: None };
        load.start = load
            .sample()
            .map(|(busy, ours)| (busy, ours, std::time::Instant::now()));
        load
    }

    fn sample(&self) -> Option<(u64, u64)> {
        let ours = self.pids.iter().filter_map(|&pid| process_ticks(pid)).sum();
        Some((machine_busy_ticks()?, ours))
    }

    /// CPUs' worth of time others used since the start (e.g. 0.05 = 5 % of one CPU).
    pub fn cpus(&self) -> f64 {
        let (Some((busy0, ours0, since)), Some((busy1, ours1))) = (self.start, self.sample())
        else {
            return 0.0;
        };
        // SAFETY: sysconf only reads a constant.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let others = (busy1 - busy0).saturating_sub(ours1.saturating_sub(ours0));
        others as f64 / hz / since.elapsed().as_secs_f64().max(1e-3)
    }
}

/// CPU ticks (user + system) a process's threads named `name` have used
/// (`/proc/<pid>/task/*/comm`; Linux keeps 15 characters of a thread name).
fn thread_ticks(pid: u32, name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .filter_map(|task| stat_ticks(&task.path().join("stat")))
        .sum()
}

/// Where the machine's CPU went during a window, in CPUs (1.0 = one CPU
/// busy the whole window).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// Every CPU's busy time, all processes.
    pub machine: f64,
    /// The server process, and of it the threads named as asked (the
    /// SQLite writer).
    pub server: f64,
    pub thread: f64,
    /// This process (the bench's clients).
    pub bench: f64,
    /// The window's length.
    pub seconds: f64,
}

impl CpuUse {
    /// Everything else: the database server's processes on PostgreSQL,
    /// the kernel's own threads, other programs.
    pub fn others(&self) -> f64 {
        (self.machine - self.server - self.bench).max(0.0)
    }
}

/// A window over which [`CpuUse`] is measured.
pub struct CpuWindow {
    server: u32,
    thread: &'static str,
    start: [u64; 4],
    since: std::time::Instant,
}

impl CpuWindow {
    /// Starts measuring the server `server` and its threads named `thread`.
    pub fn start(server: u32, thread: &'static str) -> CpuWindow {
        let mut window = CpuWindow {
            server,
            thread,
            start: [0; 4],
            since: std::time::Instant::now(),
        };
        window.start = window.sample();
        window.since = std::time::Instant::now();
        window
    }

    fn sample(&self) -> [u64; 4] {
        [
            machine_busy_ticks().unwrap_or(0),
            process_ticks(self.server).unwrap_or(0),
            thread_ticks(self.server, self.thread),
            process_ticks(std::process::id()).unwrap_or(0),
        ]
    }

    /// The use since the start.
    pub fn finish(&self) -> CpuUse {
        let end = self.sample();
        // SAFETY: sysconf only reads a constant.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let seconds = self.since.elapsed().as_secs_f64().max(1e-3);
        let cpus = |i: usize| end[i].saturating_sub(self.start[i]) as f64 / hz / seconds;
        CpuUse {
            machine: cpus(0),
            server: cpus(1),
            thread: cpus(2),
            bench: cpus(3),
            seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread's CPU is found by its name, and only that thread's.
    #[test]
    fn cpu_of_a_named_thread() {
        // Spins until its own ticks show (a busy machine may give it a
        // core late), within a generous deadline.
        let spin = std::thread::Builder::new()
            .name("cpu-probe-spin".into())
            .spawn(|| {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                let mut x = 0u64;
                loop {
                    for _ in 0..1_000_000 {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                    let ticks = thread_ticks(std::process::id(), "cpu-probe-spin");
                    if ticks > 0 || std::time::Instant::now() > deadline {
                        return ticks;
                    }
                }
            })
            .unwrap();
        assert!(spin.join().unwrap() > 0, "no ticks for a spinning thread");
        assert_eq!(thread_ticks(std::process::id(), "no-such-thread"), 0);
    }
}
