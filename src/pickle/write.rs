//! Writing: Flow values to protocol-4 pickle bytes with a memo for record field names.

use std::collections::HashMap;
use std::sync::Arc;

use crate::value::Value;

use super::*;

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// The pickle of `value` (see the module documentation for how each kind of value is written).
/// An `extern type` value is its own pickle and comes back unchanged.
pub fn encode(value: &Value) -> Result<Vec<u8>, PickleError> {
    if let Value::Opaque(o) = value {
        return Ok(o.bytes.clone());
    }
    let mut w = Writer::new(size_hint(value));
    w.value(value)?;
    Ok(w.finish())
}

/// The pickle of the list of `items`, without building a list value.
pub(super) fn encode_list(items: &[Value]) -> Result<Vec<u8>, PickleError> {
    let mut w = Writer::new(16 + items.first().map_or(0, size_hint) * items.len());
    w.list(items)?;
    Ok(w.finish())
}

/// A guess of a value's pickle size, to allocate the buffer once.
pub(super) fn size_hint(value: &Value) -> usize {
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
pub(super) const BATCH: usize = 1000;

/// Writes protocol-4 pickles of builtin objects, as CPython's pickler would, except that only
/// record field names are memoized (written once, then fetched from the memo).
pub(super) struct Writer<'v> {
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
    pub(super) fn new(hint: usize) -> Writer<'v> {
        // A quarter more than the guess, which looks at the first item only.
        let mut out = Vec::with_capacity(hint.saturating_add(hint / 4).clamp(16, 1 << 26));
        out.extend_from_slice(&[op::PROTO, 4]);
        Writer {
            out,
            names: HashMap::new(),
            recent: [(0, 0); 32],
        }
    }

    pub(super) fn finish(mut self) -> Vec<u8> {
        self.out.push(op::STOP);
        self.out
    }

    pub(super) fn value(&mut self, value: &'v Value) -> Result<(), PickleError> {
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
            Value::Opaque(o) => self.nested_pickle(&o.bytes),
        }
        Ok(())
    }

    pub(super) fn list(&mut self, items: &'v [Value]) -> Result<(), PickleError> {
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

    /// `pickle.loads(b"…")`: an extern value inside another value, which CPython's unpickler
    /// turns back into the object, and Flow's reader back into the same bytes.
    fn nested_pickle(&mut self, bytes: &[u8]) {
        self.out.push(op::GLOBAL);
        self.out.extend_from_slice(b"pickle\nloads\n");
        let n = bytes.len();
        if let Ok(short) = u8::try_from(n) {
            self.out.extend_from_slice(&[op::SHORT_BINBYTES, short]);
        } else if let Ok(long) = u32::try_from(n) {
            self.out.push(op::BINBYTES);
            self.out.extend_from_slice(&long.to_le_bytes());
        } else {
            self.out.push(op::BINBYTES8);
            self.out.extend_from_slice(&(n as u64).to_le_bytes());
        }
        self.out.extend_from_slice(bytes);
        self.out.extend_from_slice(&[op::TUPLE1, op::REDUCE]);
    }

    pub(super) fn int(&mut self, i: i64) {
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

    pub(super) fn float(&mut self, x: f64) {
        self.out.push(op::BINFLOAT);
        self.out.extend_from_slice(&x.to_be_bytes());
    }

    pub(super) fn str(&mut self, text: &str) {
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
    pub(super) fn field_name(&mut self, name: &'v Arc<str>) {
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
