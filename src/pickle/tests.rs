//! Unit tests of the pickle writer and reader.

use std::sync::Arc;

use super::*;
use crate::check::types::{DeclKind, FieldSig};
use crate::value::Record;

/// A program's declarations: `struct Point {x: float, y: float}`, `class People {name: str}`,
/// `class Tagged {tag: str, n: int = 0}`, `enum Color {Red, Green}`, `extern type Tensor`,
/// `type Names = list[str]`.
struct Fx {
    decls: Decls,
    point: Type,
    people: Type,
    tagged: Type,
    color: Type,
    tensor: Type,
    names: Type,
}

fn field(name: &str, ty: Type, has_default: bool) -> FieldSig {
    FieldSig {
        has_default,
        ..FieldSig::new(name, ty)
    }
}

fn fx() -> Fx {
    let mut decls = Decls::default();
    let point = decls.declare(
        "Point",
        DeclKind::Struct(vec![
            field("x", Type::Float, false),
            field("y", Type::Float, false),
        ]),
    );
    let people = decls.declare(
        "People",
        DeclKind::Class(vec![field("name", Type::Str, false)]),
    );
    let tagged = decls.declare(
        "Tagged",
        DeclKind::Class(vec![
            field("tag", Type::Str, false),
            field("n", Type::Int, true),
        ]),
    );
    let color = decls.declare("Color", DeclKind::Enum(vec!["Red".into(), "Green".into()]));
    let tensor = decls.declare("Tensor", DeclKind::Extern);
    let names = decls.declare("Names", DeclKind::Alias(Type::List(Box::new(Type::Str))));
    Fx {
        decls,
        point,
        people,
        tagged,
        color,
        tensor,
        names,
    }
}

fn list(t: &Type) -> Type {
    Type::List(Box::new(t.clone()))
}

fn person(name: &str) -> Value {
    Value::record("People", vec![("name", Value::str(name))])
}

fn dict(pairs: &[(&str, Value)]) -> Value {
    Value::Dict(Arc::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    ))
}

#[track_caller]
fn round_trip(v: Value, ty: &Type, decls: &Decls) {
    let bytes = encode(&v).unwrap();
    assert_eq!(&bytes[..2], b"\x80\x04", "protocol 4");
    let back = decode(&bytes, ty, decls).unwrap();
    assert_eq!(back, v, "{}", decls.show(ty));
    // `==` ignores dict order; `Debug` does not.
    assert_eq!(format!("{back:?}"), format!("{v:?}"));
}

#[test]
fn every_kind_of_value_round_trips() {
    let f = fx();
    let d = &f.decls;
    round_trip(Value::None, &Type::None, d);
    round_trip(Value::Bool(true), &Type::Bool, d);
    round_trip(Value::Bool(false), &Type::Bool, d);
    for i in [
        0,
        1,
        -1,
        255,
        256,
        65535,
        65536,
        -(1 << 31),
        1 << 31,
        i64::MIN,
        i64::MAX,
    ] {
        round_trip(Value::Int(i), &Type::Int, d);
    }
    for x in [0.0, -0.0, 1.5, -2.25e300, f64::INFINITY, f64::MIN_POSITIVE] {
        round_trip(Value::Float(x), &Type::Float, d);
    }
    for s in ["", "f", "héllo wörld ✓ 🎉", &"x".repeat(300)] {
        round_trip(Value::str(s), &Type::Str, d);
    }
    for us in [
        0,
        1_500_000,
        1_700_000_000_123_456,
        -1,
        -86_400_000_000 * 365,
        253_402_300_800_000_000, // 10000-01-01
        -62_167_219_200_000_001, // just before 0000-01-01
    ] {
        round_trip(Value::Datetime(us), &Type::Datetime, d);
    }
    for us in [0, 1, -1, 1_500_000, -86_400_000_000, 3_600_000_000_123] {
        round_trip(Value::Duration(us), &Type::Duration, d);
    }
    round_trip(Value::Path(Arc::from("s3://bucket/a.csv")), &Type::File, d);
    round_trip(Value::Path(Arc::from("/tmp/dir")), &Type::Dir, d);
    round_trip(
        Value::list(vec![Value::Int(1), Value::Int(2)]),
        &list(&Type::Int),
        d,
    );
    round_trip(Value::list(vec![]), &list(&Type::Int), d);
    round_trip(
        Value::list(vec![
            Value::list(vec![Value::str("a")]),
            Value::list(vec![]),
        ]),
        &list(&list(&Type::Str)),
        d,
    );
    // Insertion order, not sorted order.
    round_trip(
        dict(&[("b", Value::Int(1)), ("a", Value::Int(2))]),
        &Type::Dict(Box::new(Type::Str), Box::new(Type::Int)),
        d,
    );
    round_trip(
        Value::Tuple(Arc::new(vec![Value::Int(1), Value::str("x")])),
        &Type::Tuple(vec![Type::Int, Type::Str]),
        d,
    );
    round_trip(Value::Tuple(Arc::new(vec![])), &Type::Tuple(vec![]), d);
    round_trip(
        Value::record(
            "Point",
            vec![("x", Value::Float(1.0)), ("y", Value::Float(-2.5))],
        ),
        &f.point,
        d,
    );
    round_trip(person("f"), &f.people, d);
    round_trip(
        Value::Enum(Arc::from("Color"), Arc::from("Green")),
        &f.color,
        d,
    );
    round_trip(Value::list(vec![Value::str("a")]), &f.names, d);
    // A list of 2500 records crosses the pickler's 1000-item APPENDS batches.
    let many: Vec<Value> = (0..2500).map(|i| person(&format!("p{i}"))).collect();
    round_trip(Value::list(many.clone()), &list(&f.people), d);
    // Records sharing their field names' allocations, as the interpreter builds them, are
    // written with the name once and memo fetches after.
    let name: Arc<str> = Arc::from("name");
    let shared: Vec<Value> = (0..3)
        .map(|i| {
            Value::Record(Arc::new(Record {
                type_name: Arc::from("People"),
                fields: vec![(name.clone(), Value::str(i.to_string()))],
            }))
        })
        .collect();
    let bytes = encode(&Value::list(shared.clone())).unwrap();
    assert_eq!(
        bytes,
        b"\x80\x04](}\x8c\x04name\x94\x8c\x010s}h\x00\x8c\x011s}h\x00\x8c\x012se."
    );
    round_trip(Value::list(shared), &list(&f.people), d);
    // A dict past 1000 items; tuples of every length.
    round_trip(
        Value::Dict(Arc::new(
            (0..2001)
                .map(|i| (format!("k{i}"), Value::Int(i)))
                .collect(),
        )),
        &Type::Dict(Box::new(Type::Str), Box::new(Type::Int)),
        d,
    );
    for n in 0..6 {
        round_trip(
            Value::Tuple(Arc::new((0..n).map(Value::Int).collect())),
            &Type::Tuple(vec![Type::Int; n as usize]),
            d,
        );
    }
}

#[test]
fn more_than_256_field_names_are_memoized() {
    let mut decls = Decls::default();
    let names: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
    let wide = decls.declare(
        "Wide",
        DeclKind::Struct(names.iter().map(|n| field(n, Type::Int, false)).collect()),
    );
    let record = || {
        Value::record(
            "Wide",
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), Value::Int(i as i64 - 150)))
                .collect(),
        )
    };
    let v = Value::list(vec![record(), record()]);
    let bytes = encode(&v).unwrap();
    // The second record fetches its names from the memo, `f256` on with LONG_BINGET.
    assert!(bytes.windows(5).any(|w| w == [op::LONG_BINGET, 0, 1, 0, 0]));
    round_trip(v, &list(&wide), &decls);
    direct_reads(&[record(), record()], &wide, &decls);
}

#[test]
fn optionals_and_unions() {
    let f = fx();
    let d = &f.decls;
    let opt = Type::optional(f.people.clone());
    round_trip(Value::None, &opt, d);
    round_trip(person("f"), &opt, d);
    round_trip(Value::list(vec![person("a"), Value::None]), &list(&opt), d);
    // Without widening first: an int stays an int, a float a float, in either order.
    let int_float = Type::Union(vec![Type::Int, Type::Float]);
    let float_int = Type::Union(vec![Type::Float, Type::Int]);
    for ty in [&int_float, &float_int] {
        round_trip(Value::Int(3), ty, d);
        round_trip(Value::Float(3.0), ty, d);
    }
    // `str | Color`: members are tried in order.
    let bytes = encode(&Value::str("Red")).unwrap();
    assert_eq!(
        decode(&bytes, &Type::Union(vec![f.color.clone(), Type::Str]), d).unwrap(),
        Value::Enum(Arc::from("Color"), Arc::from("Red"))
    );
    assert_eq!(
        decode(&bytes, &Type::Union(vec![Type::Str, f.color.clone()]), d).unwrap(),
        Value::str("Red")
    );
    // A record member's own error is more useful than "expected a union".
    let bytes = encode(&dict(&[("nom", Value::str("f"))])).unwrap();
    let err = decode(&bytes, &opt, d).unwrap_err();
    assert!(matches!(err, PickleError::MissingField { .. }), "{err}");
}

#[test]
fn an_int_is_read_where_a_float_is_expected() {
    let f = fx();
    let bytes = encode(&dict(&[("x", Value::Int(1)), ("y", Value::Int(-2))])).unwrap();
    assert_eq!(
        decode(&bytes, &f.point, &f.decls).unwrap(),
        Value::record(
            "Point",
            vec![("x", Value::Float(1.0)), ("y", Value::Float(-2.0))]
        )
    );
    let bytes = encode(&Value::Int(2)).unwrap();
    assert_eq!(
        decode(&bytes, &Type::Duration, &f.decls).unwrap(),
        Value::Duration(2_000_000)
    );
}

#[test]
fn records_are_dicts_of_their_fields_and_enums_their_names() {
    let f = fx();
    let v = Value::list(vec![
        Value::record(
            "Point",
            vec![("x", Value::Float(1.0)), ("y", Value::Float(2.0))],
        ),
        Value::Enum(Arc::from("Color"), Arc::from("Red")),
    ]);
    let bytes = encode(&v).unwrap();
    let as_dicts = Type::List(Box::new(Type::Union(vec![
        Type::Dict(Box::new(Type::Str), Box::new(Type::Float)),
        Type::Str,
    ])));
    assert_eq!(
        decode(&bytes, &as_dicts, &f.decls).unwrap(),
        Value::list(vec![
            dict(&[("x", Value::Float(1.0)), ("y", Value::Float(2.0))]),
            Value::str("Red"),
        ])
    );
    // Keys in another order than the declaration's are fine.
    let bytes = encode(&dict(&[("y", Value::Float(2.0)), ("x", Value::Float(1.0))])).unwrap();
    assert_eq!(
        decode(&bytes, &f.point, &f.decls).unwrap(),
        Value::record(
            "Point",
            vec![("x", Value::Float(1.0)), ("y", Value::Float(2.0))]
        )
    );
}

#[test]
fn datetimes_are_iso_strings_and_durations_seconds() {
    assert_eq!(format_datetime(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_datetime(1_500_000), "1970-01-01T00:00:01.500Z");
    assert_eq!(
        format_datetime(1_700_000_000_123_456),
        "2023-11-14T22:13:20.123456Z"
    );
    assert_eq!(format_datetime(-1), "1969-12-31T23:59:59.999999Z");
    assert_eq!(
        format_datetime(253_402_300_800_000_000),
        "+10000-01-01T00:00:00Z"
    );
    let t = 1_704_164_645_000_000; // 2024-01-02T03:04:05Z
    for text in [
        "2024-01-02T03:04:05Z",
        "2024-01-02T03:04:05+00:00",
        "2024-01-02 03:04:05",
        "2024-01-02T04:04:05+01:00",
        "2024-01-02T02:04:05-0100",
        "2024-01-02T03:04:05.000000Z",
    ] {
        assert_eq!(parse_datetime(text), Ok(t), "{text}");
    }
    assert_eq!(parse_datetime("2024-01-02"), Ok(t - 11_045_000_000));
    assert_eq!(parse_datetime("2024-01-02T03:04Z"), Ok(t - 5_000_000));
    assert_eq!(
        parse_datetime("2024-01-02T03:04:05.1234567Z"),
        Ok(t + 123_456)
    );
    for bad in [
        "",
        "2024",
        "2024-13-01",
        "2023-02-29",
        "2024-01-02T24:00:00",
        "2024-01-02Tx",
        "2024-01-02T03:04:05Zjunk",
    ] {
        assert!(parse_datetime(bad).is_err(), "{bad}");
    }
    assert_eq!(
        encode(&Value::Duration(1_500_000)).unwrap(),
        encode(&Value::Float(1.5)).unwrap()
    );
    assert_eq!(
        encode(&Value::Datetime(t)).unwrap(),
        encode(&Value::str("2024-01-02T03:04:05Z")).unwrap()
    );
}

#[test]
fn extern_values_are_their_own_pickle() {
    let f = fx();
    let inner = b"\x80\x05\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x07.".to_vec();
    let opaque = Value::opaque(inner.clone());
    assert_eq!(encode(&opaque).unwrap(), inner);
    assert_eq!(decode(&inner, &f.tensor, &f.decls).unwrap(), opaque);
    // Even bytes that are no pickle: extern values are never opened.
    assert_eq!(
        decode(b"junk", &f.tensor, &f.decls).unwrap(),
        Value::opaque(b"junk".to_vec())
    );
    let opt = Type::optional(f.tensor.clone());
    assert_eq!(decode(&inner, &opt, &f.decls).unwrap(), opaque);
    assert_eq!(
        decode(&encode(&Value::None).unwrap(), &opt, &f.decls).unwrap(),
        Value::None
    );
    // Nested: written as `pickle.loads(b"…")` and read back as the same bytes.
    let nested = Value::list(vec![opaque.clone(), opaque.clone()]);
    let bytes = encode(&nested).unwrap();
    assert_eq!(decode(&bytes, &list(&f.tensor), &f.decls).unwrap(), nested);
    let files = encode_batches(&[opaque.clone(), opaque.clone()], Some(1)).unwrap();
    assert_eq!(
        decode_batches(&files, &f.tensor, &f.decls).unwrap(),
        vec![opaque.clone(), opaque.clone()]
    );
    // CPython's own way of writing the same thing: `_pickle.loads` by STACK_GLOBAL.
    let cpython = b"\x80\x04\x95$\x00\x00\x00\x00\x00\x00\x00]\x94\x8c\x07_pickle\x94\x8c\x05loads\x94\x93\x94C\x05\x80\x05K\x07.\x94\x85\x94R\x94a.";
    assert_eq!(
        decode(cpython, &list(&f.tensor), &f.decls).unwrap(),
        Value::list(vec![Value::opaque(b"\x80\x05K\x07.".to_vec())])
    );
    // Anything else where an extern value is expected inside another value is refused.
    let err = decode(
        &encode(&Value::list(vec![Value::Int(1)])).unwrap(),
        &list(&f.tensor),
        &f.decls,
    )
    .unwrap_err();
    assert_eq!(
        err,
        PickleError::NestedExtern {
            path: "[0]".into(),
            type_name: "Tensor".into()
        }
    );
}

#[test]
fn batch_ranges_follow_flytekit_1_7() {
    assert_eq!(batch_ranges(3, Some(2)), vec![0..2, 2..3]);
    assert_eq!(batch_ranges(4, Some(2)), vec![0..2, 2..4]);
    assert_eq!(batch_ranges(3, None), vec![0..3]);
    assert_eq!(batch_ranges(0, None), vec![0..0], "one file holding []");
    assert_eq!(
        batch_ranges(0, Some(2)),
        Vec::<Range<usize>>::new(),
        "no file"
    );
    assert_eq!(batch_ranges(3, Some(10)), vec![0..3]);
    assert_eq!(batch_ranges(3, Some(1)), vec![0..1, 1..2, 2..3]);
    assert_eq!(batch_ranges(3, Some(0)), vec![0..3], "never drops data");
}

#[test]
fn batches_round_trip() {
    let f = fx();
    let items: Vec<Value> = ["f", "o", "o"].iter().map(|n| person(n)).collect();
    let files = encode_batches(&items, Some(2)).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(
        decode(&files[0], &list(&f.people), &f.decls).unwrap(),
        Value::list(items[..2].to_vec())
    );
    assert_eq!(
        decode(&files[1], &list(&f.people), &f.decls).unwrap(),
        Value::list(items[2..].to_vec())
    );
    assert_eq!(decode_batches(&files, &f.people, &f.decls).unwrap(), items);
    let whole = encode_batches(&items, None).unwrap();
    assert_eq!(whole, vec![encode(&Value::list(items.clone())).unwrap()]);
    assert_eq!(decode_batches(&whole, &f.people, &f.decls).unwrap(), items);
    // Empty lists.
    let none = encode_batches(&[], Some(2)).unwrap();
    assert!(none.is_empty());
    assert_eq!(decode_batches(&none, &f.people, &f.decls).unwrap(), vec![]);
    let empty = encode_batches(&[], None).unwrap();
    assert_eq!(empty.len(), 1);
    assert_eq!(decode_batches(&empty, &f.people, &f.decls).unwrap(), vec![]);
    // Many batches, decoded in parallel, stay in order.
    let many: Vec<Value> = (0..20_000).map(|i| person(&i.to_string())).collect();
    let files = encode_batches(&many, Some(7)).unwrap();
    assert_eq!(files.len(), 2858);
    assert!(files.iter().map(Vec::len).sum::<usize>() >= PARALLEL_MIN_BYTES);
    assert_eq!(decode_batches(&files, &f.people, &f.decls).unwrap(), many);
}

/// Reads `items` of type `item`, pickled as a batch, by the direct path and by the machine: both
/// give the items back.
#[track_caller]
fn direct_reads(items: &[Value], item: &Type, decls: &Decls) {
    let bytes = encode_list(items).unwrap();
    let shapes = Shapes::new(decls, item);
    let mut out = vec![Value::None];
    assert!(
        direct::list_into(&bytes, item, decls, &shapes, &mut out),
        "the direct path gives up on a `list[{}]`",
        decls.show(item)
    );
    assert_eq!(out[1..], *items, "appended after what `out` held");
    assert_eq!(format!("{:?}", &out[1..]), format!("{items:?}"));
    assert_eq!(
        decode(&bytes, &list(item), decls).unwrap(),
        Value::list(items.to_vec())
    );
}

/// The direct path gives up on `bytes` read as a list of `item`s, leaving `out` as it was.
#[track_caller]
fn direct_gives_up(bytes: &[u8], item: &Type, decls: &Decls) {
    let shapes = Shapes::new(decls, item);
    let mut out = vec![Value::None];
    assert!(!direct::list_into(bytes, item, decls, &shapes, &mut out));
    assert_eq!(out, vec![Value::None]);
}

#[test]
fn flows_own_batches_of_flat_items_are_read_directly() {
    let f = fx();
    let d = &f.decls;
    let people = [person("f"), person("héllo ✓ 🎉"), person(&"x".repeat(300))];
    direct_reads(&people, &f.people, d);
    direct_reads(&[], &f.people, d);
    direct_reads(&[person("one")], &f.people, d);
    // Chunks of 1000 items, the last one holding a single item (`item APPEND`).
    let many: Vec<Value> = (0..2001).map(|i| person(&format!("p{i}"))).collect();
    direct_reads(&many, &f.people, d);
    let ints = [
        0,
        255,
        256,
        65535,
        65536,
        -1,
        i64::from(i32::MIN),
        i64::MIN,
        i64::MAX,
    ];
    direct_reads(&ints.map(Value::Int), &Type::Int, d);
    direct_reads(
        &[-0.0, 1.5, f64::INFINITY].map(Value::Float),
        &Type::Float,
        d,
    );
    direct_reads(&[Value::Bool(true), Value::Bool(false)], &Type::Bool, d);
    direct_reads(&[Value::None], &Type::None, d);
    direct_reads(&[Value::str(""), Value::str("s")], &Type::Str, d);
    direct_reads(&[Value::Path(Arc::from("/tmp/a"))], &Type::File, d);
    direct_reads(
        &[Value::Datetime(1_700_000_000_123_456)],
        &Type::Datetime,
        d,
    );
    direct_reads(&[Value::Duration(-1_500_000)], &Type::Duration, d);
    let green = Value::Enum(Arc::from("Color"), Arc::from("Green"));
    direct_reads(&[green], &f.color, d);
    let point = Value::record(
        "Point",
        vec![("x", Value::Float(1.0)), ("y", Value::Float(-2.5))],
    );
    direct_reads(&[point.clone(), point], &f.point, d);
    let tagged = Value::record(
        "Tagged",
        vec![("tag", Value::str("t")), ("n", Value::Int(3))],
    );
    direct_reads(&[tagged], &f.tagged, d);
    let optional = Type::optional(f.people.clone());
    direct_reads(&[person("a"), Value::None, person("b")], &optional, d);
    // An int where a float is expected, as the machine's reader reads it.
    let shapes = Shapes::new(d, &Type::Float);
    let mut out = Vec::new();
    let bytes = encode_list(&[Value::Int(2)]).unwrap();
    assert!(direct::list_into(
        &bytes,
        &Type::Float,
        d,
        &shapes,
        &mut out
    ));
    assert_eq!(out, vec![Value::Float(2.0)]);
    // Records read directly share their names.
    let mut out = Vec::new();
    let bytes = encode_list(&people).unwrap();
    let shapes = Shapes::new(d, &f.people);
    assert!(direct::list_into(&bytes, &f.people, d, &shapes, &mut out));
    let (Value::Record(a), Value::Record(b)) = (&out[0], &out[2]) else {
        panic!("records: {out:?}")
    };
    assert!(Arc::ptr_eq(&a.type_name, &b.type_name));
    assert!(Arc::ptr_eq(&a.fields[0].0, &b.fields[0].0));
}

#[test]
fn the_direct_path_gives_up_on_other_pickles_which_the_machine_reads() {
    let f = fx();
    let d = &f.decls;
    // CPython's protocol 4 (a FRAME, every object memoized).
    let cpython = b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00]\x94(}\x94\x8c\x04name\x94\x8c\x01f\x94s}\x94h\x02\x8c\x01o\x94se.";
    direct_gives_up(cpython, &f.people, d);
    let two = vec![person("f"), person("o")];
    assert_eq!(
        decode_batches(&[cpython.to_vec()], &f.people, d).unwrap(),
        two
    );
    // Flow's files read directly, then CPython's by the machine, a thread parsing ahead.
    let mut files = vec![encode_list(&two).unwrap(); 100];
    files.extend(vec![cpython.to_vec(); 4000]);
    assert!(files[100..].iter().map(Vec::len).sum::<usize>() >= PARALLEL_MIN_BYTES);
    assert_eq!(
        decode_batches(&files, &f.people, d).unwrap(),
        two.iter().cycle().take(8200).cloned().collect::<Vec<_>>()
    );
    // Nested lists.
    let nested = vec![Value::list(vec![Value::Int(1)]), Value::list(vec![])];
    let bytes = encode_list(&nested).unwrap();
    direct_gives_up(&bytes, &list(&Type::Int), d);
    assert_eq!(
        decode_batches(&[bytes], &list(&Type::Int), d).unwrap(),
        nested
    );
    // Fields in another order than declared.
    let reordered = Value::record(
        "Tagged",
        vec![("n", Value::Int(3)), ("tag", Value::str("t"))],
    );
    let bytes = encode_list(std::slice::from_ref(&reordered)).unwrap();
    direct_gives_up(&bytes, &f.tagged, d);
    assert_eq!(
        decode_batches(&[bytes], &f.tagged, d).unwrap(),
        vec![Value::record(
            "Tagged",
            vec![("tag", Value::str("t")), ("n", Value::Int(3))]
        )]
    );
    // Values that do not convert: the machine's reader words the error.
    let extra = Value::record(
        "People",
        vec![("name", Value::str("a")), ("age", Value::Int(1))],
    );
    let bytes = encode_list(&[extra]).unwrap();
    direct_gives_up(&bytes, &f.people, d);
    assert_eq!(
        decode_batches(&[bytes], &f.people, d)
            .unwrap_err()
            .to_string(),
        "at `[0]`: the dict for a `People` has the key \"age\", which is no field of `People`"
    );
    let blue = encode_list(&[Value::str("Blue")]).unwrap();
    direct_gives_up(&blue, &f.color, d);
    assert!(matches!(
        decode_batches(&[blue], &f.color, d),
        Err(PickleError::UnknownVariant { .. })
    ));
    // Damaged files: truncated, or with bytes after the STOP.
    let bytes = encode_list(&[person("a")]).unwrap();
    direct_gives_up(&bytes[..bytes.len() - 1], &f.people, d);
    direct_gives_up(&[bytes.as_slice(), b"N"].concat(), &f.people, d);
    // Extern values, nested as `pickle.loads(b"…")`.
    let opaque = Value::opaque(encode(&Value::Int(7)).unwrap());
    let bytes = encode_list(std::slice::from_ref(&opaque)).unwrap();
    direct_gives_up(&bytes, &f.tensor, d);
    assert_eq!(
        decode_batches(&[bytes], &f.tensor, d).unwrap(),
        vec![opaque]
    );
}

#[test]
fn a_bad_batch_file_is_named() {
    let f = fx();
    let files = vec![
        encode(&Value::list(vec![person("a")])).unwrap(),
        encode(&Value::list(vec![person("b")])).unwrap(),
        encode(&Value::list(vec![Value::str("c")])).unwrap(),
    ];
    let err = decode_batches(&files, &f.people, &f.decls).unwrap_err();
    assert_eq!(
        err.to_string(),
        "in batch file 2: at `[0]`: expected a `People`, found a Python str"
    );
    // In parallel, too: the first bad file is named, whichever thread met it.
    let good = encode(&Value::list(vec![person("a"); 100])).unwrap();
    let bad = encode(&Value::list(vec![person("a"), Value::Int(1)])).unwrap();
    let mut files = vec![good; 400];
    files[300] = bad.clone();
    files[100] = bad;
    let err = decode_batches(&files, &f.people, &f.decls).unwrap_err();
    assert_eq!(
        err.to_string(),
        "in batch file 100: at `[1]`: expected a `People`, found a Python int"
    );
    files[50] = b"\x80\x03K".to_vec();
    let err = decode_batches(&files, &f.people, &f.decls).unwrap_err();
    assert_eq!(
        err.to_string(),
        "in batch file 50: not a valid pickle: the pickle ends in the middle of an opcode \
         (truncated file?) (at byte 2)"
    );
}

#[test]
fn decode_errors_say_what_was_expected_and_found() {
    let f = fx();
    let d = &f.decls;
    let msg = |v: &Value, ty: &Type| decode(&encode(v).unwrap(), ty, d).unwrap_err().to_string();
    assert_eq!(
        msg(&Value::str("x"), &list(&f.people)),
        "expected a `list[People]`, found a Python str"
    );
    assert_eq!(
        msg(&Value::None, &Type::Int),
        "expected an `int`, found None"
    );
    assert_eq!(
        msg(&Value::Float(1.5), &Type::Int),
        "expected an `int`, found a Python float"
    );
    assert_eq!(
        msg(&Value::Int(1), &Type::Bool),
        "expected a `bool`, found a Python int"
    );
    assert_eq!(
        msg(&Value::list(vec![person("a"), dict(&[])]), &list(&f.people)),
        "at `[1]`: the dict for a `People` has no key `name`"
    );
    assert_eq!(
        msg(&dict(&[("tag", Value::str("t"))]), &f.tagged),
        "the dict for a `Tagged` has no key `n` (the field has a default in Flow, but \
         defaults are not applied when reading a pickle: every field must be present)"
    );
    assert_eq!(
        msg(
            &dict(&[("name", Value::str("a")), ("age", Value::Int(3))]),
            &f.people
        ),
        "the dict for a `People` has the key \"age\", which is no field of `People`"
    );
    assert_eq!(
        msg(&dict(&[("name", Value::Int(3))]), &f.people),
        "at `name`: expected a `str`, found a Python int"
    );
    assert_eq!(
        msg(
            &dict(&[("k", Value::list(vec![Value::Int(1), Value::str("x")]))]),
            &Type::Dict(Box::new(Type::Str), Box::new(list(&Type::Int)))
        ),
        "at `[\"k\"][1]`: expected an `int`, found a Python str"
    );
    assert_eq!(
        msg(&Value::str("Blue"), &f.color),
        "\"Blue\" is no variant of the enum `Color` (its variants: Red, Green)"
    );
    assert_eq!(
        msg(&Value::str("yesterday"), &Type::Datetime),
        "expected a `datetime`, but `yesterday` is not an ISO-8601 date and time"
    );
    assert_eq!(
        msg(
            &Value::Int(1),
            &Type::Union(vec![Type::Str, f.people.clone()])
        ),
        "expected a `str | People`, found a Python int"
    );
    assert_eq!(
        msg(
            &Value::list(vec![Value::Int(1)]),
            &Type::Tuple(vec![Type::Int, Type::Int])
        ),
        "expected a `(int, int)`, found a Python list"
    );
    let big = b"\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00.";
    assert_eq!(
        decode(big, &Type::Int, d).unwrap_err().to_string(),
        "expected an `int`, but the Python int is beyond 64 bits"
    );
    assert!(matches!(
        decode(&encode(&Value::Int(1)).unwrap(), &Type::Param(0), d),
        Err(PickleError::UnsupportedType { .. })
    ));
}

#[test]
fn damaged_pickles_are_reported() {
    let d = Decls::default();
    let err = |b: &[u8]| decode(b, &Type::Int, &d).unwrap_err().to_string();
    assert_eq!(
        err(b""),
        "not a valid pickle: the pickle ends without a STOP opcode (truncated file?) (at byte 0)"
    );
    let good = encode(&Value::list(vec![Value::str("abc")])).unwrap();
    for cut in 1..good.len() {
        assert!(
            matches!(
                decode(&good[..cut], &list(&Type::Str), &d),
                Err(PickleError::Malformed { .. })
            ),
            "cut at {cut}"
        );
    }
    assert!(err(b"\x80\x03K\x01.K").contains("bytes after the pickle's end"));
    assert!(err(b"\x80\x06K\x01.").contains("pickle protocol 6"));
    assert!(err(b"\x80\x03e.").contains("MARK"));
    assert!(err(b"\x80\x03\xff.").contains("unknown opcode 0xff"));
    assert!(err(b"\x80\x03h\x05.").contains("memo key 5"));
    assert!(err(b"\x80\x03X\x02\x00\x00\x00\xff\xfe.").contains("not UTF-8"));
    assert!(err(b"\x80\x05K\x01\x97.").contains("out-of-band buffers"));
    assert!(err(b"\x80\x02P1\n.").contains("persistent ids"));
}

#[test]
fn cpython_pickles_of_every_protocol_are_read() {
    let f = fx();
    let want = Value::list(vec![person("f"), person("o")]);
    let protocols: [&[u8]; 6] = [
        b"(lp0\x0a(dp1\x0aVname\x0ap2\x0aVf\x0ap3\x0asa(dp4\x0ag2\x0aVo\x0ap5\x0asa.",
        b"]q\x00(}q\x01X\x04\x00\x00\x00nameq\x02X\x01\x00\x00\x00fq\x03s}q\x04h\x02X\x01\x00\x00\x00oq\x05se.",
        b"\x80\x02]q\x00(}q\x01X\x04\x00\x00\x00nameq\x02X\x01\x00\x00\x00fq\x03s}q\x04h\x02X\x01\x00\x00\x00oq\x05se.",
        b"\x80\x03]q\x00(}q\x01X\x04\x00\x00\x00nameq\x02X\x01\x00\x00\x00fq\x03s}q\x04h\x02X\x01\x00\x00\x00oq\x05se.",
        b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00]\x94(}\x94\x8c\x04name\x94\x8c\x01f\x94s}\x94h\x02\x8c\x01o\x94se.",
        b"\x80\x05\x95\x1c\x00\x00\x00\x00\x00\x00\x00]\x94(}\x94\x8c\x04name\x94\x8c\x01f\x94s}\x94h\x02\x8c\x01o\x94se.",
    ];
    for (p, bytes) in protocols.iter().enumerate() {
        assert_eq!(
            decode(bytes, &list(&f.people), &f.decls).unwrap(),
            want,
            "protocol {p}"
        );
    }
}

#[test]
fn cloudpickle_by_value_classes_are_read() {
    // `cloudpickle.dumps([People("f"), People("o")], protocol=5)` with `People` defined in
    // `__main__`, as flytekit pickles such values: the class travels by value (code objects
    // and all), each instance as the dict of its attributes.
    let hex: String = [
        "800595be020000000000005d94288c17636c6f75647069636b6c652e636c6f75647069636b6c65948c145f6d616b655f",
        "736b656c65746f6e5f636c617373949394288c086275696c74696e73948c04747970659493948c0650656f706c659468",
        "048c066f626a65637494939485947d948c20616531633566613661343766343834393862336138633131373133636361",
        "3032944e749452948c1c636c6f75647069636b6c652e636c6f75647069636b6c655f66617374948c0f5f636c6173735f",
        "7365747374617465949394680e7d94288c0a5f5f6d6f64756c655f5f948c085f5f6d61696e5f5f948c085f5f696e6974",
        "5f5f9468018c0e5f6d616b655f66756e6374696f6e9493942868018c0d5f6275696c74696e5f747970659493948c0843",
        "6f6465547970659485945294284b024b004b004b024b024b03431497007c017c005f0000000000000000006400530094",
        "4e85948c046e616d659485948c0473656c6694681f86948c073c737464696e3e9468158c0f50656f706c652e5f5f696e",
        "69745f5f944b03430c8000a82498649c6998699869944300942929749452947d94288c0b5f5f7061636b6167655f5f94",
        "4e8c085f5f6e616d655f5f9468148c085f5f66696c655f5f946823754e4e4e74945294680f8c125f66756e6374696f6e",
        "5f7365747374617465949394682e7d947d9428682b68158c0c5f5f7175616c6e616d655f5f9468248c0f5f5f616e6e6f",
        "746174696f6e735f5f947d948c0e5f5f6b7764656661756c74735f5f944e8c0c5f5f64656661756c74735f5f944e6813",
        "68148c075f5f646f635f5f944e8c0b5f5f636c6f737572655f5f944e8c175f636c6f75647069636b6c655f7375626d6f",
        "64756c6573945d948c0b5f5f676c6f62616c735f5f947d9475869486523068384e8c0d5f5f736c6f746e616d65735f5f",
        "945d94757d9486948652302981947d94681f8c0166947362680e2981947d94681f8c016f947362652e",
    ]
    .concat();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let f = fx();
    assert_eq!(
        decode(&bytes, &list(&f.people), &f.decls).unwrap(),
        Value::list(vec![person("f"), person("o")])
    );
}

#[test]
fn node_buffers_are_small_and_reused() {
    assert!(std::mem::size_of::<Node>() <= 32);
    let nodes: Vec<Node<'static>> = Vec::with_capacity(100);
    let ptr = nodes.as_ptr() as usize;
    let again: Vec<Node<'_>> = recycle(nodes);
    assert_eq!((again.as_ptr() as usize, again.capacity()), (ptr, 100));
}

#[test]
fn cpython_objects_are_read() {
    let f = fx();
    let d = &f.decls;
    // [flowmod.People('f'), flowmod.Color.Red], protocol 5, as cloudpickle writes classes
    // importable by module.
    let objs = b"\x80\x05\x95B\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x07flowmod\x94\x8c\x06People\x94\x93\x94)\x81\x94}\x94\x8c\x04name\x94\x8c\x01f\x94sbh\x01\x8c\x05Color\x94\x93\x94\x8c\x03Red\x94\x85\x94R\x94e.";
    let ty = Type::Tuple(vec![f.people.clone(), f.color.clone()]);
    assert_eq!(
        decode(objs, &ty, d).unwrap(),
        Value::Tuple(Arc::new(vec![
            person("f"),
            Value::Enum(Arc::from("Color"), Arc::from("Red"))
        ]))
    );
    let err = decode(objs, &list(&Type::Str), d).unwrap_err().to_string();
    assert_eq!(
        err,
        "at `[0]`: expected a `str`, found a `flowmod.People` object"
    );
    // The same People at protocol 0 (copy_reg._reconstructor).
    let p0 = b"(lp0\x0accopy_reg\x0a_reconstructor\x0ap1\x0a(cflowmod\x0aPeople\x0ap2\x0ac__builtin__\x0aobject\x0ap3\x0aNtp4\x0aRp5\x0a(dp6\x0aVname\x0ap7\x0aVf\x0ap8\x0asba.";
    assert_eq!(
        decode(p0, &list(&f.people), d).unwrap(),
        Value::list(vec![person("f")])
    );
    // [datetime(2024,1,2,3,4,5,6, tzinfo=timezone(timedelta(hours=1))), datetime(1969,12,31,23,59,59)], protocol 2.
    let dt = b"\x80\x02]q\x00(cdatetime\x0adatetime\x0aq\x01c_codecs\x0aencode\x0aq\x02X\x0b\x00\x00\x00\x07\xc3\xa8\x01\x02\x03\x04\x05\x00\x00\x06q\x03X\x06\x00\x00\x00latin1q\x04\x86q\x05Rq\x06cdatetime\x0atimezone\x0aq\x07cdatetime\x0atimedelta\x0aq\x08K\x00M\x10\x0eK\x00\x87q\x09Rq\x0a\x85q\x0bRq\x0c\x86q\x0dRq\x0eh\x01h\x02X\x0b\x00\x00\x00\x07\xc2\xb1\x0c\x1f\x17;;\x00\x00\x00q\x0fh\x04\x86q\x10Rq\x11\x85q\x12Rq\x13e.";
    assert_eq!(
        decode(dt, &list(&Type::Datetime), d).unwrap(),
        Value::list(vec![
            Value::Datetime(1_704_164_645_000_006 - 3_600_000_000),
            Value::Datetime(-1_000_000),
        ])
    );
    // timedelta(days=-1, seconds=5, microseconds=7), protocol 4.
    let td = b"\x80\x04\x95'\x00\x00\x00\x00\x00\x00\x00\x8c\x08datetime\x94\x8c\x09timedelta\x94\x93\x94J\xff\xff\xff\xffK\x05K\x07\x87\x94R\x94.";
    assert_eq!(
        decode(td, &Type::Duration, d).unwrap(),
        Value::Duration(-86_400_000_000 + 5_000_007)
    );
    // Ints of every width; 2**63 is beyond a Flow int.
    let big = b"\x80\x02]q\x00(\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00J\xff\xff\xff\xffK\xffM\xff\xffJp\x11\x01\x00e.";
    let ints = Type::List(Box::new(Type::Union(vec![Type::Int, Type::Str])));
    let err = decode(big, &ints, d).unwrap_err().to_string();
    assert_eq!(
        err,
        "at `[2]`: expected an `int`, but the Python int is beyond 64 bits"
    );
    let fl = Type::List(Box::new(Type::Union(vec![Type::Int, Type::Float])));
    let _ = decode(big, &fl, d).unwrap_err();
    // Protocol 0 odds and ends: [1.5, 'é\\\n', True, None, (1,), {'a': [2]}, 10**20, b'\xff'].
    let p0 = b"(lp0\x0aF1.5\x0aaV\xe9\x5cu005c\x5cu000a\x0ap1\x0aaI01\x0aaNa(I1\x0atp2\x0aa(dp3\x0aVa\x0ap4\x0a(lp5\x0aI2\x0aasaL100000000000000000000L\x0aac_codecs\x0aencode\x0ap6\x0a(V\xff\x0ap7\x0aVlatin1\x0ap8\x0atp9\x0aRp10\x0aa.";
    let mut m = Machine::new(p0);
    let root = m.run().unwrap();
    let Node::List(items) = &m.nodes[root as usize] else {
        panic!("a list")
    };
    let kinds: Vec<String> = {
        let shapes = Shapes::new(d, &Type::None);
        let r = Reader::new(&m.nodes, d, &shapes);
        items.iter().map(|&i| r.describe(i)).collect()
    };
    assert_eq!(
        kinds,
        [
            "a Python float",
            "a Python str",
            "a Python bool (True)",
            "None",
            "a Python tuple",
            "a Python dict",
            "a Python int beyond 64 bits",
            "a Python bytes"
        ]
    );
    assert!(matches!(&m.nodes[items[1] as usize], Node::Str(s) if s == "é\\\n"));
    assert!(matches!(&m.nodes[items[7] as usize], Node::Bytes(b) if **b == [0xff]));
    // {1} and frozenset(), protocol 4.
    let sets = b"\x80\x04\x95\x0e\x00\x00\x00\x00\x00\x00\x00]\x94(\x8f\x94(K\x01\x90(\x91\x94e.";
    assert_eq!(
        decode(sets, &list(&Type::Int), d).unwrap_err().to_string(),
        "at `[0]`: expected an `int`, found a Python set"
    );
}
