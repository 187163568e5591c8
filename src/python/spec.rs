//! Flow types as the Python runner reads them: consumes a [`Type`] and the declarations,
//! produces JSON. Primitives are strings (`"int"`, `"datetime"`, …); `{"list": T}`,
//! `{"dict": T}`, `{"tuple": [T, …]}`, `{"union": [T, …]}` (`T?` is a union with `"none"`);
//! a struct, class, enum or extern type is `{"ref": "Name"}`, its definition once in a table of
//! named types, so recursive and shared types are written once.

use serde_json::{json, Map, Value as Json};

use crate::check::types::{DeclKind, Decls, Type};

/// Collects the specs of several types and the named types they use.
pub struct Specs<'d> {
    decls: &'d Decls,
    named: Map<String, Json>,
}

impl<'d> Specs<'d> {
    /// An empty table over `decls`.
    pub fn new(decls: &'d Decls) -> Self {
        Specs {
            decls,
            named: Map::new(),
        }
    }

    /// The spec of `ty`, adding the named types it uses to the table.
    pub fn spec(&mut self, ty: &Type) -> Json {
        match ty {
            Type::Int => json!("int"),
            Type::Float => json!("float"),
            Type::Str => json!("str"),
            Type::Bool => json!("bool"),
            Type::Datetime => json!("datetime"),
            Type::Duration => json!("duration"),
            Type::None => json!("none"),
            Type::File => json!("file"),
            Type::Dir => json!("dir"),
            Type::List(item) => json!({ "list": self.spec(item) }),
            Type::Dict(_, value) => json!({ "dict": self.spec(value) }),
            Type::Union(members) => json!({ "union": self.specs(members) }),
            Type::Tuple(items) => json!({ "tuple": self.specs(items) }),
            Type::NamedTuple(items) => {
                let specs: Vec<Json> = items.iter().map(|(_, t)| self.spec(t)).collect();
                json!({ "tuple": specs })
            }
            Type::Decl(id) => {
                let decl = self.decls.get(*id);
                if let DeclKind::Alias(target) = &decl.kind {
                    return self.spec(target);
                }
                let name = decl.name.clone();
                if !self.named.contains_key(&name) {
                    // Reserved first, so a type that refers to itself ends here.
                    self.named.insert(name.clone(), Json::Null);
                    let definition = self.definition(&decl.kind, &name);
                    self.named.insert(name.clone(), definition);
                }
                json!({ "ref": name })
            }
            Type::Param(_) | Type::Never | Type::Error => json!("none"),
        }
    }

    fn specs(&mut self, types: &[Type]) -> Vec<Json> {
        types.iter().map(|t| self.spec(t)).collect()
    }

    fn definition(&mut self, kind: &DeclKind, name: &str) -> Json {
        match kind {
            DeclKind::Struct(fields) | DeclKind::Class(fields) => {
                let fields: Vec<Json> = fields
                    .iter()
                    .map(|f| json!([f.name, self.spec(&f.ty)]))
                    .collect();
                let kind = if matches!(kind, DeclKind::Struct(_)) {
                    "struct"
                } else {
                    "class"
                };
                json!({ "kind": kind, "name": name, "fields": fields })
            }
            DeclKind::Enum(variants) => {
                json!({ "kind": "enum", "name": name, "variants": variants })
            }
            _ => json!({ "kind": "extern", "name": name }),
        }
    }

    /// The table of named types used so far.
    pub fn into_named(self) -> Json {
        Json::Object(self.named)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::types::FieldSig;

    #[test]
    fn named_types_are_defined_once_and_referenced() {
        let mut decls = Decls::default();
        let color = decls.declare("Color", DeclKind::Enum(vec!["Red".into(), "Green".into()]));
        let model = decls.declare("Model", DeclKind::Extern);
        let point = decls.declare(
            "Point",
            DeclKind::Struct(vec![
                FieldSig::new("x", Type::Float),
                FieldSig::new("c", color.clone()),
            ]),
        );
        let mut specs = Specs::new(&decls);
        let ty = Type::List(Box::new(Type::optional(point.clone())));
        assert_eq!(
            specs.spec(&ty),
            json!({"list": {"union": [{"ref": "Point"}, "none"]}})
        );
        assert_eq!(specs.spec(&point), json!({"ref": "Point"}));
        assert_eq!(specs.spec(&model), json!({"ref": "Model"}));
        assert_eq!(
            specs.into_named(),
            json!({
                "Point": {"kind": "struct", "name": "Point",
                          "fields": [["x", "float"], ["c", {"ref": "Color"}]]},
                "Color": {"kind": "enum", "name": "Color", "variants": ["Red", "Green"]},
                "Model": {"kind": "extern", "name": "Model"},
            })
        );
    }
}
