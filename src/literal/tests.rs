//! Consumes fixture declarations and values and checks the literals written for them (exact
//! flyteidl JSON of scalars, collections, structs, unions and literal maps; errors) and that every
//! value reads back. Its fixtures serve the `json` and `pickled` tests too.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::*;
use crate::check::types::{DeclKind, FieldSig};

fn field(name: &str, ty: Type) -> FieldSig {
    FieldSig::new(name, ty)
}

/// Declarations of every kind, and the types they declare.
pub(super) struct Fx {
    pub(super) decls: Decls,
    pub(super) people: Type,
    pub(super) point: Type,
    pub(super) color: Type,
    pub(super) x: Type,
    pub(super) alias: Type,
    pub(super) holder: Type,
}

/// The fixture declarations.
pub(super) fn fx() -> Fx {
    let mut decls = Decls::default();
    let people = decls.declare("People", DeclKind::Class(vec![field("name", Type::Str)]));
    let color = decls.declare("Color", DeclKind::Enum(vec!["Red".into(), "Green".into()]));
    let point = decls.declare(
        "Point",
        DeclKind::Struct(vec![
            field("x", Type::Int),
            field("y", Type::Float),
            field("tags", Type::List(Box::new(Type::Str))),
            field("color", color.clone()),
            field("when", Type::optional(Type::Datetime)),
            field("wait", Type::Duration),
            field("f", Type::File),
        ]),
    );
    let x = decls.declare("X", DeclKind::Extern);
    let alias = decls.declare("P", DeclKind::Alias(people.clone()));
    let mut batched = field("ps", Type::List(Box::new(people.clone())));
    batched.batch = Some(2);
    let mut defaulted = field("n", Type::Int);
    defaulted.has_default = true;
    let holder = decls.declare(
        "Holder",
        DeclKind::Struct(vec![
            field("p", people.clone()),
            batched,
            field("pt", Type::optional(point.clone())),
            defaulted,
        ]),
    );
    Fx {
        decls,
        people,
        point,
        color,
        x,
        alias,
        holder,
    }
}

/// `list[t]`.
pub(super) fn list(t: &Type) -> Type {
    Type::List(Box::new(t.clone()))
}

/// `dict[str, t]`.
pub(super) fn dict(t: &Type) -> Type {
    Type::Dict(Box::new(Type::Str), Box::new(t.clone()))
}

/// A value of the class `People`.
pub(super) fn person(name: &str) -> Value {
    Value::record("People", vec![("name", Value::str(name))])
}

/// A value of the struct `Point`, with every kind of field.
pub(super) fn point() -> Value {
    Value::record(
        "Point",
        vec![
            ("x", Value::Int(3)),
            ("y", Value::Float(0.5)),
            ("tags", Value::list(vec![Value::str("a")])),
            ("color", Value::Enum("Color".into(), "Green".into())),
            ("when", Value::None),
            ("wait", Value::Duration(90_000_000)),
            ("f", Value::Path("/tmp/a.txt".into())),
        ],
    )
}

/// A dict value of `items`, in order.
pub(super) fn dict_value(items: Vec<(&str, Value)>) -> Value {
    Value::Dict(Arc::new(
        items.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    ))
}

/// The literal of `v` (no `@batch`), which must convert.
pub(super) fn lit(v: &Value, ty: &Type, f: &Fx, blobs: &MemoryBlobs) -> Json {
    to_literal(v, ty, None, &f.decls, blobs).unwrap()
}

/// Converts to a literal and back, checking the value survives.
pub(super) fn round_trip(v: &Value, ty: &Type, batch: Option<u32>, f: &Fx) -> Json {
    let blobs = MemoryBlobs::new();
    let l = to_literal(v, ty, batch, &f.decls, &blobs).unwrap();
    let back = from_literal(&l, ty, &f.decls, &blobs).unwrap();
    assert_eq!(&back, v, "literal {l}");
    l
}

#[test]
fn primitives_exact_json() {
    let f = fx();
    let b = MemoryBlobs::new();
    assert_eq!(
        lit(&Value::Int(5), &Type::Int, &f, &b),
        json!({"scalar":{"primitive":{"integer":"5"}}})
    );
    assert_eq!(
        lit(&Value::Float(1.5), &Type::Float, &f, &b),
        json!({"scalar":{"primitive":{"floatValue":1.5}}})
    );
    assert_eq!(
        lit(&Value::Float(f64::NAN), &Type::Float, &f, &b),
        json!({"scalar":{"primitive":{"floatValue":"NaN"}}})
    );
    assert_eq!(
        lit(&Value::str("hi"), &Type::Str, &f, &b),
        json!({"scalar":{"primitive":{"stringValue":"hi"}}})
    );
    assert_eq!(
        lit(&Value::Bool(false), &Type::Bool, &f, &b),
        json!({"scalar":{"primitive":{"boolean":false}}})
    );
    assert_eq!(
        lit(
            &Value::Datetime(1_704_067_200_000_000),
            &Type::Datetime,
            &f,
            &b
        ),
        json!({"scalar":{"primitive":{"datetime":"2024-01-01T00:00:00Z"}}})
    );
    assert_eq!(
        lit(&Value::Duration(1_500_000), &Type::Duration, &f, &b),
        json!({"scalar":{"primitive":{"duration":"1.500s"}}})
    );
    assert_eq!(
        lit(&Value::None, &Type::None, &f, &b),
        json!({"scalar":{"noneType":{}}})
    );
    assert_eq!(
        lit(&Value::Path("s3://b/f".into()), &Type::File, &f, &b),
        json!({"scalar":{"blob":{"metadata":{"type":{}},"uri":"s3://b/f"}}})
    );
    assert_eq!(
        lit(&Value::Path("/d".into()), &Type::Dir, &f, &b),
        json!({"scalar":{"blob":{"metadata":{"type":{"dimensionality":"MULTIPART"}},"uri":"/d"}}})
    );
    assert_eq!(
        lit(&Value::Enum("Color".into(), "Red".into()), &f.color, &f, &b),
        json!({"scalar":{"primitive":{"stringValue":"Red"}}})
    );
    // An int where a float is expected is widened.
    assert_eq!(
        lit(&Value::Int(2), &Type::Float, &f, &b),
        json!({"scalar":{"primitive":{"floatValue":2.0}}})
    );
    assert!(b.is_empty());
}

#[test]
fn collections_exact_json() {
    let f = fx();
    let b = MemoryBlobs::new();
    assert_eq!(
        lit(
            &Value::list(vec![Value::Int(1), Value::Int(2)]),
            &list(&Type::Int),
            &f,
            &b
        ),
        json!({"collection":{"literals":[
            {"scalar":{"primitive":{"integer":"1"}}},
            {"scalar":{"primitive":{"integer":"2"}}}
        ]}})
    );
    assert_eq!(
        lit(&Value::list(vec![]), &list(&Type::Int), &f, &b),
        json!({"collection":{"literals":[]}})
    );
    assert_eq!(
        lit(
            &dict_value(vec![("a", Value::str("x"))]),
            &dict(&Type::Str),
            &f,
            &b
        ),
        json!({"map":{"literals":{"a":{"scalar":{"primitive":{"stringValue":"x"}}}}}})
    );
}

#[test]
fn struct_is_generic_json() {
    let f = fx();
    let b = MemoryBlobs::new();
    assert_eq!(
        lit(&point(), &f.point, &f, &b),
        json!({"scalar":{"generic":{
            "x": 3, "y": 0.5, "tags": ["a"], "color": "Green", "when": null,
            "wait": 90.0, "f": {"path": "/tmp/a.txt"}
        }}})
    );
    round_trip(&point(), &f.point, None, &f);
}

#[test]
fn struct_reads_protobuf_doubles_and_plain_forms() {
    let f = fx();
    let b = MemoryBlobs::new();
    let l = json!({"scalar":{"generic":{
        "x": 3.0, "y": 0.5, "tags": ["a"], "color": "Green", "when": "2024-01-01T00:00:00+00:00",
        "wait": "90s", "f": "/tmp/a.txt"
    }}});
    let v = from_literal(&l, &f.point, &f.decls, &b).unwrap();
    assert_eq!(v.field("x"), Some(&Value::Int(3)));
    assert_eq!(
        v.field("when"),
        Some(&Value::Datetime(1_704_067_200_000_000))
    );
    assert_eq!(v.field("wait"), Some(&Value::Duration(90_000_000)));
    assert_eq!(v.field("f"), Some(&Value::Path("/tmp/a.txt".into())));
}

#[test]
fn struct_reads_flytekit_msgpack() {
    let mut decls = Decls::default();
    let ab = decls.declare(
        "AB",
        DeclKind::Struct(vec![field("a", Type::Int), field("b", Type::Str)]),
    );
    // msgpack of {"a": 1, "b": "hi"}.
    let l = json!({"scalar":{"binary":{"value":"gqFhAaFiomhp","tag":"msgpack"}}});
    let v = from_literal(&l, &ab, &decls, &MemoryBlobs::new()).unwrap();
    assert_eq!(
        v,
        Value::record("AB", vec![("a", Value::Int(1)), ("b", Value::str("hi"))])
    );
}

#[test]
fn unions() {
    let f = fx();
    let b = MemoryBlobs::new();
    let opt_int = Type::optional(Type::Int);
    assert_eq!(
        lit(&Value::Int(5), &opt_int, &f, &b),
        json!({"scalar":{"union":{
            "value":{"scalar":{"primitive":{"integer":"5"}}},
            "type":{"simple":"INTEGER","structure":{"tag":"int"}}
        }}})
    );
    assert_eq!(
        lit(&Value::None, &opt_int, &f, &b),
        json!({"scalar":{"union":{
            "value":{"scalar":{"noneType":{}}},
            "type":{"simple":"NONE","structure":{"tag":"none"}}
        }}})
    );
    // An int picks the int member, even after a float one; widens to a float member alone.
    let float_or_int = Type::Union(vec![Type::Float, Type::Int]);
    let l = round_trip(&Value::Int(1), &float_or_int, None, &f);
    assert_eq!(l["scalar"]["union"]["type"]["simple"], "INTEGER");
    let l = lit(&Value::Int(1), &Type::optional(Type::Float), &f, &b);
    assert_eq!(
        l["scalar"]["union"]["value"],
        json!({"scalar":{"primitive":{"floatValue":1.0}}})
    );
    // Lists are matched item-wise.
    let lists = Type::Union(vec![list(&Type::Int), list(&Type::Str)]);
    let l = round_trip(&Value::list(vec![Value::str("a")]), &lists, None, &f);
    assert_eq!(
        l["scalar"]["union"]["type"]["structure"]["tag"],
        "Typed List"
    );
    // A Pickle member is one file, with the blob's metadata in the variant type.
    let opt_people = Type::optional(f.people.clone());
    let l = round_trip(&person("a"), &opt_people, None, &f);
    assert_eq!(
        l["scalar"]["union"]["type"],
        json!({"blob":{"format":"PythonPickle"},"metadata":{"python_class_name":"People"},
               "structure":{"tag":"FlytePickle"}})
    );
    round_trip(&Value::None, &opt_people, None, &f);
    // A batched optional list keeps its batches.
    let opt_list = Type::optional(list(&f.people));
    let b = MemoryBlobs::new();
    let three = Value::list(vec![person("a"), person("b"), person("c")]);
    let l = to_literal(&three, &opt_list, Some(2), &f.decls, &b).unwrap();
    assert_eq!(
        l["scalar"]["union"]["value"]["collection"]["literals"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(from_literal(&l, &opt_list, &f.decls, &b).unwrap(), three);
    // Struct and enum members.
    let su = Type::Union(vec![f.color.clone(), f.point.clone(), Type::Str]);
    round_trip(&point(), &su, None, &f);
    round_trip(&Value::Enum("Color".into(), "Red".into()), &su, None, &f);
    round_trip(&Value::str("Red"), &su, None, &f);
}

#[test]
fn union_reading_is_lenient() {
    let f = fx();
    let b = MemoryBlobs::new();
    let opt_point = Type::optional(f.point.clone());
    // flytekit tags a dataclass variant with its transformer name.
    let mut l = lit(&point(), &opt_point, &f, &b);
    l["scalar"]["union"]["type"]["structure"]["tag"] = json!("Object-Dataclass-Transformer");
    assert_eq!(from_literal(&l, &opt_point, &f.decls, &b).unwrap(), point());
    // A member's literal without the union wrapper.
    let opt_int = Type::optional(Type::Int);
    let l = json!({"scalar":{"primitive":{"integer":"7"}}});
    assert_eq!(
        from_literal(&l, &opt_int, &f.decls, &b).unwrap(),
        Value::Int(7)
    );
}

#[test]
fn every_type_round_trips() {
    let f = fx();
    let cases: Vec<(Value, Type)> = vec![
        (Value::Int(-9_007_199_254_740_993), Type::Int),
        (Value::Float(-0.25), Type::Float),
        (Value::Float(f64::INFINITY), Type::Float),
        (Value::str("ünïcödé \"q\""), Type::Str),
        (Value::Bool(true), Type::Bool),
        (Value::Datetime(-1), Type::Datetime),
        (Value::Datetime(1_704_067_200_123_456), Type::Datetime),
        (Value::Datetime(-62_135_596_800_000_000), Type::Datetime),
        (Value::Duration(-500_000), Type::Duration),
        (Value::Duration(1), Type::Duration),
        (Value::None, Type::None),
        (Value::Path("a/b".into()), Type::File),
        (Value::Path("a/".into()), Type::Dir),
        (
            Value::list(vec![Value::list(vec![Value::Int(1)]), Value::list(vec![])]),
            list(&list(&Type::Int)),
        ),
        (
            dict_value(vec![("z", Value::Float(1.0)), ("a", Value::Float(2.5))]),
            dict(&Type::Float),
        ),
        (point(), f.point.clone()),
        (Value::Enum("Color".into(), "Red".into()), f.color.clone()),
        (person("p"), f.people.clone()),
        (Value::opaque(vec![128, 5]), f.x.clone()),
        (
            Value::list(vec![Value::Int(1), Value::None]),
            list(&Type::optional(Type::Int)),
        ),
    ];
    for (v, ty) in &cases {
        round_trip(v, ty, None, &f);
    }
}

#[test]
fn literal_maps() {
    let f = fx();
    let b = MemoryBlobs::new();
    let (x, s) = (Value::Int(1), Value::str("a"));
    let m = to_literal_map(
        &[("x", &x, &Type::Int, None), ("s", &s, &Type::Str, None)],
        &f.decls,
        &b,
    )
    .unwrap();
    assert_eq!(
        m,
        json!({"literals":{
            "x":{"scalar":{"primitive":{"integer":"1"}}},
            "s":{"scalar":{"primitive":{"stringValue":"a"}}}
        }})
    );
    assert_eq!(
        from_literal_map(&m, &[("s", &Type::Str), ("x", &Type::Int)], &f.decls, &b).unwrap(),
        vec![s.clone(), x.clone()]
    );
    let err = from_literal_map(&m, &[("y", &Type::Int)], &f.decls, &b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the literal map has no `y` (of type `int`)"
    );
    let bad = Value::list(vec![person("a"), Value::None]);
    let ty = list(&f.people);
    let err = to_literal_map(&[("o0", &bad, &ty, None)], &f.decls, &b).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("at `o0[1]`: item 1 of the list is `none`"),
        "{err}"
    );
    assert_eq!(
        to_literal_map(&[], &f.decls, &b).unwrap(),
        json!({"literals":{}})
    );
}

#[test]
fn errors_name_types_and_places() {
    let f = fx();
    let b = MemoryBlobs::new();
    let err = to_literal(&Value::str("x"), &Type::Int, None, &f.decls, &b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected a value of type `int`, found the string \"x\""
    );
    let err = to_literal(
        &Value::list(vec![Value::Int(1), Value::str("x")]),
        &list(&Type::Int),
        None,
        &f.decls,
        &b,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "at `[1]`: expected a value of type `int`, found the string \"x\""
    );
    let err = from_literal(
        &json!({"scalar":{"primitive":{"stringValue":"x"}}}),
        &Type::Int,
        &f.decls,
        &b,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("scalar.primitive.integer"),
        "{err}"
    );
    let err = from_literal(
        &json!({"scalar":{"primitive":{"stringValue":"Blue"}}}),
        &f.color,
        &f.decls,
        &b,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`Blue` is not a variant of the enum `Color` (its variants: Red, Green)"
    );
    let err = to_literal(
        &Value::Datetime(i64::MAX),
        &Type::Datetime,
        None,
        &f.decls,
        &b,
    )
    .unwrap_err();
    assert!(err.to_string().contains("years 1 to 9999"), "{err}");
    let err = from_literal(
        &json!({"scalar":{"blob":{"uri":"mem://99"}}}),
        &f.people,
        &f.decls,
        &b,
    )
    .unwrap_err();
    assert!(err.to_string().contains("mem://99"), "{err}");
    let err = to_literal(
        &Value::Tuple(Arc::new(vec![])),
        &Type::Tuple(vec![]),
        None,
        &f.decls,
        &b,
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot be converted"), "{err}");
}

#[test]
fn from_literal_widens_ints() {
    let f = fx();
    let l = json!({"scalar":{"primitive":{"integer":"3"}}});
    assert_eq!(
        from_literal(&l, &Type::Float, &f.decls, &MemoryBlobs::new()).unwrap(),
        Value::Float(3.0)
    );
    let l = json!({"scalar":{"primitive":{"integer":4}}});
    assert_eq!(
        from_literal(&l, &Type::Int, &f.decls, &MemoryBlobs::new()).unwrap(),
        Value::Int(4)
    );
}

#[test]
fn memory_blobs_are_shared_across_threads() {
    let b = MemoryBlobs::new();
    std::thread::scope(|s| {
        for i in 0..4u8 {
            let b = &b;
            s.spawn(move || b.write(&[i]).unwrap());
        }
    });
    assert_eq!(b.len(), 4);
    assert!(b.read("mem://7").is_err());
}
