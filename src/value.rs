//! Runtime values of Flow: what the interpreter computes, and what the store turns into Flyte
//! literals and Pickle files. Collections are shared (`Arc`) and copied on write, so passing a
//! large list around is cheap and `xs[i] = v` on a `var` copies only when the list is shared.

use std::sync::Arc;

use indexmap::IndexMap;

/// A Flow value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `none`.
    None,
    /// `true` / `false`.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    Str(Arc<str>),
    /// A UTC instant, in microseconds since the Unix epoch.
    Datetime(i64),
    /// A signed span, in microseconds.
    Duration(i64),
    /// `list[T]`.
    List(Arc<Vec<Value>>),
    /// `dict[str, T]`, in insertion order.
    Dict(Arc<IndexMap<String, Value>>),
    /// A tuple (inside bodies, and a callable's unnamed outputs).
    Tuple(Arc<Vec<Value>>),
    /// A struct or class value: its type's name and its fields in declaration order.
    Record(Arc<Record>),
    /// An enum value: the enum's name and the variant's name.
    Enum(Arc<str>, Arc<str>),
    /// A `file` or `dir`: a path or URI.
    Path(Arc<str>),
    /// An `extern type` value: the Pickle bytes some producer wrote, carried unopened.
    Opaque(Arc<Opaque>),
}

/// The value of an `extern type`: a pickle Flow never opens, with where it came from.
#[derive(Clone, Debug, Default)]
pub struct Opaque {
    /// The pickle, exactly as its producer wrote it.
    pub bytes: Vec<u8>,
    /// The version of the Python that wrote it (`3.11.7`), when known: recorded in the
    /// literal's metadata as `python_version`.
    pub python_version: Option<String>,
    /// Its Pickle file in the store, once it has been read from there.
    pub uri: Option<String>,
}

/// Two extern values are equal when their bytes are: where they are stored does not matter.
impl PartialEq for Opaque {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

/// The fields of a struct or class value.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The struct's or class's name.
    pub type_name: Arc<str>,
    /// Field names and values, in declaration order.
    pub fields: Vec<(Arc<str>, Value)>,
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Arc<str>>) -> Value {
        Value::Str(s.into())
    }

    /// An extern value of unknown origin.
    pub fn opaque(bytes: Vec<u8>) -> Value {
        Value::Opaque(Arc::new(Opaque {
            bytes,
            ..Opaque::default()
        }))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    /// A record value.
    pub fn record(type_name: &str, fields: Vec<(&str, Value)>) -> Value {
        Value::Record(Arc::new(Record {
            type_name: type_name.into(),
            fields: fields.into_iter().map(|(n, v)| (Arc::from(n), v)).collect(),
        }))
    }

    /// Calls `f` on every extern value in this value, depth first.
    pub fn for_each_opaque<'v>(&'v self, f: &mut impl FnMut(&'v Opaque)) {
        match self {
            Value::Opaque(o) => f(o),
            Value::List(items) | Value::Tuple(items) => {
                items.iter().for_each(|v| v.for_each_opaque(f))
            }
            Value::Dict(map) => map.values().for_each(|v| v.for_each_opaque(f)),
            Value::Record(r) => r.fields.iter().for_each(|(_, v)| v.for_each_opaque(f)),
            _ => {}
        }
    }

    /// The field `name` of a record value.
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Record(r) => r.fields.iter().find(|(n, _)| &**n == name).map(|(_, v)| v),
            _ => None,
        }
    }
}
