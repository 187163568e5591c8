//! Lowering against flytekit: every row of the measured table in `shared/flyte/README.md` that has
//! a Flow type, with the table's JSON copied verbatim. The one reconciled difference
//! (LANGUAGE.md §8): Flow writes `"metadata": {"python_class_name": "People"}` on each Pickle blob,
//! which the table leaves out; `with_pickle_metadata` adds it to the expected JSON, and everything
//! else is compared exactly, as JSON values (so flytekit's `dataclassType` key order is irrelevant).

use flytec::check::lower::{describe, literal_type, typed_interface};
use flytec::check::types::{DeclKind, Decls, FieldSig, Outputs, Signature, Type};
use flytec::source::Span;
use flytec::syntax::ast::CallableKind;
use serde_json::{json, Value};

/// The declarations the table's rows use.
struct Fixture {
    decls: Decls,
    /// `struct DC { a: int, b: str, c: list[float] }`.
    dc: Type,
    /// `struct DCWithPeople { p: People }`.
    dc_with_people: Type,
    /// `enum Color { red, green }`.
    color: Type,
    /// `class People { name: str }`.
    people: Type,
    /// `extern type X`.
    x: Type,
}

fn field(name: &str, ty: Type) -> FieldSig {
    FieldSig::new(name, ty)
}

fn fixture() -> Fixture {
    let mut decls = Decls::default();
    let people = decls.declare("People", DeclKind::Class(vec![field("name", Type::Str)]));
    let dc = decls.declare(
        "DC",
        DeclKind::Struct(vec![
            field("a", Type::Int),
            field("b", Type::Str),
            field("c", list(Type::Float)),
        ]),
    );
    let dc_with_people = decls.declare(
        "DCWithPeople",
        DeclKind::Struct(vec![field("p", people.clone())]),
    );
    let color = decls.declare("Color", DeclKind::Enum(vec!["red".into(), "green".into()]));
    let x = decls.declare("X", DeclKind::Extern);
    Fixture {
        decls,
        dc,
        dc_with_people,
        color,
        people,
        x,
    }
}

fn list(t: Type) -> Type {
    Type::List(Box::new(t))
}

fn dict(k: Type, v: Type) -> Type {
    Type::Dict(Box::new(k), Box::new(v))
}

/// The table's JSON with `"metadata": {"python_class_name": class}` added beside every Pickle blob.
fn with_pickle_metadata(table_json: &str, class: &str) -> Value {
    fn walk(v: &mut Value, class: &str) {
        match v {
            Value::Object(obj) => {
                if obj.get("blob") == Some(&json!({"format": "PythonPickle"})) {
                    obj.insert("metadata".into(), json!({ "python_class_name": class }));
                }
                obj.values_mut().for_each(|c| walk(c, class));
            }
            Value::Array(items) => items.iter_mut().for_each(|c| walk(c, class)),
            _ => {}
        }
    }
    let mut v: Value = serde_json::from_str(table_json).expect("table JSON parses");
    walk(&mut v, class);
    v
}

/// Asserts that `ty` lowers to the table's JSON (reconciled for Pickle metadata naming `People`).
#[track_caller]
fn assert_row(f: &Fixture, ty: &Type, table_json: &str) {
    assert_row_class(f, ty, table_json, "People");
}

#[track_caller]
fn assert_row_class(f: &Fixture, ty: &Type, table_json: &str, class: &str) {
    let got = literal_type(&f.decls, ty);
    let want = with_pickle_metadata(table_json, class);
    assert_eq!(
        got,
        want,
        "{}:\n got  {got}\n want {want}",
        f.decls.show(ty)
    );
}

#[test]
fn row_str() {
    assert_row(&fixture(), &Type::Str, r#"{"simple":"STRING"}"#);
}

#[test]
fn row_int() {
    assert_row(&fixture(), &Type::Int, r#"{"simple":"INTEGER"}"#);
}

#[test]
fn row_float() {
    assert_row(&fixture(), &Type::Float, r#"{"simple":"FLOAT"}"#);
}

#[test]
fn row_bool() {
    assert_row(&fixture(), &Type::Bool, r#"{"simple":"BOOLEAN"}"#);
}

#[test]
fn row_datetime() {
    assert_row(&fixture(), &Type::Datetime, r#"{"simple":"DATETIME"}"#);
}

#[test]
fn row_duration() {
    assert_row(&fixture(), &Type::Duration, r#"{"simple":"DURATION"}"#);
}

#[test]
fn row_none() {
    assert_row(&fixture(), &Type::None, r#"{"simple":"NONE"}"#);
}

#[test]
fn row_list_int() {
    assert_row(
        &fixture(),
        &list(Type::Int),
        r#"{"collectionType":{"simple":"INTEGER"}}"#,
    );
}

#[test]
fn row_list_list_str() {
    assert_row(
        &fixture(),
        &list(list(Type::Str)),
        r#"{"collectionType":{"collectionType":{"simple":"STRING"}}}"#,
    );
}

#[test]
fn row_dict_str_int() {
    assert_row(
        &fixture(),
        &dict(Type::Str, Type::Int),
        r#"{"mapValueType":{"simple":"INTEGER"}}"#,
    );
}

/// E0401 in Flow; lowered as flytekit does should it ever be asked.
#[test]
fn row_dict_int_str() {
    assert_row(
        &fixture(),
        &dict(Type::Int, Type::Str),
        r#"{"simple":"STRUCT"}"#,
    );
}

#[test]
fn row_dict_str_list_int() {
    assert_row(
        &fixture(),
        &dict(Type::Str, list(Type::Int)),
        r#"{"mapValueType":{"collectionType":{"simple":"INTEGER"}}}"#,
    );
}

#[test]
fn row_optional_int() {
    assert_row(
        &fixture(),
        &Type::optional(Type::Int),
        r#"{"unionType":{"variants":[{"simple":"INTEGER","structure":{"tag":"int"}},{"simple":"NONE","structure":{"tag":"none"}}]}}"#,
    );
}

#[test]
fn row_int_or_str() {
    assert_row(
        &fixture(),
        &Type::union(vec![Type::Int, Type::Str]),
        r#"{"unionType":{"variants":[{"simple":"INTEGER","structure":{"tag":"int"}},{"simple":"STRING","structure":{"tag":"str"}}]}}"#,
    );
}

#[test]
fn row_int_or_str_or_none() {
    assert_row(
        &fixture(),
        &Type::union(vec![Type::Int, Type::Str, Type::None]),
        r#"{"unionType":{"variants":[{"simple":"INTEGER","structure":{"tag":"int"}},{"simple":"STRING","structure":{"tag":"str"}},{"simple":"NONE","structure":{"tag":"none"}}]}}"#,
    );
}

#[test]
fn row_struct_dc() {
    let f = fixture();
    assert_row(
        &f,
        &f.dc,
        r#"{"simple":"STRUCT","structure":{"dataclassType":{"a":{"simple":"INTEGER"},"c":{"collectionType":{"simple":"FLOAT"}},"b":{"simple":"STRING"}}}}"#,
    );
    // Flow keeps declaration order, which flytekit does not promise.
    let got = literal_type(&f.decls, &f.dc);
    let keys: Vec<&String> = got["structure"]["dataclassType"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["a", "b", "c"]);
}

#[test]
fn row_struct_with_class_field() {
    let f = fixture();
    assert_row(
        &f,
        &f.dc_with_people,
        r#"{"simple":"STRUCT","structure":{"dataclassType":{"p":{"blob":{"format":"PythonPickle"}}}}}"#,
    );
}

#[test]
fn row_enum_color() {
    let f = fixture();
    assert_row(&f, &f.color, r#"{"enumType":{"values":["red","green"]}}"#);
}

#[test]
fn row_class_people() {
    let f = fixture();
    assert_row(&f, &f.people, r#"{"blob":{"format":"PythonPickle"}}"#);
    // The reconciled difference, spelled out once.
    assert_eq!(
        literal_type(&f.decls, &f.people),
        json!({"blob": {"format": "PythonPickle"}, "metadata": {"python_class_name": "People"}})
    );
}

#[test]
fn row_list_people() {
    let f = fixture();
    assert_row(
        &f,
        &list(f.people.clone()),
        r#"{"collectionType":{"blob":{"format":"PythonPickle"}}}"#,
    );
}

/// `@batch(n)` is storage, not type (`FieldSig::batch`): `list[People] @batch(2)`,
/// `list[People] @batch(0)` (E0400), `list[int] @batch(2)` (W0101) and `People @batch(2)` (E0400)
/// lower like the type without it, as in flytekit.
#[test]
fn rows_batch_annotations() {
    let f = fixture();
    let list_people = r#"{"collectionType":{"blob":{"format":"PythonPickle"}}}"#;
    for (ty, batch, table) in [
        (list(f.people.clone()), 2, list_people),
        (list(f.people.clone()), 0, list_people),
        (
            list(Type::Int),
            2,
            r#"{"collectionType":{"simple":"INTEGER"}}"#,
        ),
        (f.people.clone(), 2, r#"{"blob":{"format":"PythonPickle"}}"#),
    ] {
        let port = FieldSig {
            batch: Some(batch),
            ..field("x", ty)
        };
        assert_row(&f, &port.ty, table);
        let sig = Signature {
            kind: CallableKind::Task,
            generics: vec![],
            params: vec![port.clone()],
            outputs: Outputs::Nothing,
            output_span: Span::default(),
            builtin: false,
        };
        assert_eq!(
            typed_interface(&f.decls, &sig)["inputs"]["variables"]["x"]["type"],
            with_pickle_metadata(table, "People")
        );
    }
}

#[test]
fn row_list_list_people() {
    let f = fixture();
    assert_row(
        &f,
        &list(list(f.people.clone())),
        r#"{"collectionType":{"collectionType":{"blob":{"format":"PythonPickle"}}}}"#,
    );
}

#[test]
fn row_dict_str_people() {
    let f = fixture();
    assert_row(
        &f,
        &dict(Type::Str, f.people.clone()),
        r#"{"mapValueType":{"blob":{"format":"PythonPickle"}}}"#,
    );
}

#[test]
fn row_optional_people() {
    let f = fixture();
    assert_row(
        &f,
        &Type::optional(f.people.clone()),
        r#"{"unionType":{"variants":[{"blob":{"format":"PythonPickle"},"structure":{"tag":"FlytePickle"}},{"simple":"NONE","structure":{"tag":"none"}}]}}"#,
    );
}

#[test]
fn row_people_or_int() {
    let f = fixture();
    assert_row(
        &f,
        &Type::union(vec![f.people.clone(), Type::Int]),
        r#"{"unionType":{"variants":[{"blob":{"format":"PythonPickle"},"structure":{"tag":"FlytePickle"}},{"simple":"INTEGER","structure":{"tag":"int"}}]}}"#,
    );
}

#[test]
fn row_optional_list_people() {
    let f = fixture();
    assert_row(
        &f,
        &Type::optional(list(f.people.clone())),
        r#"{"unionType":{"variants":[{"collectionType":{"blob":{"format":"PythonPickle"}},"structure":{"tag":"Typed List"}},{"simple":"NONE","structure":{"tag":"none"}}]}}"#,
    );
}

#[test]
fn row_list_dict_str_people() {
    let f = fixture();
    assert_row(
        &f,
        &list(dict(Type::Str, f.people.clone())),
        r#"{"collectionType":{"mapValueType":{"blob":{"format":"PythonPickle"}}}}"#,
    );
}

#[test]
fn row_list_optional_people() {
    let f = fixture();
    assert_row(
        &f,
        &list(Type::optional(f.people.clone())),
        r#"{"collectionType":{"unionType":{"variants":[{"blob":{"format":"PythonPickle"},"structure":{"tag":"FlytePickle"}},{"simple":"NONE","structure":{"tag":"none"}}]}}}"#,
    );
}

#[test]
fn row_file() {
    assert_row(&fixture(), &Type::File, r#"{"blob":{}}"#);
}

#[test]
fn row_dir() {
    assert_row(
        &fixture(),
        &Type::Dir,
        r#"{"blob":{"dimensionality":"MULTIPART"}}"#,
    );
}

#[test]
fn row_extern_type() {
    let f = fixture();
    assert_row_class(&f, &f.x, r#"{"blob":{"format":"PythonPickle"}}"#, "X");
}

/// Flow's own tag choice: struct and enum variants are tagged with their names; the struct's
/// tag joins the `structure` holding its schema.
#[test]
fn struct_and_enum_variants_are_tagged_by_name() {
    let f = fixture();
    let ty = Type::union(vec![f.dc.clone(), f.color.clone(), Type::None]);
    assert_eq!(
        literal_type(&f.decls, &ty),
        json!({"unionType": {"variants": [
            {"simple": "STRUCT", "structure": {
                "dataclassType": {
                    "a": {"simple": "INTEGER"},
                    "b": {"simple": "STRING"},
                    "c": {"collectionType": {"simple": "FLOAT"}},
                },
                "tag": "DC",
            }},
            {"enumType": {"values": ["red", "green"]}, "structure": {"tag": "Color"}},
            {"simple": "NONE", "structure": {"tag": "none"}},
        ]}})
    );
}

#[test]
fn describe_reads_like_the_literal_type() {
    let f = fixture();
    let d = &f.decls;
    assert_eq!(
        describe(d, &list(f.people.clone())),
        "collection of PythonPickle"
    );
    assert_eq!(describe(d, &dict(Type::Str, Type::Int)), "map of INTEGER");
    assert_eq!(
        describe(d, &Type::optional(Type::Int)),
        "union of INTEGER | NONE"
    );
    assert_eq!(describe(d, &f.dc), "STRUCT DC");
    assert_eq!(describe(d, &f.color), "enum [red, green]");
    assert_eq!(describe(d, &Type::File), "blob (single)");
    assert_eq!(describe(d, &Type::Error), "no Flyte type");
}

/// ```flow
/// ## Keeps the rows worth keeping.
/// task clean(
///     ## The rows to look at.
///     rows: list[People] @batch(2),
///     limit: int = 10,
///     color: Color?,
/// ) -> (
///     ## Rows that passed.
///     kept: list[DC],
///     dropped: int,
/// )
/// ```
#[test]
fn typed_interface_of_a_task() {
    let f = fixture();
    let sig = Signature {
        kind: CallableKind::Task,
        generics: vec![],
        params: vec![
            FieldSig {
                batch: Some(2),
                doc: Some(" The rows to look at.".into()),
                ..field("rows", list(f.people.clone()))
            },
            FieldSig {
                has_default: true,
                ..field("limit", Type::Int)
            },
            field("color", Type::optional(f.color.clone())),
        ],
        outputs: Outputs::Named(vec![
            FieldSig {
                doc: Some(" Rows that passed.".into()),
                ..field("kept", list(f.dc.clone()))
            },
            field("dropped", Type::Int),
        ]),
        output_span: Span::default(),
        builtin: false,
    };
    let iface = typed_interface(&f.decls, &sig);
    let inputs: Vec<&String> = iface["inputs"]["variables"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(inputs, ["rows", "limit", "color"]);
    insta::assert_json_snapshot!("typed_interface_clean", iface);
}

#[test]
fn typed_interface_single_and_no_outputs() {
    let f = fixture();
    let mut sig = Signature {
        kind: CallableKind::Workflow,
        generics: vec![],
        params: vec![],
        outputs: Outputs::Single(field("o0", f.people.clone())),
        output_span: Span::default(),
        builtin: false,
    };
    assert_eq!(
        typed_interface(&f.decls, &sig),
        json!({
            "inputs": {"variables": {}},
            "outputs": {"variables": {"o0": {
                "type": {"blob": {"format": "PythonPickle"}, "metadata": {"python_class_name": "People"}},
                "description": "o0",
            }}},
        })
    );
    sig.outputs = Outputs::Nothing;
    assert_eq!(
        typed_interface(&f.decls, &sig),
        json!({"inputs": {"variables": {}}, "outputs": {"variables": {}}})
    );
}
