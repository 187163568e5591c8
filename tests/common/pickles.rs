//! Helpers shared by the pickle tests (`pickle_interop`, `pickle_serde_pickle`), which include
//! this file with `#[path]`: running `python3`, a small Flow program's declarations and values,
//! and proptest strategies of generated types with values of them.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use flytec::check::types::{DeclKind, Decls, FieldSig, Type};
use flytec::value::Value;
use proptest::prelude::*;

/// Runs `python3 -c SCRIPT ARGS…` and returns its stdout; fails the test if python3 is missing
/// or the script fails.
pub fn python(script: &str, args: &[&Path]) -> String {
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

/// The files in `dir`, by name, sorted.
pub fn dumped(dir: &Path) -> Vec<(String, Vec<u8>)> {
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

/// Runs `python3 -c SCRIPT MODULE_DIR OUT_DIR`, where MODULE_DIR holds `flowmod.py`, the Python
/// twins of [`program`]'s `People` (a plain class) and `Color` (an `enum.Enum`), and returns the
/// files the script wrote into OUT_DIR, by name.
pub fn dump_with_flowmod(script: &str) -> Vec<(String, Vec<u8>)> {
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
    python(script, &[dir.path(), &out]);
    dumped(&out)
}

pub fn field(name: &str, ty: Type) -> FieldSig {
    FieldSig::new(name, ty)
}

/// `class People { name: str }`, `enum Color { Red, Green }`, and
/// `struct Team { lead: People?, members: list[People], color: Color, scores: dict[str, float] }`.
pub fn program() -> (Decls, Type, Type, Type) {
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

pub fn person(name: &str) -> Value {
    Value::record("People", vec![("name", Value::str(name))])
}

/// A `Team` led by `l`, with members `a` and `b`, of the color `color`, with these scores.
pub fn team(color: &str, scores: Vec<(&str, Value)>) -> Value {
    Value::record(
        "Team",
        vec![
            ("lead", person("l")),
            ("members", Value::list(vec![person("a"), person("b")])),
            ("color", Value::Enum(Arc::from("Color"), Arc::from(color))),
            ("scores", dict(scores)),
        ],
    )
}

/// A `Wide` record of `n` int fields, `f0` holding 0 to `f{n-1}` holding `n - 1`: past the 256
/// memo indices that `BINGET` reaches when `n` is larger.
pub fn wide_record(n: usize) -> Value {
    let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
    Value::record(
        "Wide",
        names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.as_str(), Value::Int(i as i64)))
            .collect(),
    )
}

pub fn dict(pairs: Vec<(&str, Value)>) -> Value {
    Value::Dict(Arc::new(
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    ))
}

pub fn list_of(t: &Type) -> Type {
    Type::List(Box::new(t.clone()))
}

// ---------------------------------------------------------------------------------------------
// Generated values of generated types, for property tests
// ---------------------------------------------------------------------------------------------

/// A type to generate, before its records are declared.
#[derive(Clone, Debug)]
pub enum Ty {
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

pub fn ty_strategy() -> impl Strategy<Value = Ty> {
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
pub enum Named {
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

pub fn declare(ty: &Ty, decls: &mut Decls, color: &Type) -> (Type, Named) {
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

pub fn value_strategy(ty: &Named) -> BoxedStrategy<Value> {
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

pub fn typed_value() -> impl Strategy<Value = (Decls, Type, Value)> {
    ty_strategy().prop_flat_map(|ty| {
        let mut decls = Decls::default();
        let color = decls.declare("Color", DeclKind::Enum(vec!["Red".into(), "Green".into()]));
        let (t, named) = declare(&ty, &mut decls, &color);
        value_strategy(&named).prop_map(move |v| (decls.clone(), t.clone(), v))
    })
}
