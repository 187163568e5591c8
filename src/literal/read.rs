//! Consumes flyteidl `Literal` JSON with the checked type it should hold and produces the value:
//! scalars, collections, maps, unions (choosing the member by the recorded variant type), and
//! structs from `scalar.generic` or flytekit's msgpack `scalar.binary`.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use crate::check::types::{Decls, Type};
use crate::value::Value;

use super::describe::show_json;
use super::json::{json_f64, json_i64, JsonReader, Mode};
use super::msgpack::msgpack_binary;
use super::pickled::stored_opaque;
use super::time::{parse_duration, parse_timestamp};
use super::types::{check_str_key, enum_value, is_pickled, kind, no_literal, union_variants, Kind};
use super::{BlobStore, LiteralError, Result};

/// Reads literals, reading Pickle files from `blobs`.
pub(super) struct Reader<'a> {
    pub(super) decls: &'a Decls,
    pub(super) blobs: &'a dyn BlobStore,
}

impl Reader<'_> {
    fn bad(&self, lit: &Json, ty: &Type, form: &str) -> LiteralError {
        LiteralError::new(format!(
            "expected a literal of type `{}` ({form}), found {}",
            self.decls.show(ty),
            show_json(lit)
        ))
    }

    /// The value of type `ty` that `lit` holds.
    pub(super) fn value(&self, lit: &Json, ty: &Type) -> Result<Value> {
        let decls = self.decls;
        match kind(decls, ty) {
            Kind::Class(..) | Kind::Extern(_) => {
                let uri = blob_uri(lit).ok_or_else(|| self.bad(lit, ty, "a Pickle blob"))?;
                Ok(stored_opaque(self.read_pickle(uri, ty)?, uri, lit))
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
                    // Extern items are one file each, read like any single extern value.
                    if is_pickled(decls, item) && !matches!(kind(decls, item), Kind::Extern(_)) {
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

    /// The value of the union `members` in `lit`: the member its variant type names, else the
    /// first the value reads as (also without the `union` wrapper).
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

    /// Reads a struct's JSON, its pickled fields through this reader.
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
pub(super) fn blob_uri(lit: &Json) -> Option<&str> {
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
