//! Python pickles of Flow values (LANGUAGE.md §8–9): consumes [`Value`]s and produces the bytes
//! CPython 3's `pickle.load` reads, and reads pickles (Flow's own and CPython's) back into the
//! `Value` of an expected [`Type`]. Also the `@batch(n)` layout of a list of a pickled type, with
//! flytekit 1.7's `BatchSize` semantics, its files encoded in parallel and decoded with a thread
//! parsing ahead.
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
//! | `extern type` value | its bytes *are* a pickle: at top level they are returned unchanged; inside another value they are an error ([`PickleError::NestedOpaque`]) — Flow stores extern values one file each |
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
//! and out-of-band buffers.
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

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use indexmap::IndexMap;

use crate::check::types::{DeclId, DeclKind, Decls, FieldSig, Type};
use crate::value::{Record, Value};

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a value could not be pickled, or a pickle could not be read as the expected type.
///
/// `path` fields locate the offending part inside the value, as `[3].name` (item 3 of a list, then
/// its field `name`) or `["key"]`; they are empty at the top level.
#[derive(Clone, Debug, PartialEq)]
pub enum PickleError {
    /// An `extern type` value inside another value: extern values are pickles of their own, stored
    /// one file each, and cannot be nested in a list, dict or record pickle.
    NestedOpaque,
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

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("at `{path}`: ")
    }
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickleError::NestedOpaque => f.write_str(
                "an `extern type` value cannot be pickled inside another value: extern values are \
                 pickles of their own, stored one file each (a list of them one file per item)",
            ),
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
                "{}an `extern type {type_name}` value cannot be read from inside another pickle: \
                 extern values are stored one file each",
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
fn a_type(shown: &str) -> String {
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
    let threads = items.len() >= PARALLEL_MIN_ITEMS;
    par_map(&ranges, threads, |_, r| encode_list(&items[r.clone()]))
}

/// Reads the files of a list of `item` values (each a pickled list, as [`encode_batches`] writes
/// them or CPython does) and concatenates their items in order. An error in one of several files
/// says which.
///
/// With several files and more than one core, a second thread parses the files ahead while this
/// one builds the values: building them is most of the work, and it stays on the caller's thread
/// (and memory arena), where the values will be used and dropped.
pub fn decode_batches(
    files: &[Vec<u8>],
    item: &Type,
    decls: &Decls,
) -> Result<Vec<Value>, PickleError> {
    let list = Type::List(Box::new(item.clone()));
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
    // Builds the values of file `index`, parsed by `machine` to `root`.
    let build = |index: usize, machine: &Machine<'_>, root: u32, out: &mut Vec<Value>| {
        if index == 1 {
            // The first file's length stands for the others': reserve once, not by doubling.
            out.reserve(out.len() * (files.len() - 1));
        }
        let reader = Reader::new(&machine.nodes, decls, &list);
        reader
            .list_into(root, &list, item, false, out)
            .map_err(|f| in_batch(index, f.into_error(decls)))
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total: usize = files.iter().map(Vec::len).sum();
    if !several || cores < 2 || total < PARALLEL_MIN_BYTES {
        for (i, bytes) in files.iter().enumerate() {
            let mut machine = Machine::new(bytes);
            let root = machine.run().map_err(|e| in_batch(i, e))?;
            let built = build(i, &machine, root, &mut out);
            machine.release();
            built?;
        }
        return Ok(out);
    }
    std::thread::scope(|scope| {
        let (parsed_tx, parsed_rx) = mpsc::sync_channel(2);
        let (spare_tx, spare_rx) = mpsc::channel::<Vec<Node<'static>>>();
        scope.spawn(move || {
            for bytes in files {
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
            let (machine, root) = parsed.map_err(|e| in_batch(i, e))?;
            build(i, &machine, root, &mut out)?;
            // Best effort: the parser may have finished already.
            let _ = spare_tx.send(machine.into_nodes());
        }
        Ok(out)
    })
}

/// Below this many items (or bytes of pickles) a batched list is not worth starting threads for.
const PARALLEL_MIN_ITEMS: usize = 4096;
const PARALLEL_MIN_BYTES: usize = 1 << 17;

/// `f` over `inputs`, on up to `available_parallelism` threads when `threads` allows it and there
/// are several inputs. Results come back in input order; on failure, the error of the first
/// failing input.
fn par_map<T: Sync, R: Send>(
    inputs: &[T],
    threads: bool,
    f: impl Fn(usize, &T) -> Result<R, PickleError> + Sync,
) -> Result<Vec<R>, PickleError> {
    let threads = if threads {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(inputs.len())
    } else {
        1
    };
    if threads <= 1 {
        return inputs.iter().enumerate().map(|(i, x)| f(i, x)).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<(usize, PickleError)>> = Mutex::new(None);
    let mut slots: Vec<Option<R>> = (0..inputs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else { break };
                        match f(i, input) {
                            Ok(r) => done.push((i, r)),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                let mut slot =
                                    first_error.lock().unwrap_or_else(|p| p.into_inner());
                                if slot.as_ref().is_none_or(|(j, _)| i < *j) {
                                    *slot = Some((i, e));
                                }
                            }
                        }
                    }
                    done
                })
            })
            .collect();
        for w in workers {
            let done = w
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, r) in done {
                slots[i] = Some(r);
            }
        }
    });
    if let Some((_, e)) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(slots
        .into_iter()
        .map(|r| r.expect("every input was mapped"))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// The pickle of `value` (see the module documentation for how each kind of value is written).
/// An `extern type` value is its own pickle and comes back unchanged.
pub fn encode(value: &Value) -> Result<Vec<u8>, PickleError> {
    if let Value::Opaque(bytes) = value {
        return Ok(bytes.to_vec());
    }
    let mut w = Writer::new(size_hint(value));
    w.value(value)?;
    Ok(w.finish())
}

/// The pickle of the list of `items`, without building a list value.
fn encode_list(items: &[Value]) -> Result<Vec<u8>, PickleError> {
    let mut w = Writer::new(16 + items.first().map_or(0, size_hint) * items.len());
    w.list(items)?;
    Ok(w.finish())
}

/// A guess of a value's pickle size, to allocate the buffer once.
fn size_hint(value: &Value) -> usize {
    match value {
        Value::Str(s) | Value::Path(s) | Value::Enum(_, s) => 2 + s.len(),
        Value::List(items) | Value::Tuple(items) => {
            4 + items
                .first()
                .map_or(0, size_hint)
                .saturating_mul(items.len())
        }
        Value::Record(r) => {
            3 + r
                .fields
                .iter()
                .map(|(_, v)| 3 + size_hint(v))
                .sum::<usize>()
        }
        Value::Dict(d) => 3 + d.len() * 24,
        Value::Datetime(_) => 30,
        _ => 9,
    }
}

/// How many items CPython's pickler puts between a MARK and its APPENDS or SETITEMS.
const BATCH: usize = 1000;

/// Writes protocol-4 pickles of builtin objects, as CPython's pickler would, except that only
/// record field names are memoized (written once, then fetched from the memo).
struct Writer<'v> {
    out: Vec<u8>,
    /// Memo index of every field name written so far.
    names: HashMap<&'v str, u32>,
    /// Recently written field names by address, with their memo index: a program's records
    /// share their names' allocations, so most lookups end here without hashing. An address
    /// stands for one string: every name is borrowed for the whole write, so no other string can
    /// take its place.
    recent: [(usize, u32); 32],
}

impl<'v> Writer<'v> {
    fn new(hint: usize) -> Writer<'v> {
        // A quarter more than the guess, which looks at the first item only.
        let mut out = Vec::with_capacity(hint.saturating_add(hint / 4).clamp(16, 1 << 26));
        out.extend_from_slice(&[op::PROTO, 4]);
        Writer {
            out,
            names: HashMap::new(),
            recent: [(0, 0); 32],
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.push(op::STOP);
        self.out
    }

    fn value(&mut self, value: &'v Value) -> Result<(), PickleError> {
        match value {
            Value::None => self.out.push(op::NONE),
            Value::Bool(b) => self.out.push(if *b { op::NEWTRUE } else { op::NEWFALSE }),
            Value::Int(i) => self.int(*i),
            Value::Float(x) => self.float(*x),
            Value::Str(text) | Value::Path(text) | Value::Enum(_, text) => self.str(text),
            Value::Datetime(us) => self.str(&format_datetime(*us)),
            Value::Duration(us) => self.float(*us as f64 / 1e6),
            Value::List(items) => self.list(items)?,
            Value::Tuple(items) => {
                if items.is_empty() {
                    self.out.push(op::EMPTY_TUPLE);
                } else if items.len() > 3 {
                    self.out.push(op::MARK);
                }
                for item in items.iter() {
                    self.value(item)?;
                }
                match items.len() {
                    0 => {}
                    1 => self.out.push(op::TUPLE1),
                    2 => self.out.push(op::TUPLE2),
                    3 => self.out.push(op::TUPLE3),
                    _ => self.out.push(op::TUPLE),
                }
            }
            Value::Dict(map) => {
                self.out.push(op::EMPTY_DICT);
                let mut entries = map.iter();
                let mut left = map.len();
                while left > 0 {
                    let chunk = left.min(BATCH);
                    if chunk > 1 {
                        self.out.push(op::MARK);
                    }
                    for (k, v) in entries.by_ref().take(chunk) {
                        self.str(k);
                        self.value(v)?;
                    }
                    self.out
                        .push(if chunk > 1 { op::SETITEMS } else { op::SETITEM });
                    left -= chunk;
                }
            }
            Value::Record(r) => {
                self.out.push(op::EMPTY_DICT);
                for chunk in r.fields.chunks(BATCH) {
                    if chunk.len() > 1 {
                        self.out.push(op::MARK);
                    }
                    for (k, v) in chunk {
                        self.field_name(k);
                        self.value(v)?;
                    }
                    self.out.push(if chunk.len() > 1 {
                        op::SETITEMS
                    } else {
                        op::SETITEM
                    });
                }
            }
            Value::Opaque(_) => return Err(PickleError::NestedOpaque),
        }
        Ok(())
    }

    fn list(&mut self, items: &'v [Value]) -> Result<(), PickleError> {
        self.out.push(op::EMPTY_LIST);
        for chunk in items.chunks(BATCH) {
            if chunk.len() > 1 {
                self.out.push(op::MARK);
            }
            for item in chunk {
                self.value(item)?;
            }
            self.out.push(if chunk.len() > 1 {
                op::APPENDS
            } else {
                op::APPEND
            });
        }
        Ok(())
    }

    fn int(&mut self, i: i64) {
        if let Ok(b) = u8::try_from(i) {
            self.out.extend_from_slice(&[op::BININT1, b]);
        } else if let Ok(w) = u16::try_from(i) {
            self.out.push(op::BININT2);
            self.out.extend_from_slice(&w.to_le_bytes());
        } else if let Ok(d) = i32::try_from(i) {
            self.out.push(op::BININT);
            self.out.extend_from_slice(&d.to_le_bytes());
        } else {
            self.out.extend_from_slice(&[op::LONG1, 8]);
            self.out.extend_from_slice(&i.to_le_bytes());
        }
    }

    fn float(&mut self, x: f64) {
        self.out.push(op::BINFLOAT);
        self.out.extend_from_slice(&x.to_be_bytes());
    }

    fn str(&mut self, text: &str) {
        let n = text.len();
        if let Ok(short) = u8::try_from(n) {
            self.out.extend_from_slice(&[op::SHORT_BINUNICODE, short]);
        } else if let Ok(long) = u32::try_from(n) {
            self.out.push(op::BINUNICODE);
            self.out.extend_from_slice(&long.to_le_bytes());
        } else {
            self.out.push(op::BINUNICODE8);
            self.out.extend_from_slice(&(n as u64).to_le_bytes());
        }
        self.out.extend_from_slice(text.as_bytes());
    }

    /// A record's field name: written and memoized the first time, fetched from the memo after.
    fn field_name(&mut self, name: &'v Arc<str>) {
        let addr = name.as_ptr() as usize;
        let slot = (addr >> 4) % self.recent.len();
        let index = if self.recent[slot].0 == addr {
            self.recent[slot].1
        } else if let Some(&index) = self.names.get(&**name) {
            index
        } else {
            let index = self.names.len() as u32;
            self.str(name);
            self.out.push(op::MEMOIZE);
            self.names.insert(name, index);
            self.recent[slot] = (addr, index);
            return;
        };
        self.recent[slot] = (addr, index);
        if let Ok(short) = u8::try_from(index) {
            self.out.extend_from_slice(&[op::BINGET, short]);
        } else {
            self.out.push(op::LONG_BINGET);
            self.out.extend_from_slice(&index.to_le_bytes());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Datetimes
// ---------------------------------------------------------------------------------------------

const US_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `z` days after 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `2024-01-02T03:04:05.123456Z` (see the module documentation).
fn format_datetime(us: i64) -> String {
    let (y, m, d) = civil_from_days(us.div_euclid(US_PER_DAY));
    let rem = us.rem_euclid(US_PER_DAY);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let mut s = String::with_capacity(28);
    if (0..=9999).contains(&y) {
        let _ = write!(s, "{y:04}");
    } else {
        let _ = write!(s, "{y:+05}");
    }
    let _ = write!(
        s,
        "-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        if frac % 1000 == 0 {
            let _ = write!(s, ".{:03}", frac / 1000);
        } else {
            let _ = write!(s, ".{frac:06}");
        }
    }
    s.push('Z');
    s
}

/// Microseconds since the epoch of an ISO-8601 date (`2024-01-02`) or date and time
/// (`2024-01-02T03:04[:05[.123456]]`, `T` or a space between), with `Z`, `±HH:MM`, `±HHMM` or
/// `±HH`, or no offset (UTC). Digits beyond microseconds are dropped.
fn parse_datetime(text: &str) -> Result<i64, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let num = |i: &mut usize, min: usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i - start < min {
            return None;
        }
        text[start..*i].parse().ok()
    };
    let bad = || format!("`{text}` is not an ISO-8601 date and time");
    let sign = match b.first() {
        Some(b'+') => {
            i += 1;
            1
        }
        Some(b'-') => {
            i += 1;
            -1
        }
        _ => 1,
    };
    let year = sign * num(&mut i, 4, 9).ok_or_else(bad)?;
    let expect = |i: &mut usize, c: u8| -> bool {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !expect(&mut i, b'-') {
        return Err(bad());
    }
    let month = num(&mut i, 2, 2).ok_or_else(bad)? as u32;
    if !expect(&mut i, b'-') {
        return Err(bad());
    }
    let day = num(&mut i, 2, 2).ok_or_else(bad)? as u32;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!("`{text}` is not a valid date"));
    }
    let (mut hour, mut minute, mut second, mut micros, mut offset) = (0, 0, 0, 0i64, 0i64);
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') {
        i += 1;
        hour = num(&mut i, 2, 2).ok_or_else(bad)?;
        if !expect(&mut i, b':') {
            return Err(bad());
        }
        minute = num(&mut i, 2, 2).ok_or_else(bad)?;
        if expect(&mut i, b':') {
            second = num(&mut i, 2, 2).ok_or_else(bad)?;
            if i < b.len() && matches!(b[i], b'.' | b',') {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i == start {
                    return Err(bad());
                }
                let digits = &b[start..i];
                for k in 0..6 {
                    micros = micros * 10 + digits.get(k).map_or(0, |d| i64::from(d - b'0'));
                }
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(format!("`{text}` is not a valid time of day"));
        }
        match b.get(i) {
            Some(b'Z' | b'z') => i += 1,
            Some(&c @ (b'+' | b'-')) => {
                i += 1;
                let oh = num(&mut i, 2, 2).ok_or_else(bad)?;
                expect(&mut i, b':');
                let om = if i < b.len() {
                    num(&mut i, 2, 2).ok_or_else(bad)?
                } else {
                    0
                };
                if oh > 23 || om > 59 {
                    return Err(format!("`{text}` has an invalid UTC offset"));
                }
                offset = (oh * 60 + om) * 60_000_000 * if c == b'-' { -1 } else { 1 };
            }
            _ => {}
        }
    }
    if i != b.len() {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    days.checked_mul(US_PER_DAY)
        .and_then(|d| d.checked_add(((hour * 60 + minute) * 60 + second) * 1_000_000 + micros))
        .and_then(|t| t.checked_sub(offset))
        .ok_or_else(|| format!("`{text}` is out of the range of a Flow `datetime`"))
}

/// Microseconds of a number of seconds.
fn duration_from_secs(secs: f64) -> Option<i64> {
    let us = (secs * 1e6).round();
    (-9.223_372_036_854_775e18..9.223_372_036_854_775e18)
        .contains(&us)
        .then_some(us as i64)
}

// ---------------------------------------------------------------------------------------------
// Reading: the pickle machine
// ---------------------------------------------------------------------------------------------

/// A Python object the reader built. Containers hold node ids, so memoized objects are shared and
/// mutated in place as in CPython's unpickler.
#[derive(Debug)]
enum Node<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// An int beyond 64 bits.
    BigInt,
    Float(f64),
    Str(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    List(Vec<u32>),
    Tuple(Vec<u32>),
    /// A dict of up to three items (most records), without an allocation of its own.
    SmallDict(u8, [(u32, u32); 3]),
    Dict(Vec<(u32, u32)>),
    Set(Vec<u32>, bool),
    /// `datetime.datetime`, in microseconds since the epoch, UTC.
    Datetime(i64),
    /// `datetime.timedelta`, in microseconds.
    Timedelta(i64),
    /// `datetime.timezone`, its UTC offset in microseconds.
    Timezone(i64),
    /// A module global (a class or function): `module.name`.
    Global(Box<str>),
    /// An instance of a class, with its constructor arguments and `__setstate__` state.
    Object(Box<Object>),
}

impl Node<'_> {
    const EMPTY_DICT: Node<'static> = Node::SmallDict(0, [(0, 0); 3]);

    /// A dict's items, in insertion order.
    fn dict_pairs(&self) -> Option<&[(u32, u32)]> {
        match self {
            Node::SmallDict(n, pairs) => Some(&pairs[..*n as usize]),
            Node::Dict(pairs) => Some(pairs),
            _ => None,
        }
    }

    /// Adds the `key, value, key, value…` items of `flat` to a dict; false if this is no dict.
    fn dict_extend(&mut self, flat: &[u32]) -> bool {
        let pairs = flat.chunks_exact(2).map(|p| (p[0], p[1]));
        match self {
            Node::SmallDict(n, inline) if *n as usize + flat.len() / 2 <= inline.len() => {
                for p in pairs {
                    inline[*n as usize] = p;
                    *n += 1;
                }
            }
            Node::SmallDict(n, inline) => {
                let mut all = Vec::with_capacity(*n as usize + flat.len() / 2);
                all.extend_from_slice(&inline[..*n as usize]);
                all.extend(pairs);
                *self = Node::Dict(all);
            }
            Node::Dict(all) => all.extend(pairs),
            _ => return false,
        }
        true
    }
}

#[derive(Debug)]
struct Object {
    class: Box<str>,
    args: Option<u32>,
    state: Option<u32>,
}

mod op {
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const POP_MARK: u8 = b'1';
    pub const DUP: u8 = b'2';
    pub const FLOAT: u8 = b'F';
    pub const INT: u8 = b'I';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const LONG: u8 = b'L';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const PERSID: u8 = b'P';
    pub const BINPERSID: u8 = b'Q';
    pub const REDUCE: u8 = b'R';
    pub const STRING: u8 = b'S';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const UNICODE: u8 = b'V';
    pub const BINUNICODE: u8 = b'X';
    pub const APPEND: u8 = b'a';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const DICT: u8 = b'd';
    pub const EMPTY_DICT: u8 = b'}';
    pub const APPENDS: u8 = b'e';
    pub const GET: u8 = b'g';
    pub const BINGET: u8 = b'h';
    pub const INST: u8 = b'i';
    pub const LONG_BINGET: u8 = b'j';
    pub const LIST: u8 = b'l';
    pub const EMPTY_LIST: u8 = b']';
    pub const OBJ: u8 = b'o';
    pub const PUT: u8 = b'p';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const SETITEM: u8 = b's';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const SETITEMS: u8 = b'u';
    pub const BINFLOAT: u8 = b'G';
    pub const PROTO: u8 = 0x80;
    pub const NEWOBJ: u8 = 0x81;
    pub const EXT1: u8 = 0x82;
    pub const EXT2: u8 = 0x83;
    pub const EXT4: u8 = 0x84;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const LONG4: u8 = 0x8b;
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE8: u8 = 0x8d;
    pub const BINBYTES8: u8 = 0x8e;
    pub const EMPTY_SET: u8 = 0x8f;
    pub const ADDITEMS: u8 = 0x90;
    pub const FROZENSET: u8 = 0x91;
    pub const NEWOBJ_EX: u8 = 0x92;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
    pub const BYTEARRAY8: u8 = 0x96;
    pub const NEXT_BUFFER: u8 = 0x97;
    pub const READONLY_BUFFER: u8 = 0x98;
}

/// The unpickler: a stack machine over node ids.
struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where the current opcode started, for errors.
    at: usize,
    nodes: Vec<Node<'a>>,
    stack: Vec<u32>,
    marks: Vec<usize>,
    memo: Vec<u32>,
    sparse_memo: HashMap<u32, u32>,
    memo_len: usize,
}

const NO_MEMO: u32 = u32::MAX;

type Parsed<T> = Result<T, PickleError>;

impl<'a> Machine<'a> {
    /// A machine for `data`, with this thread's pooled node buffer.
    fn new(data: &'a [u8]) -> Machine<'a> {
        Machine::with_nodes(data, NODE_POOL.take())
    }

    /// A machine for `data` that builds its nodes in the (emptied) buffer `nodes`.
    fn with_nodes(data: &'a [u8], nodes: Vec<Node<'_>>) -> Machine<'a> {
        Machine {
            data,
            pos: 0,
            at: 0,
            nodes: {
                let mut nodes = recycle(nodes);
                nodes.reserve(data.len() / 8 + 4);
                nodes
            },
            stack: Vec::with_capacity(64),
            marks: Vec::with_capacity(16),
            memo: Vec::new(),
            sparse_memo: HashMap::new(),
            memo_len: 0,
        }
    }

    /// Gives the node buffer back to the thread's pool.
    fn release(self) {
        if self.nodes.capacity() <= POOL_MAX_NODES {
            NODE_POOL.set(recycle(self.nodes));
        }
    }

    /// The node buffer, emptied, for another machine.
    fn into_nodes(self) -> Vec<Node<'static>> {
        recycle(self.nodes)
    }

    fn malformed<T>(&self, message: impl Into<String>) -> Parsed<T> {
        Err(PickleError::Malformed {
            offset: self.at,
            message: message.into(),
        })
    }

    fn unsupported<T>(&self, feature: &str) -> Parsed<T> {
        Err(PickleError::Unsupported {
            offset: self.at,
            feature: feature.to_string(),
        })
    }

    #[inline]
    fn take(&mut self, n: usize) -> Parsed<&'a [u8]> {
        let data = self.data;
        match self.pos.checked_add(n) {
            Some(end) if end <= data.len() => {
                let s = &data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => self.malformed("the pickle ends in the middle of an opcode (truncated file?)"),
        }
    }

    #[inline]
    fn byte(&mut self) -> Parsed<u8> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    fn u32_le(&mut self) -> Parsed<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64_len(&mut self) -> Parsed<usize> {
        let b = self.take(8)?;
        let n = u64::from_le_bytes(b.try_into().expect("8 bytes"));
        usize::try_from(n).or_else(|_| self.malformed("a length beyond memory"))
    }

    fn line(&mut self) -> Parsed<&'a [u8]> {
        let data = self.data;
        let rest = &data[self.pos..];
        match rest.iter().position(|&c| c == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                let l = &rest[..n];
                Ok(l.strip_suffix(b"\r").unwrap_or(l))
            }
            None => self.malformed("a text opcode without its newline (truncated file?)"),
        }
    }

    #[inline]
    fn push(&mut self, node: Node<'a>) {
        let id = self.nodes.len() as u32;
        self.nodes.push(node);
        self.stack.push(id);
    }

    #[inline]
    fn pop(&mut self) -> Parsed<u32> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() > floor {
            Ok(self.stack.pop().expect("stack above the mark"))
        } else {
            self.malformed("pickle stack underflow")
        }
    }

    fn top(&self) -> Parsed<u32> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() > floor {
            Ok(*self.stack.last().expect("stack above the mark"))
        } else {
            self.malformed("pickle stack underflow")
        }
    }

    /// Pops the items above the topmost mark, and the mark.
    fn pop_mark(&mut self) -> Parsed<Vec<u32>> {
        match self.marks.pop() {
            Some(m) => Ok(self.stack.split_off(m)),
            None => self.malformed("a MARK was expected on the pickle stack"),
        }
    }

    /// The topmost mark's stack position, for opcodes that consume the items above it in place.
    fn mark_floor(&mut self) -> Parsed<usize> {
        match self.marks.pop() {
            Some(m) => Ok(m),
            None => self.malformed("a MARK was expected on the pickle stack"),
        }
    }

    fn str_node(&self, bytes: &'a [u8]) -> Parsed<Node<'a>> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Node::Str(Cow::Borrowed(s))),
            Err(_) => self.malformed("a string that is not UTF-8"),
        }
    }

    /// A Python 2 `str`: text when it is UTF-8 (CPython 3 reads it as ASCII), else bytes.
    fn py2_str(bytes: Cow<'a, [u8]>) -> Node<'a> {
        match bytes {
            Cow::Borrowed(b) => match std::str::from_utf8(b) {
                Ok(s) => Node::Str(Cow::Borrowed(s)),
                Err(_) => Node::Bytes(Cow::Borrowed(b)),
            },
            Cow::Owned(b) => match String::from_utf8(b) {
                Ok(s) => Node::Str(Cow::Owned(s)),
                Err(e) => Node::Bytes(Cow::Owned(e.into_bytes())),
            },
        }
    }

    fn memo_put(&mut self, key: u32) -> Parsed<()> {
        let id = self.top()?;
        let k = key as usize;
        if k < self.memo.len() {
            if self.memo[k] == NO_MEMO {
                self.memo_len += 1;
            }
            self.memo[k] = id;
        } else if k <= self.nodes.len() + 1024 {
            self.memo.resize(k + 1, NO_MEMO);
            self.memo[k] = id;
            self.memo_len += 1;
        } else if self.sparse_memo.insert(key, id).is_none() {
            self.memo_len += 1;
        }
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Parsed<()> {
        let id = match self.memo.get(key as usize) {
            Some(&id) if id != NO_MEMO => Some(id),
            _ => self.sparse_memo.get(&key).copied(),
        };
        match id {
            Some(id) => {
                self.stack.push(id);
                Ok(())
            }
            None => self.malformed(format!("memo key {key} is used before it is set")),
        }
    }

    fn ascii_line(&mut self) -> Parsed<&'a str> {
        let l = self.line()?;
        match std::str::from_utf8(l) {
            Ok(s) => Ok(s),
            Err(_) => self.malformed("a text opcode argument that is not ASCII"),
        }
    }

    /// Runs the pickle to its STOP and returns the root node's id.
    fn run(&mut self) -> Parsed<u32> {
        use op::*;
        loop {
            self.at = self.pos;
            let code = match self.data.get(self.pos) {
                Some(&c) => c,
                None => {
                    return self
                        .malformed("the pickle ends without a STOP opcode (truncated file?)")
                }
            };
            self.pos += 1;
            match code {
                PROTO => {
                    let p = self.byte()?;
                    if p > 5 {
                        return self.unsupported(&format!(
                            "pickle protocol {p} (Flow reads protocols 0 to 5)"
                        ));
                    }
                }
                FRAME => {
                    self.take(8)?;
                }
                STOP => {
                    let root = self.pop()?;
                    if self.pos != self.data.len() {
                        self.at = self.pos;
                        return self.malformed(
                            "bytes after the pickle's end (a file holding several pickles?)",
                        );
                    }
                    return Ok(root);
                }
                MARK => self.marks.push(self.stack.len()),
                POP => {
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() > floor {
                        self.stack.pop();
                    } else {
                        self.pop_mark()?;
                    }
                }
                POP_MARK => {
                    self.pop_mark()?;
                }
                DUP => {
                    let t = self.top()?;
                    self.stack.push(t);
                }
                PUT => {
                    let l = self.ascii_line()?;
                    match l.parse() {
                        Ok(k) => self.memo_put(k)?,
                        Err(_) => return self.malformed("a PUT without a memo key"),
                    }
                }
                BINPUT => {
                    let k = self.byte()?;
                    self.memo_put(u32::from(k))?;
                }
                LONG_BINPUT => {
                    let k = self.u32_le()?;
                    self.memo_put(k)?;
                }
                MEMOIZE => {
                    let k = self.memo_len as u32;
                    self.memo_put(k)?;
                }
                GET => {
                    let l = self.ascii_line()?;
                    match l.parse() {
                        Ok(k) => self.memo_get(k)?,
                        Err(_) => return self.malformed("a GET without a memo key"),
                    }
                }
                BINGET => {
                    let k = self.byte()?;
                    self.memo_get(u32::from(k))?;
                }
                LONG_BINGET => {
                    let k = self.u32_le()?;
                    self.memo_get(k)?;
                }
                NONE => self.push(Node::None),
                NEWTRUE => self.push(Node::Bool(true)),
                NEWFALSE => self.push(Node::Bool(false)),
                INT => {
                    let l = self.ascii_line()?;
                    let node = match l {
                        "01" => Node::Bool(true),
                        "00" => Node::Bool(false),
                        _ => self.text_int(l)?,
                    };
                    self.push(node);
                }
                LONG => {
                    let l = self.ascii_line()?;
                    let node = self.text_int(l.strip_suffix('L').unwrap_or(l))?;
                    self.push(node);
                }
                FLOAT => {
                    let l = self.ascii_line()?;
                    match l.trim().parse::<f64>() {
                        Ok(x) => self.push(Node::Float(x)),
                        Err(_) => return self.malformed(format!("`{l}` is not a float")),
                    }
                }
                BINFLOAT => {
                    let b = self.take(8)?;
                    self.push(Node::Float(f64::from_be_bytes(
                        b.try_into().expect("8 bytes"),
                    )));
                }
                BININT => {
                    let b = self.take(4)?;
                    self.push(Node::Int(i64::from(i32::from_le_bytes(
                        b.try_into().expect("4 bytes"),
                    ))));
                }
                BININT1 => {
                    let b = self.byte()?;
                    self.push(Node::Int(i64::from(b)));
                }
                BININT2 => {
                    let b = self.take(2)?;
                    self.push(Node::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))));
                }
                LONG1 => {
                    let n = self.byte()? as usize;
                    let b = self.take(n)?;
                    self.push(binary_long(b));
                }
                LONG4 => {
                    let n = self.u32_le()? as i32;
                    if n < 0 {
                        return self.malformed("a negative length");
                    }
                    let b = self.take(n as usize)?;
                    self.push(binary_long(b));
                }
                SHORT_BINUNICODE => {
                    let n = self.byte()? as usize;
                    let b = self.take(n)?;
                    let node = self.str_node(b)?;
                    self.push(node);
                }
                BINUNICODE => {
                    let n = self.u32_le()? as usize;
                    let b = self.take(n)?;
                    let node = self.str_node(b)?;
                    self.push(node);
                }
                BINUNICODE8 => {
                    let n = self.u64_len()?;
                    let b = self.take(n)?;
                    let node = self.str_node(b)?;
                    self.push(node);
                }
                UNICODE => {
                    let l = self.line()?;
                    match raw_unicode_unescape(l) {
                        Some(s) => self.push(Node::Str(Cow::Owned(s))),
                        None => return self.malformed("a badly escaped UNICODE string"),
                    }
                }
                SHORT_BINBYTES => {
                    let n = self.byte()? as usize;
                    let b = self.take(n)?;
                    self.push(Node::Bytes(Cow::Borrowed(b)));
                }
                BINBYTES => {
                    let n = self.u32_le()? as usize;
                    let b = self.take(n)?;
                    self.push(Node::Bytes(Cow::Borrowed(b)));
                }
                BINBYTES8 | BYTEARRAY8 => {
                    let n = self.u64_len()?;
                    let b = self.take(n)?;
                    self.push(Node::Bytes(Cow::Borrowed(b)));
                }
                SHORT_BINSTRING => {
                    let n = self.byte()? as usize;
                    let b = self.take(n)?;
                    self.push(Self::py2_str(Cow::Borrowed(b)));
                }
                BINSTRING => {
                    let n = self.u32_le()? as i32;
                    if n < 0 {
                        return self.malformed("a negative length");
                    }
                    let b = self.take(n as usize)?;
                    self.push(Self::py2_str(Cow::Borrowed(b)));
                }
                STRING => {
                    let l = self.line()?;
                    match string_unescape(l) {
                        Some(b) => self.push(Self::py2_str(Cow::Owned(b))),
                        None => return self.malformed("a badly quoted STRING"),
                    }
                }
                EMPTY_TUPLE => self.push(Node::Tuple(Vec::new())),
                TUPLE1 => {
                    let a = self.pop()?;
                    self.push(Node::Tuple(vec![a]));
                }
                TUPLE2 => {
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.push(Node::Tuple(vec![a, b]));
                }
                TUPLE3 => {
                    let c = self.pop()?;
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.push(Node::Tuple(vec![a, b, c]));
                }
                TUPLE => {
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items));
                }
                EMPTY_LIST => self.push(Node::List(Vec::new())),
                LIST => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items));
                }
                APPEND => {
                    let v = self.pop()?;
                    let l = self.top()?;
                    match &mut self.nodes[l as usize] {
                        Node::List(items) => items.push(v),
                        _ => return self.malformed("APPEND to something that is not a list"),
                    }
                }
                APPENDS => {
                    let floor = self.mark_floor()?;
                    if floor == 0 || floor <= self.marks.last().copied().unwrap_or(0) {
                        return self.malformed("APPENDS without a list below its mark");
                    }
                    let l = self.stack[floor - 1];
                    match &mut self.nodes[l as usize] {
                        Node::List(items) => items.extend_from_slice(&self.stack[floor..]),
                        _ => return self.malformed("APPENDS to something that is not a list"),
                    }
                    self.stack.truncate(floor);
                }
                EMPTY_DICT => self.push(Node::EMPTY_DICT),
                DICT => {
                    let items = self.pop_mark()?;
                    if !items.len().is_multiple_of(2) {
                        return self.malformed("DICT with an odd number of items");
                    }
                    let mut dict = Node::EMPTY_DICT;
                    dict.dict_extend(&items);
                    self.push(dict);
                }
                SETITEM => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let d = self.top()?;
                    if !self.nodes[d as usize].dict_extend(&[k, v]) {
                        return self.malformed("SETITEM on something that is not a dict");
                    }
                }
                SETITEMS => {
                    let floor = self.mark_floor()?;
                    if floor == 0 || floor <= self.marks.last().copied().unwrap_or(0) {
                        return self.malformed("SETITEMS without a dict below its mark");
                    }
                    if !(self.stack.len() - floor).is_multiple_of(2) {
                        return self.malformed("SETITEMS with an odd number of items");
                    }
                    let d = self.stack[floor - 1];
                    if !self.nodes[d as usize].dict_extend(&self.stack[floor..]) {
                        return self.malformed("SETITEMS on something that is not a dict");
                    }
                    self.stack.truncate(floor);
                }
                EMPTY_SET => self.push(Node::Set(Vec::new(), false)),
                FROZENSET => {
                    let items = self.pop_mark()?;
                    self.push(Node::Set(items, true));
                }
                ADDITEMS => {
                    let floor = self.mark_floor()?;
                    if floor == 0 || floor <= self.marks.last().copied().unwrap_or(0) {
                        return self.malformed("ADDITEMS without a set below its mark");
                    }
                    let s = self.stack[floor - 1];
                    match &mut self.nodes[s as usize] {
                        Node::Set(items, _) => items.extend_from_slice(&self.stack[floor..]),
                        _ => return self.malformed("ADDITEMS on something that is not a set"),
                    }
                    self.stack.truncate(floor);
                }
                GLOBAL => {
                    let module = self.ascii_line()?;
                    let name = self.ascii_line()?;
                    self.push(Node::Global(format!("{module}.{name}").into()));
                }
                STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&self.nodes[module as usize], &self.nodes[name as usize]) {
                        (Node::Str(m), Node::Str(n)) => {
                            let g = format!("{m}.{n}").into();
                            self.push(Node::Global(g));
                        }
                        _ => return self.malformed("STACK_GLOBAL without two strings"),
                    }
                }
                REDUCE => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let node = self.reduce(callable, args)?;
                    self.push(node);
                }
                NEWOBJ => {
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let node = self.object(class, Some(args));
                    self.push(node);
                }
                NEWOBJ_EX => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let node = self.object(class, Some(args));
                    self.push(node);
                }
                OBJ => {
                    let items = self.pop_mark()?;
                    let Some((&class, args)) = items.split_first() else {
                        return self.malformed("OBJ without a class");
                    };
                    let args = args.to_vec();
                    let args_id = self.nodes.len() as u32;
                    self.nodes.push(Node::Tuple(args));
                    let node = self.object(class, Some(args_id));
                    self.push(node);
                }
                INST => {
                    let module = self.ascii_line()?;
                    let name = self.ascii_line()?;
                    let items = self.pop_mark()?;
                    let args_id = self.nodes.len() as u32;
                    self.nodes.push(Node::Tuple(items));
                    self.push(Node::Object(Box::new(Object {
                        class: format!("{module}.{name}").into(),
                        args: Some(args_id),
                        state: None,
                    })));
                }
                BUILD => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    match &mut self.nodes[target as usize] {
                        Node::Object(o) => o.state = Some(state),
                        // `__setstate__` of builtin values that CPython's pickler never emits.
                        _ => return self.malformed("BUILD on something that is not an object"),
                    }
                }
                PERSID | BINPERSID => return self.unsupported("persistent ids"),
                EXT1 | EXT2 | EXT4 => return self.unsupported("the extension registry (copyreg)"),
                NEXT_BUFFER | READONLY_BUFFER => {
                    return self.unsupported("out-of-band buffers (pickle protocol 5)")
                }
                other => return self.malformed(format!("unknown opcode 0x{other:02x}")),
            }
        }
    }

    fn text_int(&self, text: &str) -> Parsed<Node<'a>> {
        let t = text.trim();
        match t.parse::<i64>() {
            Ok(i) => Ok(Node::Int(i)),
            Err(_)
                if !t.is_empty()
                    && t.trim_start_matches(['-', '+'])
                        .bytes()
                        .all(|c| c.is_ascii_digit()) =>
            {
                Ok(Node::BigInt)
            }
            Err(_) => self.malformed(format!("`{text}` is not an int")),
        }
    }

    fn class_name(&self, class: u32) -> Box<str> {
        match &self.nodes[class as usize] {
            Node::Global(g) => g.clone(),
            _ => "<unknown class>".into(),
        }
    }

    fn object(&self, class: u32, args: Option<u32>) -> Node<'a> {
        Node::Object(Box::new(Object {
            class: self.class_name(class),
            args,
            state: None,
        }))
    }

    fn tuple_items(&self, id: u32) -> Option<&[u32]> {
        match &self.nodes[id as usize] {
            Node::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// `callable(*args)` for the callables builtin pickles use; any other call is an object.
    fn reduce(&mut self, callable: u32, args: u32) -> Parsed<Node<'a>> {
        let name: &str = match &self.nodes[callable as usize] {
            Node::Global(g) => g,
            _ => return Ok(self.object(callable, Some(args))),
        };
        let Some(argv) = self.tuple_items(args) else {
            return self.malformed("REDUCE without an argument tuple");
        };
        let argv = argv.to_vec();
        let arg = |i: usize| argv.get(i).map(|&a| &self.nodes[a as usize]);
        let node = match (name, argv.len()) {
            ("builtins.set" | "__builtin__.set", 0) => Node::Set(Vec::new(), false),
            ("builtins.frozenset" | "__builtin__.frozenset", 0) => Node::Set(Vec::new(), true),
            (
                "builtins.set" | "__builtin__.set" | "builtins.frozenset" | "__builtin__.frozenset",
                1,
            ) => match arg(0) {
                Some(Node::List(items) | Node::Tuple(items)) => {
                    Node::Set(items.clone(), name.ends_with("frozenset"))
                }
                _ => return self.malformed("set() of something that is not a list"),
            },
            ("builtins.list" | "__builtin__.list", 1) => match arg(0) {
                Some(Node::List(items) | Node::Tuple(items)) => Node::List(items.clone()),
                _ => return self.malformed("list() of something that is not a list"),
            },
            (
                "builtins.bytes"
                | "__builtin__.bytes"
                | "builtins.bytearray"
                | "__builtin__.bytearray",
                0,
            ) => Node::Bytes(Cow::Borrowed(&[])),
            ("builtins.bytearray" | "__builtin__.bytearray", _) | ("_codecs.encode", 2) => {
                match arg(0) {
                    Some(Node::Bytes(b)) => Node::Bytes(b.clone()),
                    Some(Node::Str(s)) => match latin1(s) {
                        Some(b) => Node::Bytes(Cow::Owned(b)),
                        None => return self.malformed("bytes as a string beyond latin-1"),
                    },
                    _ => return self.malformed("bytes of something that is not a string"),
                }
            }
            ("datetime.timedelta", _) => {
                let part = |i| match arg(i) {
                    Some(Node::Int(v)) => Some(*v),
                    None => Some(0),
                    _ => None,
                };
                match (part(0), part(1), part(2)) {
                    (Some(d), Some(s), Some(us)) => d
                        .checked_mul(US_PER_DAY)
                        .and_then(|d| d.checked_add(s.checked_mul(1_000_000)?))
                        .and_then(|t| t.checked_add(us))
                        .map_or_else(|| self.object(callable, Some(args)), Node::Timedelta),
                    _ => self.object(callable, Some(args)),
                }
            }
            ("copy_reg._reconstructor" | "copyreg._reconstructor", 3) => self.object(argv[0], None),
            // Their items follow as SETITEMS.
            ("collections.OrderedDict" | "collections.defaultdict", _) => Node::EMPTY_DICT,
            // `getattr(Color, "Red")`: how newer Pythons pickle some enum members.
            ("builtins.getattr" | "__builtin__.getattr", 2)
                if matches!(arg(1), Some(Node::Str(_))) =>
            {
                let class = self.class_name(argv[0]);
                let args = self.nodes.len() as u32;
                self.nodes.push(Node::Tuple(vec![argv[1]]));
                Node::Object(Box::new(Object {
                    class,
                    args: Some(args),
                    state: None,
                }))
            }
            ("datetime.timezone", 1 | 2) => match arg(0) {
                Some(Node::Timedelta(off)) => Node::Timezone(*off),
                _ => self.object(callable, Some(args)),
            },
            ("datetime.datetime", 1 | 2) => {
                let offset = match arg(1) {
                    None | Some(Node::None) => Some(0),
                    Some(Node::Timezone(off)) => Some(*off),
                    _ => None,
                };
                let state = match arg(0) {
                    Some(Node::Bytes(b)) => Some(b.to_vec()),
                    Some(Node::Str(s)) => latin1(s),
                    _ => None,
                };
                match (state.as_deref().and_then(datetime_state), offset) {
                    (Some(t), Some(off)) => Node::Datetime(t - off),
                    _ => self.object(callable, Some(args)),
                }
            }
            _ => self.object(callable, Some(args)),
        };
        Ok(node)
    }
}

/// The microseconds of CPython's 10-byte `datetime` state.
fn datetime_state(b: &[u8]) -> Option<i64> {
    if b.len() != 10 {
        return None;
    }
    let year = i64::from(b[0]) * 256 + i64::from(b[1]);
    let month = u32::from(b[2] & 0x7f);
    let day = u32::from(b[3]);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let secs = (i64::from(b[4]) * 60 + i64::from(b[5])) * 60 + i64::from(b[6]);
    let us = (i64::from(b[7]) << 16) | (i64::from(b[8]) << 8) | i64::from(b[9]);
    Some(days_from_civil(year, month, day) * US_PER_DAY + secs * 1_000_000 + us)
}

fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// A little-endian two's complement int of LONG1/LONG4.
fn binary_long(b: &[u8]) -> Node<'static> {
    if b.is_empty() {
        return Node::Int(0);
    }
    let negative = b[b.len() - 1] & 0x80 != 0;
    let fill = if negative { 0xff } else { 0 };
    if b.len() > 8 && (b[8..].iter().any(|&c| c != fill) || (b[7] & 0x80 != 0) != negative) {
        return Node::BigInt;
    }
    let mut buf = [fill; 8];
    let n = b.len().min(8);
    buf[..n].copy_from_slice(&b[..n]);
    Node::Int(i64::from_le_bytes(buf))
}

/// The text of a protocol-0 UNICODE opcode (`raw-unicode-escape`).
fn raw_unicode_unescape(l: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        let c = l[i];
        if c == b'\\' && matches!(l.get(i + 1), Some(b'u' | b'U')) {
            let n = if l[i + 1] == b'u' { 4 } else { 8 };
            let hex = std::str::from_utf8(l.get(i + 2..i + 2 + n)?).ok()?;
            out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
            i += 2 + n;
        } else {
            out.push(char::from(c));
            i += 1;
        }
    }
    Some(out)
}

/// The bytes of a protocol-0 STRING opcode: a quoted Python 2 `repr`.
fn string_unescape(l: &[u8]) -> Option<Vec<u8>> {
    let q = *l.first()?;
    if l.len() < 2 || !matches!(q, b'\'' | b'"') || l[l.len() - 1] != q {
        return None;
    }
    let l = &l[1..l.len() - 1];
    let mut out = Vec::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        if l[i] != b'\\' {
            out.push(l[i]);
            i += 1;
            continue;
        }
        let e = *l.get(i + 1)?;
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' => out.push(e),
            b'\n' => {}
            b'x' => {
                let hex = std::str::from_utf8(l.get(i..i + 2)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut k = 0;
                while k < 2 && matches!(l.get(i), Some(b'0'..=b'7')) {
                    v = v * 8 + u32::from(l[i] - b'0');
                    i += 1;
                    k += 1;
                }
                out.push(v as u8);
            }
            _ => {
                out.push(b'\\');
                out.push(e);
            }
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Reading: from Python objects to Flow values
// ---------------------------------------------------------------------------------------------

/// Reads the pickle `bytes` as a value of type `ty` (see the module documentation for the
/// conversions). An `extern type` keeps the bytes unopened as [`Value::Opaque`]; so does a union
/// holding one, unless the pickle is a value of one of its other members.
pub fn decode(bytes: &[u8], ty: &Type, decls: &Decls) -> Result<Value, PickleError> {
    let ty = resolve(decls, ty);
    if is_extern(decls, ty) {
        return Ok(Value::Opaque(Arc::new(bytes.to_vec())));
    }
    let extern_member = match ty {
        Type::Union(ms) => ms.iter().any(|m| is_extern(decls, resolve(decls, m))),
        _ => false,
    };
    let mut machine = Machine::new(bytes);
    let root = match machine.run() {
        Ok(root) => root,
        Err(_) if extern_member => return Ok(Value::Opaque(Arc::new(bytes.to_vec()))),
        Err(e) => return Err(e),
    };
    let reader = Reader::new(&machine.nodes, decls, ty);
    let result = if let (true, Type::Union(ms)) = (extern_member, ty) {
        let mut members = [true, false].into_iter().flat_map(|strict| {
            ms.iter()
                .filter(|m| !is_extern(decls, resolve(decls, m)))
                .map(move |m| (m, strict))
        });
        Ok(members
            .find_map(|(m, strict)| reader.conv(root, m, strict).ok())
            .unwrap_or_else(|| Value::Opaque(Arc::new(bytes.to_vec()))))
    } else {
        reader
            .conv(root, ty, false)
            .map_err(|f| f.into_error(decls))
    };
    machine.release();
    result
}

thread_local! {
    /// Each thread's node buffer, kept from one decode to the next (a batched list decodes many
    /// files per thread), up to [`POOL_MAX_NODES`].
    static NODE_POOL: Cell<Vec<Node<'static>>> = const { Cell::new(Vec::new()) };
}

const POOL_MAX_NODES: usize = 1 << 18;

/// An emptied vector of nodes of another lifetime, in the same allocation (collecting a mapped
/// `into_iter` of a vector into one of a same-sized type reuses its buffer).
fn recycle<'x, 'y>(mut nodes: Vec<Node<'x>>) -> Vec<Node<'y>> {
    nodes.clear();
    nodes
        .into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

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

fn is_extern(decls: &Decls, ty: &Type) -> bool {
    matches!(ty, Type::Decl(id) if matches!(decls.get(*id).kind, DeclKind::Extern))
}

/// A struct, class or enum, with its names allocated once per decode.
enum Shape<'d> {
    Record {
        name: Arc<str>,
        fields: Vec<(Arc<str>, &'d FieldSig)>,
    },
    Enum {
        name: Arc<str>,
        variants: Vec<Arc<str>>,
    },
}

/// Converts the nodes of one pickle to values of the expected types.
struct Reader<'n, 'a, 'd> {
    nodes: &'n [Node<'a>],
    decls: &'d Decls,
    shapes: Vec<Option<Shape<'d>>>,
}

/// A conversion failure, with the path to it built on the way out (innermost segment first).
struct Fail {
    kind: FailKind,
    path: Vec<Seg>,
}

enum Seg {
    Index(usize),
    Key(String),
    Field(Arc<str>),
}

enum FailKind {
    Mismatch {
        expected: Type,
        found: String,
    },
    MissingField {
        record: Arc<str>,
        field: Arc<str>,
        has_default: bool,
    },
    UnknownField {
        record: Arc<str>,
        field: String,
    },
    UnknownVariant {
        enum_name: Arc<str>,
        found: String,
        variants: Vec<Arc<str>>,
    },
    Invalid {
        expected: Type,
        message: String,
    },
    NestedExtern {
        type_name: String,
    },
    UnsupportedType {
        ty: Type,
    },
}

type Conv = Result<Value, Box<Fail>>;

impl Fail {
    fn new(kind: FailKind) -> Box<Fail> {
        Box::new(Fail {
            kind,
            path: Vec::new(),
        })
    }

    fn into_error(self, decls: &Decls) -> PickleError {
        let mut path = String::new();
        for seg in self.path.iter().rev() {
            match seg {
                Seg::Index(i) => {
                    let _ = write!(path, "[{i}]");
                }
                Seg::Key(k) => {
                    let _ = write!(path, "[{k:?}]");
                }
                Seg::Field(f) if path.is_empty() => path.push_str(f),
                Seg::Field(f) => {
                    let _ = write!(path, ".{f}");
                }
            }
        }
        match self.kind {
            FailKind::Mismatch { expected, found } => PickleError::Mismatch {
                path,
                expected: decls.show(&expected),
                found,
            },
            FailKind::MissingField {
                record,
                field,
                has_default,
            } => PickleError::MissingField {
                path,
                record: record.to_string(),
                field: field.to_string(),
                has_default,
            },
            FailKind::UnknownField { record, field } => PickleError::UnknownField {
                path,
                record: record.to_string(),
                field,
            },
            FailKind::UnknownVariant {
                enum_name,
                found,
                variants,
            } => PickleError::UnknownVariant {
                path,
                enum_name: enum_name.to_string(),
                found,
                variants: variants.iter().map(|v| v.to_string()).collect(),
            },
            FailKind::Invalid { expected, message } => PickleError::InvalidValue {
                path,
                expected: decls.show(&expected),
                message,
            },
            FailKind::NestedExtern { type_name } => PickleError::NestedExtern { path, type_name },
            FailKind::UnsupportedType { ty } => PickleError::UnsupportedType {
                ty: decls.show(&ty),
            },
        }
    }

    /// Whether this is a plain "wrong kind of value" at the very value tried.
    fn is_shallow(&self) -> bool {
        self.path.is_empty() && matches!(self.kind, FailKind::Mismatch { .. })
    }
}

fn within(seg: impl FnOnce() -> Seg) -> impl FnOnce(Box<Fail>) -> Box<Fail> {
    move |mut f| {
        f.path.push(seg());
        f
    }
}

impl<'n, 'a, 'd> Reader<'n, 'a, 'd> {
    fn new(nodes: &'n [Node<'a>], decls: &'d Decls, ty: &Type) -> Self {
        let mut r = Reader {
            nodes,
            decls,
            shapes: Vec::new(),
        };
        r.collect_shapes(ty);
        r
    }

    /// Allocates the names of every struct, class and enum `ty` reaches, once.
    fn collect_shapes(&mut self, ty: &Type) {
        match ty {
            Type::List(t) => self.collect_shapes(t),
            Type::Dict(k, v) => {
                self.collect_shapes(k);
                self.collect_shapes(v);
            }
            Type::Union(ts) | Type::Tuple(ts) => ts.iter().for_each(|t| self.collect_shapes(t)),
            Type::NamedTuple(fs) => fs.iter().for_each(|(_, t)| self.collect_shapes(t)),
            Type::Decl(id) => {
                let i = id.0 as usize;
                if self.shapes.get(i).is_some_and(Option::is_some) {
                    return;
                }
                let decls = self.decls;
                let decl = decls.get(*id);
                let shape = match &decl.kind {
                    DeclKind::Struct(fs) | DeclKind::Class(fs) => Shape::Record {
                        name: Arc::from(decl.name.as_str()),
                        fields: fs.iter().map(|f| (Arc::from(f.name.as_str()), f)).collect(),
                    },
                    DeclKind::Enum(vs) => Shape::Enum {
                        name: Arc::from(decl.name.as_str()),
                        variants: vs.iter().map(|v| Arc::from(v.as_str())).collect(),
                    },
                    DeclKind::Alias(t) => return self.collect_shapes(t),
                    _ => return,
                };
                if self.shapes.len() <= i {
                    self.shapes.resize_with(i + 1, || None);
                }
                self.shapes[i] = Some(shape);
                if let DeclKind::Struct(fs) | DeclKind::Class(fs) = &decl.kind {
                    for f in fs {
                        self.collect_shapes(&f.ty);
                    }
                }
            }
            _ => {}
        }
    }

    #[inline]
    fn node(&self, id: u32) -> &'n Node<'a> {
        &self.nodes[id as usize]
    }

    fn describe(&self, id: u32) -> String {
        match self.node(id) {
            Node::None => "None".into(),
            Node::Bool(b) => format!("a Python bool ({})", if *b { "True" } else { "False" }),
            Node::Int(_) => "a Python int".into(),
            Node::BigInt => "a Python int beyond 64 bits".into(),
            Node::Float(_) => "a Python float".into(),
            Node::Str(_) => "a Python str".into(),
            Node::Bytes(_) => "a Python bytes".into(),
            Node::List(_) => "a Python list".into(),
            Node::Tuple(_) => "a Python tuple".into(),
            Node::SmallDict(..) | Node::Dict(_) => "a Python dict".into(),
            Node::Set(_, false) => "a Python set".into(),
            Node::Set(_, true) => "a Python frozenset".into(),
            Node::Datetime(_) => "a `datetime.datetime`".into(),
            Node::Timedelta(_) => "a `datetime.timedelta`".into(),
            Node::Timezone(_) => "a `datetime.timezone`".into(),
            Node::Global(g) => format!("the Python global `{g}`"),
            Node::Object(o) => format!("a `{}` object", o.class),
        }
    }

    fn mismatch(&self, id: u32, expected: &Type) -> Box<Fail> {
        Fail::new(FailKind::Mismatch {
            expected: expected.clone(),
            found: self.describe(id),
        })
    }

    fn invalid(expected: &Type, message: String) -> Box<Fail> {
        Fail::new(FailKind::Invalid {
            expected: expected.clone(),
            message,
        })
    }

    /// The items of a list or tuple.
    fn seq(&self, id: u32) -> Option<&'n [u32]> {
        match self.node(id) {
            Node::List(items) | Node::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The value of `ty` node `id` stands for; `strict` forbids widening `int` to `float`.
    fn conv(&self, id: u32, ty: &Type, strict: bool) -> Conv {
        let node = self.node(id);
        match ty {
            Type::None => match node {
                Node::None => Ok(Value::None),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Bool => match node {
                Node::Bool(b) => Ok(Value::Bool(*b)),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Int => match node {
                Node::Int(i) => Ok(Value::Int(*i)),
                Node::BigInt => Err(Self::invalid(
                    ty,
                    "the Python int is beyond 64 bits".to_string(),
                )),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Float => match node {
                Node::Float(x) => Ok(Value::Float(*x)),
                Node::Int(i) if !strict => Ok(Value::Float(*i as f64)),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Str => match node {
                Node::Str(s) => Ok(Value::Str(Arc::from(&**s))),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::File | Type::Dir => match node {
                Node::Str(s) => Ok(Value::Path(Arc::from(&**s))),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Datetime => match node {
                Node::Str(s) => parse_datetime(s)
                    .map(Value::Datetime)
                    .map_err(|m| Self::invalid(ty, m)),
                Node::Datetime(us) => Ok(Value::Datetime(*us)),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Duration => match node {
                Node::Int(secs) => secs
                    .checked_mul(1_000_000)
                    .map(Value::Duration)
                    .ok_or_else(|| Self::invalid(ty, format!("{secs} seconds is out of range"))),
                Node::Float(secs) => duration_from_secs(*secs)
                    .map(Value::Duration)
                    .ok_or_else(|| Self::invalid(ty, format!("{secs} seconds is out of range"))),
                Node::Timedelta(us) => Ok(Value::Duration(*us)),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::List(item) => {
                let mut out = Vec::new();
                self.list_into(id, ty, item, strict, &mut out)?;
                Ok(Value::List(Arc::new(out)))
            }
            Type::Tuple(ts) => {
                let items = match self.seq(id) {
                    Some(items) if items.len() == ts.len() => items,
                    _ => return Err(self.mismatch(id, ty)),
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, (&it, t)) in items.iter().zip(ts).enumerate() {
                    out.push(self.conv(it, t, strict).map_err(within(|| Seg::Index(i)))?);
                }
                Ok(Value::Tuple(Arc::new(out)))
            }
            Type::NamedTuple(fs) => {
                let items = match self.seq(id) {
                    Some(items) if items.len() == fs.len() => items,
                    _ => return Err(self.mismatch(id, ty)),
                };
                let mut out = Vec::with_capacity(items.len());
                for (&it, (name, t)) in items.iter().zip(fs) {
                    out.push(
                        self.conv(it, t, strict)
                            .map_err(within(|| Seg::Field(Arc::from(name.as_str()))))?,
                    );
                }
                Ok(Value::Tuple(Arc::new(out)))
            }
            Type::Dict(_, v) => {
                let Some(pairs) = node.dict_pairs() else {
                    return Err(self.mismatch(id, ty));
                };
                let mut out = IndexMap::with_capacity(pairs.len());
                for &(k, val) in pairs {
                    let Node::Str(key) = self.node(k) else {
                        return Err(Fail::new(FailKind::Mismatch {
                            expected: Type::Str,
                            found: format!("{} as a dict key", self.describe(k)),
                        }));
                    };
                    let value = self
                        .conv(val, v, strict)
                        .map_err(within(|| Seg::Key(key.to_string())))?;
                    out.insert(key.to_string(), value);
                }
                Ok(Value::Dict(Arc::new(out)))
            }
            Type::Union(members) => self.union(id, ty, members, strict),
            Type::Decl(decl) => self.decl(id, ty, *decl, strict),
            Type::Param(_) | Type::Never | Type::Error => {
                Err(Fail::new(FailKind::UnsupportedType { ty: ty.clone() }))
            }
        }
    }

    /// Appends the items of the list `id`, of type `ty` = `list[item]`, to `out`.
    fn list_into(
        &self,
        id: u32,
        ty: &Type,
        item: &Type,
        strict: bool,
        out: &mut Vec<Value>,
    ) -> Result<(), Box<Fail>> {
        let Some(items) = self.seq(id) else {
            return Err(self.mismatch(id, ty));
        };
        out.reserve(items.len());
        for (i, &it) in items.iter().enumerate() {
            out.push(
                self.conv(it, item, strict)
                    .map_err(within(|| Seg::Index(i)))?,
            );
        }
        Ok(())
    }

    fn union(&self, id: u32, ty: &Type, members: &[Type], strict: bool) -> Conv {
        if matches!(self.node(id), Node::None) && members.contains(&Type::None) {
            return Ok(Value::None);
        }
        let mut best: Option<Box<Fail>> = None;
        let passes: &[bool] = if strict { &[true] } else { &[true, false] };
        for &pass in passes {
            for m in members {
                match self.conv(id, m, pass) {
                    Ok(v) => return Ok(v),
                    Err(f) => {
                        if !f.is_shallow() && best.as_ref().is_none_or(|b| b.is_shallow()) {
                            best = Some(f);
                        }
                    }
                }
            }
        }
        Err(match best {
            Some(f) => f,
            None => self.mismatch(id, ty),
        })
    }

    fn decl(&self, id: u32, ty: &Type, decl: DeclId, strict: bool) -> Conv {
        let d = self.decls.get(decl);
        match &d.kind {
            DeclKind::Alias(t) => self.conv(id, t, strict),
            DeclKind::Extern => Err(Fail::new(FailKind::NestedExtern {
                type_name: d.name.clone(),
            })),
            DeclKind::Callable(_) => Err(Fail::new(FailKind::UnsupportedType { ty: ty.clone() })),
            DeclKind::Struct(_) | DeclKind::Class(_) | DeclKind::Enum(_) => {
                match self.shapes.get(decl.0 as usize).and_then(Option::as_ref) {
                    Some(Shape::Record { name, fields }) => {
                        self.record(id, ty, name, fields, strict)
                    }
                    Some(Shape::Enum { name, variants }) => {
                        self.enumeration(id, ty, name, variants)
                    }
                    None => unreachable!("shapes are collected for every reachable declaration"),
                }
            }
        }
    }

    fn enumeration(&self, id: u32, ty: &Type, name: &Arc<str>, variants: &[Arc<str>]) -> Conv {
        let text: &str = match self.node(id) {
            Node::Str(s) => s,
            // An `enum.Enum` member pickles as `Color(value)`.
            Node::Object(o) => match o.args.and_then(|a| self.seq(a)) {
                Some([v]) => match self.node(*v) {
                    Node::Str(s) => s,
                    _ => return Err(self.mismatch(id, ty)),
                },
                _ => return Err(self.mismatch(id, ty)),
            },
            _ => return Err(self.mismatch(id, ty)),
        };
        match variants.iter().find(|v| ***v == *text) {
            Some(v) => Ok(Value::Enum(name.clone(), v.clone())),
            None => Err(Fail::new(FailKind::UnknownVariant {
                enum_name: name.clone(),
                found: text.to_string(),
                variants: variants.to_vec(),
            })),
        }
    }

    /// The dict of a record: a dict, or the attribute dict of a Python object.
    fn record_pairs(&self, id: u32) -> Option<&'n [(u32, u32)]> {
        let node = self.node(id);
        if let Some(pairs) = node.dict_pairs() {
            return Some(pairs);
        }
        let Node::Object(o) = node else {
            return None;
        };
        match o.state.map(|s| self.node(s)) {
            None => Some(&[]),
            // `(__dict__, __slots__ dict)` when the class has slots; take the `__dict__`.
            Some(Node::Tuple(t)) => t.first().and_then(|&s| self.node(s).dict_pairs()),
            Some(state) => state.dict_pairs(),
        }
    }

    fn key_is(&self, k: u32, name: &str) -> bool {
        matches!(self.node(k), Node::Str(s) if s == name)
    }

    fn record(
        &self,
        id: u32,
        ty: &Type,
        name: &Arc<str>,
        fields: &[(Arc<str>, &FieldSig)],
        strict: bool,
    ) -> Conv {
        let Some(pairs) = self.record_pairs(id) else {
            return Err(self.mismatch(id, ty));
        };
        let mut out = Vec::with_capacity(fields.len());
        for (i, (fname, sig)) in fields.iter().enumerate() {
            // Flow writes fields in declaration order: look there first.
            let found = match pairs.get(i) {
                Some(&(k, v)) if self.key_is(k, fname) => Some(v),
                _ => pairs
                    .iter()
                    .rev()
                    .find(|(k, _)| self.key_is(*k, fname))
                    .map(|&(_, v)| v),
            };
            let Some(v) = found else {
                return Err(Fail::new(FailKind::MissingField {
                    record: name.clone(),
                    field: fname.clone(),
                    has_default: sig.has_default,
                }));
            };
            let value = self
                .conv(v, &sig.ty, strict)
                .map_err(within(|| Seg::Field(fname.clone())))?;
            out.push((fname.clone(), value));
        }
        if pairs.len() > fields.len() {
            for &(k, _) in pairs {
                let known =
                    matches!(self.node(k), Node::Str(s) if fields.iter().any(|(f, _)| **f == **s));
                if !known {
                    let field = match self.node(k) {
                        Node::Str(s) => format!("{s:?}"),
                        _ => self.describe(k),
                    };
                    return Err(Fail::new(FailKind::UnknownField {
                        record: name.clone(),
                        field,
                    }));
                }
            }
        }
        Ok(Value::Record(Arc::new(Record {
            type_name: name.clone(),
            fields: out,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let opaque = Value::Opaque(Arc::new(inner.clone()));
        assert_eq!(encode(&opaque).unwrap(), inner);
        assert_eq!(decode(&inner, &f.tensor, &f.decls).unwrap(), opaque);
        // Even bytes that are no pickle: extern values are never opened.
        assert_eq!(
            decode(b"junk", &f.tensor, &f.decls).unwrap(),
            Value::Opaque(Arc::new(b"junk".to_vec()))
        );
        let opt = Type::optional(f.tensor.clone());
        assert_eq!(decode(&inner, &opt, &f.decls).unwrap(), opaque);
        assert_eq!(
            decode(&encode(&Value::None).unwrap(), &opt, &f.decls).unwrap(),
            Value::None
        );
        // Nested: an error both ways.
        let nested = Value::list(vec![opaque.clone()]);
        assert_eq!(encode(&nested), Err(PickleError::NestedOpaque));
        assert_eq!(
            encode(&Value::record("Holder", vec![("t", opaque.clone())])),
            Err(PickleError::NestedOpaque)
        );
        assert_eq!(
            encode_batches(&[opaque.clone(), opaque], Some(1)),
            Err(PickleError::NestedOpaque)
        );
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
        let msg =
            |v: &Value, ty: &Type| decode(&encode(v).unwrap(), ty, d).unwrap_err().to_string();
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
            let r = Reader::new(&m.nodes, d, &Type::None);
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
        let sets =
            b"\x80\x04\x95\x0e\x00\x00\x00\x00\x00\x00\x00]\x94(\x8f\x94(K\x01\x90(\x91\x94e.";
        assert_eq!(
            decode(sets, &list(&Type::Int), d).unwrap_err().to_string(),
            "at `[0]`: expected an `int`, found a Python set"
        );
    }
}
