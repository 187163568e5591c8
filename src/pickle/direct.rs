//! The fast path of reading: a batch file as Flow's [`Writer`] writes it — a list of scalars,
//! enum values or records of such fields — decoded straight into values, without the machine's
//! tree of Python objects. Anything else (another opcode, a nested list or dict, a key that is no
//! field, a value of another type) makes it give up, and the caller reads the file with the
//! machine, which knows every opcode and words the errors.

use std::sync::Arc;

use crate::check::types::{Decls, FieldSig, Type};
use crate::value::{Record, Value};

use super::*;

/// Appends the items of `data`, the pickle of a list of `item`s, to `out`. False, with `out` as
/// it was, when the pickle is not of the shape this path reads.
pub(super) fn list_into(
    data: &[u8],
    item: &Type,
    decls: &Decls,
    shapes: &Shapes<'_>,
    out: &mut Vec<Value>,
) -> bool {
    let len = out.len();
    let mut direct = Direct {
        data,
        pos: 0,
        memo: Vec::new(),
        decls,
        shapes,
    };
    let read = direct.list(item, out).is_some();
    if !read {
        out.truncate(len);
    }
    read
}

struct Direct<'b, 's, 'd> {
    data: &'b [u8],
    pos: usize,
    /// The strings memoized so far (Flow memoizes record field names, and nothing else).
    memo: Vec<&'b str>,
    decls: &'d Decls,
    shapes: &'s Shapes<'d>,
}

impl<'b> Direct<'b, '_, '_> {
    /// `PROTO 4, EMPTY_LIST`, then chunks of `MARK items… APPENDS` and at most one last
    /// `item APPEND`, then `STOP` at the end of the data.
    fn list(&mut self, item: &Type, out: &mut Vec<Value>) -> Option<()> {
        if self.take(2)? != [op::PROTO, 4] || self.byte()? != op::EMPTY_LIST {
            return None;
        }
        loop {
            match self.peek()? {
                op::STOP => {
                    self.pos += 1;
                    return (self.pos == self.data.len()).then_some(());
                }
                op::MARK => {
                    self.pos += 1;
                    while self.peek()? != op::APPENDS {
                        out.push(self.value(item)?);
                    }
                    self.pos += 1;
                }
                _ => {
                    out.push(self.value(item)?);
                    self.expect(op::APPEND)?;
                }
            }
        }
    }

    /// A value of `ty`, converted as the machine's reader would convert it.
    fn value(&mut self, ty: &Type) -> Option<Value> {
        Some(match self.decls.resolve(ty) {
            Type::None => {
                self.expect(op::NONE)?;
                Value::None
            }
            Type::Bool => match self.byte()? {
                op::NEWTRUE => Value::Bool(true),
                op::NEWFALSE => Value::Bool(false),
                _ => return None,
            },
            Type::Int => Value::Int(self.int()?),
            Type::Float => Value::Float(self.number()?),
            Type::Str => Value::Str(Arc::from(self.str()?)),
            Type::File | Type::Dir => Value::Path(Arc::from(self.str()?)),
            Type::Datetime => Value::Datetime(parse_datetime(self.str()?).ok()?),
            Type::Duration => Value::Duration(if self.peek()? == op::BINFLOAT {
                duration_from_secs(self.number()?)?
            } else {
                self.int()?.checked_mul(1_000_000)?
            }),
            // `T?`: `None`, or a `T`.
            Type::Union(members) if members.len() == 2 && members.contains(&Type::None) => {
                if self.peek()? == op::NONE {
                    self.pos += 1;
                    Value::None
                } else {
                    self.value(members.iter().find(|m| **m != Type::None)?)?
                }
            }
            Type::Decl(decl) => match self.shapes.get(*decl)? {
                Shape::Record { name, fields } => {
                    let name = name.clone();
                    self.record(name, fields)?
                }
                Shape::Enum { name, variants } => {
                    let text = self.str()?;
                    let variant = variants.iter().find(|v| ***v == *text)?;
                    Value::Enum(name.clone(), variant.clone())
                }
            },
            _ => return None,
        })
    }

    /// A record written as the dict of its fields in declaration order: `EMPTY_DICT`, then
    /// `key value SETITEM` for one field, `MARK (key value)… SETITEMS` for more.
    fn record(&mut self, name: Arc<str>, fields: &[(Arc<str>, &FieldSig)]) -> Option<Value> {
        self.expect(op::EMPTY_DICT)?;
        if fields.len() > BATCH {
            return None;
        }
        if fields.len() > 1 {
            self.expect(op::MARK)?;
        }
        let mut values = Vec::with_capacity(fields.len());
        for (field, sig) in fields {
            if self.str()? != &**field {
                return None;
            }
            values.push((field.clone(), self.value(&sig.ty)?));
        }
        match fields.len() {
            0 => {}
            1 => self.expect(op::SETITEM)?,
            _ => self.expect(op::SETITEMS)?,
        }
        Some(Value::Record(Arc::new(Record {
            type_name: name,
            fields: values,
        })))
    }

    /// A `str`, written out (and memoized when `MEMOIZE` follows) or fetched from the memo.
    fn str(&mut self) -> Option<&'b str> {
        let text = match self.byte()? {
            op::SHORT_BINUNICODE => {
                let n = self.byte()?;
                self.text(n as usize)?
            }
            op::BINUNICODE => {
                let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
                self.text(usize::try_from(n).ok()?)?
            }
            op::BINGET => {
                let i = self.byte()?;
                return self.memo.get(i as usize).copied();
            }
            op::LONG_BINGET => {
                let i = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
                return self.memo.get(usize::try_from(i).ok()?).copied();
            }
            _ => return None,
        };
        if self.peek() == Some(op::MEMOIZE) {
            self.pos += 1;
            self.memo.push(text);
        }
        Some(text)
    }

    fn text(&mut self, n: usize) -> Option<&'b str> {
        std::str::from_utf8(self.take(n)?).ok()
    }

    /// An int of at most 64 bits.
    fn int(&mut self) -> Option<i64> {
        Some(match self.byte()? {
            op::BININT1 => i64::from(self.byte()?),
            op::BININT2 => i64::from(u16::from_le_bytes(self.take(2)?.try_into().ok()?)),
            op::BININT => i64::from(i32::from_le_bytes(self.take(4)?.try_into().ok()?)),
            op::LONG1 => {
                let n = self.byte()? as usize;
                match binary_long(self.take(n)?) {
                    Node::Int(i) => i,
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// A float, or an int standing for one.
    fn number(&mut self) -> Option<f64> {
        if self.peek()? == op::BINFLOAT {
            self.pos += 1;
            return Some(f64::from_be_bytes(self.take(8)?.try_into().ok()?));
        }
        self.int().map(|i| i as f64)
    }

    fn expect(&mut self, opcode: u8) -> Option<()> {
        (self.byte()? == opcode).then_some(())
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }
}
