//! Python tasks end to end (`python "module:function"` and inline `python """…"""`): every known
//! type through Python and back, an extern value through two Python tasks and a Flow task that
//! only passes it on, a return value of the wrong type, an exception with its traceback, a
//! timeout, retries, a missing module or function, and the Python-version check on pickles.
//!
//! The programs and their Python modules are in `tests/python/`; each test copies them into a
//! fresh temporary directory and runs `flytec run` there. Needs `python3` (or `$FLYTEC_PYTHON`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

/// A temporary directory holding a copy of `tests/python/`.
fn project() -> TempDir {
    let dir = TempDir::new().expect("a temporary directory");
    let fixtures = common::manifest_dir().join("tests").join("python");
    for entry in fs::read_dir(&fixtures).expect("tests/python/ exists") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            fs::copy(&path, dir.path().join(path.file_name().expect("a name")))
                .expect("copying a fixture");
        }
    }
    dir
}

/// `flytec run FILE ARGS… --color never` in `dir`.
fn run(dir: &Path, file: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["run", file];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--color", "never"]);
    common::flytec(&all, dir)
}

/// Asserts exit 0 and returns stdout as JSON.
fn success(run: &common::Run) -> Value {
    assert_eq!(run.code(), 0, "the run failed:\n{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})"))
}

/// Asserts exit 3 with every one of `words` on stderr, and nothing on stdout.
fn failed(run: &common::Run, words: &[&str]) {
    assert_eq!(run.code(), 3, "want a failed run:\n{}", run.stderr);
    for word in words {
        assert!(
            run.stderr.contains(word),
            "stderr lacks `{word}`:\n{}",
            run.stderr
        );
    }
    assert!(run.stdout.is_empty(), "a failed run printed {}", run.stdout);
}

/// The run directory `flytec run` reported.
fn run_dir(run: &common::Run) -> PathBuf {
    run.stderr
        .lines()
        .find_map(|l| l.strip_prefix("run directory: "))
        .map(PathBuf::from)
        .expect("a `run directory:` line")
}

/// The literal of output `name` of the node that ran task `task` (from the run record).
fn node_output(run: &common::Run, task: &str, name: &str) -> Value {
    let record: Value =
        serde_json::from_slice(&fs::read(run_dir(run).join("run.json")).expect("run.json"))
            .expect("run.json is JSON");
    let node = record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["name"] == task)
        .unwrap_or_else(|| panic!("no node ran `{task}`: {record}"));
    let outputs: Value = serde_json::from_slice(
        &fs::read(node["outputs"].as_str().expect("an outputs file")).expect("outputs.json"),
    )
    .expect("outputs.json is JSON");
    outputs["literals"][name].clone()
}

/// The bytes of the file a blob URI names.
fn blob(uri: &Value) -> Vec<u8> {
    let uri = uri.as_str().expect("a URI");
    fs::read(uri.strip_prefix("file://").unwrap_or(uri)).expect("the blob file")
}

fn everything() -> Value {
    json!({
        "i": -9007199254740993i64, "f": 0.1, "s": "héllo \"q\"", "b": true,
        "when": "2024-02-29T12:34:56.789Z", "d": 5400.25, "path": "/data/in.csv",
        "folder": "/data/out",
        "xs": [1, 2, 3], "m": {"a": 1.5, "b": -2.0}, "o": 4, "none_o": null, "u": "text",
        "p": {"x": 1.0, "y": 2.0}, "c": "Green", "t": {"name": "t", "n": 3},
        "ps": [{"x": 0.5, "y": 0.25}, null],
    })
}

#[test]
fn every_known_type_round_trips_through_python() {
    let dir = project();
    let e = everything().to_string();
    let out = success(&run(dir.path(), "kinds.flow", &["echo", "--e", &e]));
    assert_eq!(out["o0"], everything());
}

#[test]
fn python_sees_python_values() {
    let dir = project();
    let e = everything().to_string();
    let out = success(&run(dir.path(), "kinds.flow", &["python_types", "--e", &e]));
    assert_eq!(
        out["o0"],
        json!({
            "i": "int", "f": "float", "s": "str", "b": "bool", "when": "datetime",
            "d": "timedelta", "path": "str", "folder": "str", "xs": "list", "m": "dict", "o": "int",
            "none_o": "NoneType", "u": "str", "p": "Point", "c": "str", "t": "Tag", "ps": "list",
        })
    );
}

#[test]
fn python_objects_convert_to_known_types() {
    let dir = project();
    let out = success(&run(dir.path(), "kinds.flow", &["native"]));
    assert_eq!(
        out,
        json!({
            "c": "Green", "when": "2024-05-06T07:08:09Z", "d": 5400.0, "xs": [1, 2, 3],
            "p": {"x": 1.5, "y": -2.0}, "big": 3.0,
        })
    );
}

#[test]
fn an_extern_value_crosses_flow_unopened() {
    let dir = project();
    let r = run(dir.path(), "opaque.flow", &["main"]);
    assert_eq!(success(&r), json!({"top": "a", "n": 6}));
    let made = node_output(&r, "count", "o0");
    let kept = node_output(&r, "keep", "o0");
    // The Flow task stored exactly the bytes Python wrote, with the version that wrote them.
    let made_bytes = blob(&made["scalar"]["blob"]["uri"]);
    assert_eq!(made_bytes, blob(&kept["scalar"]["blob"]["uri"]));
    let version = made["metadata"]["python_version"].clone();
    assert!(
        version.as_str().is_some_and(|v| v.starts_with("3.")),
        "{made}"
    );
    assert_eq!(kept["metadata"]["python_version"], version);
    // They are the pickle of a `collections.Counter`, which CPython loads.
    let path = dir.path().join("made.pkl");
    fs::write(&path, &made_bytes).expect("writing the copy");
    let check = std::process::Command::new(python())
        .args([
            "-c",
            "import pickle, sys; print(pickle.load(open(sys.argv[1], 'rb')))",
            path.to_str().expect("a UTF-8 path"),
        ])
        .output()
        .expect("python3 runs");
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "Counter({'a': 2, 'b': 1})"
    );
    // A list of extern values is one file per value, each with its version.
    let listed = node_output(&r, "keep_all", "o0");
    let items = listed["collection"]["literals"]
        .as_array()
        .expect("a collection");
    assert_eq!(items.len(), 2);
    assert!(items
        .iter()
        .all(|l| l["metadata"]["python_version"] == version));
}

#[test]
fn the_printed_output_names_an_extern_values_file() {
    let dir = project();
    fs::write(
        dir.path().join("make.flow"),
        "@allow(pickle)\nextern type Counter\n\
         task count(words: list[str]) -> Counter python \"counter:count\"\n",
    )
    .expect("writing the program");
    let out = success(&run(
        dir.path(),
        "make.flow",
        &["count", "--words", r#"["z"]"#],
    ));
    let opaque = &out["o0"]["$opaque"];
    assert!(
        opaque["uri"].as_str().is_some_and(|u| u.ends_with(".pkl")),
        "{out}"
    );
    assert!(opaque["bytes"].as_u64().is_some_and(|n| n > 0), "{out}");
    assert_eq!(opaque["sha256"].as_str().map(str::len), Some(64), "{out}");
    assert!(opaque["python_version"].is_string(), "{out}");
}

#[test]
fn a_pickle_from_another_python_version_warns_or_fails() {
    let dir = project();
    let cache = dir.path().join("cache");
    let cache_arg = cache.to_str().expect("a UTF-8 path");
    success(&run(
        dir.path(),
        "opaque.flow",
        &["from_cache", "--cache-dir", cache_arg],
    ));
    // Pretend the cached value was written by another Python.
    let mut edited = 0;
    for entry in fs::read_dir(&cache).expect("the cache directory") {
        let file = entry.expect("an entry").path().join("outputs.json");
        let text = fs::read_to_string(&file).expect("a cached outputs.json");
        let mut literals: Value = serde_json::from_str(&text).expect("JSON");
        literals["literals"]["o0"]["metadata"]["python_version"] = json!("2.7.18");
        fs::write(&file, literals.to_string()).expect("rewriting the cache entry");
        edited += 1;
    }
    assert_eq!(edited, 1, "one cache entry");
    let warned = run(
        dir.path(),
        "opaque.flow",
        &["from_cache", "--cache-dir", cache_arg],
    );
    assert_eq!(success(&warned), json!({"o0": "x"}));
    assert!(
        warned
            .stderr
            .contains("warning: input `c` of task `most` was pickled by Python 2.7.18"),
        "{}",
        warned.stderr
    );
    let strict = run(
        dir.path(),
        "opaque.flow",
        &["from_cache", "--cache-dir", cache_arg, "--strict-pickle"],
    );
    failed(
        &strict,
        &[
            "task `most` failed",
            "Python 2.7.18",
            "refused by `--strict-pickle`",
        ],
    );
}

#[test]
fn an_exception_shows_the_python_traceback() {
    let dir = project();
    let r = run(dir.path(), "failures.flow", &["boom", "--n", "3"]);
    failed(
        &r,
        &[
            "task `boom` failed",
            "the Python code raised ValueError: n is too big: 3",
            "Python traceback (most recent call last):",
            // The inline body's lines are the .flow file's, and the error points at the `raise`.
            "File \"failures.flow\", line 5, in boom",
            "--> failures.flow:5:9",
        ],
    );
    assert!(success(&run(dir.path(), "failures.flow", &["boom", "--n", "1"])) == json!({"o0": 1}));
}

#[test]
fn a_return_value_of_the_wrong_type_names_the_output() {
    let dir = project();
    failed(
        &run(dir.path(), "failures.flow", &["wrong_type"]),
        &[
            "task `wrong_type` failed",
            "output `o0` must be `list[float]`, but the function returned str 'two' at `o0[1]`",
        ],
    );
    failed(
        &run(dir.path(), "failures.flow", &["wrong_arity"]),
        &[
            "task `wrong_arity` failed",
            "must return a tuple of 2 values, found int 1",
        ],
    );
}

#[test]
fn a_timeout_kills_the_python_process() {
    let dir = project();
    let started = Instant::now();
    let r = run(dir.path(), "failures.flow", &["slow"]);
    failed(
        &r,
        &["task `slow` timed out", "the Python process was killed"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the 1s timeout did not end a 60s sleep"
    );
}

#[test]
fn a_failed_attempt_is_retried() {
    let dir = project();
    let marker = dir.path().join("marker");
    let marker = marker.to_str().expect("a UTF-8 path");
    let r = run(dir.path(), "failures.flow", &["flaky", "--marker", marker]);
    assert_eq!(success(&r), json!({"o0": 7}));
    let record: Value =
        serde_json::from_slice(&fs::read(run_dir(&r).join("run.json")).expect("run.json"))
            .expect("JSON");
    assert_eq!(record["nodes"][0]["attempts"], 2, "{record}");
}

#[test]
fn a_missing_module_or_function_is_named() {
    let dir = project();
    failed(
        &run(dir.path(), "failures.flow", &["missing_module"]),
        &[
            "cannot import the module `nowhere_to_be_found`",
            "nor on PYTHONPATH",
        ],
    );
    failed(
        &run(dir.path(), "failures.flow", &["missing_function"]),
        &["the module `counter`", "has no function `nothing`"],
    );
}

#[test]
fn python_prints_go_to_stderr() {
    let dir = project();
    let r = run(dir.path(), "failures.flow", &["chatty"]);
    assert_eq!(success(&r), json!({"o0": 5}));
    assert!(
        r.stderr.contains("this goes to stderr, not stdout"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_interpreter_is_a_clear_run_error() {
    let dir = project();
    failed(
        &run(
            dir.path(),
            "failures.flow",
            &["chatty", "--python", "/nonexistent/python9"],
        ),
        &[
            "cannot start the Python interpreter `/nonexistent/python9`",
            "--python PATH",
        ],
    );
}

/// A Python for checks: `$FLYTEC_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("FLYTEC_PYTHON").unwrap_or_else(|_| "python3".to_string())
}
