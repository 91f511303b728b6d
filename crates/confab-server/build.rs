//! Rebuilds the crate when the agent UI's built files (`web/dist`, embedded
//! by `src/ui.rs`) appear, change or disappear. Writes nothing.

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let dist = Path::new("../../web/dist");
    if dist.join("index.html").is_file() {
        // A directory is watched as a whole: any file added, changed or removed.
        println!("cargo::rerun-if-changed=../../web/dist");
    } else if Path::new("../../web").is_dir() {
        // Not built yet: `web/` changes when `dist/` is created in it. (Watching
        // the missing `web/dist` itself would rerun on every build.)
        println!("cargo::rerun-if-changed=../../web");
    }
}
