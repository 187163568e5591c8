//! `flytec run` end to end: every example's output (snapshots), the seed program's pickle files,
//! caching, retries, timeouts, parallel nodes, failing tasks and runtime errors, bad inputs,
//! compiled IR, `--literals` against flyteidl, and the workflow features (no outputs, named
//! outputs, map nodes, branches, sub-workflows, attribute access on promises).
//!
//! Every run happens in a fresh temporary directory (its working directory, and `--run-dir` /
//! `--cache-dir` when given), so no test writes into the repository. The programs are in
//! `tests/run/`; a test copies the one it needs into its directory and runs it by its short name,
//! so diagnostics read `--> errors.flow:9:5`. Example snapshots are in `tests/snapshots/run__*`
//! (review with `cargo insta review`), checked by hand against `examples/README.md`.
//!
//! Needs `python3` (or `$FLYTEC_PYTHON`) with `flyteidl` importable for the pickle and literal
//! checks (`pip install flyteidl`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `tests/run/NAME`.
fn fixture_path(name: &str) -> PathBuf {
    common::manifest_dir().join("tests").join("run").join(name)
}

/// `examples/NAME`.
fn example_path(name: &str) -> PathBuf {
    common::manifest_dir().join("examples").join(name)
}

/// The text of `tests/run/NAME`.
fn fixture_text(name: &str) -> String {
    let path = fixture_path(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The 1-based number of the only line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "`{needle}` must be on exactly one line of the fixture, found on {lines:?}"
    );
    lines[0]
}

/// A Python for the pickle and flyteidl checks: `$FLYTEC_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("FLYTEC_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// A temporary directory to run `flytec` in.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    /// An empty directory.
    fn new() -> Scratch {
        Scratch {
            dir: TempDir::new().expect("a temporary directory"),
        }
    }

    /// A directory holding a copy of `tests/run/NAME`, under the same name.
    fn with_fixture(name: &str) -> Scratch {
        let scratch = Scratch::new();
        scratch.write(name, fixture_text(name));
        scratch
    }

    /// The absolute path of `name` inside the directory.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `name` (relative to the directory).
    fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        fs::write(self.path(name), contents).unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
    }

    /// Runs `flytec run ARGS… --color never` here.
    fn run(&self, args: &[&str]) -> Outcome {
        self.run_within(args, common::TIMEOUT)
    }

    /// Runs `flytec run ARGS… --color never` here, killing it after `limit`.
    fn run_within(&self, args: &[&str], limit: Duration) -> Outcome {
        self.run_in(self.dir.path(), args, limit)
    }

    /// Runs `flytec run ARGS… --color never` in `cwd`, killing it after `limit`.
    fn run_in(&self, cwd: &Path, args: &[&str], limit: Duration) -> Outcome {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--color", "never"]);
        let run = common::flytec_within(&all, cwd, limit);
        Outcome {
            command: format!("(in {}) flytec {}", cwd.display(), all.join(" ")),
            run,
        }
    }

    /// Runs `flytec ARGS…` (any subcommand) here.
    fn flytec(&self, args: &[&str]) -> common::Run {
        common::flytec(args, self.dir.path())
    }

    /// Whether `flytec run` left a default run directory (`.flytec/`) here.
    fn has_default_run_dir(&self) -> bool {
        self.path(".flytec").exists()
    }
}

/// One finished `flytec run`.
struct Outcome {
    command: String,
    run: common::Run,
}

impl Outcome {
    /// The exit code (fails the test on a panic or a crash).
    fn code(&self) -> i32 {
        self.run.code()
    }

    /// Everything about the run, for failure messages.
    fn show(&self) -> String {
        format!(
            "`{}` exited {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.run.status.code(),
            self.run.stdout,
            self.run.stderr
        )
    }

    /// Asserts the exit code.
    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), code, "wrong exit code; {}", self.show());
        self
    }

    /// Asserts exit 0 and returns stdout as JSON.
    fn success(&self) -> Value {
        self.expect_code(0);
        self.stdout_json()
    }

    /// Stdout, which must be exactly one JSON document.
    fn stdout_json(&self) -> Value {
        serde_json::from_str(&self.run.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}); {}", self.show()))
    }

    /// Asserts that stderr contains every one of `words`.
    fn stderr_has(&self, words: &[&str]) -> &Self {
        for word in words {
            assert!(
                self.run.stderr.contains(word),
                "stderr lacks `{word}`; {}",
                self.show()
            );
        }
        self
    }

    /// The run directory printed on stderr (`run directory: DIR`), if any.
    fn run_dir(&self) -> Option<PathBuf> {
        self.run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("run directory: "))
            .map(|d| PathBuf::from(d.trim()))
    }

    /// The run record, `run.json` in the run directory.
    fn record(&self) -> Value {
        let dir = self
            .run_dir()
            .unwrap_or_else(|| panic!("no `run directory:` line on stderr; {}", self.show()));
        let path = dir.join("run.json");
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}; {}", path.display(), self.show()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("run.json is not JSON ({e}): {text}"))
    }

    /// The records of the nodes that ran task (or workflow) `name`.
    fn nodes_named(&self, name: &str) -> Vec<Value> {
        let record = self.record();
        let nodes = record["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("run.json has no `nodes` array: {record}"));
        nodes
            .iter()
            .filter(|n| n["name"] == name)
            .cloned()
            .collect()
    }

    /// The record of the only node that ran `name`.
    fn node_named(&self, name: &str) -> Value {
        let nodes = self.nodes_named(name);
        assert_eq!(
            nodes.len(),
            1,
            "want one node named `{name}` in run.json: {}",
            self.record()
        );
        nodes.into_iter().next().expect("one node")
    }

    /// Asserts that the command was refused before anything ran: exit 2, stderr has `words`,
    /// and no run directory was made (`--run-dir` is given as `run_dir` when the test chose one).
    fn refused(&self, scratch: &Scratch, run_dir: Option<&Path>, words: &[&str]) {
        self.expect_code(2).stderr_has(words);
        assert!(
            self.run_dir().is_none(),
            "a refused run must not report a run directory; {}",
            self.show()
        );
        assert!(
            !scratch.has_default_run_dir(),
            "a refused run created .flytec/; {}",
            self.show()
        );
        if let Some(dir) = run_dir {
            assert!(
                !dir.exists(),
                "a refused run created its --run-dir {}; {}",
                dir.display(),
                self.show()
            );
        }
        assert!(
            self.run.stdout.trim().is_empty(),
            "a refused run printed outputs; {}",
            self.show()
        );
    }
}

/// Asserts that the source position `FILE:LINE:` follows a `-->` on stderr.
fn assert_points_at(outcome: &Outcome, file: &str, line: usize) {
    let want = format!("{file}:{line}:");
    let found = outcome
        .run
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--> "))
        .any(|at| at.trim().starts_with(&want) || at.contains(&format!("/{want}")));
    assert!(
        found,
        "stderr does not point at `--> {want}`; {}",
        outcome.show()
    );
}

// ---------------------------------------------------------------------------------------------
// Examples: stdout snapshots, reviewed against examples/README.md
// ---------------------------------------------------------------------------------------------

/// Runs `flytec run examples/FILE ARGS…` in a fresh directory and snapshots the command, the
/// exit code and stdout as pretty JSON (or `(nothing)`), and for a failed run the headline of
/// its error. `stderr_words` must be on stderr. Returns the directory (which holds the run
/// directory) and the outcome.
fn example_snapshot(
    snapshot: &str,
    file: &str,
    args: &[&str],
    stderr_words: &[&str],
) -> (Scratch, Outcome) {
    let scratch = Scratch::new();
    let path = example_path(file);
    let path = path.to_str().expect("a UTF-8 path");
    let mut all = vec![path];
    all.extend_from_slice(args);
    let outcome = scratch.run(&all);
    let code = outcome.code();
    assert!(
        code == 0 || code == 3,
        "an example exits 0 or 3; {}",
        outcome.show()
    );
    outcome.stderr_has(stderr_words);
    let stdout = if outcome.run.stdout.trim().is_empty() {
        "(nothing)".to_string()
    } else {
        serde_json::to_string_pretty(&outcome.stdout_json()).expect("JSON prints")
    };
    if code == 0 {
        let dir = outcome
            .run_dir()
            .unwrap_or_else(|| panic!("no run directory reported; {}", outcome.show()));
        let dir = fs::canonicalize(&dir).expect("the run directory exists");
        let scratch_dir = fs::canonicalize(scratch.dir.path()).expect("the scratch exists");
        assert!(
            dir.starts_with(&scratch_dir),
            "the default run directory {} must be under the working directory",
            dir.display()
        );
    }
    let shown_args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains([' ', '"', '[', '{']) {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect();
    let mut command = format!("flytec run examples/{file}");
    for arg in &shown_args {
        command.push(' ');
        command.push_str(arg);
    }
    let mut transcript = format!("$ {command}\nexit: {code}\n{stdout}\n");
    if code != 0 {
        // The headline of the failure (its `-->` line holds an absolute path, so it is left out).
        let headline = outcome
            .run
            .stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or_else(|| panic!("a failed run explains itself; {}", outcome.show()));
        transcript.push_str(&format!("stderr: {headline}\n"));
    }
    insta::assert_snapshot!(snapshot, transcript);
    (scratch, outcome)
}

#[test]
fn example_pickle() {
    example_snapshot(
        "example_pickle_welcome_all",
        "pickle.flow",
        &["welcome_all"],
        &[],
    );
    example_snapshot(
        "example_pickle_welcome",
        "pickle.flow",
        &["welcome", "--name", "Ada"],
        &[],
    );
}

#[test]
fn example_cleaning() {
    example_snapshot("example_cleaning", "cleaning.flow", &[], &[]);
    example_snapshot(
        "example_cleaning_high",
        "cleaning.flow",
        &["--high", "100"],
        &[],
    );
    example_snapshot(
        "example_cleaning_nothing_left",
        "cleaning.flow",
        &["--lines", r#"["bad"]"#],
        &["summarize", "no readings left after cleaning"],
    );
}

#[test]
fn example_branching() {
    example_snapshot("example_branching", "branching.flow", &[], &[]);
    example_snapshot(
        "example_branching_prod",
        "branching.flow",
        &["--target", "prod"],
        &[],
    );
    example_snapshot(
        "example_branching_poor_model",
        "branching.flow",
        &["--predictions", "[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"],
        &[],
    );
    example_snapshot(
        "example_branching_too_few",
        "branching.flow",
        &["--labels", "[1, 0]", "--predictions", "[1, 0]"],
        &["fewer than 5 labelled samples: too few to judge the model"],
    );
}

#[test]
fn example_fanout() {
    example_snapshot("example_fanout", "fanout.flow", &[], &[]);
    example_snapshot(
        "example_fanout_other_docs",
        "fanout.flow",
        &[
            "--docs",
            r#"["a b a", "b c"]"#,
            "--min_length",
            "1",
            "--top",
            "2",
        ],
        &[],
    );
}

#[test]
fn example_imports() {
    example_snapshot("example_imports", "imports.flow", &[], &[]);
    example_snapshot(
        "example_imports_one_triangle",
        "imports.flow",
        &["--plots", r#"["T: 0,0 3,0 0,4"]"#],
        &[],
    );
}

#[test]
fn example_inventory() {
    example_snapshot("example_inventory", "inventory.flow", &[], &[]);
    example_snapshot(
        "example_inventory_other_shop",
        "inventory.flow",
        &[
            "--stock",
            r#"{"tea": 12, "cocoa": 9}"#,
            "--prices",
            r#"{"tea": 3.5}"#,
        ],
        &[],
    );
}

#[test]
fn example_python_model() {
    // The model crosses from one Python task to the next as the pickle Python wrote.
    let (_scratch, outcome) =
        example_snapshot("example_python_model", "python_model.flow", &[], &[]);
    let fit = outcome.node_named("fit");
    let outputs = fit["outputs"].as_str().expect("fit's outputs file");
    let map: Value = serde_json::from_str(&fs::read_to_string(outputs).unwrap()).unwrap();
    assert!(
        map["literals"]["o0"]["metadata"]["python_version"].is_string(),
        "the model records the Python that pickled it: {map}"
    );
    example_snapshot(
        "example_python_model_top_one",
        "python_model.flow",
        &["--top", "1"],
        &[],
    );
}

#[test]
fn example_report() {
    let (_scratch, outcome) = example_snapshot("example_report", "report.flow", &[], &[]);
    // The file `render` wrote is the one examples/README.md shows.
    let render = outcome.node_named("render");
    let outputs = render["outputs"].as_str().expect("render's outputs file");
    let map: Value = serde_json::from_str(&fs::read_to_string(outputs).unwrap()).unwrap();
    let uri = map["literals"]["o0"]["scalar"]["blob"]["uri"]
        .as_str()
        .unwrap_or_else(|| panic!("render's output is not a blob: {map}"));
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    assert_eq!(
        text,
        "Monthly Costs\n\
         --------------------\n\
         rent         1200.00\n\
         power          84.50\n\
         internet       39.99\n\
         --------------------\n\
         total        1324.49\n"
    );
    example_snapshot(
        "example_report_snacks",
        "report.flow",
        &[
            "--entries",
            r#"{"coffee": 3.5, "cake": 4.25}"#,
            "--title",
            "snacks",
        ],
        &[],
    );
}

/// Every example file has at least one snapshot test above.
#[test]
fn every_example_has_a_run_test() {
    let source = include_str!("run.rs");
    for entry in fs::read_dir(common::manifest_dir().join("examples")).expect("examples/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "flow") {
            let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
            assert!(
                source.contains(&format!("\"{name}\"")),
                "examples/{name} has no run test in tests/run.rs"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The seed program: two pickle files, of two and one People
// ---------------------------------------------------------------------------------------------

/// The blob URIs of a literal, in order.
fn blob_uris(literal: &Value) -> Vec<String> {
    if let Some(items) = literal.get("collection") {
        let items = items["literals"].as_array().cloned().unwrap_or_default();
        return items.iter().flat_map(blob_uris).collect();
    }
    if let Some(uri) = literal["scalar"]["blob"]["uri"].as_str() {
        return vec![uri.to_string()];
    }
    Vec::new()
}

/// Loads each pickle file with CPython's `pickle.load`; returns what each held, as JSON.
fn load_pickles(paths: &[PathBuf]) -> Vec<Value> {
    let script = "import json, pickle, sys\n\
                  print(json.dumps([pickle.load(open(p, 'rb')) for p in sys.argv[1:]]))";
    let python = python();
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(paths)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}` ({e}): install Python 3"));
    assert!(
        out.status.success(),
        "CPython could not load {paths:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    doc.as_array().expect("a list").clone()
}

#[test]
fn seed_program_writes_two_pickle_files_of_two_and_one_people() {
    let scratch = Scratch::new();
    let path = example_path("pickle.flow");
    let outcome = scratch.run(&[path.to_str().unwrap(), "welcome_all", "--literals"]);
    let literals = outcome.success();
    let o0 = &literals["literals"]["o0"];
    let uris = blob_uris(o0);
    assert_eq!(
        uris.len(),
        2,
        "3 names at @batch(2) must give 2 pickle files: {o0}"
    );
    let run_dir = fs::canonicalize(outcome.run_dir().expect("a run directory")).unwrap();
    let paths: Vec<PathBuf> = uris
        .iter()
        .map(|uri| {
            let path = uri
                .strip_prefix("file://")
                .unwrap_or_else(|| panic!("a blob URI must be file://…, not `{uri}`"));
            let path = PathBuf::from(path);
            assert!(
                path.starts_with(&run_dir),
                "{} is not in the run directory {}",
                path.display(),
                run_dir.display()
            );
            path
        })
        .collect();
    for blob in o0["collection"]["literals"].as_array().unwrap() {
        assert_eq!(
            blob["scalar"]["blob"]["metadata"]["type"]["format"], "PythonPickle",
            "{blob}"
        );
    }
    assert_eq!(
        load_pickles(&paths),
        vec![
            json!([{"name": "f"}, {"name": "o"}]),
            json!([{"name": "o"}])
        ]
    );
    // The task node wrote exactly the two batches too.
    let pickles = node_pickles(&outcome.node_named("greet_all"));
    assert_eq!(pickles.len(), 2, "pickle files of greet_all: {pickles:?}");
    let mut held = load_pickles(&pickles);
    held.sort_by_key(|v| v.as_array().map_or(0, Vec::len));
    assert_eq!(
        held,
        vec![
            json!([{"name": "o"}]),
            json!([{"name": "f"}, {"name": "o"}])
        ]
    );
    // Without --literals the same run prints the decoded people.
    let plain = scratch
        .run(&[path.to_str().unwrap(), "welcome_all"])
        .success();
    assert_eq!(
        plain,
        json!({"o0": [{"name": "f"}, {"name": "o"}, {"name": "o"}]})
    );
}

/// The Pickle files in the directory of a node (given by its run record: the directory `ID/`
/// beside `ID.outputs.json`), sorted.
fn node_pickles(node: &Value) -> Vec<PathBuf> {
    let outputs = node["outputs"].as_str().expect("outputs path");
    let dir = outputs
        .strip_suffix(".outputs.json")
        .unwrap_or_else(|| panic!("an outputs path ends in .outputs.json: {outputs}"));
    let mut pickles: Vec<PathBuf> = walk_files(Path::new(dir))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pkl"))
        .collect();
    pickles.sort();
    pickles
}

/// The literal map a node wrote as its `inputs` or `outputs`, by its run record.
fn node_map(node: &Value, which: &str) -> Value {
    let path = node[which]
        .as_str()
        .unwrap_or_else(|| panic!("no `{which}` in {node}"));
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The paths of `file://` URIs.
fn uri_paths(uris: &[String]) -> Vec<PathBuf> {
    uris.iter()
        .map(|u| PathBuf::from(u.strip_prefix("file://").expect("a file:// URI")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Pickled lists passed between nodes
// ---------------------------------------------------------------------------------------------

#[test]
fn an_input_declared_like_the_output_it_takes_shares_the_producers_pickle_files() {
    let scratch = Scratch::with_fixture("pickled.flow");
    let outcome = scratch.run(&["pickled.flow", "same"]);
    assert_eq!(outcome.success(), json!({"o0": 5}));
    let (make, count) = (outcome.node_named("make"), outcome.node_named("count"));
    let produced = &node_map(&make, "outputs")["literals"]["o0"];
    let taken = &node_map(&count, "inputs")["literals"]["people"];
    assert_eq!(taken, produced, "count's input is make's output literal");
    assert!(node_pickles(&count).is_empty(), "count wrote no pickle");
    assert_eq!(node_pickles(&make).len(), 3, "5 people at @batch(2)");
    assert_eq!(
        load_pickles(&uri_paths(&blob_uris(taken))),
        vec![
            json!([{"name": "p0"}, {"name": "p1"}]),
            json!([{"name": "p2"}, {"name": "p3"}]),
            json!([{"name": "p4"}])
        ]
    );
}

#[test]
fn an_input_with_another_batch_size_is_written_in_its_own_layout() {
    let scratch = Scratch::with_fixture("pickled.flow");
    let outcome = scratch.run(&["pickled.flow", "rebatched"]);
    assert_eq!(
        outcome.success(),
        json!({"o0": ["p0", "p1", "p2", "p3", "p4"]})
    );
    let names = outcome.node_named("names");
    let uris = blob_uris(&node_map(&names, "inputs")["literals"]["people"]);
    assert_eq!(uris.len(), 2, "5 people at @batch(3): {uris:?}");
    let mut own = uri_paths(&uris);
    own.sort();
    assert_eq!(
        own,
        node_pickles(&names),
        "in the receiving node's directory"
    );
    assert_eq!(
        load_pickles(&uri_paths(&uris)),
        vec![
            json!([{"name": "p0"}, {"name": "p1"}, {"name": "p2"}]),
            json!([{"name": "p3"}, {"name": "p4"}])
        ]
    );
    assert_eq!(node_pickles(&outcome.node_named("make")).len(), 3);
}

#[test]
fn workflow_outputs_and_branches_pass_stored_literals_on() {
    let scratch = Scratch::with_fixture("pickled.flow");
    let outcome = scratch.run(&["pickled.flow", "passed_on", "--literals"]);
    let printed = outcome.success();
    let make = outcome.node_named("make");
    assert_eq!(
        printed["literals"]["o0"],
        node_map(&make, "outputs")["literals"]["o0"]
    );
    let plain = scratch
        .run(&["pickled.flow", "passed_on", "--n", "3"])
        .success();
    assert_eq!(
        plain,
        json!({"o0": [{"name": "p0"}, {"name": "p1"}, {"name": "p2"}]})
    );
    // Whichever case the branch took, its output is passed on.
    for (n, want) in [("5", 5), ("2", 1)] {
        let outcome = scratch.run(&["pickled.flow", "branched", "--n", n]);
        assert_eq!(outcome.success(), json!({ "o0": want }));
        let (make, count) = (outcome.node_named("make"), outcome.node_named("count"));
        assert_eq!(
            node_map(&count, "inputs")["literals"]["people"],
            node_map(&make, "outputs")["literals"]["o0"]
        );
    }
}

/// Every file under `dir`, recursively.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

// ---------------------------------------------------------------------------------------------
// Caching
// ---------------------------------------------------------------------------------------------

/// Runs `double` of cache.flow with `--x X`, a fresh run directory and the shared cache; returns
/// its output and the record's `cache` field.
fn run_cached(scratch: &Scratch, file: &str, x: &str, run: &str) -> (Value, Value) {
    let run_dir = scratch.path(run);
    let cache_dir = scratch.path("cache");
    let outcome = scratch.run(&[
        file,
        "double",
        "--x",
        x,
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--cache-dir",
        cache_dir.to_str().unwrap(),
    ]);
    let out = outcome.success();
    let node = outcome.node_named("double");
    (out, node["cache"].clone())
}

#[test]
fn cached_task_hits_on_the_second_run() {
    let scratch = Scratch::with_fixture("cache.flow");
    let first = run_cached(&scratch, "cache.flow", "21", "run1");
    assert_eq!(first, (json!({"o0": 42}), json!("miss")));
    let second = run_cached(&scratch, "cache.flow", "21", "run2");
    assert_eq!(
        second,
        (json!({"o0": 42}), json!("hit")),
        "the same task, version and inputs must hit the cache"
    );
    assert!(
        !scratch.has_default_run_dir(),
        "--run-dir was given: nothing goes to .flytec/"
    );
}

#[test]
fn cache_misses_on_a_changed_input() {
    let scratch = Scratch::with_fixture("cache.flow");
    assert_eq!(
        run_cached(&scratch, "cache.flow", "21", "run1").1,
        json!("miss")
    );
    assert_eq!(
        run_cached(&scratch, "cache.flow", "22", "run2"),
        (json!({"o0": 44}), json!("miss")),
        "another input must miss"
    );
    assert_eq!(
        run_cached(&scratch, "cache.flow", "22", "run3").1,
        json!("hit")
    );
}

/// A damaged cache whose entry is a device that never ends (`/dev/zero`) is a miss: the store
/// reads regular files only.
#[cfg(unix)]
#[test]
fn a_cache_entry_that_is_not_a_regular_file_is_a_miss() {
    let scratch = Scratch::with_fixture("cache.flow");
    run_cached(&scratch, "cache.flow", "21", "run1");
    let entries = walk_files(&scratch.path("cache"));
    assert!(!entries.is_empty(), "the first run fills the cache");
    for file in entries {
        fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &file).unwrap();
    }
    assert_eq!(
        run_cached(&scratch, "cache.flow", "21", "run2"),
        (json!({"o0": 42}), json!("miss"))
    );
}

#[test]
fn cache_misses_on_a_changed_cache_version() {
    let scratch = Scratch::with_fixture("cache.flow");
    let v2 = fixture_text("cache.flow").replace(r#"version="1""#, r#"version="2""#);
    assert!(
        v2.contains(r#"version="2""#),
        "cache.flow has version=\"1\""
    );
    scratch.write("cache_v2.flow", v2);
    assert_eq!(
        run_cached(&scratch, "cache.flow", "21", "run1").1,
        json!("miss")
    );
    assert_eq!(
        run_cached(&scratch, "cache_v2.flow", "21", "run2"),
        (json!({"o0": 42}), json!("miss")),
        "another cache version must miss"
    );
    assert_eq!(
        run_cached(&scratch, "cache_v2.flow", "21", "run3").1,
        json!("hit")
    );
}

/// A cache hit on a task with Pickle outputs reads the cached pickle files, also when the cache
/// directory was given as a relative path and the second run starts in another directory.
#[test]
fn a_cache_hit_reads_cached_pickles_from_another_working_directory() {
    let scratch = Scratch::with_fixture("cache.flow");
    let elsewhere = scratch.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let names = r#"["a", "b", "c"]"#;
    let want = json!({"o0": [{"name": "a"}, {"name": "b"}, {"name": "c"}]});
    let first = scratch.run(&[
        "cache.flow",
        "greet_all",
        "--names",
        names,
        "--cache-dir",
        "cache",
        "--run-dir",
        "run1",
    ]);
    assert_eq!(first.success(), want);
    assert_eq!(first.node_named("greet_all")["cache"], "miss");
    // The same cache, named relative to another working directory.
    let second = scratch.run_in(
        &elsewhere,
        &[
            "../cache.flow",
            "greet_all",
            "--names",
            names,
            "--cache-dir",
            "../cache",
            "--run-dir",
            "../run2",
        ],
        common::TIMEOUT,
    );
    assert_eq!(
        second.success(),
        want,
        "the cached pickles must be readable"
    );
    assert_eq!(second.node_named("greet_all")["cache"], "hit");
}

// ---------------------------------------------------------------------------------------------
// Retries and timeouts
// ---------------------------------------------------------------------------------------------

/// A task fails on its first attempt and succeeds on its second, deterministically: the first
/// attempt reads "first" from a file, leaves a note in its run directory and waits until the
/// test, having seen the note, changes the file; it then fails, and the retry reads the new text.
#[test]
fn a_retry_succeeds_after_the_first_attempt_fails() {
    let scratch = Scratch::with_fixture("retries.flow");
    let flag = scratch.path("flag.txt");
    scratch.write("flag.txt", "first");
    let run_dir = scratch.path("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_flytec"))
        .args(["run", "retries.flow", "handshake", "--flag"])
        .arg(&flag)
        .arg("--run-dir")
        .arg(&run_dir)
        .args(["--color", "never"])
        .current_dir(scratch.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flytec starts");
    // Wait for the first attempt's note (a file written by `write_text`, found by its text
    // wherever the run directory keeps it), then change the flag atomically.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let noted = walk_files(&run_dir)
            .iter()
            .any(|p| fs::read_to_string(p).is_ok_and(|t| t == "the first attempt saw first"));
        if noted {
            break;
        }
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            let out = child.wait_with_output().expect("the output");
            panic!(
                "the first attempt left no note in {}; stderr:\n{}",
                run_dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    scratch.write("flag.new", "second");
    fs::rename(scratch.path("flag.new"), &flag).expect("rename the flag");
    // The rest is bounded by the task's @timeout(30s); wait a little longer than that.
    let deadline = Instant::now() + Duration::from_secs(45);
    while child.try_wait().expect("waiting").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("flytec did not finish after the flag changed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("the output");
    let outcome = Outcome {
        command: "flytec run retries.flow handshake --flag flag.txt".into(),
        run: common::Run {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
    };
    assert_eq!(outcome.success(), json!({"o0": "second"}));
    let node = outcome.node_named("handshake");
    assert_eq!(node["attempts"], 2, "one failed attempt, one retry: {node}");
    assert_eq!(node["status"], "succeeded", "{node}");
}

#[test]
fn retries_record_every_attempt_of_an_always_failing_task() {
    let scratch = Scratch::with_fixture("retries.flow");
    let outcome = scratch.run(&["retries.flow", "flaky", "--why", "gremlins"]);
    outcome
        .expect_code(3)
        .stderr_has(&["`flaky`", "still broken: gremlins", "attempt 3"]);
    let node = outcome.node_named("flaky");
    assert_eq!(node["attempts"], 3, "@retries(2): 3 attempts: {node}");
    assert_eq!(node["status"], "failed", "{node}");
    assert_eq!(outcome.record()["status"], "failed");
}

#[test]
fn timeout_ends_an_endless_loop() {
    let scratch = Scratch::with_fixture("retries.flow");
    // @timeout(200ms): the limit only guards against a hang; no timing is asserted.
    let outcome = scratch.run_within(&["retries.flow", "spin"], Duration::from_secs(30));
    outcome.expect_code(3).stderr_has(&["`spin`", "timed out"]);
    assert_points_at(
        &outcome,
        "retries.flow",
        line_of(&fixture_text("retries.flow"), "while true {"),
    );
    assert_eq!(outcome.node_named("spin")["attempts"], 1);
}

#[test]
fn timeouts_are_retried() {
    let scratch = Scratch::with_fixture("retries.flow");
    let outcome = scratch.run_within(&["retries.flow", "spin_twice"], Duration::from_secs(30));
    outcome
        .expect_code(3)
        .stderr_has(&["`spin_twice`", "timed out", "attempt 2"]);
    assert_eq!(outcome.node_named("spin_twice")["attempts"], 2);
}

// ---------------------------------------------------------------------------------------------
// Parallel execution
// ---------------------------------------------------------------------------------------------

/// The [started, ended] intervals of the two `busy` nodes.
fn busy_intervals(outcome: &Outcome) -> Vec<(f64, f64)> {
    let nodes = outcome.nodes_named("busy");
    assert_eq!(nodes.len(), 2, "two busy nodes: {}", outcome.record());
    nodes
        .iter()
        .map(|n| {
            let t = |k: &str| {
                n[k].as_f64()
                    .unwrap_or_else(|| panic!("`{k}` is not a number: {n}"))
            };
            (t("started"), t("ended"))
        })
        .collect()
}

#[test]
fn independent_nodes_run_in_parallel() {
    let scratch = Scratch::with_fixture("parallel.flow");
    let outcome = scratch.run(&["parallel.flow", "--jobs", "2"]);
    assert_eq!(outcome.success(), json!({"a": 300, "b": 300}));
    let i = busy_intervals(&outcome);
    // Each node lasts at least 300 ms of wall time; both start before either ends.
    assert!(
        i[0].0 < i[1].1 && i[1].0 < i[0].1,
        "with --jobs 2 the intervals must overlap: {i:?}"
    );
}

#[test]
fn more_ready_nodes_than_jobs_take_turns_on_the_workers() {
    let scratch = Scratch::with_fixture("parallel.flow");
    let outcome = scratch.run(&["parallel.flow", "five", "--jobs", "2", "--ms", "100"]);
    assert_eq!(
        outcome.success(),
        json!({"a": 100, "b": 100, "c": 100, "d": 100, "e": 100})
    );
    let intervals: Vec<(f64, f64)> = outcome
        .nodes_named("busy")
        .iter()
        .map(|n| (n["started"].as_f64().unwrap(), n["ended"].as_f64().unwrap()))
        .collect();
    assert_eq!(intervals.len(), 5, "{}", outcome.record());
    // How many nodes were running when each one started.
    let most = intervals
        .iter()
        .map(|&(start, _)| {
            intervals
                .iter()
                .filter(|&&(s, e)| s <= start && start < e)
                .count()
        })
        .max();
    assert_eq!(
        most,
        Some(2),
        "with --jobs 2, two nodes run at once and never more: {intervals:?}"
    );
}

#[test]
fn one_job_runs_one_node_at_a_time() {
    let scratch = Scratch::with_fixture("parallel.flow");
    let outcome = scratch.run(&["parallel.flow", "--jobs", "1", "--ms", "50"]);
    assert_eq!(outcome.success(), json!({"a": 50, "b": 50}));
    let mut i = busy_intervals(&outcome);
    i.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        i[0].1 <= i[1].0,
        "with --jobs 1 the intervals must not overlap: {i:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Failing tasks and runtime errors
// ---------------------------------------------------------------------------------------------

#[test]
fn a_failing_task_names_itself_and_points_at_its_line() {
    let scratch = Scratch::with_fixture("errors.flow");
    let outcome = scratch.run(&["errors.flow", "pipeline"]);
    outcome
        .expect_code(3)
        .stderr_has(&["`divide`", "division by zero"]);
    assert_points_at(
        &outcome,
        "errors.flow",
        line_of(&fixture_text("errors.flow"), "a // b"),
    );
    assert!(
        outcome.run.stdout.trim().is_empty(),
        "a failed run prints no outputs; {}",
        outcome.show()
    );
    let record = outcome.record();
    assert_eq!(record["status"], "failed", "{record}");
    let divides = outcome.nodes_named("divide");
    let statuses: Vec<&str> = divides
        .iter()
        .map(|n| n["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        statuses,
        ["succeeded", "failed"],
        "the first divide succeeds, the second fails: {record}"
    );
}

#[test]
fn runtime_errors_name_the_task_and_point_at_the_expression() {
    let text = fixture_text("errors.flow");
    let scratch = Scratch::with_fixture("errors.flow");
    // (entry and inputs, words on stderr, the text of the failing line)
    let cases: &[(&[&str], &[&str], &str)] = &[
        (
            &["divide", "--a", "1", "--b", "0"],
            &["`divide`", "division by zero"],
            "a // b",
        ),
        (
            &["index", "--xs", "[1, 2]", "--i", "2"],
            &["`index`", "out of range"],
            "xs[i]",
        ),
        (
            &["lookup", "--d", r#"{"a": 1}"#, "--k", "b"],
            &["`lookup`", "\"b\"", "not found"],
            "d[k]",
        ),
        (
            &["unwrapped", "--x", "null"],
            &["`unwrapped`", "none"],
            "unwrap(x)",
        ),
        (
            &["overflow", "--x", "4294967296"],
            &["`overflow`", "overflow"],
            "x * x",
        ),
        (
            &["recurse", "--n", "100000"],
            &["`recurse`", "recursion depth exceeded"],
            "1 + depth(n - 1)",
        ),
        (
            &["refuse", "--why", "no reason"],
            &["`refuse`", "refused: no reason"],
            "fail(\"refused",
        ),
    ];
    for (args, words, line) in cases {
        let mut all = vec!["errors.flow"];
        all.extend_from_slice(args);
        let outcome = scratch.run(&all);
        outcome.expect_code(3).stderr_has(words);
        assert_points_at(&outcome, "errors.flow", line_of(&text, line));
    }
    // The same inputs that do not fail give results.
    let ok = scratch
        .run(&["errors.flow", "recurse", "--n", "500"])
        .success();
    assert_eq!(ok, json!({"o0": 500}));
}

/// The recursion limit holds in a task run as a workflow node too, which runs on a worker
/// thread: the run fails with "recursion depth exceeded", it does not overflow the stack.
#[test]
fn recursion_limit_holds_inside_a_workflow_node() {
    let scratch = Scratch::with_fixture("errors.flow");
    let outcome = scratch.run(&["errors.flow", "deep"]);
    outcome
        .expect_code(3)
        .stderr_has(&["`recurse`", "recursion depth exceeded"]);
    assert_points_at(
        &outcome,
        "errors.flow",
        line_of(&fixture_text("errors.flow"), "1 + depth(n - 1)"),
    );
    let ok = scratch
        .run(&["errors.flow", "deep", "--n", "900"])
        .success();
    assert_eq!(ok, json!({"o0": 900}));
    // Map items and a sub-workflow's nodes run on threads of their own too.
    for entry in ["deep_map", "deep_sub"] {
        let outcome = scratch.run(&["errors.flow", entry]);
        outcome
            .expect_code(3)
            .stderr_has(&["`recurse`", "recursion depth exceeded"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_input_is_refused_before_anything_runs() {
    let scratch = Scratch::with_fixture("inputs.flow");
    let outcome = scratch.run(&["inputs.flow"]);
    outcome.refused(&scratch, None, &["missing input `n`", "`int`"]);
}

#[test]
fn an_unknown_input_is_refused_before_anything_runs() {
    let scratch = Scratch::with_fixture("inputs.flow");
    let run_dir = scratch.path("run");
    let outcome = scratch.run(&[
        "inputs.flow",
        "--n",
        "1",
        "--bogus",
        "2",
        "--run-dir",
        run_dir.to_str().unwrap(),
    ]);
    outcome.refused(&scratch, Some(&run_dir), &["unknown input `bogus`", "`n`"]);
}

#[test]
fn an_input_given_twice_is_refused() {
    let scratch = Scratch::with_fixture("inputs.flow");
    scratch
        .run(&["inputs.flow", "--n", "1", "--n", "2"])
        .refused(
            &scratch,
            None,
            &["input `n` is given twice", "`--n 1`", "`--n 2`"],
        );
}

#[test]
fn a_program_without_tasks_or_workflows_has_nothing_to_run() {
    let scratch = Scratch::with_fixture("inputs.flow");
    scratch.write("empty.flow", "struct S { x: int }\n");
    scratch.run(&["empty.flow"]).refused(
        &scratch,
        None,
        &["the program has no task or workflow to run"],
    );
}

#[test]
fn an_ill_typed_input_is_refused_before_anything_runs() {
    let scratch = Scratch::with_fixture("inputs.flow");
    for (args, words) in [
        (&["--n", "abc"][..], &["`n`", "`int`", "abc"][..]),
        (&["--n", "1.5"], &["`n`", "`int`"]),
        (
            &["--n", "1", "--p", r#"{"y": 2.0}"#],
            &["`p`", "`Point`", "x"],
        ),
        (
            &["--n", "1", "--p", r#"{"x": 1.0, "z": 2}"#],
            &["`p`", "`Point`", "z"],
        ),
        (
            &["--n", "1", "--mode", "Slow"],
            &["`mode`", "`Mode`", "Slow"],
        ),
    ] {
        let mut all = vec!["inputs.flow"];
        all.extend_from_slice(args);
        scratch.run(&all).refused(&scratch, None, words);
    }
    // A value that opens like JSON but is not says why; a bare word does not (it may be an
    // enum variant or a string).
    scratch
        .run(&["inputs.flow", "--n", "1", "--p", r#"{"x": 1.0"#])
        .refused(&scratch, None, &["`p`", "`Point`", "is not JSON", "EOF"]);
    scratch
        .run(&["inputs.flow", "--n", "99999999999999999999999"])
        .refused(&scratch, None, &["`n`", "outside the 64-bit integer range"]);
    // Inputs are checked before the run directory is made, whatever --run-dir says.
    let run_dir = scratch.path("run");
    scratch
        .run(&[
            "inputs.flow",
            "--n",
            "abc",
            "--run-dir",
            run_dir.to_str().unwrap(),
        ])
        .refused(&scratch, Some(&run_dir), &["`n`", "`int`"]);
}

#[test]
fn negative_numbers_enums_and_bare_strings_are_inputs() {
    let scratch = Scratch::with_fixture("inputs.flow");
    let out = scratch
        .run(&[
            "inputs.flow",
            "--n",
            "-2",
            "--mode",
            "Careful",
            "--name",
            "-x",
        ])
        .success();
    let inline = scratch.run(&["inputs.flow", "--n=-3"]).success();
    assert_eq!(inline["n"], -3, "`--n=-3` is `--n -3`");
    assert_eq!(
        out,
        json!({
            "n": -2,
            "p": {"x": 1.0, "y": 0.0, "label": "origin"},
            "mode": "Careful",
            "tags": [],
            "name": "-x"
        })
    );
}

#[test]
fn a_struct_input_may_leave_out_defaulted_fields() {
    let scratch = Scratch::with_fixture("inputs.flow");
    let out = scratch
        .run(&[
            "inputs.flow",
            "--n",
            "0",
            "--p",
            r#"{"x": 3, "label": "a"}"#,
        ])
        .success();
    assert_eq!(out["p"], json!({"x": 3.0, "y": 0.0, "label": "a"}));
}

#[test]
fn inputs_come_from_a_json_file_and_flags_override_it() {
    let scratch = Scratch::with_fixture("inputs.flow");
    scratch.write(
        "in.json",
        r#"{"n": 7, "p": {"x": 1.5}, "mode": "Careful", "name": "file"}"#,
    );
    let out = scratch
        .run(&["inputs.flow", "--inputs", "in.json"])
        .success();
    assert_eq!(
        out,
        json!({
            "n": 7,
            "p": {"x": 1.5, "y": 0.0, "label": "origin"},
            "mode": "Careful",
            "tags": [],
            "name": "file"
        })
    );
    let out = scratch
        .run(&["inputs.flow", "--inputs", "in.json", "--n", "8"])
        .success();
    assert_eq!(out["n"], 8, "a flag overrides the file");
    assert_eq!(out["name"], "file");
    // An unknown name in the file is refused like an unknown flag.
    let scratch = Scratch::with_fixture("inputs.flow");
    scratch.write("bad.json", r#"{"n": 1, "bogus": 2}"#);
    scratch
        .run(&["inputs.flow", "--inputs", "bad.json"])
        .refused(&scratch, None, &["unknown input `bogus`"]);
}

#[test]
fn the_entry_must_be_named_when_the_file_has_several() {
    let scratch = Scratch::new();
    let path = example_path("pickle.flow");
    let path = path.to_str().unwrap();
    scratch
        .run(&[path])
        .refused(&scratch, None, &["welcome", "welcome_all"]);
    scratch.run(&[path, "welcome_everyone"]).refused(
        &scratch,
        None,
        &["`welcome_everyone`", "`welcome_all`"],
    );
    scratch
        .run(&[path, "welcome", "Ada"])
        .refused(&scratch, None, &["`Ada`", "--NAME VALUE"]);
}

// ---------------------------------------------------------------------------------------------
// Compiled IR
// ---------------------------------------------------------------------------------------------

#[test]
fn a_compiled_program_runs_the_same() {
    let scratch = Scratch::with_fixture("features.flow");
    let compiled = scratch.flytec(&["compile", "features.flow", "-o", "features.json"]);
    assert_eq!(compiled.code(), 0, "compile failed: {}", compiled.stderr);
    for args in [
        &["main"][..],
        &["main", "--n", "6"],
        &["branch", "--n", "20"],
        &["mapped"],
    ] {
        let from_source = scratch
            .run(&[&["features.flow"][..], args].concat())
            .success();
        let from_ir = scratch
            .run(&[&["features.json"][..], args].concat())
            .success();
        assert_eq!(from_ir, from_source, "{args:?}");
    }
    // An example with imports (a file and std) compiles to a self-contained IR.
    let ir = scratch.path("imports.json");
    let source = example_path("imports.flow");
    let compiled = scratch.flytec(&[
        "compile",
        source.to_str().unwrap(),
        "-o",
        ir.to_str().unwrap(),
    ]);
    assert_eq!(compiled.code(), 0, "compile failed: {}", compiled.stderr);
    let from_ir = scratch.run(&["imports.json"]).success();
    let from_source = scratch.run(&[source.to_str().unwrap()]).success();
    assert_eq!(from_ir, from_source);
}

#[test]
fn an_ir_file_of_another_version_is_refused() {
    let scratch = Scratch::with_fixture("features.flow");
    let compiled = scratch.flytec(&["compile", "features.flow", "-o", "features.json"]);
    assert_eq!(compiled.code(), 0, "compile failed: {}", compiled.stderr);
    let mut ir: Value =
        serde_json::from_str(&fs::read_to_string(scratch.path("features.json")).unwrap())
            .expect("the IR is JSON");
    let version = ir["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("the IR has no numeric `version`"));
    ir["version"] = json!(version + 1);
    scratch.write("future.json", ir.to_string());
    let outcome = scratch.run(&["future.json", "main"]);
    outcome.refused(
        &scratch,
        None,
        &[
            "future.json",
            &format!("version {}", version + 1),
            &format!("version {version}"),
            "flytec compile",
        ],
    );
    // No version at all is refused the same way.
    ir.as_object_mut().unwrap().remove("version");
    scratch.write("unversioned.json", ir.to_string());
    scratch.run(&["unversioned.json", "main"]).refused(
        &scratch,
        None,
        &["unversioned.json", "version"],
    );
}

/// The index of the entry `name` of a compiled program, in its table (`functions` or
/// `workflows`).
fn ir_index(ir: &Value, table: &str, name: &str) -> usize {
    ir[table]
        .as_array()
        .and_then(|items| items.iter().position(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("the IR has no `{name}` in `{table}`"))
}

#[test]
fn a_corrupt_ir_file_is_refused_naming_what_is_wrong() {
    let scratch = Scratch::with_fixture("features.flow");
    let compiled = scratch.flytec(&["compile", "features.flow", "-o", "features.json"]);
    assert_eq!(compiled.code(), 0, "compile failed: {}", compiled.stderr);
    let ir: Value =
        serde_json::from_str(&fs::read_to_string(scratch.path("features.json")).unwrap())
            .expect("the IR is JSON");
    let square = ir_index(&ir, "functions", "square");
    let main = ir_index(&ir, "workflows", "main");
    let sub = ir_index(&ir, "workflows", "square_stats");
    let branch = ir_index(&ir, "workflows", "branch");
    let stats_decl = ir["record_defaults"][0][0].clone();
    let span = |file: u32, start: u32, end: u32| json!({"file": file, "start": start, "end": end});
    // Each case damages the IR in one place; every one of them used to panic (or, for the
    // graph cases, to fail only once the run was under way).
    type Damage = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, &[&str], Damage)> = vec![
        (
            "square",
            &["task `square`", "declaration 99999"],
            Box::new(move |ir| ir["functions"][square]["decl"] = json!(99999)),
        ),
        (
            "square",
            &["task `square`", "local slot 7"],
            Box::new(move |ir| {
                ir["functions"][square]["body"]["stmts"][0]["Expr"]["kind"] = json!({"Local": 7})
            }),
        ),
        (
            "square",
            &["task `square`", "function 99"],
            Box::new(move |ir| {
                ir["functions"][square]["body"]["stmts"][0]["Expr"]["kind"] =
                    json!({"CallFn": [99, []]})
            }),
        ),
        (
            "square",
            &["task `square`", "declaration 99999"],
            Box::new(move |ir| {
                ir["functions"][square]["body"]["stmts"][0]["Expr"]["kind"] =
                    json!({"EnumValue": [99999, "A"]})
            }),
        ),
        (
            "square",
            &["task `square`", "span", "file 9"],
            Box::new(move |ir| {
                ir["functions"][square]["body"]["stmts"][0]["Expr"]["span"] = span(9, 0, 1)
            }),
        ),
        (
            "square",
            &["task `square`", "span", "does not fit"],
            Box::new(move |ir| {
                ir["functions"][square]["body"]["stmts"][0]["Expr"]["span"] = span(1, 5, 999_999)
            }),
        ),
        (
            "main",
            &["entry", "task 999"],
            Box::new(|ir| ir["entries"][0]["target"] = json!({"Task": 999})),
        ),
        (
            "main",
            &["workflow `main`", "workflow 99"],
            Box::new(move |ir| {
                ir["workflows"][main]["nodes"][1]["kind"] = json!({"Call": [{"Workflow": 99}, []]})
            }),
        ),
        (
            "main",
            &["workflow `main`", "outputs", "node 99"],
            Box::new(move |ir| {
                ir["workflows"][main]["outputs"][0] = json!({"Output": [99, 0, []]})
            }),
        ),
        (
            "main",
            &["workflow `main`", "node 2", "reads node 2"],
            Box::new(move |ir| {
                ir["workflows"][main]["nodes"][2]["kind"]["Call"][1][0] =
                    json!({"Output": [2, 0, []]})
            }),
        ),
        (
            "branch",
            &["workflow `branch`", "node 1", "reads node 0"],
            Box::new(move |ir| {
                ir["workflows"][branch]["nodes"][1]["kind"]["Call"][1][0] =
                    json!({"Output": [0, 0, []]})
            }),
        ),
        (
            "main",
            &["workflow `square_stats`", "calls itself", "`main`"],
            Box::new(move |ir| {
                ir["workflows"][sub]["nodes"][0]["kind"] =
                    json!({"Call": [{"Workflow": main}, [{"Input": [0, []]}]]})
            }),
        ),
        (
            "main",
            &["`Stats`", "alias refers to itself"],
            Box::new(move |ir| {
                let id = stats_decl.as_u64().unwrap() as usize;
                ir["decls"]["items"][id]["kind"] = json!({"Alias": {"List": {"Decl": id}}})
            }),
        ),
    ];
    for (i, (entry, words, damage)) in cases.iter().enumerate() {
        let mut bad = ir.clone();
        damage(&mut bad);
        let name = format!("bad{i}.json");
        scratch.write(&name, bad.to_string());
        let mut all = vec![name.as_str(), "not a valid IR file"];
        all.extend_from_slice(words);
        scratch
            .run(&[&name, entry, "--n", "3"])
            .refused(&scratch, None, &all);
    }
}

#[test]
fn a_compiled_long_operator_chain_runs_and_too_deep_json_is_refused() {
    // 1,000 `+` are a left-nested tree 3,000 JSON levels deep in the IR, far past serde_json's
    // default limit of 128 levels.
    let scratch = Scratch::new();
    let sum = vec!["x"; 1_000].join(" + ");
    scratch.write(
        "chain.flow",
        format!("task chain(x: int) -> int {{\n    {sum}\n}}\n"),
    );
    let compiled = scratch.flytec(&["compile", "chain.flow", "-o", "chain.json"]);
    assert_eq!(compiled.code(), 0, "compile failed: {}", compiled.stderr);
    let out = scratch.run(&["chain.json", "chain", "--x", "2"]).success();
    assert_eq!(out, json!({"o0": 2_000}));
    // JSON nested beyond any IR's need is refused before it is parsed.
    let scratch = Scratch::new();
    let depth = 1_000_000;
    scratch.write(
        "deep.json",
        format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
    );
    scratch
        .run(&["deep.json"])
        .refused(&scratch, None, &["deep.json", "nests more than"]);
}

// ---------------------------------------------------------------------------------------------
// --literals and the run directory's literal maps, parsed by flyteidl
// ---------------------------------------------------------------------------------------------

#[test]
fn literals_parse_as_flyteidl_literal_maps() {
    let scratch = Scratch::with_fixture("features.flow");
    scratch.write("inputs.flow", fixture_text("inputs.flow"));
    scratch.write("pickled.flow", fixture_text("pickled.flow"));
    let check = scratch.path("check");
    fs::create_dir(&check).unwrap();
    let pickle = example_path("pickle.flow");
    let report = example_path("report.flow");
    let cleaning = example_path("cleaning.flow");
    let runs: [(&str, Vec<&str>); 8] = [
        ("features", vec!["features.flow", "main"]),
        ("nothing", vec!["features.flow", "nothing", "--x", "1"]),
        (
            "inputs",
            vec!["inputs.flow", "--n", "3", "--mode", "Careful"],
        ),
        ("pickle", vec![pickle.to_str().unwrap(), "welcome_all"]),
        ("shared", vec!["pickled.flow", "same"]),
        ("rebatched", vec!["pickled.flow", "rebatched"]),
        ("report", vec![report.to_str().unwrap()]),
        ("cleaning", vec![cleaning.to_str().unwrap()]),
    ];
    let mut files = 0;
    for (name, args) in runs {
        let run_dir = scratch.path(&format!("run-{name}"));
        let mut all = args.clone();
        all.extend_from_slice(&["--literals", "--run-dir", run_dir.to_str().unwrap()]);
        let outcome = scratch.run(&all);
        let doc = outcome.success();
        assert!(
            doc["literals"].is_object(),
            "--literals prints {{\"literals\": …}}: {doc}"
        );
        fs::write(
            check.join(format!("{name}-stdout.json")),
            &outcome.run.stdout,
        )
        .unwrap();
        files += 1;
        // Every literal map the run directory holds.
        for (i, path) in walk_files(&run_dir).into_iter().enumerate() {
            let is_map = path.extension().is_some_and(|e| e == "json")
                && path.file_name().is_some_and(|n| n != "run.json");
            if is_map {
                fs::copy(&path, check.join(format!("{name}-{i}.json"))).unwrap();
                files += 1;
            }
        }
    }
    let python = python();
    let script = common::manifest_dir()
        .join("tests")
        .join("flyteidl_check.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&check)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}` ({e}): install Python 3"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(2),
        "`{python}` cannot import flyteidl: run `pip install flyteidl` (or set FLYTEC_PYTHON)\n{stderr}"
    );
    assert!(
        out.status.success(),
        "flyteidl rejects some literal maps:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("{files} passed, 0 failed")),
        "want all {files} files checked:\n{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// Workflow features
// ---------------------------------------------------------------------------------------------

#[test]
fn a_task_with_no_outputs_prints_an_empty_object() {
    let scratch = Scratch::with_fixture("features.flow");
    let outcome = scratch.run(&["features.flow", "nothing", "--x", "3"]);
    assert_eq!(outcome.success(), json!({}));
    assert_eq!(outcome.run.stdout.trim(), "{}");
}

#[test]
fn named_tuple_outputs_keep_their_names_in_order() {
    let scratch = Scratch::with_fixture("features.flow");
    let out = scratch
        .run(&["features.flow", "stats", "--xs", "[1, 2, 3]"])
        .success();
    assert_eq!(out, json!({"total": 6, "count": 3}));
    let names: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(names, ["total", "count"], "declaration order");
    // A single output is `o0`, a struct is a JSON object.
    let out = scratch
        .run(&["features.flow", "as_struct", "--xs", "[4]"])
        .success();
    assert_eq!(out, json!({"o0": {"total": 4, "count": 1}}));
}

#[test]
fn a_map_node_runs_the_task_once_per_item() {
    let scratch = Scratch::with_fixture("features.flow");
    let outcome = scratch.run(&["features.flow", "mapped", "--xs", "[1, 2, 3, -4]"]);
    assert_eq!(outcome.success(), json!({"o0": [1, 4, 9, 16]}));
    let record = outcome.record();
    let items = outcome
        .nodes_named("square")
        .into_iter()
        .filter(|n| n["kind"] == "task")
        .count();
    assert_eq!(items, 4, "one task node per item: {record}");
    let maps: Vec<&Value> = record["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "map")
        .collect();
    assert_eq!(maps.len(), 1, "one map node: {record}");
    // An empty list maps to an empty list.
    let empty = scratch
        .run(&["features.flow", "mapped", "--xs", "[]"])
        .success();
    assert_eq!(empty, json!({"o0": []}));
}

#[test]
fn a_branch_takes_each_arm() {
    let scratch = Scratch::with_fixture("features.flow");
    for (n, want, task) in [
        ("3", "small 3", "small"),
        ("20", "medium 20", "medium"),
        ("50", "large 50", "large"),
        ("500", "large 500", "large"),
    ] {
        let outcome = scratch.run(&["features.flow", "branch", "--n", n]);
        assert_eq!(outcome.success(), json!({ "o0": want }), "n = {n}");
        let record = outcome.record();
        let ran: Vec<&str> = record["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "task")
            .map(|r| r["name"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(ran, [task], "n = {n}: only the chosen arm runs: {record}");
    }
    let text = fixture_text("features.flow");
    let outcome = scratch.run(&["features.flow", "fails_unless_positive", "--n", "-1"]);
    outcome.expect_code(3).stderr_has(&["n must be positive"]);
    assert_points_at(
        &outcome,
        "features.flow",
        line_of(&text, "fail(\"n must be positive\")"),
    );
    let ok = scratch
        .run(&["features.flow", "fails_unless_positive", "--n", "1"])
        .success();
    assert_eq!(ok, json!({"o0": "small 1"}));
}

#[test]
fn sub_workflows_and_attribute_access_on_promises() {
    let scratch = Scratch::with_fixture("features.flow");
    let outcome = scratch.run(&["features.flow", "main", "--n", "5"]);
    // squares(5) = [0, 1, 4, 9, 16]: s.total = 30 (the sub-workflow's struct), xs[1] = 1,
    // d["k"] = 5, t.count = 5; the map node squares each square.
    assert_eq!(
        outcome.success(),
        json!({
            "summary": "total 30, second 1, key 5, count 5",
            "total": 30,
            "count": 5,
            "squares": [0, 1, 16, 81, 256]
        })
    );
    let sub = outcome.node_named("square_stats");
    assert_eq!(sub["kind"], "workflow", "{sub}");
    assert_eq!(
        outcome.nodes_named("as_struct").len(),
        1,
        "the sub-workflow's task ran once"
    );
    assert_eq!(outcome.record()["status"], "succeeded");
}

#[test]
fn the_run_directory_holds_each_nodes_literal_maps() {
    let scratch = Scratch::with_fixture("features.flow");
    let run_dir = scratch.path("run");
    let outcome = scratch.run(&[
        "features.flow",
        "main",
        "--run-dir",
        run_dir.to_str().unwrap(),
    ]);
    outcome.success();
    assert_eq!(
        fs::canonicalize(outcome.run_dir().unwrap()).unwrap(),
        fs::canonicalize(&run_dir).unwrap(),
        "stderr names the --run-dir"
    );
    assert!(!scratch.has_default_run_dir());
    let record = outcome.record();
    assert_eq!(record["entry"], "main");
    for node in record["nodes"].as_array().unwrap() {
        assert_eq!(node["status"], "succeeded", "{node}");
        for key in ["inputs", "outputs"] {
            if let Some(path) = node[key].as_str() {
                let text = fs::read_to_string(path)
                    .unwrap_or_else(|e| panic!("{key} of {node}: cannot read {path}: {e}"));
                let map: Value = serde_json::from_str(&text).expect("a literal map is JSON");
                assert!(map["literals"].is_object(), "{path}: {text}");
            }
        }
    }
    // A node's literal maps sit beside its directory, which is made only when something goes
    // in it (pickle files, scratch files, inner nodes).
    for node in record["nodes"].as_array().unwrap() {
        let base = run_dir.join("nodes").join(node["id"].as_str().unwrap());
        for key in ["inputs", "outputs"] {
            if let Some(path) = node[key].as_str() {
                let want = format!("{}.{key}.json", base.display());
                assert_eq!(
                    fs::canonicalize(path).unwrap(),
                    fs::canonicalize(&want).unwrap(),
                    "{node}"
                );
            }
        }
    }
    let mut dirs = vec![run_dir.join("nodes")];
    while let Some(dir) = dirs.pop() {
        let entries: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!entries.is_empty(), "an empty directory: {}", dir.display());
        dirs.extend(entries.into_iter().filter(|p| p.is_dir()));
    }
    // No temporary file is left behind.
    let leftovers: Vec<PathBuf> = walk_files(&run_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
