//! Consumes values of pickled types (classes, extern types) and produces Pickle files in the
//! [`BlobStore`](super::BlobStore) and their URIs, and back: one file per value, or per `@batch`
//! of a list, written and read in parallel.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use crate::check::types::Type;
use crate::parallel::par_map;
use crate::pickle;
use crate::value::{Opaque, Value};

use super::read::Reader;
use super::types::{fits, kind, Kind};
use super::write::Writer;
use super::{LiteralError, Result};

impl Writer<'_> {
    /// Writes the Pickle of one value of the pickled type `ty` and returns its URI.
    pub(super) fn write_pickle(&self, value: &Value, ty: &Type) -> Result<String> {
        match value {
            Value::None => {
                return Err(LiteralError::new(format!(
                    "found `none` where a `{}` is expected: a Pickle value cannot be `none` \
                     (declare the type `{}?` to allow it)",
                    self.decls.show(ty),
                    self.decls.show(ty)
                )))
            }
            _ if !fits(self.decls, value, ty, false) => return Err(self.mismatch(value, ty)),
            _ => {}
        }
        let bytes = pickle::encode(value).map_err(|e| {
            LiteralError::new(format!(
                "cannot pickle the `{}` value: {e}",
                self.decls.show(ty)
            ))
        })?;
        self.blobs
            .write(&bytes)
            .map_err(|e| LiteralError::new(format!("cannot write a Pickle file: {e}")))
    }

    /// Writes a list of a pickled type as one file (no batch) or one per batch, returning their
    /// URIs.
    pub(super) fn pickled_list_uris(
        &self,
        items: &[Value],
        item: &Type,
        batch: Option<u32>,
    ) -> Result<Vec<String>> {
        let decls = self.decls;
        for (i, v) in items.iter().enumerate() {
            if *v == Value::None {
                return Err(LiteralError::new(format!(
                    "item {i} of the list is `none`, but `{}` values cannot be `none` \
                     (declare the list `list[{}?]` to allow it)",
                    decls.show(item),
                    decls.show(item)
                ))
                .at_index(i));
            }
            if !fits(decls, v, item, false) {
                return Err(self.mismatch(v, item).at_index(i));
            }
        }
        if matches!(kind(decls, item), Kind::Extern(_)) {
            // An extern value's bytes are a whole pickle of their own: one file each.
            return par_map(items, |v| self.write_pickle(v, item));
        }
        let files = pickle::encode_batches(items, batch).map_err(|e| {
            LiteralError::new(format!(
                "cannot pickle the `list[{}]` value: {e}",
                decls.show(item)
            ))
        })?;
        self.blobs
            .write_all(&files)
            .map_err(|e| LiteralError::new(format!("cannot write a Pickle file: {e}")))
    }

    /// The blob literals of a list of a pickled type, as [`Writer::pickled_list_uris`] writes it.
    pub(super) fn pickled_list(
        &self,
        items: &[Value],
        item: &Type,
        batch: Option<u32>,
    ) -> Result<Vec<Json>> {
        let uris = self.pickled_list_uris(items, item, batch)?;
        if matches!(kind(self.decls, item), Kind::Extern(_)) {
            return Ok(uris
                .into_iter()
                .zip(items)
                .map(|(uri, v)| pickle_literal(uri, v))
                .collect());
        }
        Ok(uris.into_iter().map(pickle_blob).collect())
    }
}

impl Reader<'_> {
    /// The value of the pickled type `ty` in the Pickle file at `uri`.
    pub(super) fn read_pickle(&self, uri: &str, ty: &Type) -> Result<Value> {
        let bytes = self.read_blob(uri)?;
        pickle::decode(&bytes, self.decls.resolve(ty), self.decls).map_err(|e| {
            LiteralError::new(format!(
                "cannot read the `{}` value from `{uri}`: {e}",
                self.decls.show(ty)
            ))
        })
    }

    /// The bytes of the file at `uri`.
    fn read_blob(&self, uri: &str) -> Result<Vec<u8>> {
        self.blobs
            .read(uri)
            .map_err(|e| LiteralError::new(format!("cannot read the Pickle file `{uri}`: {e}")))
    }

    /// The list of the pickled type `item` in the files at `uris`: one per item for an extern
    /// type, else batches to concatenate.
    pub(super) fn read_pickled_list(&self, uris: &[&str], item: &Type) -> Result<Value> {
        if matches!(kind(self.decls, item), Kind::Extern(_)) {
            return par_map(uris, |uri| self.read_pickle(uri, item)).map(Value::list);
        }
        let files = par_map(uris, |uri| self.read_blob(uri))?;
        pickle::decode_batches(&files, self.decls.resolve(item), self.decls)
            .map(Value::list)
            .map_err(|e| {
                LiteralError::new(format!(
                    "cannot read the `list[{}]` value: {e}",
                    self.decls.show(item)
                ))
            })
    }
}

/// The literal of a Pickle file: a blob of format `PythonPickle`.
pub(super) fn pickle_blob(uri: String) -> Json {
    json!({ "scalar": { "blob": {
        "metadata": { "type": { "format": "PythonPickle" } },
        "uri": uri,
    } } })
}

/// The literal of the Pickle file of `value`: a blob, with the version of the Python that wrote
/// it in the literal's metadata when `value` is an extern value whose producer is known.
pub(super) fn pickle_literal(uri: String, value: &Value) -> Json {
    let mut lit = pickle_blob(uri);
    if let Value::Opaque(o) = value {
        if let Some(version) = &o.python_version {
            lit["metadata"] = json!({ "python_version": version });
        }
    }
    lit
}

/// An extern value read from the file `uri` of the literal `lit`: it learns where it is stored
/// and, from the literal's metadata, which Python wrote it.
pub(super) fn stored_opaque(value: Value, uri: &str, lit: &Json) -> Value {
    match value {
        Value::Opaque(o) => {
            let version = lit["metadata"]["python_version"].as_str();
            Value::Opaque(Arc::new(Opaque {
                bytes: Arc::unwrap_or_clone(o).bytes,
                python_version: version.map(str::to_string),
                uri: Some(uri.to_string()),
            }))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::super::read::blob_uri;
    use super::super::tests::{dict, dict_value, fx, list, lit, person, round_trip, Fx};
    use super::super::{from_literal, to_literal, MemoryBlobs};
    use crate::check::types::Type;
    use crate::pickle;
    use crate::value::Value;

    #[test]
    fn pickle_blob_exact_json() {
        let f = fx();
        let b = MemoryBlobs::new();
        assert_eq!(
            lit(&person("f"), &f.people, &f, &b),
            json!({"scalar":{"blob":{"metadata":{"type":{"format":"PythonPickle"}},"uri":"mem://0"}}})
        );
        assert_eq!(b.len(), 1);
        round_trip(&person("f"), &f.people, None, &f);
        round_trip(&person("f"), &f.alias, None, &f);
        round_trip(&Value::opaque(vec![1, 2, 3]), &f.x, None, &f);
    }

    /// How many items each blob of a collection literal holds.
    fn batch_sizes(l: &Json, item: &Type, f: &Fx, blobs: &MemoryBlobs) -> Vec<usize> {
        l["collection"]["literals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let bytes = blobs.get(blob_uri(b).unwrap()).unwrap();
                match pickle::decode(&bytes, &list(item), &f.decls).unwrap() {
                    Value::List(xs) => xs.len(),
                    other => panic!("a batch file holds {other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn batches() {
        let f = fx();
        let three = Value::list(vec![person("f"), person("o"), person("o")]);
        let ty = list(&f.people);

        let b = MemoryBlobs::new();
        let l = to_literal(&three, &ty, Some(2), &f.decls, &b).unwrap();
        assert_eq!(batch_sizes(&l, &f.people, &f, &b), vec![2, 1]);
        assert_eq!(b.len(), 2);
        assert_eq!(from_literal(&l, &ty, &f.decls, &b).unwrap(), three);

        let b = MemoryBlobs::new();
        let l = to_literal(&three, &ty, None, &f.decls, &b).unwrap();
        assert_eq!(batch_sizes(&l, &f.people, &f, &b), vec![3]);
        assert_eq!(from_literal(&l, &ty, &f.decls, &b).unwrap(), three);

        let b = MemoryBlobs::new();
        let empty = Value::list(vec![]);
        let l = to_literal(&empty, &ty, Some(2), &f.decls, &b).unwrap();
        assert_eq!(l, json!({"collection":{"literals":[]}}));
        assert!(b.is_empty());
        assert_eq!(from_literal(&l, &ty, &f.decls, &b).unwrap(), empty);
        // MessageToJson's form of an empty collection reads too.
        assert_eq!(
            from_literal(&json!({"collection":{}}), &ty, &f.decls, &b).unwrap(),
            empty
        );

        // Many batches, written in parallel, come back in order.
        let many = Value::list((0..101).map(|i| person(&i.to_string())).collect());
        let b = MemoryBlobs::new();
        let l = to_literal(&many, &ty, Some(10), &f.decls, &b).unwrap();
        assert_eq!(l["collection"]["literals"].as_array().unwrap().len(), 11);
        assert_eq!(from_literal(&l, &ty, &f.decls, &b).unwrap(), many);
    }

    #[test]
    fn nested_pickled_layouts() {
        let f = fx();
        let b = MemoryBlobs::new();
        let nested = Value::list(vec![
            Value::list(vec![person("a"), person("b")]),
            Value::list(vec![person("c")]),
        ]);
        let ty = list(&list(&f.people));
        let l = to_literal(&nested, &ty, None, &f.decls, &b).unwrap();
        let inner = l["collection"]["literals"].as_array().unwrap();
        assert_eq!(inner.len(), 2);
        assert_eq!(batch_sizes(&inner[0], &f.people, &f, &b), vec![2]);
        assert_eq!(batch_sizes(&inner[1], &f.people, &f, &b), vec![1]);
        assert_eq!(b.len(), 2);
        round_trip(&nested, &ty, None, &f);

        let b = MemoryBlobs::new();
        let d = dict_value(vec![("x", person("a")), ("y", person("b"))]);
        let l = to_literal(&d, &dict(&f.people), None, &f.decls, &b).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(
            l["map"]["literals"]["y"],
            json!({"scalar":{"blob":{"metadata":{"type":{"format":"PythonPickle"}},"uri":"mem://1"}}})
        );
        round_trip(&d, &dict(&f.people), None, &f);

        round_trip(
            &Value::list(vec![person("a"), Value::None]),
            &list(&Type::optional(f.people.clone())),
            None,
            &f,
        );

        // Extern values are one file each, batch or not.
        let b = MemoryBlobs::new();
        let xs = Value::list((0..3u8).map(|i| Value::opaque(vec![i])).collect());
        let l = to_literal(&xs, &list(&f.x), Some(2), &f.decls, &b).unwrap();
        assert_eq!(l["collection"]["literals"].as_array().unwrap().len(), 3);
        assert_eq!(from_literal(&l, &list(&f.x), &f.decls, &b).unwrap(), xs);
    }

    #[test]
    fn none_in_a_pickled_list_is_named() {
        let f = fx();
        let v = Value::list(vec![person("a"), Value::None]);
        let err =
            to_literal(&v, &list(&f.people), Some(2), &f.decls, &MemoryBlobs::new()).unwrap_err();
        assert_eq!(err.path(), "[1]");
        assert!(err.message().contains("item 1"), "{err}");
        assert!(err.message().contains("list[People?]"), "{err}");
        let err =
            to_literal(&Value::None, &f.people, None, &f.decls, &MemoryBlobs::new()).unwrap_err();
        assert!(err.message().contains("`People?`"), "{err}");
    }

    #[test]
    fn struct_with_pickled_fields() {
        let f = fx();
        let b = MemoryBlobs::new();
        let h = Value::record(
            "Holder",
            vec![
                ("p", person("a")),
                (
                    "ps",
                    Value::list(vec![person("b"), person("c"), person("d")]),
                ),
                ("pt", Value::None),
                ("n", Value::Int(1)),
            ],
        );
        let l = to_literal(&h, &f.holder, None, &f.decls, &b).unwrap();
        // Batches are written in parallel: which file gets which URI varies.
        let mut ps = l["scalar"]["generic"]["ps"].as_array().unwrap().clone();
        ps.sort_by_key(|u| u.as_str().unwrap().to_string());
        assert_eq!(ps, vec![json!("mem://1"), json!("mem://2")]);
        assert_eq!(
            l,
            json!({"scalar":{"generic":{
                "p":"mem://0","ps":l["scalar"]["generic"]["ps"].clone(),"pt":null,"n":1
            }}})
        );
        assert_eq!(from_literal(&l, &f.holder, &f.decls, &b).unwrap(), h);
    }
}
