//! Consumes checked types ([`Type`], [`Decls`]) and produces what conversion needs to know of
//! them: their [`Kind`] (aliases expanded), whether they are pickled, whether a value fits one,
//! which member of a union a value belongs to, and a union's variant literal types.

use serde_json::Value as Json;

use crate::check::lower::literal_type;
use crate::check::types::{DeclId, DeclKind, Decls, FieldSig, Type};
use crate::value::Value;

use super::{LiteralError, Result};

/// What a (resolved) type is, for conversion.
pub(super) enum Kind<'a> {
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

/// Whether `ty` has no Flyte literal at all (tuples, type parameters, callables, …), once
/// aliases and records are dealt with.
pub(super) fn lacks_literal(ty: &Type) -> bool {
    matches!(
        ty,
        Type::Tuple(_)
            | Type::NamedTuple(_)
            | Type::Param(_)
            | Type::Never
            | Type::Error
            | Type::Decl(_)
    )
}

/// What `ty` is, aliases expanded.
pub(super) fn kind<'a>(decls: &'a Decls, ty: &'a Type) -> Kind<'a> {
    match decls.resolve(ty) {
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
pub(super) fn is_pickled(decls: &Decls, ty: &Type) -> bool {
    decls.is_pickled(decls.resolve(ty))
}

/// Whether `value` is a value of `ty`, deeply; `widen` lets an int stand for a float.
pub(super) fn fits(decls: &Decls, value: &Value, ty: &Type, widen: bool) -> bool {
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
pub(super) fn choose_member(decls: &Decls, value: &Value, members: &[Type]) -> Option<usize> {
    members
        .iter()
        .position(|m| fits(decls, value, m, false))
        .or_else(|| members.iter().position(|m| fits(decls, value, m, true)))
}

/// The variant types of the union `members`, with their `structure.tag`s, as the union's literal
/// type lists them.
pub(super) fn union_variants(decls: &Decls, members: &[Type]) -> Result<Vec<Json>> {
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

/// An error unless the key type of the dict type `dict` is `str`, the only key a literal map has.
pub(super) fn check_str_key(decls: &Decls, key: &Type, dict: &Type) -> Result<()> {
    if *decls.resolve(key) == Type::Str {
        Ok(())
    } else {
        Err(LiteralError::new(format!(
            "`{}` has no Flyte literal: dict keys must be `str`",
            decls.show(dict)
        )))
    }
}

/// The error for a type that has no literal (tuple, callable, type parameter, …).
pub(super) fn no_literal(decls: &Decls, ty: &Type) -> LiteralError {
    LiteralError::new(format!(
        "values of type `{}` cannot be converted to Flyte literals",
        decls.show(ty)
    ))
}

/// The value of the enum `name` whose variant is named `s`; an error naming the variants if none is.
pub(super) fn enum_value(name: &str, variants: &[String], s: &str) -> Result<Value> {
    if variants.iter().any(|v| v == s) {
        Ok(Value::Enum(name.into(), s.into()))
    } else {
        Err(LiteralError::new(format!(
            "`{s}` is not a variant of the enum `{name}` (its variants: {})",
            variants.join(", ")
        )))
    }
}
