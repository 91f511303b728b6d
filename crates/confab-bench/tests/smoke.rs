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

/// CI's small-scale pass of issue 6's query side: a few thousand
/// conversations filled by confab-datagen, every request answered, search
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
            "5000",
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
