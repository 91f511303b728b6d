//! Keeps the bench from rotting: its quick mode against the debug `confab`
//! binary that the workspace build leaves in target/debug (this test builds
//! nothing itself; without that binary it says so and passes).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn debug_confab() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("debug/confab")
}

#[test]
fn quick_mode_delivers_every_message() {
    let confab = debug_confab();
    if !confab.exists() {
        eprintln!(
            "skipping: no {} (build it with `cargo build -p confab`)",
            confab.display()
        );
        return;
    }
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_confab-bench"))
        .arg("--confab")
        .arg(&confab)
        .arg("--quick")
        .output()
        .expect("running confab-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "confab-bench --quick failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("missed 0"), "{stdout}");
    assert!(stdout.contains("idle sockets"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "quick mode took {:?}",
        started.elapsed()
    );
}

/// CI's small-scale pass of issue 6's query side: 10,000 conversations
/// (about 100,000 messages) filled by confab-datagen, every request answered, search
/// finding its planted words with snippets. Timings are not asserted.
#[test]
fn scale_quick_pass_answers_every_request() {
    let confab = debug_confab();
    if !confab.exists() {
        eprintln!(
            "skipping: no {} (build it with `cargo build -p confab`)",
            confab.display()
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("confab-bench-scale-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let markdown = dir.join("benchmarks.md");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_confab-bench"))
        .arg("--confab")
        .arg(&confab)
        .args([
            "--scenario",
            "scale",
            "--quick",
            "--scale-conversations",
            "10000",
        ])
        .arg("--write-markdown")
        .arg(&markdown)
        .output()
        .expect("running confab-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "confab-bench --scenario scale --quick failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("Failed or wrong answers: 0 "), "{stdout}");
    // The rare planted word is found, with its snippet.
    assert!(stdout.contains("| `zanzibarite` | 1 | 1 | 1 |"), "{stdout}");
    let written = std::fs::read_to_string(&markdown).expect("the Markdown section");
    assert!(
        written.contains("<!-- bench:scale-sqlite:start -->"),
        "{written}"
    );
    assert!(written.contains("search with snippets"), "{written}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the scale quick pass took {:?}",
        started.elapsed()
    );
}

/// Runs the bench's quick mode of one scenario that writes its own section
/// into a fresh Markdown file; returns stdout and the file's text, or None
/// when there is no debug `confab` to run it against.
fn quick_section(name: &str, args: &[&str]) -> Option<(String, String, PathBuf)> {
    let confab = debug_confab();
    if !confab.exists() {
        eprintln!(
            "skipping: no {} (build it with `cargo build -p confab`)",
            confab.display()
        );
        return None;
    }
    let dir =
        std::env::temp_dir().join(format!("confab-bench-{name}-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let markdown = dir.join("benchmarks.md");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_confab-bench"))
        .arg("--confab")
        .arg(&confab)
        .arg("--quick")
        .args(args)
        .arg("--write-markdown")
        .arg(&markdown)
        .output()
        .expect("running confab-bench");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "confab-bench --quick {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let written = std::fs::read_to_string(&markdown).expect("the Markdown section");
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "{name} quick pass took {:?}",
        started.elapsed()
    );
    Some((stdout, written, dir))
}

/// Issue 6's ingest scenario in small: every acknowledged message stored,
/// indexed and logged (the bench fails otherwise), the raw limit measured,
/// a row for each number of `POST`s in flight.
#[test]
fn ingest_quick_pass_stores_every_message() {
    let Some((stdout, written, dir)) = quick_section(
        "ingest",
        &["--scenario", "ingest", "--ingest-concurrency", "4,8"],
    ) else {
        return;
    };
    assert!(stdout.contains("raw limit"), "{stdout}");
    // The writer thread is found by its name, and did the writing.
    let writer: f64 = stdout
        .split("(writer thread ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|cpus| cpus.parse().ok())
        .unwrap_or_else(|| panic!("no writer thread CPU in {stdout}"));
    assert!(writer > 0.0, "{stdout}");
    assert!(
        written.contains("<!-- bench:ingest-sqlite:start -->"),
        "{written}"
    );
    assert!(written.contains("| SQLite | 4 | "), "{written}");
    assert!(written.contains("| SQLite | 8 | "), "{written}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The PostgreSQL server the test run names (`scripts/test` does), or
/// None (the caller skips).
fn postgres_url() -> Option<String> {
    let url = std::env::var("CONFAB_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("skipping: CONFAB_TEST_POSTGRES_URL is not set");
    }
    url
}

/// The same on PostgreSQL, against pgbench writing the same rows (when the
/// test run names a PostgreSQL server, as `scripts/test` does).
#[test]
fn ingest_quick_pass_on_postgres_against_pgbench() {
    let Some(url) = postgres_url() else {
        return;
    };
    let Some((stdout, written, dir)) = quick_section(
        "ingest-postgres",
        &["--scenario", "ingest", "--database-url", &url],
    ) else {
        return;
    };
    assert!(stdout.contains("raw limit by pgbench"), "{stdout}");
    assert!(
        written.contains("<!-- bench:ingest-postgres:start -->"),
        "{written}"
    );
    assert!(written.contains("| PostgreSQL | 8 | "), "{written}");
    assert!(written.contains("raw limit, pgbench"), "{written}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The query side's small pass on PostgreSQL (when the test run names a
/// PostgreSQL server): confab-datagen fills a fresh database of its own,
/// every request answered, search finding its planted words.
#[test]
fn scale_quick_pass_on_postgres_answers_every_request() {
    let Some(url) = postgres_url() else {
        return;
    };
    let Some((stdout, written, dir)) = quick_section(
        "scale-postgres",
        &[
            "--scenario",
            "scale",
            "--scale-conversations",
            "10000",
            "--database-url",
            &url,
        ],
    ) else {
        return;
    };
    assert!(stdout.contains("Failed or wrong answers: 0 "), "{stdout}");
    assert!(stdout.contains("| `zanzibarite` | 1 | 1 | 1 |"), "{stdout}");
    assert!(
        written.contains("<!-- bench:scale-postgres:start -->"),
        "{written}"
    );
    assert!(written.contains("search with snippets"), "{written}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The latency-against-load chart in small: two rates, the table, and the
/// PNG when the machine has the font.
#[test]
fn load_quick_pass_draws_the_chart() {
    let Some((stdout, written, dir)) = quick_section("load", &["--scenario", "load"]) else {
        return;
    };
    assert!(stdout.contains("missed 0"), "{stdout}");
    assert!(
        written.contains("<!-- bench:latency-vs-load:start -->"),
        "{written}"
    );
    let font = std::path::Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if font.exists() {
        let png = std::fs::read(dir.join("latency-vs-load.png")).expect("the chart");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        assert!(written.contains("](latency-vs-load.png)"), "{written}");
    } else {
        eprintln!("no {}: the chart is not checked", font.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The idle-sockets figure alone goes to its own section, with the total
/// against issue 6's 150 MB.
#[test]
fn idle_sockets_alone_write_their_section() {
    let Some((stdout, written, dir)) =
        quick_section("idle", &["--scenario", "memory", "--idle-sockets", "100"])
    else {
        return;
    };
    assert!(stdout.contains("100 idle sockets"), "{stdout}");
    assert!(
        written.contains("<!-- bench:idle-sockets:start -->"),
        "{written}"
    );
    assert!(written.contains("projected"), "{written}");
    let _ = std::fs::remove_dir_all(&dir);
}
