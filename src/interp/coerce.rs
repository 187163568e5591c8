//! Int-to-float widening of values at the places Flow allows it: consumes a value and the type it
//! is bound to, produces the value with every int that sits where a float is wanted made a float.

use std::sync::Arc;

use crate::check::types::Type;
use crate::value::{Record, Value};

/// Widens ints to floats where `ty` wants floats (inside lists, dicts and optionals too); a
/// value that needs no widening is returned as it is, without copying.
pub fn coerce(value: Value, ty: &Type) -> Value {
    if !has_float(ty) || !needs_widening(&value, ty) {
        return value;
    }
    widen(value, ty)
}

/// Whether some int inside `value` sits where `ty` wants a float.
fn needs_widening(value: &Value, ty: &Type) -> bool {
    match (value, ty) {
        (Value::Int(_), Type::Float) => true,
        (Value::Int(_), Type::Union(ts)) => ts.contains(&Type::Float) && !ts.contains(&Type::Int),
        (Value::List(items), Type::List(t)) => items.iter().any(|v| needs_widening(v, t)),
        (Value::Dict(map), Type::Dict(_, t)) => map.values().any(|v| needs_widening(v, t)),
        (Value::Tuple(items), Type::Tuple(ts)) => {
            items.iter().zip(ts).any(|(v, t)| needs_widening(v, t))
        }
        (Value::Record(r), Type::NamedTuple(fs)) => r
            .fields
            .iter()
            .zip(fs)
            .any(|((_, v), (_, t))| needs_widening(v, t)),
        (v, Type::Union(ts)) => ts
            .iter()
            .any(|t| !matches!(t, Type::Float) && needs_widening(v, t)),
        _ => false,
    }
}

fn widen(value: Value, ty: &Type) -> Value {
    match (value, ty) {
        (Value::Int(n), Type::Float) => Value::Float(n as f64),
        (Value::Int(n), Type::Union(ts))
            if ts.contains(&Type::Float) && !ts.contains(&Type::Int) =>
        {
            Value::Float(n as f64)
        }
        (Value::List(items), Type::List(t)) if has_float(t) => {
            Value::list(items.iter().map(|v| coerce(v.clone(), t)).collect())
        }
        (Value::Dict(map), Type::Dict(_, t)) if has_float(t) => Value::Dict(Arc::new(
            map.iter()
                .map(|(k, v)| (k.clone(), coerce(v.clone(), t)))
                .collect(),
        )),
        (Value::Tuple(items), Type::Tuple(ts)) if ts.iter().any(has_float) => {
            Value::Tuple(Arc::new(
                items
                    .iter()
                    .zip(ts)
                    .map(|(v, t)| coerce(v.clone(), t))
                    .collect(),
            ))
        }
        (Value::Record(r), Type::NamedTuple(fs)) if fs.iter().any(|(_, t)| has_float(t)) => {
            let fields = r
                .fields
                .iter()
                .zip(fs)
                .map(|((n, v), (_, t))| (n.clone(), coerce(v.clone(), t)))
                .collect();
            Value::Record(Arc::new(Record {
                type_name: r.type_name.clone(),
                fields,
            }))
        }
        (v, Type::Union(ts)) => match ts
            .iter()
            .find(|t| has_float(t) && !matches!(t, Type::Float))
        {
            Some(t) if matches!(v, Value::List(_) | Value::Dict(_)) => coerce(v, t),
            _ => v,
        },
        (v, _) => v,
    }
}

/// Whether a float sits somewhere in `ty` (scalar types are told apart without a call).
#[inline]
pub(super) fn has_float(ty: &Type) -> bool {
    match ty {
        Type::Float => true,
        Type::List(_) | Type::Dict(..) | Type::Union(_) | Type::Tuple(_) | Type::NamedTuple(_) => {
            contains_float(ty)
        }
        _ => false,
    }
}

fn contains_float(ty: &Type) -> bool {
    match ty {
        Type::Float => true,
        Type::List(t) | Type::Dict(_, t) => has_float(t),
        Type::Union(ts) | Type::Tuple(ts) => ts.iter().any(has_float),
        Type::NamedTuple(fs) => fs.iter().any(|(_, t)| has_float(t)),
        _ => false,
    }
}
