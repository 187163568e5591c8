//! UI tests: the programs `tests/ui/*.flow`, each with one mistake (or a few independent ones),
//! checked by the `flytec` binary.
//!
//! - [`diagnostics`] snapshots each program with the exit code and everything `flytec check`
//!   printed, so any change in wording or rendering shows up in review. Snapshots live in
//!   `tests/ui/snapshots/`; accept new ones with `cargo insta review` (or `INSTA_UPDATE=always`).
//! - [`expectations`] asserts, independently of the snapshots, that `--format json` reports exactly
//!   the diagnostics each program's `# expect:` header lists, and the exit code that follows.
//!
//! A program's header is its leading `#` lines: `# expect: CODE @ LINE` per diagnostic (`@ 4|7`:
//! either line); optionally `# help: WORD`, a word those diagnostics must mention (the name a
//! "did you mean" offers), and `# args: …`, extra `flytec check` arguments. Files under
//! `tests/ui/support/` are imported by the programs and are not programs themselves.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::{Expectations, Reported, Run};

/// Every diagnostic code of LANGUAGE.md section 10.
const CODES: [&str; 19] = [
    "E0001", "E0100", "E0101", "E0102", "E0200", "E0201", "E0202", "E0203", "E0204", "E0205",
    "E0300", "E0301", "E0302", "E0303", "E0400", "E0401", "W0100", "W0101", "W0200",
];

/// One UI program.
struct Fixture {
    /// The path flytec is given, relative to the manifest directory: `tests/ui/NAME.flow`.
    path: String,
    /// The program text.
    source: String,
    /// What its header expects.
    expectations: Expectations,
}

impl Fixture {
    /// Reads the program at `path` (a file directly in `tests/ui/`) and its header.
    fn load(path: &Path) -> Fixture {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name");
        let path = format!("tests/ui/{name}");
        let source = fs::read_to_string(common::manifest_dir().join(&path))
            .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let expectations =
            Expectations::parse(&source).unwrap_or_else(|e| panic!("{path}: bad header: {e}"));
        Fixture {
            path,
            source,
            expectations,
        }
    }

    /// Every program in `tests/ui/`, by name.
    fn all() -> Vec<Fixture> {
        let dir = common::manifest_dir().join("tests/ui");
        let mut paths: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "flow"))
            .collect();
        paths.sort();
        paths.iter().map(|path| Fixture::load(path)).collect()
    }

    /// Runs `flytec check --color never EXTRA… HEADER-ARGS… PATH` from the manifest directory.
    fn check(&self, extra: &[&str]) -> Run {
        let mut args = vec!["check", "--color", "never"];
        args.extend_from_slice(extra);
        args.extend(self.expectations.args.iter().map(String::as_str));
        args.push(&self.path);
        common::flytec(&args, common::manifest_dir())
    }

    /// The diagnostics `--format json` reports (the header may already ask for JSON), and the
    /// run's exit code.
    fn check_json(&self) -> (Vec<Reported>, i32) {
        let asks_for_format = self.expectations.args.iter().any(|arg| arg == "--format");
        let run = self.check(if asks_for_format {
            &[]
        } else {
            &["--format", "json"]
        });
        (run.diagnostics(), run.code())
    }

    /// What `check` printed, as one text: the program, the exit code, then stdout (a JSON
    /// document pretty-printed, for readable diffs) and stderr when they are not empty.
    fn transcript(&self, run: &Run) -> String {
        let mut text = format!("----- {} -----\n{}", self.path, self.source);
        text += &format!("----- exit code: {} -----\n", run.code());
        let stdout = match serde_json::from_str::<serde_json::Value>(&run.stdout) {
            Ok(json) => serde_json::to_string_pretty(&json).expect("JSON prints") + "\n",
            Err(_) => run.stdout.clone(),
        };
        for (name, output) in [("stdout", &stdout), ("stderr", &run.stderr)] {
            if !output.is_empty() {
                text += &format!("----- {name} -----\n{output}");
            }
        }
        text
    }
}

/// Snapshots, for every program, the human rendering of its diagnostics.
#[test]
fn diagnostics() {
    insta::with_settings!({
        snapshot_path => "ui/snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::glob!("ui/*.flow", |path| {
            let fixture = Fixture::load(path);
            let run = fixture.check(&[]);
            insta::assert_snapshot!(fixture.transcript(&run));
        });
    });
}

/// Asserts that every program gets exactly the diagnostics its header lists, and the exit
/// code: 1 when an error is expected (or a warning under `--deny warnings`), else 0.
#[test]
fn expectations() {
    let fixtures = Fixture::all();
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let (reported, code) = fixture.check_json();
        let mut problems = fixture.expectations.differences(&reported);
        let want = fixture.expectations.exit_code();
        if code != want {
            problems.push(format!("exit {code}, want {want}"));
        }
        if !problems.is_empty() {
            let found = common::summary(&reported);
            failures.push(format!(
                "{}: {} (reported: {found})",
                fixture.path,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} UI programs disagree with their headers:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}

/// Every diagnostic code has at least one UI program expecting it.
#[test]
fn every_code_has_a_program() {
    let expected: BTreeSet<String> = Fixture::all()
        .into_iter()
        .flat_map(|fixture| fixture.expectations.diagnostics)
        .map(|expected| expected.code)
        .collect();
    let missing: Vec<&str> = CODES
        .into_iter()
        .filter(|code| !expected.contains(*code))
        .collect();
    assert!(missing.is_empty(), "no UI program expects {missing:?}");
    let unknown: Vec<&String> = expected
        .iter()
        .filter(|code| !CODES.contains(&code.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "UI programs expect codes LANGUAGE.md does not define: {unknown:?}"
    );
}

/// The harness itself: headers are read as documented, each expectation takes one diagnostic
/// (the most constrained expectations first), and `# help:` words are found as whole words.
#[test]
fn headers_and_matching() {
    let source = "# expect: E0200 @ 2|3\n# expect: E0200 @ 2\n# help: Point\n\
                  # args: --deny warnings\ntask t() {}\n";
    let expectations = Expectations::parse(source).expect("a valid header");
    assert_eq!(expectations.args, ["--deny", "warnings"]);
    assert_eq!(expectations.exit_code(), 1);
    let at = |line, help: &str| Reported {
        code: "E0200".to_owned(),
        line,
        column: 1,
        json: serde_json::json!({ "message": "m", "labels": [], "help": help }),
    };
    let hint = "did you mean `Point`?";
    assert!(expectations
        .differences(&[at(2, hint), at(3, "")])
        .is_empty());
    assert_eq!(
        expectations.differences(&[at(2, hint)]),
        ["missing E0200 @ 2|3"]
    );
    assert_eq!(
        expectations.differences(&[at(2, hint), at(2, ""), at(3, "")]),
        ["unexpected E0200 @ 3"]
    );
    assert_eq!(
        expectations.differences(&[at(2, "did you mean `Points`?"), at(3, "")]),
        ["no expected diagnostic mentions `Point`"]
    );
    let malformed = [
        ("# expect: E0200 @ 9\ntask t() {}\n", "line past the end"),
        ("# expect: E200 @ 1\n", "malformed code"),
        ("# a comment\ntask t() {}\n", "no expectation"),
    ];
    for (source, problem) in malformed {
        assert!(Expectations::parse(source).is_err(), "{problem}");
    }
    let ok = Expectations::parse("# expect: ok\n").expect("a valid header");
    assert_eq!((ok.diagnostics.len(), ok.exit_code()), (0, 0));
}
