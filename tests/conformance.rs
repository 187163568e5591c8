//! The shared conformance programs, run through their own scripts: `check.py FLYTEC DIR` compares
//! `flytec check` with each program's `# expect:` header, `run.py FLYTEC DIR` compares `flytec run`
//! with `cases.json`. Both print one line per case and exit 0 when every case passes.
//!
//! The copy vendored in `tests/conformance/` always runs; the shared original at
//! `../shared/conformance` (outside the repository) runs too when it exists, so a change there
//! is noticed before it is vendored. Needs `python3` on the `PATH`.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// How long one script may take: it runs every case, each with its own time limit.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

/// The conformance folders to run: the vendored copy, and the shared original when present.
fn conformance_dirs() -> Vec<PathBuf> {
    let vendored = common::manifest_dir().join("tests/conformance");
    assert!(
        vendored.is_dir(),
        "the vendored conformance programs are missing: {}",
        vendored.display()
    );
    let shared = common::manifest_dir().join("../shared/conformance");
    if shared.is_dir() {
        vec![vendored, shared]
    } else {
        println!(
            "note: {} does not exist; running the vendored copy only",
            shared.display()
        );
        vec![vendored]
    }
}

/// Runs `python3 DIR/SCRIPT FLYTEC DIR` for every conformance folder; fails with the script's
/// report when it does not exit 0.
fn run_script(script: &str) {
    for dir in conformance_dirs() {
        let mut command = Command::new("python3");
        command
            .arg(dir.join(script))
            .arg(env!("CARGO_BIN_EXE_flytec"))
            .arg(&dir);
        let run = common::run(command, SCRIPT_TIMEOUT);
        println!("{script} {}:\n{}", dir.display(), run.stdout);
        assert!(
            run.status.success(),
            "{script} {} failed ({}):\n{}{}",
            dir.display(),
            run.status,
            run.stdout,
            run.stderr
        );
    }
}

/// `flytec check` agrees with every conformance program's header.
#[test]
fn check_py() {
    run_script("check.py");
}

/// `flytec run` gives the outputs `cases.json` lists.
#[test]
fn run_py() {
    run_script("run.py");
}
