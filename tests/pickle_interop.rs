//! Pickles and CPython: files `flytec::pickle` writes are read by `pickle.load` in a real
//! `python3`, files CPython writes (every protocol) are read back into Flow values, and a
//! property test round-trips generated values of generated types. `python3` must be on PATH; a
//! missing interpreter fails these tests with a message saying so instead of skipping them.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use flytec::check::types::{DeclKind, Decls, FieldSig, Type};
use flytec::pickle::{decode, decode_batches, encode, encode_batches};
use flytec::value::Value;
use proptest::prelude::*;

/// Runs `python3 -c SCRIPT ARGS…` and returns its stdout; fails the test if python3 is missing
/// or the script fails.
fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the pickle interop tests need `python3` on PATH to check files against CPython's \
                 `pickle` module, and it could not be run: {e}"
            )
        });
    assert!(
        out.status.success(),
        "python3 failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python3 prints UTF-8")
}

fn field(name: &str, ty: Type) -> FieldSig {
    FieldSig::new(name, ty)
}

/// `class People { name: str }`, `enum Color { Red, Green }`, and
/// `struct Team { lead: People?, members: list[People], color: Color, scores: dict[str, float] }`.
fn program() -> (Decls, Type, Type, Type) {
    let mut decls = Decls::default();
    let people = decls.declare("People", DeclKind::Class(vec![field("name", Type::Str)]));
    let color = decls.declare("Color", DeclKind::Enum(vec!["Red".into(), "Green".into()]));
    let team = decls.declare(
        "Team",
        DeclKind::Struct(vec![
            field("lead", Type::optional(people.clone())),
            field("members", Type::List(Box::new(people.clone()))),
            field("color", color.clone()),
            field(
                "scores",
                Type::Dict(Box::new(Type::Str), Box::new(Type::Float)),
            ),
        ]),
    );
    (decls, people, color, team)
}

fn person(name: &str) -> Value {
    Value::record("People", vec![("name", Value::str(name))])
}

fn dict(pairs: Vec<(&str, Value)>) -> Value {
    Value::Dict(Arc::new(
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    ))
}

fn list_of(t: &Type) -> Type {
    Type::List(Box::new(t.clone()))
}

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
    let names: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
    let wide_record = || {
        Value::record(
            "Wide",
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), Value::Int(i as i64)))
                .collect(),
        )
    };
    let wide_one = format!(
        "{{{}}}",
        (0..300)
            .map(|i| format!("'f{i}': {i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let wide_repr = format!("[{wide_one}, {wide_one}, {wide_one}]");
    let wide = Value::list(vec![wide_record(), wide_record(), wide_record()]);
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

/// The files DUMP_ALL wrote, by name.
fn dumped(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

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
    let (decls, _, _, team) = program();
    let value = "{'lead': {'name': 'l'}, 'members': [{'name': 'a'}, {'name': 'b'}], \
                 'color': 'Red', 'scores': {'z': 1, 'a': 2.5, 'm': -0.0}}";
    let (_dir, files) = dump_all(value);
    let want = Value::record(
        "Team",
        vec![
            ("lead", person("l")),
            ("members", Value::list(vec![person("a"), person("b")])),
            ("color", Value::Enum(Arc::from("Color"), Arc::from("Red"))),
            (
                "scores",
                dict(vec![
                    ("z", Value::Float(1.0)),
                    ("a", Value::Float(2.5)),
                    ("m", Value::Float(-0.0)),
                ]),
            ),
        ],
    );
    for (name, bytes) in &files {
        let got = decode(bytes, &team, &decls).unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flowmod.py"),
        "import enum\n\
         class People:\n    def __init__(self, name):\n        self.name = name\n\
         class Color(enum.Enum):\n    Red = 'Red'\n    Green = 'Green'\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
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
    python(script, &[dir.path(), &out]);
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
    let files = dumped(&out);
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

/// A type to generate, before its records are declared.
#[derive(Clone, Debug)]
enum Ty {
    Int,
    Float,
    Str,
    Bool,
    None,
    Datetime,
    Duration,
    Color,
    Opt(Box<Ty>),
    List(Box<Ty>),
    Dict(Box<Ty>),
    Record(bool, Vec<(String, Ty)>),
}

fn ty_strategy() -> impl Strategy<Value = Ty> {
    let leaf = prop_oneof![
        Just(Ty::Int),
        Just(Ty::Float),
        Just(Ty::Str),
        Just(Ty::Bool),
        Just(Ty::None),
        Just(Ty::Datetime),
        Just(Ty::Duration),
        Just(Ty::Color),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| Ty::Opt(Box::new(t))),
            inner.clone().prop_map(|t| Ty::List(Box::new(t))),
            inner.clone().prop_map(|t| Ty::Dict(Box::new(t))),
            (
                any::<bool>(),
                prop::collection::btree_map("[a-z_][a-z0-9_]{0,5}", inner, 0..4)
            )
                .prop_map(|(class, fields)| Ty::Record(class, fields.into_iter().collect())),
        ]
    })
}

/// A type with its records declared (as `R0`, `R1`, …).
#[derive(Clone, Debug)]
enum Named {
    Int,
    Float,
    Str,
    Bool,
    None,
    Datetime,
    Duration,
    Color,
    Opt(Box<Named>),
    List(Box<Named>),
    Dict(Box<Named>),
    Record(String, Vec<(String, Named)>),
}

fn declare(ty: &Ty, decls: &mut Decls, color: &Type) -> (Type, Named) {
    match ty {
        Ty::Int => (Type::Int, Named::Int),
        Ty::Float => (Type::Float, Named::Float),
        Ty::Str => (Type::Str, Named::Str),
        Ty::Bool => (Type::Bool, Named::Bool),
        Ty::None => (Type::None, Named::None),
        Ty::Datetime => (Type::Datetime, Named::Datetime),
        Ty::Duration => (Type::Duration, Named::Duration),
        Ty::Color => (color.clone(), Named::Color),
        Ty::Opt(t) => {
            let (t, n) = declare(t, decls, color);
            (Type::optional(t), Named::Opt(Box::new(n)))
        }
        Ty::List(t) => {
            let (t, n) = declare(t, decls, color);
            (Type::List(Box::new(t)), Named::List(Box::new(n)))
        }
        Ty::Dict(t) => {
            let (t, n) = declare(t, decls, color);
            (
                Type::Dict(Box::new(Type::Str), Box::new(t)),
                Named::Dict(Box::new(n)),
            )
        }
        Ty::Record(class, fields) => {
            let mut sigs = Vec::new();
            let mut named = Vec::new();
            for (name, t) in fields {
                let (t, n) = declare(t, decls, color);
                sigs.push(field(name, t));
                named.push((name.clone(), n));
            }
            let name = format!("R{}", decls.iter().count());
            let kind = if *class {
                DeclKind::Class(sigs)
            } else {
                DeclKind::Struct(sigs)
            };
            (decls.declare(&name, kind), Named::Record(name, named))
        }
    }
}

fn value_strategy(ty: &Named) -> BoxedStrategy<Value> {
    match ty {
        Named::Int => any::<i64>().prop_map(Value::Int).boxed(),
        Named::Float => any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::Float)
            .boxed(),
        Named::Str => any::<String>().prop_map(Value::str).boxed(),
        Named::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Named::None => Just(Value::None).boxed(),
        // Years 0 to 9999 and beyond, both signs.
        Named::Datetime => (-100_000_000_000_000_000i64..400_000_000_000_000_000)
            .prop_map(Value::Datetime)
            .boxed(),
        // Float seconds are exact to the microsecond within about ±71 years.
        Named::Duration => (-2_000_000_000_000_000i64..2_000_000_000_000_000)
            .prop_map(Value::Duration)
            .boxed(),
        Named::Color => prop_oneof![Just("Red"), Just("Green")]
            .prop_map(|v| Value::Enum(Arc::from("Color"), Arc::from(v)))
            .boxed(),
        Named::Opt(t) => prop_oneof![Just(Value::None), value_strategy(t)].boxed(),
        Named::List(t) => prop::collection::vec(value_strategy(t), 0..4)
            .prop_map(Value::list)
            .boxed(),
        Named::Dict(t) => prop::collection::vec((any::<String>(), value_strategy(t)), 0..4)
            .prop_map(|pairs| Value::Dict(Arc::new(pairs.into_iter().collect())))
            .boxed(),
        Named::Record(name, fields) => {
            let name = name.clone();
            let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            fields
                .iter()
                .map(|(_, t)| value_strategy(t))
                .collect::<Vec<_>>()
                .prop_map(move |values| {
                    Value::record(
                        &name,
                        names.iter().map(String::as_str).zip(values).collect(),
                    )
                })
                .boxed()
        }
    }
}

fn typed_value() -> impl Strategy<Value = (Decls, Type, Value)> {
    ty_strategy().prop_flat_map(|ty| {
        let mut decls = Decls::default();
        let color = decls.declare("Color", DeclKind::Enum(vec!["Red".into(), "Green".into()]));
        let (t, named) = declare(&ty, &mut decls, &color);
        value_strategy(&named).prop_map(move |v| (decls.clone(), t.clone(), v))
    })
}

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
