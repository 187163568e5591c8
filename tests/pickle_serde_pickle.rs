//! Pickles and `serde-pickle`, an independent pickle implementation used as an oracle: files
//! `flytec::pickle` writes (protocol 4, memoized field names) are read by
//! `serde_pickle::from_slice`, and files serde-pickle writes (protocols 3 and 2, no memo) are read
//! back by `flytec::pickle::decode` / `decode_batches`, for every kind of Flow value and for
//! generated ones. Where the two disagree (what serde-pickle cannot read or write), a test says
//! what happens instead.
//!
//! serde-pickle's `Value::Dict` is a `BTreeMap`, which sorts keys; dict order is checked by
//! deserializing into [`Py`], whose visitor keeps entries in the order the pickle gives them.

#[path = "common/pickles.rs"]
mod pickles;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use flytec::check::types::{DeclKind, Decls, Type};
use flytec::pickle::{decode, decode_batches, encode, encode_batches, PickleError};
use flytec::value::Value;
use pickles::{
    dict, dump_with_flowmod, field, list_of, person, program, team, typed_value, wide_record,
};
use proptest::prelude::*;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeTuple, Serializer};
use serde_pickle::{DeOptions, HashableValue, SerOptions};

// ---------------------------------------------------------------------------------------------
// The expected Python objects
// ---------------------------------------------------------------------------------------------

/// A Python object of the kinds Flow's pickles hold, dict entries in order: what a test expects a
/// pickle to hold, and what serde-pickle serializes for flytec to read.
#[derive(Clone, Debug, PartialEq)]
enum Py {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Py>),
    Tuple(Vec<Py>),
    Dict(Vec<(String, Py)>),
}

fn s(text: &str) -> Py {
    Py::Str(text.to_string())
}

fn py_dict(pairs: Vec<(&str, Py)>) -> Py {
    Py::Dict(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// `[{"name": "p{from}"}, …, {"name": "p{to - 1}"}]`: a batch of `People`.
fn py_people(from: usize, to: usize) -> Py {
    Py::List(
        (from..to)
            .map(|i| py_dict(vec![("name", Py::Str(format!("p{i}")))]))
            .collect(),
    )
}

/// The Flow values of [`py_people`].
fn people_values(from: usize, to: usize) -> Vec<Value> {
    (from..to).map(|i| person(&format!("p{i}"))).collect()
}

impl Py {
    /// The same object as serde-pickle's `Value` holds it (dict keys sorted).
    fn to_serde(&self) -> serde_pickle::Value {
        use serde_pickle::Value as V;
        match self {
            Py::None => V::None,
            Py::Bool(b) => V::Bool(*b),
            Py::Int(i) => V::I64(*i),
            Py::Float(x) => V::F64(*x),
            Py::Str(t) => V::String(t.clone()),
            Py::List(items) => V::List(items.iter().map(Py::to_serde).collect()),
            Py::Tuple(items) => V::Tuple(items.iter().map(Py::to_serde).collect()),
            Py::Dict(pairs) => V::Dict(
                pairs
                    .iter()
                    .map(|(k, v)| (HashableValue::String(k.clone()), v.to_serde()))
                    .collect::<BTreeMap<_, _>>(),
            ),
        }
    }

    /// The object as a serde visitor sees it: serde-pickle hands tuples over as sequences, so
    /// [`Py`]'s `Deserialize` reads them as lists.
    fn untupled(&self) -> Py {
        match self {
            Py::List(items) | Py::Tuple(items) => {
                Py::List(items.iter().map(Py::untupled).collect())
            }
            Py::Dict(pairs) => Py::Dict(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.untupled()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

impl Serialize for Py {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Py::None => ser.serialize_none(),
            Py::Bool(b) => ser.serialize_bool(*b),
            Py::Int(i) => ser.serialize_i64(*i),
            Py::Float(x) => ser.serialize_f64(*x),
            Py::Str(t) => ser.serialize_str(t),
            Py::List(items) => {
                let mut seq = ser.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Py::Tuple(items) => {
                let mut tuple = ser.serialize_tuple(items.len())?;
                for item in items {
                    tuple.serialize_element(item)?;
                }
                tuple.end()
            }
            Py::Dict(pairs) => {
                let mut map = ser.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Reads any pickled object of the kinds above, keeping dict entries in the pickle's order.
struct PyVisitor;

impl<'de> Visitor<'de> for PyVisitor {
    type Value = Py;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("None, a bool, an int, a float, a str, a list, a tuple or a dict of str keys")
    }
    fn visit_unit<E>(self) -> Result<Py, E> {
        Ok(Py::None)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Py, E> {
        Ok(Py::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Py, E> {
        Ok(Py::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Py, E> {
        i64::try_from(u)
            .map(Py::Int)
            .map_err(|_| E::custom("an int beyond 64 bits"))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Py, E> {
        Ok(Py::Float(x))
    }
    fn visit_str<E>(self, t: &str) -> Result<Py, E> {
        Ok(s(t))
    }
    fn visit_string<E>(self, t: String) -> Result<Py, E> {
        Ok(Py::Str(t))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Py, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Py::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Py, A::Error> {
        let mut pairs = Vec::new();
        while let Some(entry) = map.next_entry::<String, Py>()? {
            pairs.push(entry);
        }
        Ok(Py::Dict(pairs))
    }
}

impl<'de> Deserialize<'de> for Py {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Py, D::Error> {
        de.deserialize_any(PyVisitor)
    }
}

/// The Python object flytec's pickle of `value` should hold (`src/pickle/mod.rs`'s table),
/// worked out independently of flytec's writer: datetimes are formatted by chrono.
fn py_of(value: &Value) -> Py {
    match value {
        Value::None => Py::None,
        Value::Bool(b) => Py::Bool(*b),
        Value::Int(i) => Py::Int(*i),
        Value::Float(x) => Py::Float(*x),
        Value::Str(t) | Value::Path(t) | Value::Enum(_, t) => s(t),
        Value::Datetime(us) => Py::Str(
            DateTime::<Utc>::from_timestamp_micros(*us)
                .expect("within chrono's range")
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ),
        Value::Duration(us) => Py::Float(*us as f64 / 1e6),
        Value::List(items) => Py::List(items.iter().map(py_of).collect()),
        Value::Tuple(items) => Py::Tuple(items.iter().map(py_of).collect()),
        Value::Dict(map) => Py::Dict(map.iter().map(|(k, v)| (k.clone(), py_of(v))).collect()),
        Value::Record(r) => Py::Dict(
            r.fields
                .iter()
                .map(|(k, v)| (k.to_string(), py_of(v)))
                .collect(),
        ),
        Value::Opaque(_) => panic!("an extern value holds a pickle, not an object"),
    }
}

/// What serde-pickle reads from `bytes`, as its `Value` and as an order-keeping [`Py`].
///
/// The `Value` comes from `value_from_slice`, which keeps tuples; `from_slice::<Value>` goes
/// through serde's data model, where a tuple arrives as a sequence and becomes a list.
fn serde_read(bytes: &[u8]) -> (serde_pickle::Value, Py) {
    let value = serde_pickle::value_from_slice(bytes, DeOptions::new())
        .unwrap_or_else(|e| panic!("serde-pickle cannot read it as a Value: {e}"));
    let py = serde_pickle::from_slice(bytes, DeOptions::new())
        .unwrap_or_else(|e| panic!("serde-pickle cannot read it in order: {e}"));
    (value, py)
}

/// serde-pickle's two protocols, with the protocol number its files start with.
fn serde_protocols() -> [(SerOptions, u8); 2] {
    [(SerOptions::new(), 3), (SerOptions::new().proto_v2(), 2)]
}

// ---------------------------------------------------------------------------------------------
// Every kind of Flow value, both ways
// ---------------------------------------------------------------------------------------------

/// One case: a Flow value, its type, and the Python object its pickle holds.
struct Case {
    name: &'static str,
    value: Value,
    ty: Type,
    py: Py,
}

fn case(name: &'static str, value: Value, ty: Type, py: Py) -> Case {
    Case {
        name,
        value,
        ty,
        py,
    }
}

/// The declarations of [`program`] plus `Wide`, a struct of 300 int fields (past the 256 memo
/// indices `BINGET` reaches), and `Unit`, one of none; and the cases.
fn cases() -> (Decls, Vec<Case>) {
    let (mut decls, people, color, team_ty) = program();
    let names: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
    let wide = decls.declare(
        "Wide",
        DeclKind::Struct(names.iter().map(|n| field(n, Type::Int)).collect()),
    );
    let unit = decls.declare("Unit", DeclKind::Struct(vec![]));
    let ints = [
        0,
        1,
        -1,
        255,
        256,
        65_535,
        65_536,
        i64::from(i32::MIN),
        i64::from(i32::MAX) + 1,
        1 << 40,
        i64::MIN,
        i64::MAX,
    ];
    let floats = [1.5, -0.0, 0.1, -2.0, 1e300, 5e-324, f64::INFINITY];
    let long_text = "é".repeat(200); // 400 bytes: past SHORT_BINUNICODE
    let texts = ["", "héllo ✓ 🎉\n'\"\\", long_text.as_str()];
    let team_value = team(
        "Green",
        vec![("z", Value::Float(1.0)), ("a", Value::Float(-2.5))],
    );
    let team_py = py_dict(vec![
        ("lead", py_dict(vec![("name", s("l"))])),
        (
            "members",
            Py::List(vec![
                py_dict(vec![("name", s("a"))]),
                py_dict(vec![("name", s("b"))]),
            ]),
        ),
        ("color", s("Green")),
        (
            "scores",
            py_dict(vec![("z", Py::Float(1.0)), ("a", Py::Float(-2.5))]),
        ),
    ]);
    let wide_py = Py::Dict(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), Py::Int(i as i64)))
            .collect(),
    );
    let datetimes = [
        (1_704_164_645_000_000, "2024-01-02T03:04:05Z"),
        (1_704_164_645_123_000, "2024-01-02T03:04:05.123Z"),
        (1_704_164_645_123_456, "2024-01-02T03:04:05.123456Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (253_402_300_800_000_000, "+10000-01-01T00:00:00Z"),
        (-62_198_755_200_000_000, "-0001-01-01T00:00:00Z"),
    ];
    let entries = [("b", 1), ("a", 2), ("é", 3), ("", 4)];
    let durations = [
        (1_500_000, 1.5),
        (-86_400_000_000 + 5_000_007, -86_394.999_993),
        (0, 0.0),
    ];
    let cases = vec![
        case("none", Value::None, Type::None, Py::None),
        case(
            "bools",
            Value::list(vec![Value::Bool(true), Value::Bool(false)]),
            list_of(&Type::Bool),
            Py::List(vec![Py::Bool(true), Py::Bool(false)]),
        ),
        case(
            "ints",
            Value::list(ints.iter().map(|&i| Value::Int(i)).collect()),
            list_of(&Type::Int),
            Py::List(ints.iter().map(|&i| Py::Int(i)).collect()),
        ),
        case(
            "floats",
            Value::list(floats.iter().map(|&x| Value::Float(x)).collect()),
            list_of(&Type::Float),
            Py::List(floats.iter().map(|&x| Py::Float(x)).collect()),
        ),
        case(
            "strs",
            Value::list(texts.iter().map(|&t| Value::str(t)).collect()),
            list_of(&Type::Str),
            Py::List(texts.iter().map(|&t| s(t)).collect()),
        ),
        case(
            "tuples",
            Value::Tuple(Arc::new(
                (0..6)
                    .map(|n| Value::Tuple(Arc::new((0..n).map(Value::Int).collect())))
                    .collect(),
            )),
            Type::Tuple((0..6).map(|n| Type::Tuple(vec![Type::Int; n])).collect()),
            Py::Tuple(
                (0..6)
                    .map(|n| Py::Tuple((0..n).map(Py::Int).collect()))
                    .collect(),
            ),
        ),
        case(
            "dict_in_insertion_order",
            dict(entries.iter().map(|&(k, i)| (k, Value::Int(i))).collect()),
            Type::Dict(Box::new(Type::Str), Box::new(Type::Int)),
            py_dict(entries.iter().map(|&(k, i)| (k, Py::Int(i))).collect()),
        ),
        case("struct", team_value, team_ty, team_py),
        case(
            "class",
            person("f"),
            people.clone(),
            py_dict(vec![("name", s("f"))]),
        ),
        case(
            "empty_record",
            Value::record("Unit", vec![]),
            unit,
            Py::Dict(vec![]),
        ),
        case("wide_record", wide_record(300), wide, wide_py),
        case(
            "enum",
            Value::Enum(Arc::from("Color"), Arc::from("Red")),
            color,
            s("Red"),
        ),
        case(
            "datetimes",
            Value::list(
                datetimes
                    .iter()
                    .map(|&(us, _)| Value::Datetime(us))
                    .collect(),
            ),
            list_of(&Type::Datetime),
            Py::List(datetimes.iter().map(|&(_, t)| s(t)).collect()),
        ),
        case(
            "durations",
            Value::list(
                durations
                    .iter()
                    .map(|&(us, _)| Value::Duration(us))
                    .collect(),
            ),
            list_of(&Type::Duration),
            Py::List(durations.iter().map(|&(_, x)| Py::Float(x)).collect()),
        ),
        case(
            "file",
            Value::Path(Arc::from("s3://bucket/x.csv")),
            Type::File,
            s("s3://bucket/x.csv"),
        ),
        case(
            "optionals",
            Value::list(vec![Value::None, person("p")]),
            list_of(&Type::optional(people.clone())),
            Py::List(vec![Py::None, py_dict(vec![("name", s("p"))])]),
        ),
        case(
            "nested_lists_of_records",
            Value::list(vec![
                Value::list(people_values(0, 2)),
                Value::list(vec![]),
                Value::list(people_values(2, 3)),
            ]),
            list_of(&list_of(&people)),
            Py::List(vec![py_people(0, 2), Py::List(vec![]), py_people(2, 3)]),
        ),
        case(
            "empty_list",
            Value::list(vec![]),
            list_of(&people),
            Py::List(vec![]),
        ),
        // Past the 1000 items between a MARK and its APPENDS (both writers batch them).
        case(
            "long_list_of_records",
            Value::list(people_values(0, 2500)),
            list_of(&people),
            py_people(0, 2500),
        ),
    ];
    (decls, cases)
}

#[test]
fn serde_pickle_reads_every_kind_of_value_flytec_writes() {
    let (_, cases) = cases();
    for c in &cases {
        let bytes = encode(&c.value).unwrap();
        assert_eq!(
            bytes[..2],
            [0x80, 4],
            "{}: flytec writes protocol 4",
            c.name
        );
        let (value, in_order) = serde_read(&bytes);
        // `Debug` tells -0.0 from 0.0, which `==` does not.
        assert_eq!(
            format!("{value:?}"),
            format!("{:?}", c.py.to_serde()),
            "{}",
            c.name
        );
        assert_eq!(
            format!("{in_order:?}"),
            format!("{:?}", c.py.untupled()),
            "{} (in order)",
            c.name
        );
        // The hand-written object agrees with `py_of`, the oracle of the property tests.
        assert_eq!(
            format!("{:?}", py_of(&c.value)),
            format!("{:?}", c.py),
            "{}",
            c.name
        );
    }
}

#[test]
fn serde_pickle_reads_flytec_batches() {
    let files = encode_batches(&people_values(0, 5), Some(2)).unwrap();
    assert_eq!(files.len(), 3);
    let batches: Vec<Py> = files.iter().map(|bytes| serde_read(bytes).1).collect();
    assert_eq!(batches, [py_people(0, 2), py_people(2, 4), py_people(4, 5)]);
    // Without `@batch`, an empty list is one file holding `[]`; with it, no file at all.
    let files = encode_batches(&[], None).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(serde_read(&files[0]).1, Py::List(vec![]));
    assert!(encode_batches(&[], Some(2)).unwrap().is_empty());
}

#[test]
fn flytec_reads_every_kind_of_value_serde_pickle_writes() {
    let (decls, cases) = cases();
    for (options, protocol) in serde_protocols() {
        for c in &cases {
            let bytes = serde_pickle::to_vec(&c.py, options.clone()).unwrap();
            assert_eq!(bytes[..2], [0x80, protocol], "{}", c.name);
            let back = decode(&bytes, &c.ty, &decls)
                .unwrap_or_else(|e| panic!("{} (protocol {protocol}): {e}", c.name));
            // `Value`'s `==` ignores dict order; its `Debug` form does not.
            assert_eq!(
                format!("{back:?}"),
                format!("{:?}", c.value),
                "{} (protocol {protocol})",
                c.name
            );
        }
    }
}

#[test]
fn flytec_reads_serde_pickle_files_as_batches() {
    let (decls, people, _, _) = program();
    let want = people_values(0, 5);
    for (options, _) in serde_protocols() {
        let files: Vec<Vec<u8>> = [py_people(0, 2), py_people(2, 4), py_people(4, 5)]
            .iter()
            .map(|b| serde_pickle::to_vec(b, options.clone()).unwrap())
            .collect();
        assert_eq!(decode_batches(&files, &people, &decls).unwrap(), want);
        // After a file of flytec's own, in order.
        let mut mixed = encode_batches(&want[..2], None).unwrap();
        mixed.extend_from_slice(&files[1..]);
        assert_eq!(decode_batches(&mixed, &people, &decls).unwrap(), want);
    }
}

// ---------------------------------------------------------------------------------------------
// Where the two disagree
// ---------------------------------------------------------------------------------------------

#[test]
fn serde_pickle_value_sorts_dict_keys() {
    // serde-pickle's `Value` keeps a dict in a `BTreeMap`: the keys come back sorted, not in the
    // order flytec wrote them; only a visitor of one's own sees that order.
    let bytes = encode(&dict(vec![("b", Value::Int(1)), ("a", Value::Int(2))])).unwrap();
    let (value, in_order) = serde_read(&bytes);
    let serde_pickle::Value::Dict(map) = value else {
        panic!("a dict, not {value:?}")
    };
    let keys: Vec<String> = map.keys().map(|k| format!("{k:?}")).collect();
    assert_eq!(keys, [r#"String("a")"#, r#"String("b")"#]);
    assert_eq!(
        in_order,
        py_dict(vec![("b", Py::Int(1)), ("a", Py::Int(2))])
    );
}

#[test]
fn serde_pickle_from_slice_reads_tuples_as_lists() {
    // `value_from_slice` keeps a tuple; serde's data model has no tuple to deserialize into, so
    // `from_slice::<Value>` makes it a list.
    use serde_pickle::Value as V;
    let bytes = encode(&Value::Tuple(Arc::new(vec![Value::Int(1), Value::None]))).unwrap();
    let pair = vec![V::I64(1), V::None];
    assert_eq!(
        serde_pickle::value_from_slice(&bytes, DeOptions::new()).unwrap(),
        V::Tuple(pair.clone())
    );
    assert_eq!(
        serde_pickle::from_slice::<V>(&bytes, DeOptions::new()).unwrap(),
        V::List(pair)
    );
}

#[test]
fn serde_pickle_reads_a_nested_extern_value_only_as_an_unresolved_global() {
    // flytec writes an extern value inside another value as `pickle.loads(b"…")`. serde-pickle
    // resolves no such global: by default it refuses the file; it can put `None` in its place,
    // or keep the call's argument, the inner pickle's bytes.
    use serde_pickle::Value as V;
    let inner = encode(&Value::Int(7)).unwrap();
    let outer = encode(&Value::list(vec![Value::opaque(inner.clone())])).unwrap();
    let error = serde_pickle::value_from_slice(&outer, DeOptions::new()).unwrap_err();
    assert!(error.to_string().contains("unresolved global"), "{error}");
    let options = DeOptions::new().replace_unresolved_globals();
    assert_eq!(
        serde_pickle::value_from_slice(&outer, options).unwrap(),
        V::List(vec![V::None])
    );
    let options = DeOptions::new().keep_restore_state();
    assert_eq!(
        serde_pickle::value_from_slice(&outer, options).unwrap(),
        V::List(vec![V::Tuple(vec![V::Bytes(inner.clone())])])
    );
    // The inner pickle is one serde-pickle reads; at top level flytec writes it unchanged.
    assert_eq!(
        serde_pickle::value_from_slice(&inner, DeOptions::new()).unwrap(),
        V::I64(7)
    );
    assert_eq!(encode(&Value::opaque(inner.clone())).unwrap(), inner);
}

#[test]
fn flytec_refuses_serde_pickle_ints_beyond_64_bits() {
    // serde-pickle writes a `u64` of 2^31 or more as a 9-byte `LONG1`: flytec reads those that
    // fit an `i64` and refuses the others, saying where.
    let decls = Decls::default();
    let ints = list_of(&Type::Int);
    let fits = serde_pickle::to_vec(&vec![1u64 << 31, i64::MAX as u64], SerOptions::new()).unwrap();
    assert_eq!(
        decode(&fits, &ints, &decls).unwrap(),
        Value::list(vec![Value::Int(1 << 31), Value::Int(i64::MAX)])
    );
    let too_big = serde_pickle::to_vec(&vec![0u64, 1 << 63], SerOptions::new()).unwrap();
    let error = decode(&too_big, &ints, &decls).unwrap_err();
    assert!(
        matches!(&error, PickleError::InvalidValue { path, .. } if path == "[1]"),
        "{error:?}"
    );
    // serde-pickle's own `Value` keeps it as a big int, but a serde visitor cannot have it.
    let big = serde_pickle::value_from_slice(&too_big, DeOptions::new()).unwrap();
    assert!(
        matches!(&big, serde_pickle::Value::List(items) if matches!(items[1], serde_pickle::Value::Int(_))),
        "{big:?}"
    );
    assert!(serde_pickle::from_slice::<Py>(&too_big, DeOptions::new()).is_err());
}

/// Writes `pickle.dumps(OBJECT, protocol=p)` for every protocol into `OUT_DIR/{name}_p{p}.pkl`, for
/// each object below (`People` and `Color` from `flowmod`, see `dump_with_flowmod`).
const DUMP_OBJECTS: &str = r#"
import collections, datetime, os, pickle, sys
sys.path.insert(0, sys.argv[1])
from flowmod import People, Color
objects = {
    "instance": People("f"),
    "enum": Color.Green,
    "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "timedelta": datetime.timedelta(seconds=1.5),
    "ordereddict": collections.OrderedDict([("b", 1), ("a", 2)]),
}
for name, obj in objects.items():
    for p in range(pickle.HIGHEST_PROTOCOL + 1):
        with open(os.path.join(sys.argv[2], f"{name}_p{p}.pkl"), "wb") as f:
            pickle.dump(obj, f, protocol=p)
"#;

#[test]
fn what_serde_pickle_reads_of_cpython_objects_that_flytec_reads() {
    // Objects flytekit's and CPython's pickles hold, at every protocol. flytec reads them all.
    // serde-pickle reads a plain class instance as the dict of its attributes (the class is
    // dropped), but refuses an enum member, a datetime, a timedelta and an OrderedDict: calls
    // of globals it does not know.
    let (decls, people, color, _) = program();
    let files = dump_with_flowmod(DUMP_OBJECTS);
    let expected: [(&str, Type, Value); 5] = [
        ("instance", people, person("f")),
        (
            "enum",
            color,
            Value::Enum(Arc::from("Color"), Arc::from("Green")),
        ),
        (
            "datetime",
            Type::Datetime,
            Value::Datetime(1_704_164_645_000_000),
        ),
        ("timedelta", Type::Duration, Value::Duration(1_500_000)),
        (
            "ordereddict",
            Type::Dict(Box::new(Type::Str), Box::new(Type::Int)),
            dict(vec![("b", Value::Int(1)), ("a", Value::Int(2))]),
        ),
    ];
    assert!(files.len() >= 5 * 6, "protocols 0 to 5 of five objects");
    for (name, bytes) in &files {
        let (object, ty, want) = expected
            .iter()
            .find(|(object, _, _)| name.starts_with(&format!("{object}_p")))
            .unwrap_or_else(|| panic!("unexpected file {name}"));
        let got = decode(bytes, ty, &decls).unwrap_or_else(|e| panic!("flytec, {name}: {e}"));
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "flytec, {name}");
        let serde = serde_pickle::value_from_slice(bytes, DeOptions::new());
        if *object == "instance" {
            let attributes = serde.unwrap_or_else(|e| panic!("serde-pickle, {name}: {e}"));
            assert_eq!(
                attributes,
                py_dict(vec![("name", s("f"))]).to_serde(),
                "serde-pickle, {name}"
            );
        } else {
            assert!(serde.is_err(), "serde-pickle, {name}: {serde:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties, on generated values of generated types
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn serde_pickle_reads_generated_values_flytec_writes((_decls, _ty, value) in typed_value()) {
        let want = py_of(&value);
        let (read, in_order) = serde_read(&encode(&value).unwrap());
        prop_assert_eq!(format!("{read:?}"), format!("{:?}", want.to_serde()));
        prop_assert_eq!(format!("{in_order:?}"), format!("{:?}", want.untupled()));
    }

    #[test]
    fn flytec_reads_generated_values_serde_pickle_writes((decls, ty, value) in typed_value()) {
        let py = py_of(&value);
        for (options, _) in serde_protocols() {
            let bytes = serde_pickle::to_vec(&py, options.clone()).unwrap();
            let back = decode(&bytes, &ty, &decls).unwrap();
            prop_assert_eq!(format!("{back:?}"), format!("{value:?}"));
            // And as the files of a batched list.
            let files: Vec<Vec<u8>> = [2, 1]
                .iter()
                .map(|&n| serde_pickle::to_vec(&Py::List(vec![py.clone(); n]), options.clone()))
                .collect::<Result<_, _>>()
                .unwrap();
            let back = decode_batches(&files, &ty, &decls).unwrap();
            prop_assert_eq!(format!("{back:?}"), format!("{:?}", vec![value.clone(); 3]));
        }
    }
}
