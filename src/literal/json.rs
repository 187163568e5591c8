//! Consumes and produces plain JSON forms of values: a value as `flytec run` prints it, a value
//! read against its type from a `--NAME VALUE` input or from a struct's `scalar.generic` fields,
//! and protobuf JSON's numbers (int64 as strings, non-finite doubles as `"NaN"`, …).

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{json, Value as Json};

use crate::check::types::{DeclId, Decls, FieldSig, Type};
use crate::value::{Record, Value};

use super::describe::show_json;
use super::read::Reader;
use super::time::{format_timestamp, parse_duration, parse_flow_duration, parse_timestamp};
use super::types::{check_str_key, enum_value, is_pickled, kind, lacks_literal, no_literal, Kind};
use super::{LiteralError, Result};
use sha2::{Digest, Sha256};

/// `value` as plain JSON (see [`super::value_to_json`]); `uris` says whether an extern value
/// names its file (people want to find it; a cache key must not depend on where it is).
pub(super) fn plain(value: &Value, uris: bool) -> Json {
    let plain = |v: &Value| plain(v, uris);
    match value {
        Value::None => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::Float(f) => float_json(*f),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Datetime(us) => Json::String(format_timestamp(*us)),
        Value::Duration(us) => float_json(*us as f64 / 1e6),
        Value::List(items) | Value::Tuple(items) => Json::Array(items.iter().map(plain).collect()),
        Value::Dict(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        Value::Record(r) => Json::Object(
            r.fields
                .iter()
                .map(|(k, v)| (k.to_string(), plain(v)))
                .collect(),
        ),
        Value::Enum(_, variant) => Json::String(variant.to_string()),
        Value::Path(p) => Json::String(p.to_string()),
        Value::Opaque(o) => {
            let digest: String = Sha256::digest(&o.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let mut fields = serde_json::Map::new();
            if let (true, Some(uri)) = (uris, &o.uri) {
                fields.insert("uri".into(), json!(uri));
            }
            fields.insert("bytes".into(), json!(o.bytes.len()));
            fields.insert("sha256".into(), json!(digest));
            if let Some(version) = &o.python_version {
                fields.insert("python_version".into(), json!(version));
            }
            json!({ "$opaque": fields })
        }
    }
}

/// A float as protobuf JSON writes a double: a number, or a string for non-finite values.
pub(super) fn float_json(f: f64) -> Json {
    if f.is_nan() {
        json!("NaN")
    } else if f == f64::INFINITY {
        json!("Infinity")
    } else if f == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(f)
    }
}

/// An int64 in protobuf JSON: a string or an integral number.
pub(super) fn json_i64(j: &Json) -> Option<i64> {
    match j {
        Json::String(s) => s.parse().ok(),
        Json::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
        }),
        _ => None,
    }
}

/// A double in protobuf JSON: a number, a numeric string, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(super) fn json_f64(j: &Json) -> Option<f64> {
    match j {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            s => s.parse().ok().filter(|f: &f64| f.is_finite()),
        },
        _ => None,
    }
}

/// Where the JSON being read comes from.
pub(super) enum Mode<'a> {
    /// Inside `scalar.generic`: pickled values are blob URIs.
    Generic { reader: &'a Reader<'a> },
    /// A `flytec run` input: classes are objects, extern values are refused.
    Input {
        default: &'a dyn Fn(DeclId, &str) -> Option<Value>,
    },
}

/// Reads plain JSON against checked types.
pub(super) struct JsonReader<'a> {
    pub(super) decls: &'a Decls,
    pub(super) mode: Mode<'a>,
}

impl JsonReader<'_> {
    fn bad(&self, json: &Json, ty: &Type) -> LiteralError {
        LiteralError::new(format!(
            "expected a value of type `{}`, found {}",
            self.decls.show(ty),
            show_json(json)
        ))
    }

    /// The value of type `ty` that `json` stands for.
    pub(super) fn value(&self, json: &Json, ty: &Type) -> Result<Value> {
        let decls = self.decls;
        match kind(decls, ty) {
            Kind::Class(_, name) | Kind::Extern(name) => match &self.mode {
                Mode::Generic { reader } => {
                    let uri = match json {
                        Json::String(s) => s.as_str(),
                        _ => json
                            .get("uri")
                            .and_then(Json::as_str)
                            .ok_or_else(|| self.bad(json, ty))?,
                    };
                    reader.read_pickle(uri, ty)
                }
                Mode::Input { .. } => match (kind(decls, ty), decls.fields(decls.resolve(ty))) {
                    (Kind::Class(id, _), Some(fields)) => self.record(json, ty, name, fields, id),
                    _ => Err(LiteralError::new(format!(
                        "a value of the extern type `{name}` cannot be given as JSON"
                    ))),
                },
            },
            Kind::Struct(id, name, fields) => self.record(json, ty, name, fields, id),
            Kind::Enum(name, variants) => match json {
                Json::String(s) => enum_value(name, variants, s),
                _ => Err(self.bad(json, ty)),
            },
            Kind::Other => Err(no_literal(decls, ty)),
            Kind::Plain(t) => match (t, json) {
                (Type::Int, Json::Number(_)) => match (&self.mode, json.as_i64()) {
                    (_, Some(i)) => Ok(Value::Int(i)),
                    // protobuf's Struct holds doubles: 5 comes back as 5.0.
                    (Mode::Generic { .. }, None) => json_i64(json)
                        .map(Value::Int)
                        .ok_or_else(|| self.bad(json, ty)),
                    (Mode::Input { .. }, None) => Err(match json.as_f64() {
                        Some(f) if f.fract() == 0.0 => LiteralError::new(format!(
                            "{} is outside the 64-bit integer range",
                            show_json(json)
                        )),
                        _ => self.bad(json, ty),
                    }),
                },
                (Type::Float, Json::Number(n)) => n
                    .as_f64()
                    .map(Value::Float)
                    .ok_or_else(|| self.bad(json, ty)),
                (Type::Float, Json::String(s)) => match s.as_str() {
                    "NaN" | "Infinity" | "-Infinity" => {
                        Ok(Value::Float(json_f64(json).unwrap_or(f64::NAN)))
                    }
                    _ => Err(self.bad(json, ty)),
                },
                (Type::Str, Json::String(s)) => Ok(Value::str(s.as_str())),
                (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
                (Type::Datetime, Json::String(s)) => parse_timestamp(s)
                    .map(Value::Datetime)
                    .map_err(LiteralError::new),
                (Type::Duration, Json::Number(n)) => {
                    let secs = n.as_f64().unwrap_or(f64::NAN);
                    let us = (secs * 1e6).round();
                    if us.is_finite() && us.abs() < 9.2e18 {
                        Ok(Value::Duration(us as i64))
                    } else {
                        Err(LiteralError::new(format!(
                            "the duration {n} s is out of range"
                        )))
                    }
                }
                (Type::Duration, Json::String(s)) => parse_duration(s)
                    .or_else(|_| parse_flow_duration(s))
                    .map(Value::Duration)
                    .map_err(LiteralError::new),
                (Type::None, Json::Null) => Ok(Value::None),
                (Type::File | Type::Dir, Json::String(s)) => Ok(Value::Path(s.as_str().into())),
                (Type::File | Type::Dir, Json::Object(o)) => match o.get("path") {
                    Some(Json::String(s)) => Ok(Value::Path(s.as_str().into())),
                    _ => Err(self.bad(json, ty)),
                },
                (Type::List(item), Json::Array(items)) => {
                    if let (Mode::Generic { reader }, true) = (&self.mode, is_pickled(decls, item))
                    {
                        let uris = items
                            .iter()
                            .enumerate()
                            .map(|(i, j)| j.as_str().ok_or_else(|| self.bad(j, item).at_index(i)))
                            .collect::<Result<Vec<_>>>()?;
                        return reader.read_pickled_list(&uris, item);
                    }
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, j)| self.value(j, item).map_err(|e| e.at_index(i)))
                        .collect::<Result<Vec<_>>>()
                        .map(Value::list)
                }
                (Type::Dict(key, val), Json::Object(obj)) => {
                    check_str_key(decls, key, t)?;
                    let mut map = IndexMap::new();
                    for (k, j) in obj {
                        map.insert(k.clone(), self.value(j, val).map_err(|e| e.at_key(k))?);
                    }
                    Ok(Value::Dict(Arc::new(map)))
                }
                (Type::Union(members), _) => self.union(json, ty, members),
                (t, _) if lacks_literal(t) => Err(no_literal(decls, ty)),
                _ => Err(self.bad(json, ty)),
            },
        }
    }

    fn union(&self, json: &Json, ty: &Type, members: &[Type]) -> Result<Value> {
        let decls = self.decls;
        // An integral number is an int before it is a float, whatever the order.
        if json.as_i64().is_some() {
            if let Some(m) = members.iter().find(|m| *decls.resolve(m) == Type::Int) {
                return self.value(json, m);
            }
        }
        let mut errors = Vec::new();
        for m in members {
            match self.value(json, m) {
                Ok(v) => return Ok(v),
                Err(e) => errors.push(e),
            }
        }
        if errors.len() == 1 {
            return Err(errors.pop().unwrap_or_else(|| self.bad(json, ty)));
        }
        // A struct member whose object was almost right says more than "expected A | B".
        let is_obj = json.is_object();
        let structs: Vec<_> = members
            .iter()
            .zip(errors)
            .filter(|(m, _)| is_obj && decls.fields(decls.resolve(m)).is_some())
            .map(|(_, e)| e)
            .collect();
        match <[LiteralError; 1]>::try_from(structs) {
            Ok([e]) => Err(e),
            Err(_) => Err(self.bad(json, ty)),
        }
    }

    fn record(
        &self,
        json: &Json,
        ty: &Type,
        name: &str,
        fields: &[FieldSig],
        id: DeclId,
    ) -> Result<Value> {
        let Json::Object(obj) = json else {
            return Err(self.bad(json, ty));
        };
        if let Some(extra) = obj.keys().find(|k| !fields.iter().any(|f| f.name == **k)) {
            return Err(LiteralError::new(format!(
                "`{name}` has no field `{extra}` (its fields: {})",
                fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut values = Vec::with_capacity(fields.len());
        let mut missing = Vec::new();
        for f in fields {
            match obj.get(&f.name) {
                Some(j) => {
                    let v = self.value(j, &f.ty).map_err(|e| e.at_field(&f.name))?;
                    values.push((Arc::from(f.name.as_str()), v));
                }
                None => {
                    let filled = match &self.mode {
                        Mode::Input { default } if f.has_default => default(id, &f.name),
                        _ => None,
                    };
                    match filled {
                        Some(v) => values.push((Arc::from(f.name.as_str()), v)),
                        None => missing.push(f),
                    }
                }
            }
        }
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|f| {
                    if f.has_default {
                        format!("`{}` (its default cannot be evaluated here)", f.name)
                    } else {
                        format!("`{}: {}`", f.name, self.decls.show(&f.ty))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let s = if missing.len() == 1 { "" } else { "s" };
            return Err(LiteralError::new(format!(
                "the `{name}` value is missing the field{s} {list}"
            )));
        }
        Ok(Value::Record(Arc::new(Record {
            type_name: name.into(),
            fields: values,
        })))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{fx, list, person, point};
    use super::super::{value_from_json, value_from_json_with_defaults, value_to_json};
    use crate::check::types::Type;
    use crate::value::Value;

    #[test]
    fn plain_json() {
        let f = fx();
        let v = Value::list(vec![
            point(),
            Value::Datetime(0),
            Value::Duration(1_500_000),
            Value::opaque(vec![0; 7]),
            Value::Float(f64::NEG_INFINITY),
            person("x"),
        ]);
        assert_eq!(
            value_to_json(&v),
            json!([
                {"x":3,"y":0.5,"tags":["a"],"color":"Green","when":null,"wait":90.0,"f":"/tmp/a.txt"},
                "1970-01-01T00:00:00Z",
                1.5,
                {"$opaque":{"bytes":7,"sha256":"837885c8f8091aeaeb9ec3c3f85a6ff470a415e610b8ba3e49f9b33c9cf9d619"}},
                "-Infinity",
                {"name":"x"}
            ])
        );
        assert_eq!(
            value_from_json(&value_to_json(&point()), &f.point, &f.decls).unwrap(),
            point()
        );
        assert_eq!(
            value_from_json(&json!({"name":"x"}), &f.people, &f.decls).unwrap(),
            person("x")
        );
        assert_eq!(
            value_from_json(&json!(2), &Type::Float, &f.decls).unwrap(),
            Value::Float(2.0)
        );
        assert_eq!(
            value_from_json(&json!("Red"), &f.color, &f.decls).unwrap(),
            Value::Enum("Color".into(), "Red".into())
        );
        assert_eq!(
            value_from_json(&json!("5m"), &Type::Duration, &f.decls).unwrap(),
            Value::Duration(300_000_000)
        );
        assert_eq!(
            value_from_json(&json!(null), &Type::optional(Type::Int), &f.decls).unwrap(),
            Value::None
        );
        assert_eq!(
            value_from_json(
                &json!(3),
                &Type::Union(vec![Type::Float, Type::Int]),
                &f.decls
            )
            .unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            value_from_json(&json!([1, 2]), &list(&f.alias), &f.decls)
                .unwrap_err()
                .to_string(),
            "at `[0]`: expected a value of type `P`, found the number `1`"
        );
        assert_eq!(
            value_from_json(&json!(1.5), &Type::Int, &f.decls)
                .unwrap_err()
                .to_string(),
            "expected a value of type `int`, found the number `1.5`"
        );
        assert_eq!(
            value_from_json(&json!("x"), &f.x, &f.decls)
                .unwrap_err()
                .to_string(),
            "a value of the extern type `X` cannot be given as JSON"
        );
    }

    #[test]
    fn json_struct_fields() {
        let f = fx();
        let err = value_from_json(&json!({"x": 1}), &f.point, &f.decls).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the `Point` value is missing the fields `y: float`, `tags: list[str]`, \
             `color: Color`, `when: datetime?`, `wait: duration`, `f: file`"
        );
        let err = value_from_json(&json!({"nmae": "x"}), &f.people, &f.decls).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`People` has no field `nmae` (its fields: name)"
        );
        let h = json!({"p": {"name": "a"}, "ps": [], "pt": null});
        let err = value_from_json(&h, &f.holder, &f.decls).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the `Holder` value is missing the field `n` (its default cannot be evaluated here)"
        );
        let v = value_from_json_with_defaults(&h, &f.holder, &f.decls, &|_, name| {
            (name == "n").then_some(Value::Int(42))
        })
        .unwrap();
        assert_eq!(v.field("n"), Some(&Value::Int(42)));
        let err = value_from_json(
            &json!({"p": {"name": 1}, "ps": [], "pt": null, "n": 1}),
            &f.holder,
            &f.decls,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "at `p.name`: expected a value of type `str`, found the number `1`"
        );
    }
}
