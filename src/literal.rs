//! Converts runtime [`Value`]s to and from Flyte literals in flyteidl's protobuf JSON mapping
//! (`flyteidl.core.Literal`, `flyteidl.core.LiteralMap`), as `json_format.MessageToJson` spells
//! them; Pickle values go to blob files through a [`BlobStore`]. Also the plain JSON form of values
//! that `flytec run` prints and reads (`--NAME VALUE`).
//!
//! Consumes values, checked types ([`Type`], [`Decls`]) and the literal types of
//! [`crate::check::lower`]; produces `serde_json::Value`s. Touches no disk itself: every file goes
//! through the caller's [`BlobStore`].
//!
//! # The mapping
//!
//! | Flow type | literal |
//! |---|---|
//! | `int` | `{"scalar":{"primitive":{"integer":"5"}}}` (int64 is a JSON string) |
//! | `float` | `{"scalar":{"primitive":{"floatValue":1.5}}}`; `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | `str`, `bool` | `stringValue`, `boolean` |
//! | `datetime` | `{"scalar":{"primitive":{"datetime":"2024-01-01T00:00:00Z"}}}`: RFC 3339, UTC, 0, 3 or 6 fraction digits |
//! | `duration` | `{"scalar":{"primitive":{"duration":"1.500s"}}}`: seconds, 0, 3 or 6 fraction digits |
//! | `none` | `{"scalar":{"noneType":{}}}` |
//! | `list[T]` | `{"collection":{"literals":[…]}}` (also when empty) |
//! | `dict[str, T]` | `{"map":{"literals":{…}}}` (also when empty) |
//! | `struct S` | `{"scalar":{"generic":{…}}}`: the fields as a `google.protobuf.Struct` (below) |
//! | `enum E` | `{"scalar":{"primitive":{"stringValue":"Red"}}}` |
//! | `T?`, `A \| B` | `{"scalar":{"union":{"value":LITERAL,"type":VARIANT}}}`, VARIANT being the member's literal type with its `structure.tag`, exactly as in the union's literal type |
//! | `file` | `{"scalar":{"blob":{"metadata":{"type":{}},"uri":"…"}}}` |
//! | `dir` | `{"scalar":{"blob":{"metadata":{"type":{"dimensionality":"MULTIPART"}},"uri":"…"}}}` |
//! | `class C`, `extern type X` | `{"scalar":{"blob":{"metadata":{"type":{"format":"PythonPickle"}},"uri":URI}}}`, URI from [`BlobStore::write`] of [`pickle::encode`] |
//! | `list[C]` | a collection of blobs: one holding the whole list, or with `@batch(n)` one per `n` items ([`pickle::encode_batches`]); reading concatenates them ([`pickle::decode_batches`]) |
//! | `list[X]`, `X` extern | a collection of one blob per item, whatever `@batch` says: an extern value's bytes are a pickle of their own, which [`pickle`] does not nest |
//!
//! `list[list[C]]` is a collection of such collections (one file per inner list), `dict[str, C]`
//! a map of blobs (one file per value), `C?` a union whose Pickle variant is one file, and
//! `list[C?]` a collection of unions (one file per present item). A `none` in a list of a
//! non-optional pickled type is an error naming its index. `@batch` only affects a list whose items
//! are pickled; it is passed through a union to its list member.
//!
//! Empty collections and maps are written `{"collection":{"literals":[]}}` and
//! `{"map":{"literals":{}}}` (MessageToJson leaves the empty field out: `{"collection":{}}`; both
//! are valid and both are read), as is an empty literal map (`{"literals":{}}`).
//!
//! ## Struct values (`scalar.generic`)
//!
//! A struct's fields, in declaration order, as JSON: ints and floats as numbers (non-finite floats
//! as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`), `none` as `null`, datetimes as RFC 3339
//! strings, durations as seconds (a number, as flytekit's dataclass JSON writes a `timedelta`),
//! enums by variant name, nested structs as objects, lists and dicts as arrays and objects, a
//! `file`/`dir` as `{"path": "…"}` (as flytekit serializes `FlyteFile` in a dataclass), a union
//! member as its own plain form. **A pickled field** is written to a blob and stored as its URI
//! string; a list of a pickled type as an array of URI strings, one per file (the field's
//! `@batch` applies), a dict of one as an object of URI strings.
//!
//! `google.protobuf.Struct` numbers are doubles: an int beyond ±2⁵³ loses precision inside a
//! struct, and an int comes back from protobuf tooling as `5.0` (read as the int 5).
//!
//! Reading also accepts the msgpack form flytekit ≥ 1.14 writes (`scalar.binary` with tag
//! `msgpack`), a `file`/`dir` field as a bare string, a duration field as a `"1.5s"` string, and
//! a literal of a union member without the `union` wrapper.
//!
//! When reading a union, the member whose variant type equals the literal's `type` is chosen
//! (compared exactly, then without `metadata` and `structure.tag`); failing that, the first member
//! the value reads as. Inside a struct's JSON, where no type is recorded, members are tried in
//! order (an integral number prefers an `int` member over a `float` one).
//!
//! # Plain JSON (`flytec run`)
//!
//! [`value_to_json`]: `none` → `null`, numbers, strings, booleans, lists and tuples as arrays,
//! dicts and records (struct and class values) as objects, enums by variant name, datetimes as
//! RFC 3339 strings, durations as seconds (a number), paths as strings, non-finite floats as the
//! strings `"NaN"`, `"Infinity"`, `"-Infinity"`, and an opaque `extern` value as
//! `{"$opaque": {"bytes": N}}` (the caller may replace it by a reference to its file).
//! [`value_from_json`] reads the same forms against a type, and also durations written like Flow
//! literals (`"250ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, `"1h30m"`, `"1.5s"`), dates without a
//! time (`"2024-01-01"`) and times without an offset (taken as UTC).

use std::fmt;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use crate::check::lower::literal_type;
use crate::check::types::{DeclId, DeclKind, Decls, FieldSig, Type};
use crate::pickle;
use crate::value::{Record, Value};

/// Where Pickle files go: the run directory's store writes them atomically; [`MemoryBlobs`] keeps
/// them in memory for tests. Shared between the threads that write a list's batches in parallel.
pub trait BlobStore: Sync {
    /// Stores `bytes` as a new file and returns its URI.
    fn write(&self, bytes: &[u8]) -> Result<String, String>;
    /// The bytes of the file at `uri`.
    fn read(&self, uri: &str) -> Result<Vec<u8>, String>;
}

/// An in-memory [`BlobStore`] (public so that tests of other modules can use it too): file `k`
/// has the URI `mem://k`.
#[derive(Debug, Default)]
pub struct MemoryBlobs {
    files: Mutex<Vec<Arc<Vec<u8>>>>,
}

impl MemoryBlobs {
    /// An empty store.
    pub fn new() -> MemoryBlobs {
        MemoryBlobs::default()
    }

    /// How many files were written.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no file was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes at `uri`, if it names a file of this store.
    pub fn get(&self, uri: &str) -> Option<Vec<u8>> {
        let k: usize = uri.strip_prefix("mem://")?.parse().ok()?;
        self.lock().get(k).map(|b| b.to_vec())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Vec<u8>>>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl BlobStore for MemoryBlobs {
    fn write(&self, bytes: &[u8]) -> Result<String, String> {
        let mut files = self.lock();
        files.push(Arc::new(bytes.to_vec()));
        Ok(format!("mem://{}", files.len() - 1))
    }

    fn read(&self, uri: &str) -> Result<Vec<u8>, String> {
        self.get(uri)
            .ok_or_else(|| format!("no file `{uri}` in the in-memory store"))
    }
}

/// A value that cannot be converted, with where in it the problem is.
#[derive(Clone, Debug, PartialEq)]
pub struct LiteralError {
    message: String,
    /// Path segments from the outside in: `o0`, `[2]`, `.name`, `["key"]`.
    path: Vec<String>,
}

impl LiteralError {
    fn new(message: impl Into<String>) -> LiteralError {
        LiteralError {
            message: message.into(),
            path: Vec::new(),
        }
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where in the value the problem is, e.g. `o0[2].name`; empty at the top.
    pub fn path(&self) -> String {
        self.path.concat()
    }

    fn at(mut self, segment: String) -> LiteralError {
        self.path.insert(0, segment);
        self
    }

    fn at_index(self, i: usize) -> LiteralError {
        self.at(format!("[{i}]"))
    }

    fn at_key(self, key: &str) -> LiteralError {
        self.at(format!("[{key:?}]"))
    }

    fn at_field(self, name: &str) -> LiteralError {
        self.at(format!(".{name}"))
    }
}

impl fmt::Display for LiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            let path = self.path();
            write!(
                f,
                "at `{}`: {}",
                path.strip_prefix('.').unwrap_or(&path),
                self.message
            )
        }
    }
}

impl std::error::Error for LiteralError {}

type Result<T, E = LiteralError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// Public entry points

/// The literal of `value`, of type `ty`, stored with `@batch(batch)` if given (it matters only for
/// a list of a pickled type), as flyteidl JSON. Pickle files are written to `blobs`.
pub fn to_literal(
    value: &Value,
    ty: &Type,
    batch: Option<u32>,
    decls: &Decls,
    blobs: &dyn BlobStore,
) -> Result<Json> {
    Writer { decls, blobs }.literal(value, ty, batch)
}

/// The value of type `ty` that `lit` (flyteidl JSON) holds, reading Pickle files from `blobs`.
pub fn from_literal(lit: &Json, ty: &Type, decls: &Decls, blobs: &dyn BlobStore) -> Result<Value> {
    Reader { decls, blobs }.value(lit, ty)
}

/// The `flyteidl.core.LiteralMap` of `entries` (name, value, type, `@batch`):
/// `{"literals": {name: literal, …}}`, in the order given. An error's path starts with the name.
pub fn to_literal_map(
    entries: &[(&str, &Value, &Type, Option<u32>)],
    decls: &Decls,
    blobs: &dyn BlobStore,
) -> Result<Json> {
    let writer = Writer { decls, blobs };
    let mut literals = Map::new();
    for &(name, value, ty, batch) in entries {
        let lit = writer
            .literal(value, ty, batch)
            .map_err(|e| e.at(name.to_string()))?;
        literals.insert(name.to_string(), lit);
    }
    Ok(json!({ "literals": literals }))
}

/// The values of the variables `vars` (name, type) in the literal map `map`, in the order of
/// `vars`. A variable missing from the map is an error; literals of other names are ignored.
pub fn from_literal_map(
    map: &Json,
    vars: &[(&str, &Type)],
    decls: &Decls,
    blobs: &dyn BlobStore,
) -> Result<Vec<Value>> {
    let Json::Object(obj) = map else {
        return Err(LiteralError::new(format!(
            "expected a literal map (`{{\"literals\": {{…}}}}`), found {}",
            show_json(map)
        )));
    };
    let empty = Map::new();
    let literals = match obj.get("literals") {
        None => &empty,
        Some(Json::Object(l)) => l,
        Some(other) => {
            return Err(LiteralError::new(format!(
                "expected `literals` to be an object, found {}",
                show_json(other)
            )))
        }
    };
    let reader = Reader { decls, blobs };
    vars.iter()
        .map(|&(name, ty)| {
            let lit = literals.get(name).ok_or_else(|| {
                LiteralError::new(format!(
                    "the literal map has no `{name}` (of type `{}`)",
                    decls.show(ty)
                ))
            })?;
            reader.value(lit, ty).map_err(|e| e.at(name.to_string()))
        })
        .collect()
}

/// `value` as a plain JSON value, for `flytec run`'s output (see the module documentation).
pub fn value_to_json(value: &Value) -> Json {
    match value {
        Value::None => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::Float(f) => float_json(*f),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Datetime(us) => Json::String(format_timestamp(*us)),
        Value::Duration(us) => float_json(*us as f64 / 1e6),
        Value::List(items) | Value::Tuple(items) => {
            Json::Array(items.iter().map(value_to_json).collect())
        }
        Value::Dict(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        ),
        Value::Record(r) => Json::Object(
            r.fields
                .iter()
                .map(|(k, v)| (k.to_string(), value_to_json(v)))
                .collect(),
        ),
        Value::Enum(_, variant) => Json::String(variant.to_string()),
        Value::Path(p) => Json::String(p.to_string()),
        Value::Opaque(bytes) => json!({ "$opaque": { "bytes": bytes.len() } }),
    }
}

/// The value of type `ty` that the plain JSON `json` stands for (a `--NAME VALUE` input).
///
/// A struct or class is an object with every field; a missing field is an error naming it (also
/// one with a default: defaults are expressions, which only the caller can evaluate; see
/// [`value_from_json_with_defaults`]). An int is accepted for a float; an enum is a variant name.
/// An `extern` value cannot be given as JSON.
pub fn value_from_json(json: &Json, ty: &Type, decls: &Decls) -> Result<Value> {
    value_from_json_with_defaults(json, ty, decls, &|_, _| None)
}

/// [`value_from_json`], filling a struct's or class's missing defaulted field with
/// `default(decl, field)` (the id of the struct's declaration and the field's name) when that
/// gives a value. A missing field without a default, or whose default gives `None`, is an error.
pub fn value_from_json_with_defaults(
    json: &Json,
    ty: &Type,
    decls: &Decls,
    default: &dyn Fn(DeclId, &str) -> Option<Value>,
) -> Result<Value> {
    JsonReader {
        decls,
        mode: Mode::Input { default },
    }
    .value(json, ty)
}

// ---------------------------------------------------------------------------------------------
// Types

/// What a (resolved) type is, for conversion.
enum Kind<'a> {
    /// A built-in or structural type.
    Plain(&'a Type),
    /// A struct.
    Struct(DeclId, &'a str, &'a [FieldSig]),
    /// A class (pickled).
    Class(DeclId, &'a str),
    /// An extern type (pickled).
    Extern(&'a str),
    /// An enum.
    Enum(&'a str, &'a [String]),
    /// A type no value can be converted for (callable, …).
    Other,
}

/// `ty` with aliases expanded at the top.
fn resolve<'t>(decls: &'t Decls, ty: &'t Type) -> &'t Type {
    let mut ty = ty;
    for _ in 0..64 {
        match ty {
            Type::Decl(id) => match &decls.get(*id).kind {
                DeclKind::Alias(t) => ty = t,
                _ => return ty,
            },
            _ => return ty,
        }
    }
    ty
}

fn kind<'a>(decls: &'a Decls, ty: &'a Type) -> Kind<'a> {
    match resolve(decls, ty) {
        Type::Decl(id) => {
            let decl = decls.get(*id);
            match &decl.kind {
                DeclKind::Struct(fields) => Kind::Struct(*id, &decl.name, fields),
                DeclKind::Class(_) => Kind::Class(*id, &decl.name),
                DeclKind::Extern => Kind::Extern(&decl.name),
                DeclKind::Enum(variants) => Kind::Enum(&decl.name, variants),
                DeclKind::Alias(_) | DeclKind::Callable(_) => Kind::Other,
            }
        }
        t => Kind::Plain(t),
    }
}

/// Whether values of `ty` (aliases expanded) are stored as Pickle.
fn is_pickled(decls: &Decls, ty: &Type) -> bool {
    decls.is_pickled(resolve(decls, ty))
}

/// Whether `value` is a value of `ty`, deeply; `widen` lets an int stand for a float.
fn fits(decls: &Decls, value: &Value, ty: &Type, widen: bool) -> bool {
    match (value, kind(decls, ty)) {
        (_, Kind::Plain(Type::Union(members))) => {
            members.iter().any(|m| fits(decls, value, m, widen))
        }
        (Value::Record(r), Kind::Struct(_, name, _) | Kind::Class(_, name)) => {
            &*r.type_name == name
        }
        (Value::Enum(e, variant), Kind::Enum(name, variants)) => {
            &**e == name && variants.iter().any(|v| **v == **variant)
        }
        (Value::Opaque(_), Kind::Extern(_)) => true,
        (_, Kind::Plain(t)) => match (value, t) {
            (Value::None, Type::None)
            | (Value::Bool(_), Type::Bool)
            | (Value::Int(_), Type::Int)
            | (Value::Float(_), Type::Float)
            | (Value::Str(_), Type::Str)
            | (Value::Datetime(_), Type::Datetime)
            | (Value::Duration(_), Type::Duration)
            | (Value::Path(_), Type::File | Type::Dir) => true,
            (Value::Int(_), Type::Float) => widen,
            (Value::List(items), Type::List(item)) => {
                items.iter().all(|v| fits(decls, v, item, widen))
            }
            (Value::Dict(map), Type::Dict(_, v)) => map.values().all(|x| fits(decls, x, v, widen)),
            _ => false,
        },
        _ => false,
    }
}

/// The member of the union `members` that `value` belongs to: the first it fits exactly, else the
/// first it fits with int-to-float widening.
fn choose_member(decls: &Decls, value: &Value, members: &[Type]) -> Option<usize> {
    members
        .iter()
        .position(|m| fits(decls, value, m, false))
        .or_else(|| members.iter().position(|m| fits(decls, value, m, true)))
}

/// The variant types of the union `members`, with their `structure.tag`s, as the union's literal
/// type lists them.
fn union_variants(decls: &Decls, members: &[Type]) -> Result<Vec<Json>> {
    let union = Type::Union(members.to_vec());
    let lt = literal_type(decls, &union);
    match lt.pointer("/unionType/variants") {
        Some(Json::Array(vs)) if vs.len() == members.len() => Ok(vs.clone()),
        _ => Err(LiteralError::new(format!(
            "`{}` has no Flyte literal type",
            decls.show(&union)
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing literals

struct Writer<'a> {
    decls: &'a Decls,
    blobs: &'a dyn BlobStore,
}

impl Writer<'_> {
    fn mismatch(&self, value: &Value, ty: &Type) -> LiteralError {
        LiteralError::new(format!(
            "expected a value of type `{}`, found {}",
            self.decls.show(ty),
            describe_value(value)
        ))
    }

    fn literal(&self, value: &Value, ty: &Type, batch: Option<u32>) -> Result<Json> {
        let decls = self.decls;
        match kind(decls, ty) {
            Kind::Class(..) | Kind::Extern(_) => {
                let uri = self.write_pickle(value, ty)?;
                Ok(pickle_blob(uri))
            }
            Kind::Struct(..) => {
                if !fits(decls, value, ty, false) {
                    return Err(self.mismatch(value, ty));
                }
                Ok(json!({ "scalar": { "generic": self.generic(value, ty, None)? } }))
            }
            Kind::Enum(..) => match value {
                Value::Enum(_, variant) if fits(decls, value, ty, false) => {
                    Ok(primitive("stringValue", Json::String(variant.to_string())))
                }
                _ => Err(self.mismatch(value, ty)),
            },
            Kind::Other => Err(no_literal(decls, ty)),
            Kind::Plain(t) => match (t, value) {
                (Type::Int, Value::Int(i)) => Ok(primitive("integer", Json::String(i.to_string()))),
                (Type::Float, Value::Float(f)) => Ok(primitive("floatValue", float_json(*f))),
                (Type::Float, Value::Int(i)) => Ok(primitive("floatValue", float_json(*i as f64))),
                (Type::Str, Value::Str(s)) => Ok(primitive("stringValue", json!(&**s))),
                (Type::Bool, Value::Bool(b)) => Ok(primitive("boolean", json!(b))),
                (Type::Datetime, Value::Datetime(us)) => {
                    Ok(primitive("datetime", json!(pb_timestamp(*us)?)))
                }
                (Type::Duration, Value::Duration(us)) => {
                    Ok(primitive("duration", json!(pb_duration(*us)?)))
                }
                (Type::None, Value::None) => Ok(json!({ "scalar": { "noneType": {} } })),
                (Type::File, Value::Path(p)) => Ok(path_blob(p, false)),
                (Type::Dir, Value::Path(p)) => Ok(path_blob(p, true)),
                (Type::List(item), Value::List(items)) => {
                    let literals = if is_pickled(decls, item) {
                        self.pickled_list(items, item, batch)?
                    } else {
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| self.literal(v, item, None).map_err(|e| e.at_index(i)))
                            .collect::<Result<Vec<_>>>()?
                    };
                    Ok(json!({ "collection": { "literals": literals } }))
                }
                (Type::Dict(key, val), Value::Dict(map)) => {
                    check_str_key(decls, key, t)?;
                    let mut literals = Map::new();
                    for (k, v) in map.iter() {
                        let lit = self.literal(v, val, None).map_err(|e| e.at_key(k))?;
                        literals.insert(k.clone(), lit);
                    }
                    Ok(json!({ "map": { "literals": literals } }))
                }
                (Type::Union(members), _) => {
                    let i = choose_member(decls, value, members)
                        .ok_or_else(|| self.mismatch(value, ty))?;
                    let variants = union_variants(decls, members)?;
                    let lit = self.literal(value, &members[i], batch)?;
                    Ok(json!({ "scalar": { "union": { "value": lit, "type": variants[i] } } }))
                }
                (
                    Type::Tuple(_)
                    | Type::NamedTuple(_)
                    | Type::Param(_)
                    | Type::Never
                    | Type::Error
                    | Type::Decl(_),
                    _,
                ) => Err(no_literal(decls, ty)),
                _ => Err(self.mismatch(value, ty)),
            },
        }
    }

    /// Writes the Pickle of one value of the pickled type `ty` and returns its URI.
    fn write_pickle(&self, value: &Value, ty: &Type) -> Result<String> {
        match value {
            Value::None => {
                return Err(LiteralError::new(format!(
                    "found `none` where a `{}` is expected: a Pickle value cannot be `none` \
                     (declare the type `{}?` to allow it)",
                    self.decls.show(ty),
                    self.decls.show(ty)
                )))
            }
            _ if !fits(self.decls, value, ty, false) => return Err(self.mismatch(value, ty)),
            _ => {}
        }
        let bytes = pickle::encode(value).map_err(|e| {
            LiteralError::new(format!(
                "cannot pickle the `{}` value: {e}",
                self.decls.show(ty)
            ))
        })?;
        self.blobs
            .write(&bytes)
            .map_err(|e| LiteralError::new(format!("cannot write a Pickle file: {e}")))
    }

    /// Writes a list of a pickled type as one file (no batch) or one per batch, returning their
    /// URIs.
    fn pickled_list_uris(
        &self,
        items: &[Value],
        item: &Type,
        batch: Option<u32>,
    ) -> Result<Vec<String>> {
        let decls = self.decls;
        for (i, v) in items.iter().enumerate() {
            if *v == Value::None {
                return Err(LiteralError::new(format!(
                    "item {i} of the list is `none`, but `{}` values cannot be `none` \
                     (declare the list `list[{}?]` to allow it)",
                    decls.show(item),
                    decls.show(item)
                ))
                .at_index(i));
            }
            if !fits(decls, v, item, false) {
                return Err(self.mismatch(v, item).at_index(i));
            }
        }
        if matches!(kind(decls, item), Kind::Extern(_)) {
            // An extern value's bytes are a whole pickle of their own: one file each.
            return par_map(items, |v| self.write_pickle(v, item));
        }
        let files = pickle::encode_batches(items, batch).map_err(|e| {
            LiteralError::new(format!(
                "cannot pickle the `list[{}]` value: {e}",
                decls.show(item)
            ))
        })?;
        par_map(&files, |bytes: &Vec<u8>| {
            self.blobs
                .write(bytes)
                .map_err(|e| LiteralError::new(format!("cannot write a Pickle file: {e}")))
        })
    }

    fn pickled_list(&self, items: &[Value], item: &Type, batch: Option<u32>) -> Result<Vec<Json>> {
        Ok(self
            .pickled_list_uris(items, item, batch)?
            .into_iter()
            .map(pickle_blob)
            .collect())
    }

    /// The `google.protobuf.Struct` JSON of `value` (see the module documentation).
    fn generic(&self, value: &Value, ty: &Type, batch: Option<u32>) -> Result<Json> {
        let decls = self.decls;
        match kind(decls, ty) {
            Kind::Class(..) | Kind::Extern(_) => Ok(Json::String(self.write_pickle(value, ty)?)),
            Kind::Struct(_, _, fields) => {
                let Value::Record(record) = value else {
                    return Err(self.mismatch(value, ty));
                };
                if !fits(decls, value, ty, false) {
                    return Err(self.mismatch(value, ty));
                }
                self.check_record_fields(record, fields, ty)?;
                let mut obj = Map::new();
                for f in fields {
                    let v = record_field(record, &f.name).ok_or_else(|| {
                        LiteralError::new(format!(
                            "the `{}` value has no field `{}`",
                            decls.show(ty),
                            f.name
                        ))
                    })?;
                    let j = self
                        .generic(v, &f.ty, f.batch)
                        .map_err(|e| e.at_field(&f.name))?;
                    obj.insert(f.name.clone(), j);
                }
                Ok(Json::Object(obj))
            }
            Kind::Enum(..) => match value {
                Value::Enum(_, variant) if fits(decls, value, ty, false) => {
                    Ok(Json::String(variant.to_string()))
                }
                _ => Err(self.mismatch(value, ty)),
            },
            Kind::Other => Err(no_literal(decls, ty)),
            Kind::Plain(t) => match (t, value) {
                (Type::Int, Value::Int(i)) => Ok(json!(i)),
                (Type::Float, Value::Float(f)) => Ok(float_json(*f)),
                (Type::Float, Value::Int(i)) => Ok(float_json(*i as f64)),
                (Type::Str, Value::Str(s)) => Ok(json!(&**s)),
                (Type::Bool, Value::Bool(b)) => Ok(json!(b)),
                (Type::Datetime, Value::Datetime(us)) => Ok(json!(pb_timestamp(*us)?)),
                (Type::Duration, Value::Duration(us)) => Ok(float_json(*us as f64 / 1e6)),
                (Type::None, Value::None) => Ok(Json::Null),
                (Type::File | Type::Dir, Value::Path(p)) => Ok(json!({ "path": &**p })),
                (Type::List(item), Value::List(items)) => {
                    if is_pickled(decls, item) {
                        Ok(json!(self.pickled_list_uris(items, item, batch)?))
                    } else {
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| self.generic(v, item, None).map_err(|e| e.at_index(i)))
                            .collect::<Result<Vec<_>>>()
                            .map(Json::Array)
                    }
                }
                (Type::Dict(key, val), Value::Dict(map)) => {
                    check_str_key(decls, key, t)?;
                    let mut obj = Map::new();
                    for (k, v) in map.iter() {
                        obj.insert(
                            k.clone(),
                            self.generic(v, val, None).map_err(|e| e.at_key(k))?,
                        );
                    }
                    Ok(Json::Object(obj))
                }
                (Type::Union(members), _) => {
                    let i = choose_member(decls, value, members)
                        .ok_or_else(|| self.mismatch(value, ty))?;
                    self.generic(value, &members[i], batch)
                }
                (
                    Type::Tuple(_)
                    | Type::NamedTuple(_)
                    | Type::Param(_)
                    | Type::Never
                    | Type::Error
                    | Type::Decl(_),
                    _,
                ) => Err(no_literal(decls, ty)),
                _ => Err(self.mismatch(value, ty)),
            },
        }
    }

    /// A record must not carry fields its type does not declare.
    fn check_record_fields(&self, record: &Record, fields: &[FieldSig], ty: &Type) -> Result<()> {
        match record
            .fields
            .iter()
            .find(|(n, _)| !fields.iter().any(|f| *f.name == **n))
        {
            Some((n, _)) => Err(LiteralError::new(format!(
                "`{}` has no field `{n}`",
                self.decls.show(ty)
            ))),
            None => Ok(()),
        }
    }
}

fn record_field<'r>(record: &'r Record, name: &str) -> Option<&'r Value> {
    record
        .fields
        .iter()
        .find(|(n, _)| &**n == name)
        .map(|(_, v)| v)
}

fn check_str_key(decls: &Decls, key: &Type, dict: &Type) -> Result<()> {
    if *resolve(decls, key) == Type::Str {
        Ok(())
    } else {
        Err(LiteralError::new(format!(
            "`{}` has no Flyte literal: dict keys must be `str`",
            decls.show(dict)
        )))
    }
}

fn no_literal(decls: &Decls, ty: &Type) -> LiteralError {
    LiteralError::new(format!(
        "values of type `{}` cannot be converted to Flyte literals",
        decls.show(ty)
    ))
}

fn primitive(field: &str, value: Json) -> Json {
    let mut p = Map::new();
    p.insert(field.to_string(), value);
    json!({ "scalar": { "primitive": p } })
}

fn pickle_blob(uri: String) -> Json {
    json!({ "scalar": { "blob": {
        "metadata": { "type": { "format": "PythonPickle" } },
        "uri": uri,
    } } })
}

fn path_blob(path: &str, multipart: bool) -> Json {
    let ty = if multipart {
        json!({ "dimensionality": "MULTIPART" })
    } else {
        json!({})
    };
    json!({ "scalar": { "blob": { "metadata": { "type": ty }, "uri": path } } })
}

/// A float as protobuf JSON writes a double: a number, or a string for non-finite values.
fn float_json(f: f64) -> Json {
    if f.is_nan() {
        json!("NaN")
    } else if f == f64::INFINITY {
        json!("Infinity")
    } else if f == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(f)
    }
}

/// Runs `f` on every item, in parallel when there are several, keeping order; the first error
/// (in item order) wins.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Result<R> + Sync) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len())
        .min(16);
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    let results: Vec<Vec<Result<R>>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.into_iter().flatten().collect()
}

// ---------------------------------------------------------------------------------------------
// Reading literals

struct Reader<'a> {
    decls: &'a Decls,
    blobs: &'a dyn BlobStore,
}

impl Reader<'_> {
    fn bad(&self, lit: &Json, ty: &Type, form: &str) -> LiteralError {
        LiteralError::new(format!(
            "expected a literal of type `{}` ({form}), found {}",
            self.decls.show(ty),
            show_json(lit)
        ))
    }

    fn value(&self, lit: &Json, ty: &Type) -> Result<Value> {
        let decls = self.decls;
        match kind(decls, ty) {
            Kind::Class(..) | Kind::Extern(_) => {
                let uri = blob_uri(lit).ok_or_else(|| self.bad(lit, ty, "a Pickle blob"))?;
                self.read_pickle(uri, ty)
            }
            Kind::Struct(..) => {
                let scalar = lit.get("scalar");
                if let Some(generic) = scalar.and_then(|s| s.get("generic")) {
                    return self.json_reader().value(generic, ty);
                }
                if let Some(binary) = scalar.and_then(|s| s.get("binary")) {
                    let json = msgpack_binary(binary).map_err(|e| {
                        LiteralError::new(format!(
                            "cannot read the `{}` value from `scalar.binary`: {e}",
                            decls.show(ty)
                        ))
                    })?;
                    return self.json_reader().value(&json, ty);
                }
                Err(self.bad(lit, ty, "scalar.generic"))
            }
            Kind::Enum(name, variants) => {
                let s = prim(lit, "stringValue")
                    .and_then(Json::as_str)
                    .ok_or_else(|| self.bad(lit, ty, "scalar.primitive.stringValue"))?;
                enum_value(name, variants, s)
            }
            Kind::Other => Err(no_literal(decls, ty)),
            Kind::Plain(t) => match t {
                Type::Int => prim(lit, "integer")
                    .and_then(json_i64)
                    .map(Value::Int)
                    .ok_or_else(|| self.bad(lit, ty, "scalar.primitive.integer")),
                Type::Float => {
                    if let Some(f) = prim(lit, "floatValue").and_then(json_f64) {
                        Ok(Value::Float(f))
                    } else if let Some(i) = prim(lit, "integer").and_then(json_i64) {
                        Ok(Value::Float(i as f64))
                    } else {
                        Err(self.bad(lit, ty, "scalar.primitive.floatValue"))
                    }
                }
                Type::Str => prim(lit, "stringValue")
                    .and_then(Json::as_str)
                    .map(Value::str)
                    .ok_or_else(|| self.bad(lit, ty, "scalar.primitive.stringValue")),
                Type::Bool => prim(lit, "boolean")
                    .and_then(Json::as_bool)
                    .map(Value::Bool)
                    .ok_or_else(|| self.bad(lit, ty, "scalar.primitive.boolean")),
                Type::Datetime => {
                    let s = prim(lit, "datetime")
                        .and_then(Json::as_str)
                        .ok_or_else(|| self.bad(lit, ty, "scalar.primitive.datetime"))?;
                    parse_timestamp(s)
                        .map(Value::Datetime)
                        .map_err(LiteralError::new)
                }
                Type::Duration => {
                    let s = prim(lit, "duration")
                        .and_then(Json::as_str)
                        .ok_or_else(|| self.bad(lit, ty, "scalar.primitive.duration"))?;
                    parse_duration(s)
                        .map(Value::Duration)
                        .map_err(LiteralError::new)
                }
                Type::None => match lit.pointer("/scalar/noneType") {
                    Some(_) => Ok(Value::None),
                    None => Err(self.bad(lit, ty, "scalar.noneType")),
                },
                Type::File | Type::Dir => blob_uri(lit)
                    .map(|uri| Value::Path(uri.into()))
                    .ok_or_else(|| self.bad(lit, ty, "scalar.blob")),
                Type::List(item) => {
                    let literals = match lit.get("collection") {
                        Some(Json::Object(c)) => match c.get("literals") {
                            None => &[][..],
                            Some(Json::Array(ls)) => &ls[..],
                            Some(_) => return Err(self.bad(lit, ty, "collection.literals")),
                        },
                        _ => return Err(self.bad(lit, ty, "collection")),
                    };
                    if is_pickled(decls, item) {
                        let uris = literals
                            .iter()
                            .enumerate()
                            .map(|(i, l)| {
                                blob_uri(l)
                                    .ok_or_else(|| self.bad(l, ty, "a Pickle blob").at_index(i))
                            })
                            .collect::<Result<Vec<_>>>()?;
                        self.read_pickled_list(&uris, item)
                    } else {
                        literals
                            .iter()
                            .enumerate()
                            .map(|(i, l)| self.value(l, item).map_err(|e| e.at_index(i)))
                            .collect::<Result<Vec<_>>>()
                            .map(Value::list)
                    }
                }
                Type::Dict(key, val) => {
                    check_str_key(decls, key, t)?;
                    let literals = match lit.get("map") {
                        Some(Json::Object(m)) => match m.get("literals") {
                            None => None,
                            Some(Json::Object(ls)) => Some(ls),
                            Some(_) => return Err(self.bad(lit, ty, "map.literals")),
                        },
                        _ => return Err(self.bad(lit, ty, "map")),
                    };
                    let mut map = IndexMap::new();
                    for (k, l) in literals.into_iter().flatten() {
                        map.insert(k.clone(), self.value(l, val).map_err(|e| e.at_key(k))?);
                    }
                    Ok(Value::Dict(Arc::new(map)))
                }
                Type::Union(members) => self.union(lit, ty, members),
                Type::Tuple(_)
                | Type::NamedTuple(_)
                | Type::Param(_)
                | Type::Never
                | Type::Error
                | Type::Decl(_) => Err(no_literal(decls, ty)),
            },
        }
    }

    fn union(&self, lit: &Json, ty: &Type, members: &[Type]) -> Result<Value> {
        let decls = self.decls;
        if let Some(u) = lit.pointer("/scalar/union") {
            let value = u
                .get("value")
                .ok_or_else(|| self.bad(lit, ty, "scalar.union.value"))?;
            let variants = union_variants(decls, members)?;
            if let Some(lt) = u.get("type") {
                let chosen = variants.iter().position(|v| v == lt).or_else(|| {
                    let lt = strip_type(lt);
                    variants.iter().position(|v| strip_type(v) == lt)
                });
                if let Some(i) = chosen {
                    return self.value(value, &members[i]);
                }
            }
            return self.first_member(value, ty, members);
        }
        self.first_member(lit, ty, members)
    }

    /// The value of the first member of `members` that `lit` reads as.
    fn first_member(&self, lit: &Json, ty: &Type, members: &[Type]) -> Result<Value> {
        let mut first_err = None;
        for m in members {
            match self.value(lit, m) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(match first_err {
            Some(e) if members.len() == 1 => e,
            _ => self.bad(lit, ty, "a literal of one of its members"),
        })
    }

    fn read_pickle(&self, uri: &str, ty: &Type) -> Result<Value> {
        let bytes = self.read_blob(uri)?;
        pickle::decode(&bytes, resolve(self.decls, ty), self.decls).map_err(|e| {
            LiteralError::new(format!(
                "cannot read the `{}` value from `{uri}`: {e}",
                self.decls.show(ty)
            ))
        })
    }

    fn read_blob(&self, uri: &str) -> Result<Vec<u8>> {
        self.blobs
            .read(uri)
            .map_err(|e| LiteralError::new(format!("cannot read the Pickle file `{uri}`: {e}")))
    }

    fn read_pickled_list(&self, uris: &[&str], item: &Type) -> Result<Value> {
        if matches!(kind(self.decls, item), Kind::Extern(_)) {
            return par_map(uris, |uri| self.read_pickle(uri, item)).map(Value::list);
        }
        let files = par_map(uris, |uri| self.read_blob(uri))?;
        pickle::decode_batches(&files, resolve(self.decls, item), self.decls)
            .map(Value::list)
            .map_err(|e| {
                LiteralError::new(format!(
                    "cannot read the `list[{}]` value: {e}",
                    self.decls.show(item)
                ))
            })
    }

    fn json_reader(&self) -> JsonReader<'_> {
        JsonReader {
            decls: self.decls,
            mode: Mode::Generic { reader: self },
        }
    }
}

/// `scalar.primitive.FIELD` of a literal.
fn prim<'j>(lit: &'j Json, field: &str) -> Option<&'j Json> {
    lit.get("scalar")?.get("primitive")?.get(field)
}

/// `scalar.blob.uri` of a literal.
fn blob_uri(lit: &Json) -> Option<&str> {
    lit.get("scalar")?.get("blob")?.get("uri")?.as_str()
}

/// A literal type without `metadata` and `structure.tag`, anywhere in it.
fn strip_type(lt: &Json) -> Json {
    match lt {
        Json::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                if k == "metadata" || k == "tag" {
                    continue;
                }
                let v = strip_type(v);
                if k == "structure" && v.as_object().is_some_and(Map::is_empty) {
                    continue;
                }
                out.insert(k.clone(), v);
            }
            Json::Object(out)
        }
        Json::Array(items) => Json::Array(items.iter().map(strip_type).collect()),
        other => other.clone(),
    }
}

/// An int64 in protobuf JSON: a string or an integral number.
fn json_i64(j: &Json) -> Option<i64> {
    match j {
        Json::String(s) => s.parse().ok(),
        Json::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
        }),
        _ => None,
    }
}

/// A double in protobuf JSON: a number, a numeric string, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn json_f64(j: &Json) -> Option<f64> {
    match j {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            s => s.parse().ok().filter(|f: &f64| f.is_finite()),
        },
        _ => None,
    }
}

fn enum_value(name: &str, variants: &[String], s: &str) -> Result<Value> {
    if variants.iter().any(|v| v == s) {
        Ok(Value::Enum(name.into(), s.into()))
    } else {
        Err(LiteralError::new(format!(
            "`{s}` is not a variant of the enum `{name}` (its variants: {})",
            variants.join(", ")
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading plain JSON (struct fields inside literals, and `--NAME VALUE` inputs)

enum Mode<'a> {
    /// Inside `scalar.generic`: pickled values are blob URIs.
    Generic { reader: &'a Reader<'a> },
    /// A `flytec run` input: classes are objects, extern values are refused.
    Input {
        default: &'a dyn Fn(DeclId, &str) -> Option<Value>,
    },
}

struct JsonReader<'a> {
    decls: &'a Decls,
    mode: Mode<'a>,
}

impl JsonReader<'_> {
    fn bad(&self, json: &Json, ty: &Type) -> LiteralError {
        LiteralError::new(format!(
            "expected a value of type `{}`, found {}",
            self.decls.show(ty),
            show_json(json)
        ))
    }

    fn value(&self, json: &Json, ty: &Type) -> Result<Value> {
        let decls = self.decls;
        match kind(decls, ty) {
            Kind::Class(_, name) | Kind::Extern(name) => match &self.mode {
                Mode::Generic { reader } => {
                    let uri = match json {
                        Json::String(s) => s.as_str(),
                        _ => json
                            .get("uri")
                            .and_then(Json::as_str)
                            .ok_or_else(|| self.bad(json, ty))?,
                    };
                    reader.read_pickle(uri, ty)
                }
                Mode::Input { .. } => match (kind(decls, ty), decls.fields(resolve(decls, ty))) {
                    (Kind::Class(id, _), Some(fields)) => self.record(json, ty, name, fields, id),
                    _ => Err(LiteralError::new(format!(
                        "a value of the extern type `{name}` cannot be given as JSON"
                    ))),
                },
            },
            Kind::Struct(id, name, fields) => self.record(json, ty, name, fields, id),
            Kind::Enum(name, variants) => match json {
                Json::String(s) => enum_value(name, variants, s),
                _ => Err(self.bad(json, ty)),
            },
            Kind::Other => Err(no_literal(decls, ty)),
            Kind::Plain(t) => match (t, json) {
                (Type::Int, Json::Number(_)) => match (&self.mode, json.as_i64()) {
                    (_, Some(i)) => Ok(Value::Int(i)),
                    // protobuf's Struct holds doubles: 5 comes back as 5.0.
                    (Mode::Generic { .. }, None) => json_i64(json)
                        .map(Value::Int)
                        .ok_or_else(|| self.bad(json, ty)),
                    (Mode::Input { .. }, None) => Err(self.bad(json, ty)),
                },
                (Type::Float, Json::Number(n)) => n
                    .as_f64()
                    .map(Value::Float)
                    .ok_or_else(|| self.bad(json, ty)),
                (Type::Float, Json::String(s)) => match s.as_str() {
                    "NaN" | "Infinity" | "-Infinity" => {
                        Ok(Value::Float(json_f64(json).unwrap_or(f64::NAN)))
                    }
                    _ => Err(self.bad(json, ty)),
                },
                (Type::Str, Json::String(s)) => Ok(Value::str(s.as_str())),
                (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
                (Type::Datetime, Json::String(s)) => parse_timestamp(s)
                    .map(Value::Datetime)
                    .map_err(LiteralError::new),
                (Type::Duration, Json::Number(n)) => {
                    let secs = n.as_f64().unwrap_or(f64::NAN);
                    let us = (secs * 1e6).round();
                    if us.is_finite() && us.abs() < 9.2e18 {
                        Ok(Value::Duration(us as i64))
                    } else {
                        Err(LiteralError::new(format!(
                            "the duration {n} s is out of range"
                        )))
                    }
                }
                (Type::Duration, Json::String(s)) => parse_duration(s)
                    .or_else(|_| parse_flow_duration(s))
                    .map(Value::Duration)
                    .map_err(LiteralError::new),
                (Type::None, Json::Null) => Ok(Value::None),
                (Type::File | Type::Dir, Json::String(s)) => Ok(Value::Path(s.as_str().into())),
                (Type::File | Type::Dir, Json::Object(o)) => match o.get("path") {
                    Some(Json::String(s)) => Ok(Value::Path(s.as_str().into())),
                    _ => Err(self.bad(json, ty)),
                },
                (Type::List(item), Json::Array(items)) => {
                    if let (Mode::Generic { reader }, true) = (&self.mode, is_pickled(decls, item))
                    {
                        let uris = items
                            .iter()
                            .enumerate()
                            .map(|(i, j)| j.as_str().ok_or_else(|| self.bad(j, item).at_index(i)))
                            .collect::<Result<Vec<_>>>()?;
                        return reader.read_pickled_list(&uris, item);
                    }
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, j)| self.value(j, item).map_err(|e| e.at_index(i)))
                        .collect::<Result<Vec<_>>>()
                        .map(Value::list)
                }
                (Type::Dict(key, val), Json::Object(obj)) => {
                    check_str_key(decls, key, t)?;
                    let mut map = IndexMap::new();
                    for (k, j) in obj {
                        map.insert(k.clone(), self.value(j, val).map_err(|e| e.at_key(k))?);
                    }
                    Ok(Value::Dict(Arc::new(map)))
                }
                (Type::Union(members), _) => self.union(json, ty, members),
                (
                    Type::Tuple(_)
                    | Type::NamedTuple(_)
                    | Type::Param(_)
                    | Type::Never
                    | Type::Error
                    | Type::Decl(_),
                    _,
                ) => Err(no_literal(decls, ty)),
                _ => Err(self.bad(json, ty)),
            },
        }
    }

    fn union(&self, json: &Json, ty: &Type, members: &[Type]) -> Result<Value> {
        let decls = self.decls;
        // An integral number is an int before it is a float, whatever the order.
        if json.as_i64().is_some() {
            if let Some(m) = members.iter().find(|m| *resolve(decls, m) == Type::Int) {
                return self.value(json, m);
            }
        }
        let mut errors = Vec::new();
        for m in members {
            match self.value(json, m) {
                Ok(v) => return Ok(v),
                Err(e) => errors.push(e),
            }
        }
        if errors.len() == 1 {
            return Err(errors.pop().unwrap_or_else(|| self.bad(json, ty)));
        }
        // A struct member whose object was almost right says more than "expected A | B".
        let is_obj = json.is_object();
        let structs: Vec<_> = members
            .iter()
            .zip(errors)
            .filter(|(m, _)| is_obj && decls.fields(resolve(decls, m)).is_some())
            .map(|(_, e)| e)
            .collect();
        match <[LiteralError; 1]>::try_from(structs) {
            Ok([e]) => Err(e),
            Err(_) => Err(self.bad(json, ty)),
        }
    }

    fn record(
        &self,
        json: &Json,
        ty: &Type,
        name: &str,
        fields: &[FieldSig],
        id: DeclId,
    ) -> Result<Value> {
        let Json::Object(obj) = json else {
            return Err(self.bad(json, ty));
        };
        if let Some(extra) = obj.keys().find(|k| !fields.iter().any(|f| f.name == **k)) {
            return Err(LiteralError::new(format!(
                "`{name}` has no field `{extra}` (its fields: {})",
                fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut values = Vec::with_capacity(fields.len());
        let mut missing = Vec::new();
        for f in fields {
            match obj.get(&f.name) {
                Some(j) => {
                    let v = self.value(j, &f.ty).map_err(|e| e.at_field(&f.name))?;
                    values.push((Arc::from(f.name.as_str()), v));
                }
                None => {
                    let filled = match &self.mode {
                        Mode::Input { default } if f.has_default => default(id, &f.name),
                        _ => None,
                    };
                    match filled {
                        Some(v) => values.push((Arc::from(f.name.as_str()), v)),
                        None => missing.push(f),
                    }
                }
            }
        }
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|f| {
                    if f.has_default {
                        format!("`{}` (its default cannot be evaluated here)", f.name)
                    } else {
                        format!("`{}: {}`", f.name, self.decls.show(&f.ty))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let s = if missing.len() == 1 { "" } else { "s" };
            return Err(LiteralError::new(format!(
                "the `{name}` value is missing the field{s} {list}"
            )));
        }
        Ok(Value::Record(Arc::new(Record {
            type_name: name.into(),
            fields: values,
        })))
    }
}

// ---------------------------------------------------------------------------------------------
// Describing values and JSON in messages

fn describe_value(value: &Value) -> String {
    match value {
        Value::None => "`none`".to_string(),
        Value::Bool(b) => format!("the bool `{b}`"),
        Value::Int(i) => format!("the int `{i}`"),
        Value::Float(f) => format!("the float `{f}`"),
        Value::Str(s) => format!("the string {}", truncate(&format!("{s:?}"))),
        Value::Datetime(us) => format!("the datetime `{}`", format_timestamp(*us)),
        Value::Duration(_) => "a duration".to_string(),
        Value::List(_) => "a list".to_string(),
        Value::Dict(_) => "a dict".to_string(),
        Value::Tuple(_) => "a tuple".to_string(),
        Value::Record(r) => format!("a `{}` value", r.type_name),
        Value::Enum(e, v) => format!("`{e}.{v}`"),
        Value::Path(p) => format!("the path {}", truncate(&format!("{p:?}"))),
        Value::Opaque(_) => "an opaque extern value".to_string(),
    }
}

fn show_json(json: &Json) -> String {
    let kind = match json {
        Json::Null => return "`null`".to_string(),
        Json::Bool(b) => return format!("`{b}`"),
        Json::Number(n) => return format!("the number `{n}`"),
        Json::String(_) => "the string",
        Json::Array(_) => "the array",
        Json::Object(_) => "the object",
    };
    format!("{kind} `{}`", truncate(&json.to_string()))
}

fn truncate(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

// ---------------------------------------------------------------------------------------------
// Timestamps and durations

/// Microseconds per second.
const US: i64 = 1_000_000;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds: protobuf Timestamp's range.
const MIN_TIMESTAMP: i64 = -62_135_596_800;
const MAX_TIMESTAMP: i64 = 253_402_300_799;
/// protobuf Duration's range, in seconds (about 10,000 years).
const MAX_DURATION: i64 = 315_576_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// 0, 3 or 6 fraction digits, as protobuf writes them.
fn fraction(us: i64) -> String {
    if us == 0 {
        String::new()
    } else if us % 1000 == 0 {
        format!(".{:03}", us / 1000)
    } else {
        format!(".{us:06}")
    }
}

/// An instant as RFC 3339 in UTC (years outside 1–9999 are written anyway).
fn format_timestamp(us: i64) -> String {
    let secs = us.div_euclid(US);
    let frac = us.rem_euclid(US);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60,
        fraction(frac)
    )
}

/// An instant as a `google.protobuf.Timestamp` JSON string; an error outside its range.
fn pb_timestamp(us: i64) -> Result<String> {
    let secs = us.div_euclid(US);
    if (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&secs) {
        Ok(format_timestamp(us))
    } else {
        Err(LiteralError::new(format!(
            "the datetime `{}` is outside the range of a Flyte datetime (years 1 to 9999)",
            format_timestamp(us)
        )))
    }
}

/// A span as a `google.protobuf.Duration` JSON string (`"1.500s"`); an error outside its range.
fn pb_duration(us: i64) -> Result<String> {
    let abs = us.unsigned_abs();
    let secs = abs / US as u64;
    if secs > MAX_DURATION as u64 {
        return Err(LiteralError::new(
            "the duration is outside the range of a Flyte duration (about 10,000 years)",
        ));
    }
    let sign = if us < 0 { "-" } else { "" };
    Ok(format!(
        "{sign}{secs}{}s",
        fraction((abs % US as u64) as i64)
    ))
}

/// Reads `n` ASCII digits at `*pos`.
fn digits(s: &[u8], pos: &mut usize, n: usize) -> Option<i64> {
    let part = s.get(*pos..*pos + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *pos += n;
    Some(part.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
}

/// Fraction digits after a `.` at `*pos`, as microseconds (digits beyond the sixth are dropped).
fn fraction_us(s: &[u8], pos: &mut usize) -> Option<i64> {
    if s.get(*pos) != Some(&b'.') {
        return Some(0);
    }
    *pos += 1;
    let start = *pos;
    while s.get(*pos).is_some_and(u8::is_ascii_digit) {
        *pos += 1;
    }
    let frac = &s[start..*pos];
    if frac.is_empty() {
        return None;
    }
    let mut us = 0;
    for i in 0..6 {
        us = us * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    Some(us)
}

/// An RFC 3339 instant (`2024-01-01T00:00:00Z`, `…+02:00`, `….123456Z`), also a bare date or a
/// time without offset (UTC), as microseconds since the epoch.
fn parse_timestamp(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "`{text}` is not a datetime: expected RFC 3339, e.g. `2024-01-01T00:00:00Z` or \
             `2024-01-01`"
        )
    };
    let s = text.trim().as_bytes();
    let mut p = 0;
    let mut date = || -> Option<(i64, u32, u32)> {
        let y = digits(s, &mut p, 4)?;
        (s.get(p) == Some(&b'-')).then_some(())?;
        p += 1;
        let m = digits(s, &mut p, 2)? as u32;
        (s.get(p) == Some(&b'-')).then_some(())?;
        p += 1;
        let d = digits(s, &mut p, 2)? as u32;
        Some((y, m, d))
    };
    let (y, m, d) = date().ok_or_else(bad)?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[m as usize - 1] {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let mut frac = 0;
    if p < s.len() {
        if !matches!(s[p], b'T' | b't' | b' ') {
            return Err(bad());
        }
        p += 1;
        let mut time = || -> Option<(i64, i64)> {
            let h = digits(s, &mut p, 2)?;
            (s.get(p) == Some(&b':')).then_some(())?;
            p += 1;
            let mi = digits(s, &mut p, 2)?;
            let sec = if s.get(p) == Some(&b':') {
                p += 1;
                digits(s, &mut p, 2)?
            } else {
                0
            };
            let frac = fraction_us(s, &mut p)?;
            (h < 24 && mi < 60 && sec < 60).then_some((h * 3600 + mi * 60 + sec, frac))?;
            let offset = match s.get(p) {
                None => 0,
                Some(b'Z' | b'z') => {
                    p += 1;
                    0
                }
                Some(&c @ (b'+' | b'-')) => {
                    p += 1;
                    let oh = digits(s, &mut p, 2)?;
                    (s.get(p) == Some(&b':')).then_some(())?;
                    p += 1;
                    let om = digits(s, &mut p, 2)?;
                    let o = oh * 3600 + om * 60;
                    if c == b'+' {
                        o
                    } else {
                        -o
                    }
                }
                Some(_) => return None,
            };
            (p == s.len()).then_some((h * 3600 + mi * 60 + sec - offset, frac))
        };
        let (t, f) = time().ok_or_else(bad)?;
        secs += t;
        frac = f;
    }
    Ok(secs * US + frac)
}

/// A `google.protobuf.Duration` JSON string (`"1.500s"`, `"-3s"`) as microseconds.
fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a duration: expected seconds such as `1.5s`");
    let body = text.strip_suffix('s').ok_or_else(bad)?;
    let (neg, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let s = body.as_bytes();
    let mut p = 0;
    while s.get(p).is_some_and(u8::is_ascii_digit) {
        p += 1;
    }
    if p == 0 || p > 12 {
        return Err(bad());
    }
    let secs: i64 = body[..p].parse().map_err(|_| bad())?;
    let frac = fraction_us(s, &mut p).ok_or_else(bad)?;
    if p != s.len() || secs > MAX_DURATION {
        return Err(bad());
    }
    let us = secs * US + frac;
    Ok(if neg { -us } else { us })
}

/// A duration written like a Flow literal: `250ms`, `30s`, `5m`, `2h`, `1d`, `1h30m`, `1.5s`,
/// `-2m`, `10us`.
fn parse_flow_duration(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration: expected a number of seconds or e.g. `250ms`, `30s`, \
             `5m`, `2h`, `1d`"
        )
    };
    let t = text.trim();
    let (neg, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "us" | "µs" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" => 60e6,
            "h" => 3600e6,
            "d" => 86_400e6,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    let us = total.round();
    if us.abs() > MAX_DURATION as f64 * 1e6 {
        return Err(bad());
    }
    Ok(if neg { -(us as i64) } else { us as i64 })
}

// ---------------------------------------------------------------------------------------------
// flytekit's msgpack struct form (`scalar.binary`)

/// The JSON of a `scalar.binary` literal `{"value": BASE64, "tag": "msgpack"}`.
fn msgpack_binary(binary: &Json) -> Result<Json, String> {
    let tag = binary.get("tag").and_then(Json::as_str).unwrap_or("");
    if tag != "msgpack" {
        return Err(format!(
            "unsupported binary tag `{tag}` (expected `msgpack`)"
        ));
    }
    let b64 = binary.get("value").and_then(Json::as_str).unwrap_or("");
    let bytes = base64_decode(b64).ok_or("the value is not base64")?;
    let mut pos = 0;
    let json = msgpack_value(&bytes, &mut pos, 0)?;
    if pos != bytes.len() {
        return Err("trailing bytes after the msgpack value".to_string());
    }
    Ok(json)
}

/// Standard or URL-safe base64, padding optional.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn msgpack_value(b: &[u8], pos: &mut usize, depth: usize) -> Result<Json, String> {
    const EOF: &str = "truncated msgpack value";
    if depth > 256 {
        return Err("msgpack value nested too deeply".to_string());
    }
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], String> {
        let part = b.get(*pos..*pos + n).ok_or(EOF)?;
        *pos += n;
        Ok(part)
    };
    let uint = |pos: &mut usize, n: usize| -> Result<u64, String> {
        Ok(take(pos, n)?
            .iter()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    };
    let tag = *b.get(*pos).ok_or(EOF)?;
    *pos += 1;
    let str_of = |pos: &mut usize, n: usize| -> Result<Json, String> {
        let bytes = take(pos, n)?;
        std::str::from_utf8(bytes)
            .map(|s| Json::String(s.to_string()))
            .map_err(|_| "invalid UTF-8 in a msgpack string".to_string())
    };
    let array = |pos: &mut usize, n: usize| -> Result<Json, String> {
        (0..n)
            .map(|_| msgpack_value(b, pos, depth + 1))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array)
    };
    let map = |pos: &mut usize, n: usize| -> Result<Json, String> {
        let mut obj = Map::new();
        for _ in 0..n {
            let key = match msgpack_value(b, pos, depth + 1)? {
                Json::String(s) => s,
                Json::Number(n) => n.to_string(),
                other => return Err(format!("unsupported msgpack map key {other}")),
            };
            obj.insert(key, msgpack_value(b, pos, depth + 1)?);
        }
        Ok(Json::Object(obj))
    };
    Ok(match tag {
        0x00..=0x7f => json!(tag),
        0x80..=0x8f => map(pos, usize::from(tag & 0x0f))?,
        0x90..=0x9f => array(pos, usize::from(tag & 0x0f))?,
        0xa0..=0xbf => str_of(pos, usize::from(tag & 0x1f))?,
        0xc0 => Json::Null,
        0xc2 => json!(false),
        0xc3 => json!(true),
        0xca => {
            let bits = uint(pos, 4)? as u32;
            float_json(f64::from(f32::from_bits(bits)))
        }
        0xcb => float_json(f64::from_bits(uint(pos, 8)?)),
        0xcc => json!(uint(pos, 1)?),
        0xcd => json!(uint(pos, 2)?),
        0xce => json!(uint(pos, 4)?),
        0xcf => json!(uint(pos, 8)?),
        0xd0 => json!(uint(pos, 1)? as u8 as i8),
        0xd1 => json!(uint(pos, 2)? as u16 as i16),
        0xd2 => json!(uint(pos, 4)? as u32 as i32),
        0xd3 => json!(uint(pos, 8)? as i64),
        0xd9 => {
            let n = uint(pos, 1)? as usize;
            str_of(pos, n)?
        }
        0xda => {
            let n = uint(pos, 2)? as usize;
            str_of(pos, n)?
        }
        0xdb => {
            let n = uint(pos, 4)? as usize;
            str_of(pos, n)?
        }
        0xdc => {
            let n = uint(pos, 2)? as usize;
            array(pos, n)?
        }
        0xdd => {
            let n = uint(pos, 4)? as usize;
            array(pos, n)?
        }
        0xde => {
            let n = uint(pos, 2)? as usize;
            map(pos, n)?
        }
        0xdf => {
            let n = uint(pos, 4)? as usize;
            map(pos, n)?
        }
        0xe0..=0xff => json!(tag as i8),
        _ => return Err(format!("unsupported msgpack type 0x{tag:02x}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::types::Decl;
    use crate::source::{FileId, Span};

    fn field(name: &str, ty: Type) -> FieldSig {
        FieldSig {
            name: name.into(),
            ty,
            has_default: false,
            batch: None,
            span: Span::default(),
            doc: None,
        }
    }

    fn push(decls: &mut Decls, name: &str, kind: DeclKind) -> Type {
        Type::Decl(decls.push(Decl {
            name: name.into(),
            kind,
            file: FileId(0),
            span: Span::default(),
            doc: None,
            annotations: Vec::new(),
        }))
    }

    struct Fx {
        decls: Decls,
        people: Type,
        point: Type,
        color: Type,
        x: Type,
        alias: Type,
        holder: Type,
    }

    fn fx() -> Fx {
        let mut decls = Decls::default();
        let people = push(
            &mut decls,
            "People",
            DeclKind::Class(vec![field("name", Type::Str)]),
        );
        let color = push(
            &mut decls,
            "Color",
            DeclKind::Enum(vec!["Red".into(), "Green".into()]),
        );
        let point = push(
            &mut decls,
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
        let x = push(&mut decls, "X", DeclKind::Extern);
        let alias = push(&mut decls, "P", DeclKind::Alias(people.clone()));
        let mut batched = field("ps", Type::List(Box::new(people.clone())));
        batched.batch = Some(2);
        let mut defaulted = field("n", Type::Int);
        defaulted.has_default = true;
        let holder = push(
            &mut decls,
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

    fn list(t: &Type) -> Type {
        Type::List(Box::new(t.clone()))
    }

    fn dict(t: &Type) -> Type {
        Type::Dict(Box::new(Type::Str), Box::new(t.clone()))
    }

    fn person(name: &str) -> Value {
        Value::record("People", vec![("name", Value::str(name))])
    }

    fn point() -> Value {
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

    fn dict_value(items: Vec<(&str, Value)>) -> Value {
        Value::Dict(Arc::new(
            items.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ))
    }

    fn lit(v: &Value, ty: &Type, f: &Fx, blobs: &MemoryBlobs) -> Json {
        to_literal(v, ty, None, &f.decls, blobs).unwrap()
    }

    /// Converts to a literal and back, checking the value survives.
    fn round_trip(v: &Value, ty: &Type, batch: Option<u32>, f: &Fx) -> Json {
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
        let ab = push(
            &mut decls,
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
    fn pickle_blob_exact_json() {
        let f = fx();
        let b = MemoryBlobs::new();
        assert_eq!(
            lit(&person("f"), &f.people, &f, &b),
            json!({"scalar":{"blob":{"metadata":{"type":{"format":"PythonPickle"}},"uri":"mem://0"}}})
        );
        assert_eq!(b.len(), 1);
        round_trip(&person("f"), &f.people, None, &f);
        round_trip(&person("f"), &f.alias, None, &f);
        round_trip(&Value::Opaque(Arc::new(vec![1, 2, 3])), &f.x, None, &f);
    }

    /// How many items each blob of a collection literal holds.
    fn batch_sizes(l: &Json, item: &Type, f: &Fx, blobs: &MemoryBlobs) -> Vec<usize> {
        l["collection"]["literals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let bytes = blobs.get(blob_uri(b).unwrap()).unwrap();
                match pickle::decode(&bytes, &list(item), &f.decls).unwrap() {
                    Value::List(xs) => xs.len(),
                    other => panic!("a batch file holds {other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn batches() {
        let f = fx();
        let three = Value::list(vec![person("f"), person("o"), person("o")]);
        let ty = list(&f.people);

        let b = MemoryBlobs::new();
        let l = to_literal(&three, &ty, Some(2), &f.decls, &b).unwrap();
        assert_eq!(batch_sizes(&l, &f.people, &f, &b), vec![2, 1]);
        assert_eq!(b.len(), 2);
        assert_eq!(from_literal(&l, &ty, &f.decls, &b).unwrap(), three);

        let b = MemoryBlobs::new();
        let l = to_literal(&three, &ty, None, &f.decls, &b).unwrap();
        assert_eq!(batch_sizes(&l, &f.people, &f, &b), vec![3]);
        assert_eq!(from_literal(&l, &ty, &f.decls, &b).unwrap(), three);

        let b = MemoryBlobs::new();
        let empty = Value::list(vec![]);
        let l = to_literal(&empty, &ty, Some(2), &f.decls, &b).unwrap();
        assert_eq!(l, json!({"collection":{"literals":[]}}));
        assert!(b.is_empty());
        assert_eq!(from_literal(&l, &ty, &f.decls, &b).unwrap(), empty);
        // MessageToJson's form of an empty collection reads too.
        assert_eq!(
            from_literal(&json!({"collection":{}}), &ty, &f.decls, &b).unwrap(),
            empty
        );

        // Many batches, written in parallel, come back in order.
        let many = Value::list((0..101).map(|i| person(&i.to_string())).collect());
        let b = MemoryBlobs::new();
        let l = to_literal(&many, &ty, Some(10), &f.decls, &b).unwrap();
        assert_eq!(l["collection"]["literals"].as_array().unwrap().len(), 11);
        assert_eq!(from_literal(&l, &ty, &f.decls, &b).unwrap(), many);
    }

    #[test]
    fn nested_pickled_layouts() {
        let f = fx();
        let b = MemoryBlobs::new();
        let nested = Value::list(vec![
            Value::list(vec![person("a"), person("b")]),
            Value::list(vec![person("c")]),
        ]);
        let ty = list(&list(&f.people));
        let l = to_literal(&nested, &ty, None, &f.decls, &b).unwrap();
        let inner = l["collection"]["literals"].as_array().unwrap();
        assert_eq!(inner.len(), 2);
        assert_eq!(batch_sizes(&inner[0], &f.people, &f, &b), vec![2]);
        assert_eq!(batch_sizes(&inner[1], &f.people, &f, &b), vec![1]);
        assert_eq!(b.len(), 2);
        round_trip(&nested, &ty, None, &f);

        let b = MemoryBlobs::new();
        let d = dict_value(vec![("x", person("a")), ("y", person("b"))]);
        let l = to_literal(&d, &dict(&f.people), None, &f.decls, &b).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(
            l["map"]["literals"]["y"],
            json!({"scalar":{"blob":{"metadata":{"type":{"format":"PythonPickle"}},"uri":"mem://1"}}})
        );
        round_trip(&d, &dict(&f.people), None, &f);

        round_trip(
            &Value::list(vec![person("a"), Value::None]),
            &list(&Type::optional(f.people.clone())),
            None,
            &f,
        );

        // Extern values are one file each, batch or not.
        let b = MemoryBlobs::new();
        let xs = Value::list((0..3u8).map(|i| Value::Opaque(Arc::new(vec![i]))).collect());
        let l = to_literal(&xs, &list(&f.x), Some(2), &f.decls, &b).unwrap();
        assert_eq!(l["collection"]["literals"].as_array().unwrap().len(), 3);
        assert_eq!(from_literal(&l, &list(&f.x), &f.decls, &b).unwrap(), xs);
    }

    #[test]
    fn none_in_a_pickled_list_is_named() {
        let f = fx();
        let v = Value::list(vec![person("a"), Value::None]);
        let err =
            to_literal(&v, &list(&f.people), Some(2), &f.decls, &MemoryBlobs::new()).unwrap_err();
        assert_eq!(err.path(), "[1]");
        assert!(err.message().contains("item 1"), "{err}");
        assert!(err.message().contains("list[People?]"), "{err}");
        let err =
            to_literal(&Value::None, &f.people, None, &f.decls, &MemoryBlobs::new()).unwrap_err();
        assert!(err.message().contains("`People?`"), "{err}");
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
            (Value::Opaque(Arc::new(vec![128, 5])), f.x.clone()),
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
    fn struct_with_pickled_fields() {
        let f = fx();
        let b = MemoryBlobs::new();
        let h = Value::record(
            "Holder",
            vec![
                ("p", person("a")),
                (
                    "ps",
                    Value::list(vec![person("b"), person("c"), person("d")]),
                ),
                ("pt", Value::None),
                ("n", Value::Int(1)),
            ],
        );
        let l = to_literal(&h, &f.holder, None, &f.decls, &b).unwrap();
        // Batches are written in parallel: which file gets which URI varies.
        let mut ps = l["scalar"]["generic"]["ps"].as_array().unwrap().clone();
        ps.sort_by_key(|u| u.as_str().unwrap().to_string());
        assert_eq!(ps, vec![json!("mem://1"), json!("mem://2")]);
        assert_eq!(
            l,
            json!({"scalar":{"generic":{
                "p":"mem://0","ps":l["scalar"]["generic"]["ps"].clone(),"pt":null,"n":1
            }}})
        );
        assert_eq!(from_literal(&l, &f.holder, &f.decls, &b).unwrap(), h);
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
    fn timestamps_and_durations() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59.999999Z"),
            (1_000, "1970-01-01T00:00:00.001Z"),
            (951_782_400_000_000, "2000-02-29T00:00:00Z"),
            (-62_135_596_800_000_000, "0001-01-01T00:00:00Z"),
            (253_402_300_799_000_000, "9999-12-31T23:59:59Z"),
        ];
        for (us, s) in cases {
            assert_eq!(format_timestamp(us), s);
            assert_eq!(parse_timestamp(s), Ok(us), "{s}");
        }
        assert_eq!(parse_timestamp("2024-01-01"), Ok(1_704_067_200_000_000));
        assert_eq!(
            parse_timestamp("2024-01-01T02:00:00+02:00"),
            Ok(1_704_067_200_000_000)
        );
        assert_eq!(
            parse_timestamp("2024-01-01 00:00:00.123456789"),
            Ok(1_704_067_200_123_456)
        );
        for bad in [
            "2024-02-30",
            "2024-1-1",
            "2024-01-01T25:00:00Z",
            "yesterday",
            "",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        for (us, s) in [
            (1_500_000, "1.500s"),
            (-1_500_000, "-1.500s"),
            (3_000_000, "3s"),
            (1, "0.000001s"),
            (-500_000, "-0.500s"),
            (0, "0s"),
        ] {
            assert_eq!(pb_duration(us).unwrap(), s);
            assert_eq!(parse_duration(s), Ok(us), "{s}");
        }
        for (s, us) in [
            ("250ms", 250_000),
            ("30s", 30_000_000),
            ("5m", 300_000_000),
            ("2h", 7_200_000_000),
            ("1d", 86_400_000_000),
            ("1h30m", 5_400_000_000),
            ("-1.5s", -1_500_000),
        ] {
            assert_eq!(parse_flow_duration(s), Ok(us), "{s}");
        }
        assert!(parse_flow_duration("5 parsecs").is_err());
        assert!(parse_duration("1.5").is_err());
    }

    #[test]
    fn plain_json() {
        let f = fx();
        let v = Value::list(vec![
            point(),
            Value::Datetime(0),
            Value::Duration(1_500_000),
            Value::Opaque(Arc::new(vec![0; 7])),
            Value::Float(f64::NEG_INFINITY),
            person("x"),
        ]);
        assert_eq!(
            value_to_json(&v),
            json!([
                {"x":3,"y":0.5,"tags":["a"],"color":"Green","when":null,"wait":90.0,"f":"/tmp/a.txt"},
                "1970-01-01T00:00:00Z",
                1.5,
                {"$opaque":{"bytes":7}},
                "-Infinity",
                {"name":"x"}
            ])
        );
        assert_eq!(
            value_from_json(&value_to_json(&point()), &f.point, &f.decls).unwrap(),
            point()
        );
        assert_eq!(
            value_from_json(&json!({"name":"x"}), &f.people, &f.decls).unwrap(),
            person("x")
        );
        assert_eq!(
            value_from_json(&json!(2), &Type::Float, &f.decls).unwrap(),
            Value::Float(2.0)
        );
        assert_eq!(
            value_from_json(&json!("Red"), &f.color, &f.decls).unwrap(),
            Value::Enum("Color".into(), "Red".into())
        );
        assert_eq!(
            value_from_json(&json!("5m"), &Type::Duration, &f.decls).unwrap(),
            Value::Duration(300_000_000)
        );
        assert_eq!(
            value_from_json(&json!(null), &Type::optional(Type::Int), &f.decls).unwrap(),
            Value::None
        );
        assert_eq!(
            value_from_json(
                &json!(3),
                &Type::Union(vec![Type::Float, Type::Int]),
                &f.decls
            )
            .unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            value_from_json(&json!([1, 2]), &list(&f.alias), &f.decls)
                .unwrap_err()
                .to_string(),
            "at `[0]`: expected a value of type `P`, found the number `1`"
        );
        assert_eq!(
            value_from_json(&json!(1.5), &Type::Int, &f.decls)
                .unwrap_err()
                .to_string(),
            "expected a value of type `int`, found the number `1.5`"
        );
        assert_eq!(
            value_from_json(&json!("x"), &f.x, &f.decls)
                .unwrap_err()
                .to_string(),
            "a value of the extern type `X` cannot be given as JSON"
        );
    }

    #[test]
    fn json_struct_fields() {
        let f = fx();
        let err = value_from_json(&json!({"x": 1}), &f.point, &f.decls).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the `Point` value is missing the fields `y: float`, `tags: list[str]`, \
             `color: Color`, `when: datetime?`, `wait: duration`, `f: file`"
        );
        let err = value_from_json(&json!({"nmae": "x"}), &f.people, &f.decls).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`People` has no field `nmae` (its fields: name)"
        );
        let h = json!({"p": {"name": "a"}, "ps": [], "pt": null});
        let err = value_from_json(&h, &f.holder, &f.decls).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the `Holder` value is missing the field `n` (its default cannot be evaluated here)"
        );
        let v = value_from_json_with_defaults(&h, &f.holder, &f.decls, &|_, name| {
            (name == "n").then_some(Value::Int(42))
        })
        .unwrap();
        assert_eq!(v.field("n"), Some(&Value::Int(42)));
        let err = value_from_json(
            &json!({"p": {"name": 1}, "ps": [], "pt": null, "n": 1}),
            &f.holder,
            &f.decls,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "at `p.name`: expected a value of type `str`, found the number `1`"
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
}
