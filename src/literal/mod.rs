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
//! strings `"NaN"`, `"Infinity"`, `"-Infinity"`, and an opaque `extern` value as a reference to
//! its file: `{"$opaque": {"uri": U, "bytes": N, "sha256": H, "python_version": V}}` (`uri` once
//! the value has been read from the store, `python_version` when the Python that wrote it is
//! known).
//! [`value_from_json`] reads the same forms against a type, and also durations written like Flow
//! literals (`"250ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, `"1h30m"`, `"1.5s"`), dates without a
//! time (`"2024-01-01"`) and times without an offset (taken as UTC).

//!
//! # Layout
//!
//! This module holds the entry points, [`BlobStore`] and [`LiteralError`]; `types` classifies
//! checked types for conversion, `write` and `read` convert literals, `pickled` moves Pickle
//! files through the store, `json` handles plain JSON (struct fields and `flytec run`), `time`
//! the string forms of datetimes and durations, `msgpack` flytekit's binary struct form, and
//! `describe` shows values and JSON in messages.
//!
//! [`pickle`]: crate::pickle
//! [`pickle::encode`]: crate::pickle::encode
//! [`pickle::encode_batches`]: crate::pickle::encode_batches
//! [`pickle::decode_batches`]: crate::pickle::decode_batches

mod describe;
mod json;
mod msgpack;
mod pickled;
mod read;
mod time;
mod types;
mod write;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value as Json};

use crate::check::types::{DeclId, Decls, Type};
use crate::value::Value;

use describe::show_json;
use json::{JsonReader, Mode};
use read::Reader;
use write::Writer;

/// Where Pickle files go: the run directory's store writes them atomically; [`MemoryBlobs`] keeps
/// them in memory for tests. Shared between the threads that write a list's batches in parallel.
pub trait BlobStore: Sync {
    /// Stores `bytes` as a new file and returns its URI.
    fn write(&self, bytes: &[u8]) -> Result<String, String>;
    /// Stores each of `files` as a new file, named in their order (a list's batches), and
    /// returns their URIs in order.
    fn write_all(&self, files: &[Vec<u8>]) -> Result<Vec<String>, String> {
        files.iter().map(|bytes| self.write(bytes)).collect()
    }
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
    json::plain(value, true)
}

/// `value` as plain JSON without where extern values are stored: the same value always gives
/// the same JSON (cache keys).
pub fn value_fingerprint(value: &Value) -> Json {
    json::plain(value, false)
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
