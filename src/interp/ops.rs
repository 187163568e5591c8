//! Binary operators on runtime values (LANGUAGE.md section 7): arithmetic with overflow
//! checks, Python's floor division and modulo, comparisons, equality across ints and floats,
//! and `in`.

use std::cmp::Ordering;
use std::sync::Arc;

use super::builtins::{MAX_LIST_LEN, MAX_TEXT_BYTES};
use super::eval::kind_of;
use crate::syntax::ast::BinOp;
use crate::value::Value;

/// `a op b` for every operator but `and`, `or` and `??` (which short-circuit in the evaluator).
pub fn binary(op: BinOp, a: &Value, b: &Value) -> Result<Value, String> {
    use Value::*;
    let overflow = || "integer overflow".to_string();
    Ok(match op {
        BinOp::Eq => Bool(equal(a, b)),
        BinOp::Ne => Bool(!equal(a, b)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = compare(a, b)
                .ok_or_else(|| format!("cannot compare {} with {}", kind_of(a), kind_of(b)))?;
            Bool(match op {
                BinOp::Lt => ord == Ordering::Less,
                BinOp::Le => ord != Ordering::Greater,
                BinOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
        BinOp::In => Bool(match b {
            List(items) => items.iter().any(|x| equal(a, x)),
            Str(s) => matches!(a, Str(sub) if s.contains(&**sub)),
            Dict(map) => matches!(a, Str(k) if map.contains_key(&**k)),
            _ => {
                return Err(format!(
                    "`in` needs a list, dict or str, not {}",
                    kind_of(b)
                ))
            }
        }),
        _ => match (a, b) {
            (Int(x), Int(y)) => match op {
                BinOp::Add => Int(x.checked_add(*y).ok_or_else(overflow)?),
                BinOp::Sub => Int(x.checked_sub(*y).ok_or_else(overflow)?),
                BinOp::Mul => Int(x.checked_mul(*y).ok_or_else(overflow)?),
                BinOp::Div if *y == 0 => return Err("division by zero".into()),
                BinOp::Div => Float(*x as f64 / *y as f64),
                BinOp::FloorDiv | BinOp::Mod if *y == 0 => return Err("division by zero".into()),
                BinOp::FloorDiv => Int(python_floor_div(*x, *y).ok_or_else(overflow)?),
                BinOp::Mod => Int(python_mod_int(*x, *y).ok_or_else(overflow)?),
                BinOp::Pow if *y >= 0 => Int(u32::try_from(*y)
                    .ok()
                    .and_then(|e| x.checked_pow(e))
                    .ok_or_else(overflow)?),
                BinOp::Pow => Float((*x as f64).powf(*y as f64)),
                _ => unreachable!("arithmetic operators only"),
            },
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                let (x, y) = (number(a), number(b));
                match op {
                    BinOp::Add => Float(x + y),
                    BinOp::Sub => Float(x - y),
                    BinOp::Mul => Float(x * y),
                    BinOp::Div | BinOp::FloorDiv | BinOp::Mod if y == 0.0 => {
                        return Err("division by zero".into())
                    }
                    BinOp::Div => Float(x / y),
                    BinOp::FloorDiv => Float((x / y).floor()),
                    BinOp::Mod => Float(x - y * (x / y).floor()),
                    BinOp::Pow => Float(x.powf(y)),
                    _ => unreachable!("arithmetic operators only"),
                }
            }
            (Str(x), Str(y)) if op == BinOp::Add => {
                if x.len() + y.len() > MAX_TEXT_BYTES {
                    return Err(format!(
                        "`+`: the text would be longer than {MAX_TEXT_BYTES} bytes"
                    ));
                }
                Value::str(format!("{x}{y}"))
            }
            (List(x), List(y)) if op == BinOp::Add => {
                if x.len() + y.len() > MAX_LIST_LEN {
                    return Err(format!(
                        "`+`: the list would have more than {MAX_LIST_LEN} items"
                    ));
                }
                let mut items = Vec::with_capacity(x.len() + y.len());
                items.extend(x.iter().cloned());
                items.extend(y.iter().cloned());
                List(Arc::new(items))
            }
            (Duration(x), Duration(y)) if op == BinOp::Add => {
                Duration(x.checked_add(*y).ok_or_else(overflow)?)
            }
            (Duration(x), Duration(y)) if op == BinOp::Sub => {
                Duration(x.checked_sub(*y).ok_or_else(overflow)?)
            }
            (Datetime(t), Duration(d)) | (Duration(d), Datetime(t)) if op == BinOp::Add => {
                Datetime(t.checked_add(*d).ok_or_else(overflow)?)
            }
            (Datetime(t), Duration(d)) if op == BinOp::Sub => {
                Datetime(t.checked_sub(*d).ok_or_else(overflow)?)
            }
            (Datetime(x), Datetime(y)) if op == BinOp::Sub => {
                Duration(x.checked_sub(*y).ok_or_else(overflow)?)
            }
            (Duration(d), Int(_) | Float(_)) | (Int(_) | Float(_), Duration(d))
                if op == BinOp::Mul =>
            {
                let k = if let Duration(_) = a {
                    number(b)
                } else {
                    number(a)
                };
                Duration((*d as f64 * k).round() as i64)
            }
            _ => {
                return Err(format!(
                    "`{}` cannot combine {} and {}",
                    op.symbol(),
                    kind_of(a),
                    kind_of(b)
                ))
            }
        },
    })
}

/// Python's `//` on ints: rounds toward negative infinity.
fn python_floor_div(x: i64, y: i64) -> Option<i64> {
    let q = x.checked_div(y)?;
    Some(if x % y != 0 && ((x < 0) != (y < 0)) {
        q - 1
    } else {
        q
    })
}

/// Python's `%` on ints: the result has the divisor's sign.
fn python_mod_int(x: i64, y: i64) -> Option<i64> {
    let r = x.checked_rem(y)?;
    Some(if r != 0 && ((r < 0) != (y < 0)) {
        r + y
    } else {
        r
    })
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Int(n) => *n as f64,
        Value::Float(x) => *x,
        _ => f64::NAN,
    }
}

/// Equality, with ints equal to the floats of the same value.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(_), Value::Float(_)) | (Value::Float(_), Value::Int(_)) => {
            number(a) == number(b)
        }
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal(p, q))
        }
        (Value::Dict(x), Value::Dict(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        (Value::Record(x), Value::Record(y)) => {
            x.type_name == y.type_name
                && x.fields.len() == y.fields.len()
                && x.fields
                    .iter()
                    .zip(&y.fields)
                    .all(|((n, p), (m, q))| n == m && equal(p, q))
        }
        _ => a == b,
    }
}

/// Ordering of numbers, strings, datetimes, durations, bools, and lists or tuples of those.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            number(a).partial_cmp(&number(b))
        }
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Datetime(x), Value::Datetime(y)) | (Value::Duration(x), Value::Duration(y)) => {
            Some(x.cmp(y))
        }
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                match compare(p, q)? {
                    Ordering::Equal => {}
                    other => return Some(other),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => None,
    }
}
