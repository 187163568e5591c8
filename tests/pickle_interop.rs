//! Pickles and CPython: files `flytec::pickle` writes are read by `pickle.load` in a real
//! `python3`, files CPython writes (every protocol) are read back into Flow values, and a
//! property test round-trips generated values of generated types. `python3` must be on PATH; a
//! missing interpreter fails these tests with a message saying so instead of skipping them.

#[path = "common/pickles.rs"]
mod pickles;

use std::process::Command;
use std::sync::Arc;

use flytec::check::types::Type;
use flytec::pickle::{decode, decode_batches, encode, encode_batches};
use flytec::value::Value;
use pickles::{
    dict, dump_with_flowmod, dumped, list_of, person, program, python, team, typed_value,
    wide_record,
};
use proptest::prelude::*;

/// Loads every `.pkl` file of a directory with `pickle.load` and prints `{name: repr(value)}`.
const LOAD_ALL: &str = r#"
import json, os, pickle, sys
d = sys.argv[1]
out = {}
for name in sorted(os.listdir(d)):
    with open(os.path.join(d, name), "rb") as f:
        out[name] = repr(pickle.load(f))
print(json.dumps(out))
"#;

#[test]
fn cpython_reads_what_flytec_writes() {
    let dir = tempfile::tempdir().unwrap();
    let color = |v: &str| Value::Enum(Arc::from("Color"), Arc::from(v));
    let cases: Vec<(&str, Value, &str)> =
        vec![
        (
            "records",
            Value::list(vec![person("f"), person("o")]),
            "[{'name': 'f'}, {'name': 'o'}]",
        ),
        ("enum", color("Red"), "'Red'"),
        (
            "floats",
            Value::list(vec![
                Value::Float(1.5),
                Value::Float(-0.0),
                Value::Float(1e300),
                Value::Float(f64::INFINITY),
                Value::Float(0.1),
                Value::Float(-2.0),
            ]),
            "[1.5, -0.0, 1e+300, inf, 0.1, -2.0]",
        ),
        (
            "ints",
            Value::list(vec![
                Value::Int(0),
                Value::Int(-1),
                Value::Int(255),
                Value::Int(1 << 40),
                Value::Int(i64::MIN),
                Value::Int(i64::MAX),
            ]),
            "[0, -1, 255, 1099511627776, -9223372036854775808, 9223372036854775807]",
        ),
        (
            "nested",
            Value::list(vec![
                Value::list(vec![Value::Int(1), Value::Int(2)]),
                Value::list(vec![]),
                Value::list(vec![Value::list(vec![Value::Bool(true), Value::None])]),
            ]),
            "[[1, 2], [], [[True, None]]]",
        ),
        (
            "dict_order",
            dict(vec![
                ("b", Value::Int(1)),
                ("a", dict(vec![("z", Value::str("x")), ("y", Value::str("w"))])),
            ]),
            "{'b': 1, 'a': {'z': 'x', 'y': 'w'}}",
        ),
        (
            "tuple",
            Value::Tuple(Arc::new(vec![Value::Int(1), Value::str("x")])),
            "(1, 'x')",
        ),
        (
            "text",
            Value::str("héllo ✓ 🎉\n'\""),
            r#"'héllo ✓ 🎉\n\'"'"#,
        ),
        (
            "struct",
            Value::record(
                "Team",
                vec![
                    ("lead", Value::None),
                    ("members", Value::list(vec![person("a")])),
                    ("color", color("Green")),
                    ("scores", dict(vec![("q1", Value::Float(0.5))])),
                ],
            ),
            "{'lead': None, 'members': [{'name': 'a'}], 'color': 'Green', 'scores': {'q1': 0.5}}",
        ),
        (
            "time",
            Value::list(vec![
                Value::Datetime(1_704_164_645_000_000),
                Value::Datetime(1_704_164_645_123_456),
                Value::Duration(1_500_000),
                Value::Path(Arc::from("s3://bucket/x.csv")),
            ]),
            "['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.123456Z', 1.5, 's3://bucket/x.csv']",
        ),
        ("none", Value::None, "None"),
        ("empty", Value::list(vec![]), "[]"),
        ("one", Value::list(vec![Value::Int(7)]), "[7]"),
        (
            "tuples",
            Value::list(
                (0..6)
                    .map(|n| Value::Tuple(Arc::new((0..n).map(Value::Int).collect())))
                    .collect(),
            ),
            "[(), (0,), (0, 1), (0, 1, 2), (0, 1, 2, 3), (0, 1, 2, 3, 4)]",
        ),
        ("empty_record", Value::record("Unit", vec![]), "{}"),
    ];
    // Past the pickler's 1000-item batches, and past 256 memoized field names.
    let long: Vec<Value> = (0..2001).map(Value::Int).collect();
    let long_repr = format!(
        "[{}]",
        (0..2001)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let big = Value::Dict(Arc::new(
        (0..2001)
            .map(|i| (format!("k{i}"), Value::Int(i)))
            .collect(),
    ));
    let big_repr = format!(
        "{{{}}}",
        (0..2001)
            .map(|i| format!("'k{i}': {i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let wide_one = format!(
        "{{{}}}",
        (0..300)
            .map(|i| format!("'f{i}': {i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let wide_repr = format!("[{wide_one}, {wide_one}, {wide_one}]");
    let wide = Value::list(vec![wide_record(300), wide_record(300), wide_record(300)]);
    let cases: Vec<(&str, Value, &str)> = cases
        .into_iter()
        .chain([
            ("long", Value::list(long), long_repr.as_str()),
            ("big", big, big_repr.as_str()),
            ("wide", wide, wide_repr.as_str()),
        ])
        .collect();
    for (name, value, _) in &cases {
        std::fs::write(
            dir.path().join(format!("{name}.pkl")),
            encode(value).unwrap(),
        )
        .unwrap();
    }
    let items = vec![person("f"), person("o"), person("o")];
    for (i, bytes) in encode_batches(&items, Some(2)).unwrap().iter().enumerate() {
        std::fs::write(dir.path().join(format!("batch_{i}.pkl")), bytes).unwrap();
    }
    let loaded: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&python(LOAD_ALL, &[dir.path()])).unwrap();
    for (name, _, want) in &cases {
        assert_eq!(loaded[&format!("{name}.pkl")], *want, "{name}");
    }
    assert_eq!(loaded["batch_0.pkl"], "[{'name': 'f'}, {'name': 'o'}]");
    assert_eq!(loaded["batch_1.pkl"], "[{'name': 'o'}]");
    assert_eq!(loaded.len(), cases.len() + 2);

    // Python reads the datetime strings as the same instants.
    let check = r#"
import datetime, pickle, sys
for s in pickle.load(open(sys.argv[1], "rb"))[:2]:
    t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    print(round(t.timestamp() * 1_000_000))
"#;
    assert_eq!(
        python(check, &[&dir.path().join("time.pkl")]),
        "1704164645000000\n1704164645123456\n"
    );
}

/// Writes `pickle.dumps(VALUE, protocol=p)` for every protocol CPython has into `DIR/p{p}.pkl`,
/// and `HIGHEST_PROTOCOL` into `DIR/highest.pkl`.
const DUMP_ALL: &str = r#"
import datetime, os, pickle, sys
d, value = sys.argv[1], eval(sys.argv[2])
for p in range(pickle.HIGHEST_PROTOCOL + 1):
    with open(os.path.join(d, f"p{p}.pkl"), "wb") as f:
        pickle.dump(value, f, protocol=p)
with open(os.path.join(d, "highest.pkl"), "wb") as f:
    pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
"#;

fn dump_all(value: &str) -> (tempfile::TempDir, Vec<(String, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .args(["-c", DUMP_ALL])
        .arg(dir.path())
        .arg(value)
        .output()
        .unwrap_or_else(|e| {
            panic!("the pickle interop tests need `python3` on PATH, and it could not be run: {e}")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = dumped(dir.path());
    (dir, files)
}

#[test]
fn flytec_reads_what_cpython_writes_at_every_protocol() {
    let (decls, people, _, _) = program();
    let (_dir, files) = dump_all("[{'name': 'f'}, {'name': 'o'}]");
    assert!(files.len() >= 7, "protocols 0 to 5 and HIGHEST_PROTOCOL");
    let want = Value::list(vec![person("f"), person("o")]);
    for (name, bytes) in &files {
        assert_eq!(
            decode(bytes, &list_of(&people), &decls).unwrap(),
            want,
            "{name}"
        );
    }
    // As the batches of a batched list, too.
    let all: Vec<Vec<u8>> = files.into_iter().map(|(_, b)| b).collect();
    let items = decode_batches(&all, &people, &decls).unwrap();
    assert_eq!(items.len(), 2 * all.len());
}

#[test]
fn flytec_reads_richer_cpython_pickles() {
    let (decls, _, _, team_ty) = program();
    let value = "{'lead': {'name': 'l'}, 'members': [{'name': 'a'}, {'name': 'b'}], \
                 'color': 'Red', 'scores': {'z': 1, 'a': 2.5, 'm': -0.0}}";
    let (_dir, files) = dump_all(value);
    let want = team(
        "Red",
        vec![
            ("z", Value::Float(1.0)),
            ("a", Value::Float(2.5)),
            ("m", Value::Float(-0.0)),
        ],
    );
    for (name, bytes) in &files {
        let got = decode(bytes, &team_ty, &decls).unwrap();
        assert_eq!(got, want, "{name}");
        // Dict order survives.
        let Value::Dict(scores) = got.field("scores").unwrap() else {
            panic!("a dict")
        };
        assert_eq!(scores.keys().collect::<Vec<_>>(), ["z", "a", "m"], "{name}");
    }

    // datetime and timedelta objects, naive and with a UTC offset; big and small ints; text.
    let value = "[datetime.datetime(2024, 1, 2, 3, 4, 5, 6), \
                  datetime.datetime(2024, 1, 2, 4, 4, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=1))), \
                  datetime.timedelta(days=-1, seconds=5, microseconds=7), \
                  -2**63, 2**63 - 1, 'é\\n\\\\ ✓']";
    let (_dir, files) = dump_all(value);
    let ty = Type::Tuple(vec![
        Type::Datetime,
        Type::Datetime,
        Type::Duration,
        Type::Int,
        Type::Int,
        Type::Str,
    ]);
    let t = 1_704_164_645_000_006;
    let want = Value::Tuple(Arc::new(vec![
        Value::Datetime(t),
        Value::Datetime(t),
        Value::Duration(-86_400_000_000 + 5_000_007),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::str("é\n\\ ✓"),
    ]));
    for (name, bytes) in &files {
        assert_eq!(decode(bytes, &ty, &decls).unwrap(), want, "{name}");
    }
}

#[test]
fn flytec_reads_python_class_instances_as_their_fields() {
    let (decls, people, color, _) = program();
    let script = r#"
import collections, os, pickle, sys
sys.path.insert(0, sys.argv[1])
from flowmod import People, Color

class ByName:
    """An enum member pickled by name, as newer Pythons do for some enums."""
    def __reduce__(self):
        return (getattr, (Color, "Green"))

value = [People("f"), Color.Green, ByName(), collections.OrderedDict([("b", 1), ("a", 2)])]
for p in range(pickle.HIGHEST_PROTOCOL + 1):
    with open(os.path.join(sys.argv[2], f"p{p}.pkl"), "wb") as f:
        pickle.dump(value, f, protocol=p)
"#;
    let files = dump_with_flowmod(script);
    let ty = Type::Tuple(vec![
        people,
        color.clone(),
        color,
        Type::Dict(Box::new(Type::Str), Box::new(Type::Int)),
    ]);
    let green = Value::Enum(Arc::from("Color"), Arc::from("Green"));
    let want = Value::Tuple(Arc::new(vec![
        person("f"),
        green.clone(),
        green,
        dict(vec![("b", Value::Int(1)), ("a", Value::Int(2))]),
    ]));
    assert!(files.len() >= 6);
    for (name, bytes) in &files {
        let got = decode(bytes, &ty, &decls).unwrap();
        // `==` ignores dict order; `Debug` does not.
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Property: decode(encode(v), ty) == v
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_inverts_encode((decls, ty, value) in typed_value()) {
        // `Value`'s `==` ignores dict order; its `Debug` form does not.
        let bytes = encode(&value).unwrap();
        let back = decode(&bytes, &ty, &decls).unwrap();
        prop_assert_eq!(&back, &value);
        prop_assert_eq!(format!("{back:?}"), format!("{value:?}"));
        // And as batches of a list.
        let items = vec![value.clone(), value.clone(), value];
        let files = encode_batches(&items, Some(2)).unwrap();
        let back = decode_batches(&files, &ty, &decls).unwrap();
        prop_assert_eq!(format!("{back:?}"), format!("{items:?}"));
    }
}
