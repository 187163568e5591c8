//! Literals against flyteidl itself: writes literal maps of every type (and every Pickle layout)
//! to a temporary directory, then runs `tests/flyteidl_check.py`, which parses each with
//! `json_format.Parse(text, LiteralMap())` and checks that flyteidl prints it back the same.
//!
//! Needs a Python that can import `flyteidl` (from PyPI): `$FLYTEC_PYTHON` if set, else
//! `python3`. Without one the test fails and says to run `pip install flyteidl`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use flytec::check::types::{DeclKind, Decls, FieldSig, Type};
use flytec::literal::{from_literal_map, to_literal_map, MemoryBlobs};
use flytec::value::Value;
use serde_json::Value as Json;

fn field(name: &str, ty: Type, batch: Option<u32>) -> FieldSig {
    FieldSig {
        batch,
        ..FieldSig::new(name, ty)
    }
}

fn list(t: &Type) -> Type {
    Type::List(Box::new(t.clone()))
}

fn dict(t: &Type) -> Type {
    Type::Dict(Box::new(Type::Str), Box::new(t.clone()))
}

fn opt(t: &Type) -> Type {
    Type::optional(t.clone())
}

fn dict_value(items: Vec<(&str, Value)>) -> Value {
    Value::Dict(Arc::new(
        items.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    ))
}

/// One literal map's entries: name, value, type, `@batch`.
type Entries = Vec<(&'static str, Value, Type, Option<u32>)>;

/// The literal maps to check, by file name.
fn maps(decls: &mut Decls) -> Vec<(&'static str, Entries)> {
    let people = decls.declare(
        "People",
        DeclKind::Class(vec![field("name", Type::Str, None)]),
    );
    let color = decls.declare("Color", DeclKind::Enum(vec!["Red".into(), "Green".into()]));
    let inner = decls.declare(
        "Inner",
        DeclKind::Struct(vec![
            field("a", Type::Int, None),
            field("b", opt(&Type::Str), None),
        ]),
    );
    let point = decls.declare(
        "Point",
        DeclKind::Struct(vec![
            field("x", Type::Int, None),
            field("y", Type::Float, None),
            field("name", Type::Str, None),
            field("ok", Type::Bool, None),
            field("when", Type::Datetime, None),
            field("wait", Type::Duration, None),
            field("color", color.clone(), None),
            field("inner", inner.clone(), None),
            field("inners", list(&inner), None),
            field("scores", dict(&Type::Float), None),
            field("maybe", opt(&Type::Int), None),
            field("f", Type::File, None),
            field("d", Type::Dir, None),
            field("p", people.clone(), None),
            field("ps", list(&people), Some(2)),
        ]),
    );
    let x = decls.declare("X", DeclKind::Extern);

    let person = |n: &str| Value::record("People", vec![("name", Value::str(n))]);
    let inner_v = |a: i64| {
        Value::record(
            "Inner",
            vec![("a", Value::Int(a)), ("b", Value::str("bee"))],
        )
    };
    let point_v = Value::record(
        "Point",
        vec![
            ("x", Value::Int(-3)),
            ("y", Value::Float(2.5)),
            ("name", Value::str("p\"q")),
            ("ok", Value::Bool(true)),
            ("when", Value::Datetime(1_704_067_200_123_000)),
            ("wait", Value::Duration(1_500_000)),
            ("color", Value::Enum("Color".into(), "Green".into())),
            ("inner", inner_v(1)),
            ("inners", Value::list(vec![inner_v(2), inner_v(3)])),
            ("scores", dict_value(vec![("m", Value::Float(0.5))])),
            ("maybe", Value::None),
            ("f", Value::Path("/data/a.csv".into())),
            ("d", Value::Path("/data/out/".into())),
            ("p", person("solo")),
            (
                "ps",
                Value::list(vec![person("a"), person("b"), person("c")]),
            ),
        ],
    );
    let three = Value::list(vec![person("f"), person("o"), person("o")]);
    let int_or_str = Type::Union(vec![Type::Int, Type::Str]);

    vec![
        (
            "primitives",
            vec![
                ("i", Value::Int(i64::MIN), Type::Int, None),
                ("f", Value::Float(1.5), Type::Float, None),
                ("whole", Value::Float(2.0), Type::Float, None),
                ("nan", Value::Float(f64::NAN), Type::Float, None),
                ("inf", Value::Float(f64::NEG_INFINITY), Type::Float, None),
                ("s", Value::str("héllo\n"), Type::Str, None),
                ("empty", Value::str(""), Type::Str, None),
                ("b", Value::Bool(false), Type::Bool, None),
                (
                    "dt",
                    Value::Datetime(1_704_067_200_000_000),
                    Type::Datetime,
                    None,
                ),
                ("dt_us", Value::Datetime(-1), Type::Datetime, None),
                ("dt_ms", Value::Datetime(1_000), Type::Datetime, None),
                (
                    "dt_us6",
                    Value::Datetime(1_704_067_200_123_456),
                    Type::Datetime,
                    None,
                ),
                // protobuf Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.
                (
                    "dt_min",
                    Value::Datetime(-62_135_596_800_000_000),
                    Type::Datetime,
                    None,
                ),
                (
                    "dt_max",
                    Value::Datetime(253_402_300_799_999_999),
                    Type::Datetime,
                    None,
                ),
                ("du", Value::Duration(1_500_000), Type::Duration, None),
                ("du_neg", Value::Duration(-500_000), Type::Duration, None),
                ("du_us", Value::Duration(1), Type::Duration, None),
                ("du_whole", Value::Duration(3_000_000), Type::Duration, None),
                // protobuf Duration's range: ±315,576,000,000 s.
                (
                    "du_max",
                    Value::Duration(315_576_000_000_000_000),
                    Type::Duration,
                    None,
                ),
                (
                    "du_min",
                    Value::Duration(-315_576_000_000_000_000),
                    Type::Duration,
                    None,
                ),
                ("none", Value::None, Type::None, None),
                (
                    "file",
                    Value::Path("s3://bucket/a.txt".into()),
                    Type::File,
                    None,
                ),
                ("dir", Value::Path("/tmp/out".into()), Type::Dir, None),
            ],
        ),
        (
            "collections",
            vec![
                (
                    "ints",
                    Value::list(vec![Value::Int(1), Value::Int(2)]),
                    list(&Type::Int),
                    None,
                ),
                ("empty", Value::list(vec![]), list(&Type::Str), None),
                (
                    "nested",
                    Value::list(vec![
                        Value::list(vec![Value::str("a")]),
                        Value::list(vec![]),
                    ]),
                    list(&list(&Type::Str)),
                    None,
                ),
                (
                    "map",
                    dict_value(vec![("a", Value::Int(1)), ("b", Value::Int(2))]),
                    dict(&Type::Int),
                    None,
                ),
                ("empty_map", dict_value(vec![]), dict(&Type::Int), None),
                (
                    "map_of_lists",
                    dict_value(vec![("k", Value::list(vec![Value::Int(7)]))]),
                    dict(&list(&Type::Int)),
                    None,
                ),
            ],
        ),
        (
            "structs_and_enums",
            vec![
                ("point", point_v, point.clone(), None),
                (
                    "color",
                    Value::Enum("Color".into(), "Red".into()),
                    color.clone(),
                    None,
                ),
                ("points", Value::list(vec![inner_v(4)]), list(&inner), None),
            ],
        ),
        (
            "unions",
            vec![
                ("some", Value::Int(5), opt(&Type::Int), None),
                ("nothing", Value::None, opt(&Type::Int), None),
                ("int", Value::Int(1), int_or_str.clone(), None),
                ("str", Value::str("x"), int_or_str, None),
                ("widened", Value::Int(2), opt(&Type::Float), None),
                ("struct", inner_v(9), opt(&inner), None),
                (
                    "enum",
                    Value::Enum("Color".into(), "Green".into()),
                    opt(&color),
                    None,
                ),
                (
                    "list",
                    Value::list(vec![Value::Int(1)]),
                    opt(&list(&Type::Int)),
                    None,
                ),
                ("file", Value::Path("/a".into()), opt(&Type::File), None),
                ("pickle", person("p"), opt(&people), None),
                ("pickle_none", Value::None, opt(&people), None),
                ("pickle_list", three.clone(), opt(&list(&people)), Some(2)),
            ],
        ),
        (
            "pickles",
            vec![
                ("one", person("solo"), people.clone(), None),
                (
                    "extern",
                    Value::opaque(vec![0x80, 5, 0x4e, 0x2e]),
                    x.clone(),
                    None,
                ),
                ("unbatched", three.clone(), list(&people), None),
                ("batched", three, list(&people), Some(2)),
                ("empty_batched", Value::list(vec![]), list(&people), Some(2)),
                (
                    "nested",
                    Value::list(vec![
                        Value::list(vec![person("a"), person("b")]),
                        Value::list(vec![person("c")]),
                    ]),
                    list(&list(&people)),
                    None,
                ),
                (
                    "by_name",
                    dict_value(vec![("x", person("a")), ("y", person("b"))]),
                    dict(&people),
                    None,
                ),
                (
                    "externs",
                    Value::list(vec![
                        Value::opaque(vec![0x80, 5, 0x4e, 0x2e]),
                        Value::opaque(vec![0x80, 5, 0x4e, 0x2e]),
                    ]),
                    list(&x),
                    Some(1),
                ),
                (
                    "optional_items",
                    Value::list(vec![person("a"), Value::None]),
                    list(&opt(&people)),
                    None,
                ),
            ],
        ),
        ("empty_map", vec![]),
    ]
}

/// A Python that can import flyteidl (`$FLYTEC_PYTHON`, else `python3`); fails the test otherwise.
fn python_with_flyteidl() -> String {
    let python = std::env::var("FLYTEC_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = Command::new(&python)
        .args(["-c", "import flyteidl.core.literals_pb2"])
        .output();
    match probe {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "`{python}` cannot import flyteidl: run `pip install flyteidl` (or set FLYTEC_PYTHON \
             to a Python that has it)\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "cannot run `{python}` ({e}): install Python 3 and run `pip install flyteidl`, or set \
             FLYTEC_PYTHON"
        ),
    }
}

#[test]
fn literal_maps_parse_with_flyteidl() {
    let python = python_with_flyteidl();
    let dir = tempfile::tempdir().unwrap();
    let mut decls = Decls::default();
    let maps = maps(&mut decls);
    let blobs = MemoryBlobs::new();
    for (name, entries) in &maps {
        let refs: Vec<_> = entries.iter().map(|(n, v, t, b)| (*n, v, t, *b)).collect();
        let map = to_literal_map(&refs, &decls, &blobs).unwrap();
        // Every map reads back to its values.
        let vars: Vec<_> = entries.iter().map(|(n, _, t, _)| (*n, t)).collect();
        let back = from_literal_map(&map, &vars, &decls, &blobs).unwrap();
        for ((n, v, _, _), b) in entries.iter().zip(&back) {
            match (*n, v) {
                ("nan", _) => assert!(matches!(b, Value::Float(f) if f.is_nan())),
                // An int stored as a float member comes back a float.
                ("widened", Value::Int(i)) => assert_eq!(*b, Value::Float(*i as f64)),
                _ => assert_eq!(b, v, "{name}.{n}"),
            }
        }
        let text = serde_json::to_string_pretty(&map).unwrap();
        std::fs::write(dir.path().join(format!("{name}.json")), text).unwrap();
    }
    assert!(
        blobs.len() > 10,
        "the pickle maps wrote {} files",
        blobs.len()
    );

    let (passed, report) = run_check(&python, dir.path());
    assert_eq!(passed, maps.len(), "{report}");
}

/// A literal map the check must reject, so that a passing run means something.
#[test]
fn checker_rejects_a_wrong_literal() {
    let python = python_with_flyteidl();
    let dir = tempfile::tempdir().unwrap();
    let wrong: Json = serde_json::json!({"literals": {"x": {"scalar": {"primitive": {"int": 5}}}}});
    std::fs::write(dir.path().join("wrong.json"), wrong.to_string()).unwrap();
    // A literal flyteidl reads but prints differently (`1.5s` is `1.500s`).
    let loose: Json =
        serde_json::json!({"literals": {"d": {"scalar": {"primitive": {"duration": "1.5s"}}}}});
    std::fs::write(dir.path().join("loose.json"), loose.to_string()).unwrap();
    let out = Command::new(&python)
        .arg(script())
        .arg(dir.path())
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("0 passed, 2 failed"), "{stdout}");
    assert!(!out.status.success());
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flyteidl_check.py")
}

/// Runs the checker on `dir`: the number of files that passed, and everything it printed.
fn run_check(python: &str, dir: &Path) -> (usize, String) {
    let out = Command::new(python)
        .arg(script())
        .arg(dir)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = format!("exit {:?}\n{stdout}{stderr}", out.status.code());
    let summary = stdout
        .lines()
        .last()
        .and_then(|l| l.strip_suffix(" failed"))
        .and_then(|l| l.split_once(" passed, "));
    match summary {
        Some((p, "0")) if out.status.success() => (p.parse().unwrap_or(0), report),
        _ => panic!("flyteidl_check.py failed:\n{report}"),
    }
}
