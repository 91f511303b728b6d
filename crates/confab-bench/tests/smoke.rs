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
