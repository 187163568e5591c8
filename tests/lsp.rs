//! Runs the language server tests in `tests/lsp/` (Python, pytest-lsp), which drive the
//! `flytec lsp` binary the way an editor does. Needs `python3` with `pytest-lsp` installed
//! (`pip install pytest-lsp`); fails with that advice when it is missing.

use std::path::Path;
use std::process::Command;

#[test]
fn language_server_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let probe = Command::new("python3")
        .args(["-c", "import pytest_lsp"])
        .output();
    match probe {
        Err(e) => panic!("cannot run python3 ({e}): the language server tests need python3 with pytest-lsp (`pip install pytest-lsp`)"),
        Ok(out) if !out.status.success() => panic!(
            "pytest-lsp is missing: install it with `pip install pytest-lsp` to run the language server tests\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(_) => {}
    }
    let run = Command::new("python3")
        .args(["-m", "pytest", "tests/lsp", "-q", "-p", "no:cacheprovider"])
        .current_dir(root)
        .env("FLYTEC_BIN", env!("CARGO_BIN_EXE_flytec"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the language server tests failed (python3 -m pytest tests/lsp -q):\n{stdout}\n{stderr}"
    );
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
}
