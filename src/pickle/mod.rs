//! Python pickles of Flow values (LANGUAGE.md §8–9): consumes [`Value`]s and produces the bytes
//! CPython 3's `pickle.load` reads, and reads pickles (Flow's own and CPython's) back into the
//! `Value` of an expected [`Type`]. Also the `@batch(n)` layout of a list of a pickled type, with
//! flytekit 1.7's `BatchSize` semantics, its files encoded in parallel and decoded on the
//! caller's thread (Flow's own straight from their bytes, others with a thread parsing ahead).
//!
//! **Writing** ([`encode`], [`encode_batches`]) uses only builtin Python types, so CPython ≥ 3.4
//! reads the files without Flow's class definitions being importable. The pickles are protocol 4
//! (short strings, `MEMOIZE`) written by this module's own pickler straight from the `Value`, as
//! CPython's pickler would write the same objects, except that only record field names are
//! memoized (written once per file, fetched from the memo after: a `list[People]` costs 5 bytes
//! plus the name per item). `serde-pickle`'s serializer works too, but writes protocol 3 without
//! a memo: files half as large again, and encoding was only 4–6× faster than CPython's.
//!
//! | Flow value | Python object |
//! |---|---|
//! | `none`, `bool`, `int`, `float`, `str` | `None`, `bool`, `int`, `float`, `str` |
//! | `list[T]` / tuple | `list` / `tuple` |
//! | `dict[str, T]` | `dict`, in insertion order |
//! | struct or class value | `dict` of its fields, in declaration order (`{"name": "f"}`) |
//! | enum value | its variant name, a `str` |
//! | `datetime` | an ISO-8601 `str` in UTC with a `Z`: `2024-01-02T03:04:05Z`, with `.fff` or `.ffffff` when the instant has a fraction of a second; years outside 0–9999 are written with a sign (`+10000-01-01T00:00:00Z`). Flow's pickles hold builtin types only (a `datetime.datetime` would be a global of the `datetime` module), and a string is what JSON-minded readers expect; Python ≥ 3.11 reads it with `datetime.fromisoformat` (older versions after replacing the `Z` by `+00:00`) |
//! | `duration` | a `float` number of seconds (`timedelta.total_seconds()`): exact to the microsecond up to about ±71 years |
//! | `file`, `dir` | the path, a `str` |
//! | `extern type` value | its bytes *are* a pickle: at top level they are written unchanged; inside another value (a Python task's inputs, a struct holding one) as `pickle.loads(b"…")`, which CPython turns back into the object and Flow's reader back into the same bytes. Flow's literals still store extern values one file each |
//!
//! **Reading** ([`decode`], [`decode_batches`]) parses the pickle with this module's own reader —
//! `serde-pickle`'s reader is slower than CPython's `pickle.loads` and loses dict order through its
//! `Value` — into a flat arena of Python objects (strings borrowed from the bytes, small dicts
//! inline), and then rebuilds the value the expected type describes. The reader knows every
//! opcode of protocols 0–5 that builds builtin objects (memo, frames, text and binary forms), plus
//! `datetime.datetime` (naive ones are taken as UTC; `timezone` offsets are applied),
//! `datetime.timedelta`, and instances of Python classes (`People(...)` as flytekit's cloudpickle
//! writes them, the class by reference or by value), which count as the dict of their attributes;
//! an `enum.Enum` member counts as its value. It refuses persistent ids, the extension registry
//! and out-of-band buffers. [`decode_batches`] first tries a direct path on each file: a batch as
//! Flow's writer writes it, of flat items (scalars, enum values, records of such fields), is
//! decoded straight into values, without the object arena; any other pickle, or one whose values
//! do not convert, goes the general way above, which also words the errors.
//!
//! Conversions: a dict (or class instance) becomes a struct or class value, every field
//! required — a field's default is not known here, so a missing key is an error naming it, and so
//! is a key that is no field; a `str` naming a variant becomes an enum value; an `int` stands for
//! a `float`; a list or tuple becomes a list or a tuple; an ISO-8601 `str` (or a `datetime`)
//! becomes a `datetime` (without an offset it is UTC); a number of seconds (or a `timedelta`) a
//! `duration`; `None` fits `T?`; a union tries its members in order, first without widening `int`
//! to `float`, then with it. An `extern type` at top level keeps the bytes as [`Value::Opaque`],
//! unopened.
//!
//! **Batching** ([`batch_ranges`]): without `@batch` a list is one file holding the whole list —
//! an empty list too, one file holding `[]`, as flytekit 1.7 writes it. With `@batch(n)`, the list
//! is `ceil(len/n)` files, file k holding items `k*n .. k*n+n`; an empty list is no file at all.

mod direct;
mod machine;
mod read;
#[cfg(test)]
mod tests;
mod time;
mod write;

use std::fmt;
use std::ops::Range;
use std::sync::mpsc;

use crate::check::types::{Decls, Type};
use crate::value::Value;

pub use read::decode;
pub use write::encode;

use machine::*;
use read::*;
use time::*;
use write::*;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a value could not be pickled, or a pickle could not be read as the expected type.
///
/// `path` fields locate the offending part inside the value, as `[3].name` (item 3 of a list, then
/// its field `name`) or `["key"]`; they are empty at the top level.
#[derive(Clone, Debug, PartialEq)]
pub enum PickleError {
    /// The bytes are not a pickle, or a damaged one.
    Malformed {
        /// Byte offset where reading stopped.
        offset: usize,
        /// What was wrong.
        message: String,
    },
    /// A pickle feature that builds no builtin value: persistent ids, the extension registry,
    /// out-of-band buffers, a protocol above 5.
    Unsupported {
        /// Byte offset of the opcode.
        offset: usize,
        /// The feature.
        feature: String,
    },
    /// The pickle holds a value of another shape than the expected type.
    Mismatch {
        /// Where, inside the value.
        path: String,
        /// The expected type, as Flow writes it.
        expected: String,
        /// What was found, e.g. `a Python str`.
        found: String,
    },
    /// A dict read as a struct or class value lacks one of its fields.
    MissingField {
        /// Where, inside the value.
        path: String,
        /// The struct or class.
        record: String,
        /// The missing field.
        field: String,
        /// Whether the field has a default in Flow (which a pickle reader cannot apply).
        has_default: bool,
    },
    /// A dict read as a struct or class value has a key that is none of its fields.
    UnknownField {
        /// Where, inside the value.
        path: String,
        /// The struct or class.
        record: String,
        /// The key, as Python would print it.
        field: String,
    },
    /// A string read as an enum value names no variant.
    UnknownVariant {
        /// Where, inside the value.
        path: String,
        /// The enum.
        enum_name: String,
        /// The string found.
        found: String,
        /// The enum's variants.
        variants: Vec<String>,
    },
    /// The right kind of Python value, but not one the expected type can hold (an int beyond 64
    /// bits, a string that is no ISO-8601 date, a duration out of range).
    InvalidValue {
        /// Where, inside the value.
        path: String,
        /// The expected type.
        expected: String,
        /// What was wrong.
        message: String,
    },
    /// An `extern type` expected inside another value: its pickle cannot be kept unopened there.
    NestedExtern {
        /// Where, inside the value.
        path: String,
        /// The extern type.
        type_name: String,
    },
    /// The expected type is no type a pickle can be read as (a type parameter, a callable).
    UnsupportedType {
        /// The type.
        ty: String,
    },
    /// An error in one file of a batched list.
    Batch {
        /// The file's index (batch number).
        index: usize,
        /// The error.
        source: Box<PickleError>,
    },
}

pub(super) fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("at `{path}`: ")
    }
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickleError::Malformed { offset, message } => {
                write!(f, "not a valid pickle: {message} (at byte {offset})")
            }
            PickleError::Unsupported { offset, feature } => write!(
                f,
                "the pickle uses {feature}, which Flow cannot read (at byte {offset}); Flow reads \
                 pickles of builtin Python values"
            ),
            PickleError::Mismatch {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}expected {}, found {found}",
                at(path),
                a_type(expected)
            ),
            PickleError::MissingField {
                path,
                record,
                field,
                has_default,
            } => {
                write!(
                    f,
                    "{}the dict for a `{record}` has no key `{field}`",
                    at(path)
                )?;
                if *has_default {
                    f.write_str(
                        " (the field has a default in Flow, but defaults are not applied when \
                         reading a pickle: every field must be present)",
                    )?;
                }
                Ok(())
            }
            PickleError::UnknownField {
                path,
                record,
                field,
            } => write!(
                f,
                "{}the dict for a `{record}` has the key {field}, which is no field of `{record}`",
                at(path)
            ),
            PickleError::UnknownVariant {
                path,
                enum_name,
                found,
                variants,
            } => write!(
                f,
                "{}{found:?} is no variant of the enum `{enum_name}` (its variants: {})",
                at(path),
                variants.join(", ")
            ),
            PickleError::InvalidValue {
                path,
                expected,
                message,
            } => write!(
                f,
                "{}expected {}, but {message}",
                at(path),
                a_type(expected)
            ),
            PickleError::NestedExtern { path, type_name } => write!(
                f,
                "{}an `extern type {type_name}` value inside another pickle must be a nested \
                 pickle, `pickle.loads(b\"…\")`",
                at(path)
            ),
            PickleError::UnsupportedType { ty } => {
                write!(f, "a pickle cannot be read as a `{ty}`")
            }
            PickleError::Batch { index, source } => write!(f, "in batch file {index}: {source}"),
        }
    }
}

impl std::error::Error for PickleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PickleError::Batch { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// "a `list[int]`", "an `int`".
pub(super) fn a_type(shown: &str) -> String {
    let vowel = shown
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} `{shown}`", if vowel { "an" } else { "a" })
}

// ---------------------------------------------------------------------------------------------
// Batching
// ---------------------------------------------------------------------------------------------

/// The item ranges of the files a list of `len` items of a pickled type is stored in.
///
/// Without a batch size, one range covering the whole list — also for an empty list, which is
/// one file holding `[]` (flytekit 1.7 writes it so). With `@batch(n)`, `ceil(len/n)` ranges of
/// `n` items, the last one shorter; none for an empty list. `Some(0)` cannot come from a checked
/// program (E0400); it is treated as no batching rather than dropping the data as flytekit does.
pub fn batch_ranges(len: usize, batch: Option<u32>) -> Vec<Range<usize>> {
    match batch {
        None | Some(0) => std::iter::once(0..len).collect(),
        Some(n) => {
            let n = n as usize;
            (0..len).step_by(n).map(|s| s..len.min(s + n)).collect()
        }
    }
}

/// Pickles `items` as the files of [`batch_ranges`]`(items.len(), batch)`, each holding the list
/// of its items, in order. Several files are encoded in parallel.
pub fn encode_batches(items: &[Value], batch: Option<u32>) -> Result<Vec<Vec<u8>>, PickleError> {
    let ranges = batch_ranges(items.len(), batch);
    let encode = |r: &Range<usize>| encode_list(&items[r.clone()]);
    if items.len() < PARALLEL_MIN_ITEMS {
        return ranges.iter().map(encode).collect();
    }
    crate::parallel::par_map(&ranges, encode)
}

/// Reads the files of a list of `item` values (each a pickled list, as [`encode_batches`] writes
/// them or CPython does) and concatenates their items in order. An error in one of several files
/// says which.
///
/// Flow's own batches of flat items (scalars, enum values, records of such fields) are read
/// straight from their bytes into values. From the first file that is not (a CPython pickle, a
/// nested list), files go through the pickle machine: with several of them and more than one
/// core, a second thread parses the files ahead while this one builds the values. Building stays
/// on the caller's thread (and memory arena), where the values will be used and dropped: values
/// built on other threads cost more to free, and decoding Flow's batches in parallel measured
/// slower than on one thread.
pub fn decode_batches(
    files: &[Vec<u8>],
    item: &Type,
    decls: &Decls,
) -> Result<Vec<Value>, PickleError> {
    let list = Type::List(Box::new(item.clone()));
    let shapes = Shapes::new(decls, item);
    let several = files.len() > 1;
    let in_batch = |index: usize, e: PickleError| {
        if several {
            PickleError::Batch {
                index,
                source: Box::new(e),
            }
        } else {
            e
        }
    };
    let mut out: Vec<Value> = Vec::new();
    let reserve = |index: usize, out: &mut Vec<Value>| {
        if index == 1 {
            // The first file's length stands for the others': reserve once, not by doubling.
            out.reserve(out.len() * (files.len() - 1));
        }
    };
    let mut first = 0;
    while first < files.len() {
        reserve(first, &mut out);
        if !direct::list_into(&files[first], item, decls, &shapes, &mut out) {
            break;
        }
        first += 1;
    }
    let rest = &files[first..];
    // Builds the values of file `index`, parsed by `machine` to `root`.
    let build = |index: usize, machine: &Machine<'_>, root: u32, out: &mut Vec<Value>| {
        reserve(index, out);
        Reader::new(&machine.nodes, decls, &shapes)
            .list_into(root, &list, item, false, out)
            .map_err(|f| in_batch(index, f.into_error(decls)))
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total: usize = rest.iter().map(Vec::len).sum();
    if rest.len() < 2 || cores < 2 || total < PARALLEL_MIN_BYTES {
        for (i, bytes) in rest.iter().enumerate() {
            let mut machine = Machine::new(bytes);
            let root = machine.run().map_err(|e| in_batch(first + i, e))?;
            let built = build(first + i, &machine, root, &mut out);
            machine.release();
            built?;
        }
        return Ok(out);
    }
    std::thread::scope(|scope| {
        let (parsed_tx, parsed_rx) = mpsc::sync_channel(2);
        let (spare_tx, spare_rx) = mpsc::channel::<Vec<Node<'static>>>();
        scope.spawn(move || {
            for bytes in rest {
                let spare = spare_rx.try_recv().unwrap_or_default();
                let mut machine = Machine::with_nodes(bytes, spare);
                let parsed = machine.run().map(|root| (machine, root));
                let failed = parsed.is_err();
                if parsed_tx.send(parsed).is_err() || failed {
                    break;
                }
            }
        });
        for (i, parsed) in parsed_rx.into_iter().enumerate() {
            let (machine, root) = parsed.map_err(|e| in_batch(first + i, e))?;
            build(first + i, &machine, root, &mut out)?;
            // Best effort: the parser may have finished already.
            let _ = spare_tx.send(machine.into_nodes());
        }
        Ok(out)
    })
}

/// Below this many items (or bytes of pickles) a batched list is not worth starting threads for.
pub(super) const PARALLEL_MIN_ITEMS: usize = 4096;
pub(super) const PARALLEL_MIN_BYTES: usize = 1 << 17;
