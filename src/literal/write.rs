//! Consumes values with their checked types and produces flyteidl `Literal` JSON: scalars,
//! collections, maps and unions, and a struct's fields as `scalar.generic` (a
//! `google.protobuf.Struct`). Pickled values go through [`super::pickled`].

use serde_json::{json, Map, Value as Json};

use crate::check::types::{Decls, FieldSig, Type};
use crate::value::{Record, Value};

use super::describe::describe_value;
use super::json::float_json;
use super::pickled::pickle_literal;
use super::time::{pb_duration, pb_timestamp};
use super::types::{
    check_str_key, choose_member, fits, is_pickled, kind, lacks_literal, no_literal,
    union_variants, Kind,
};
use super::{BlobStore, LiteralError, Result};

/// Writes literals, storing Pickle files in `blobs`.
pub(super) struct Writer<'a> {
    pub(super) decls: &'a Decls,
    pub(super) blobs: &'a dyn BlobStore,
}

impl Writer<'_> {
    /// The error for a value that is not of type `ty`.
    pub(super) fn mismatch(&self, value: &Value, ty: &Type) -> LiteralError {
        LiteralError::new(format!(
            "expected a value of type `{}`, found {}",
            self.decls.show(ty),
            describe_value(value)
        ))
    }

    /// The literal of `value` of type `ty`; `batch` applies to a list of a pickled type.
    pub(super) fn literal(&self, value: &Value, ty: &Type, batch: Option<u32>) -> Result<Json> {
        let decls = self.decls;
        match kind(decls, ty) {
            Kind::Class(..) | Kind::Extern(_) => {
                let uri = self.write_pickle(value, ty)?;
                Ok(pickle_literal(uri, value))
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
                (t, _) if lacks_literal(t) => Err(no_literal(decls, ty)),
                _ => Err(self.mismatch(value, ty)),
            },
        }
    }

    /// The `google.protobuf.Struct` JSON of `value` (see [`super`]'s documentation).
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
                (t, _) if lacks_literal(t) => Err(no_literal(decls, ty)),
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

/// The field `name` of `record`.
fn record_field<'r>(record: &'r Record, name: &str) -> Option<&'r Value> {
    record
        .fields
        .iter()
        .find(|(n, _)| &**n == name)
        .map(|(_, v)| v)
}

/// The literal `scalar.primitive.FIELD = value`.
fn primitive(field: &str, value: Json) -> Json {
    let mut p = Map::new();
    p.insert(field.to_string(), value);
    json!({ "scalar": { "primitive": p } })
}

/// The blob literal of a `file` (single) or `dir` (multipart) at `path`.
fn path_blob(path: &str, multipart: bool) -> Json {
    let ty = if multipart {
        json!({ "dimensionality": "MULTIPART" })
    } else {
        json!({})
    };
    json!({ "scalar": { "blob": { "metadata": { "type": ty }, "uri": path } } })
}
