//! Lowering to Flyte types: consumes checked types ([`Type`], [`Decls`], [`Signature`]) and
//! produces Flyte literal types in flyteidl's protobuf JSON mapping (`flyteidl.core.LiteralType`,
//! `flyteidl.core.TypedInterface`), following flytekit's type engine as measured in
//! `shared/flyte/README.md`.
//!
//! Differences from flytekit, on purpose: a Pickle blob carries
//! `"metadata": {"python_class_name": "People"}` (the bare Flow name, where flytekit writes
//! `"<class 'mod.People'>"`), and a struct or enum variant of a union is tagged with the type's
//! own name (flytekit uses its transformer names, `Object-Dataclass-Transformer` and
//! `DefaultEnumTransformer`, which cannot tell two structs apart).

use serde_json::{json, Map, Value};

use super::types::{DeclId, DeclKind, Decls, FieldSig, Signature, Type};

/// The Flyte literal type of `ty`, as flyteidl JSON.
///
/// Types that cannot cross an interface (`Tuple`, `NamedTuple`, `Param`, `Never`, `Error`, a
/// callable), and any type containing one, give `Value::Null`: the checker reports them (E0401
/// and others) before anything is lowered. A `dict` whose key is not `str` (also E0401) gives
/// `{"simple": "STRUCT"}`, as flytekit lowers it. A struct reached again while lowering its own
/// fields gives the schema-less `{"simple": "STRUCT"}` instead of recursing forever.
pub fn literal_type(decls: &Decls, ty: &Type) -> Value {
    Lowerer::new(decls).lower(ty).unwrap_or(Value::Null)
}

/// The `flyteidl.core.TypedInterface` of `sig`, as flyteidl JSON.
///
/// Inputs and outputs keep declaration order; outputs are named by [`FieldSig::name`] (`o0`, `o1`,
/// … unless named). Each variable's `description` is its doc comment, or else its name, as
/// flytekit does. `variables` is always present, also when empty. Defaults and `@batch` are not
/// part of the interface.
pub fn typed_interface(decls: &Decls, sig: &Signature) -> Value {
    json!({
        "inputs": { "variables": variables(decls, &sig.params) },
        "outputs": { "variables": variables(decls, sig.outputs.fields()) },
    })
}

/// A one-line description of `ty`'s literal type for hovers and notes, e.g.
/// `collection of PythonPickle`, `map of INTEGER`, `union of INTEGER | NONE`, `STRUCT Point`,
/// `enum [Red, Green]`, `blob (single)`. A type with no literal type gives `no Flyte type`.
pub fn describe(decls: &Decls, ty: &Type) -> String {
    if literal_type(decls, ty).is_null() {
        return "no Flyte type".to_string();
    }
    describe_lowerable(decls, ty)
}

/// The variable map of `fields`: name → `{"type", "description"}`.
fn variables(decls: &Decls, fields: &[FieldSig]) -> Value {
    let mut vars = Map::new();
    for f in fields {
        let description = f
            .doc
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(&f.name);
        vars.insert(
            f.name.clone(),
            json!({ "type": literal_type(decls, &f.ty), "description": description }),
        );
    }
    Value::Object(vars)
}

/// `{"simple": NAME}`.
fn simple(name: &str) -> Value {
    json!({ "simple": name })
}

/// Lowers types, remembering which structs are being lowered to cut recursion.
struct Lowerer<'a> {
    decls: &'a Decls,
    open_structs: Vec<DeclId>,
}

impl<'a> Lowerer<'a> {
    fn new(decls: &'a Decls) -> Self {
        Lowerer {
            decls,
            open_structs: Vec::new(),
        }
    }

    /// The literal type, or `None` when `ty` (or a part of it) cannot cross an interface.
    fn lower(&mut self, ty: &Type) -> Option<Value> {
        Some(match ty {
            Type::Int => simple("INTEGER"),
            Type::Float => simple("FLOAT"),
            Type::Str => simple("STRING"),
            Type::Bool => simple("BOOLEAN"),
            Type::Datetime => simple("DATETIME"),
            Type::Duration => simple("DURATION"),
            Type::None => simple("NONE"),
            Type::File => json!({ "blob": {} }),
            Type::Dir => json!({ "blob": { "dimensionality": "MULTIPART" } }),
            Type::List(item) => json!({ "collectionType": self.lower(item)? }),
            Type::Dict(key, value) => {
                self.lower(key)?;
                let value = self.lower(value)?;
                if **key == Type::Str {
                    json!({ "mapValueType": value })
                } else {
                    simple("STRUCT")
                }
            }
            Type::Union(members) => {
                let mut variants = Vec::with_capacity(members.len());
                for m in members {
                    let mut variant = self.lower(m)?;
                    add_tag(&mut variant, union_tag(self.decls, m)?);
                    variants.push(variant);
                }
                json!({ "unionType": { "variants": variants } })
            }
            Type::Decl(id) => self.lower_decl(*id)?,
            Type::Tuple(_) | Type::NamedTuple(_) | Type::Param(_) | Type::Never | Type::Error => {
                return None
            }
        })
    }

    fn lower_decl(&mut self, id: DeclId) -> Option<Value> {
        let decl = self.decls.get(id);
        Some(match &decl.kind {
            DeclKind::Struct(fields) => {
                if self.open_structs.contains(&id) {
                    return Some(simple("STRUCT"));
                }
                self.open_structs.push(id);
                let schema: Option<Map<String, Value>> = fields
                    .iter()
                    .map(|f| Some((f.name.clone(), self.lower(&f.ty)?)))
                    .collect();
                self.open_structs.pop();
                json!({ "simple": "STRUCT", "structure": { "dataclassType": schema? } })
            }
            DeclKind::Enum(variants) => json!({ "enumType": { "values": variants } }),
            DeclKind::Class(_) | DeclKind::Extern => json!({
                "blob": { "format": "PythonPickle" },
                "metadata": { "python_class_name": decl.name },
            }),
            DeclKind::Alias(t) => {
                let t = t.clone();
                return self.lower(&t);
            }
            DeclKind::Callable(_) => return None,
        })
    }
}

/// Puts `"tag": tag` into the variant's `structure`, creating it when absent (a struct's
/// `structure` already holds its `dataclassType`).
fn add_tag(variant: &mut Value, tag: String) {
    let Value::Object(obj) = variant else { return };
    let structure = obj
        .entry("structure")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(s) = structure {
        s.insert("tag".to_string(), Value::String(tag));
    }
}

/// The `structure.tag` of a union variant of type `ty`: flytekit's transformer name, except that
/// structs and enums are tagged with their own name.
fn union_tag(decls: &Decls, ty: &Type) -> Option<String> {
    let tag = match ty {
        Type::Int => "int",
        Type::Float => "float",
        Type::Str => "str",
        Type::Bool => "bool",
        Type::None => "none",
        Type::Datetime => "datetime",
        Type::Duration => "timedelta",
        Type::File => "FlyteFile",
        Type::Dir => "FlyteDirectory",
        Type::List(_) => "Typed List",
        Type::Dict(..) => "Typed Dict",
        // Unions are flattened by `Type::union`; flytekit's name, should one be nested anyway.
        Type::Union(_) => "Typed Union",
        Type::Decl(id) => {
            let decl = decls.get(*id);
            return match &decl.kind {
                DeclKind::Struct(_) | DeclKind::Enum(_) => Some(decl.name.clone()),
                DeclKind::Class(_) | DeclKind::Extern => Some("FlytePickle".to_string()),
                DeclKind::Alias(t) => union_tag(decls, t),
                DeclKind::Callable(_) => None,
            };
        }
        Type::Tuple(_) | Type::NamedTuple(_) | Type::Param(_) | Type::Never | Type::Error => {
            return None
        }
    };
    Some(tag.to_string())
}

/// [`describe`] for a type known to lower.
fn describe_lowerable(decls: &Decls, ty: &Type) -> String {
    match ty {
        Type::Int => "INTEGER".into(),
        Type::Float => "FLOAT".into(),
        Type::Str => "STRING".into(),
        Type::Bool => "BOOLEAN".into(),
        Type::Datetime => "DATETIME".into(),
        Type::Duration => "DURATION".into(),
        Type::None => "NONE".into(),
        Type::File => "blob (single)".into(),
        Type::Dir => "blob (multipart)".into(),
        Type::List(t) => format!("collection of {}", describe_lowerable(decls, t)),
        Type::Dict(k, v) if **k == Type::Str => format!("map of {}", describe_lowerable(decls, v)),
        Type::Dict(..) => "STRUCT".into(),
        Type::Union(members) => {
            let shown: Vec<String> = members
                .iter()
                .map(|m| {
                    let d = describe_lowerable(decls, m);
                    if matches!(m, Type::List(_) | Type::Dict(..)) {
                        format!("({d})")
                    } else {
                        d
                    }
                })
                .collect();
            format!("union of {}", shown.join(" | "))
        }
        Type::Decl(id) => {
            let decl = decls.get(*id);
            match &decl.kind {
                DeclKind::Struct(_) => format!("STRUCT {}", decl.name),
                DeclKind::Enum(vs) => format!("enum [{}]", vs.join(", ")),
                DeclKind::Class(_) | DeclKind::Extern => "PythonPickle".into(),
                DeclKind::Alias(t) => describe_lowerable(decls, t),
                DeclKind::Callable(_) => "no Flyte type".into(),
            }
        }
        Type::Tuple(_) | Type::NamedTuple(_) | Type::Param(_) | Type::Never | Type::Error => {
            "no Flyte type".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, ty: Type) -> FieldSig {
        FieldSig::new(name, ty)
    }

    fn tags(v: &Value) -> Vec<&str> {
        v["unionType"]["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["structure"]["tag"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn builtin_tags_follow_flytekit() {
        let d = Decls::default();
        let ty = Type::Union(vec![
            Type::Int,
            Type::Float,
            Type::Str,
            Type::Bool,
            Type::Datetime,
            Type::Duration,
            Type::File,
            Type::Dir,
            Type::List(Box::new(Type::Int)),
            Type::Dict(Box::new(Type::Str), Box::new(Type::Int)),
            Type::None,
        ]);
        assert_eq!(
            tags(&literal_type(&d, &ty)),
            [
                "int",
                "float",
                "str",
                "bool",
                "datetime",
                "timedelta",
                "FlyteFile",
                "FlyteDirectory",
                "Typed List",
                "Typed Dict",
                "none"
            ]
        );
    }

    #[test]
    fn decl_tags_are_names_or_flyte_pickle() {
        let mut d = Decls::default();
        let point = d.declare("Point", DeclKind::Struct(vec![field("x", Type::Int)]));
        let color = d.declare("Color", DeclKind::Enum(vec!["Red".into()]));
        let people = d.declare("People", DeclKind::Class(vec![]));
        let ext = d.declare("X", DeclKind::Extern);
        let lit = literal_type(&d, &Type::Union(vec![point, color, people, ext]));
        assert_eq!(tags(&lit), ["Point", "Color", "FlytePickle", "FlytePickle"]);
        // The struct's tag shares the `structure` that holds its schema.
        assert_eq!(
            lit["unionType"]["variants"][0],
            json!({"simple": "STRUCT", "structure": {"dataclassType": {"x": {"simple": "INTEGER"}}, "tag": "Point"}})
        );
    }

    #[test]
    fn pickle_blobs_name_their_class() {
        let mut d = Decls::default();
        let people = d.declare("People", DeclKind::Class(vec![field("name", Type::Str)]));
        let ext = d.declare("Frame", DeclKind::Extern);
        assert_eq!(
            literal_type(&d, &people),
            json!({"blob": {"format": "PythonPickle"}, "metadata": {"python_class_name": "People"}})
        );
        assert_eq!(
            literal_type(&d, &ext)["metadata"],
            json!({"python_class_name": "Frame"})
        );
        let opt = literal_type(&d, &Type::optional(people));
        assert_eq!(
            opt["unionType"]["variants"][0],
            json!({
                "blob": {"format": "PythonPickle"},
                "metadata": {"python_class_name": "People"},
                "structure": {"tag": "FlytePickle"},
            })
        );
    }

    #[test]
    fn non_interface_types_give_null() {
        let d = Decls::default();
        for ty in [
            Type::Tuple(vec![Type::Int]),
            Type::NamedTuple(vec![("a".into(), Type::Int)]),
            Type::Param(0),
            Type::Never,
            Type::Error,
            Type::List(Box::new(Type::Error)),
            Type::Union(vec![Type::Int, Type::Param(0)]),
        ] {
            assert_eq!(literal_type(&d, &ty), Value::Null, "{ty:?}");
            assert_eq!(describe(&d, &ty), "no Flyte type");
        }
    }

    #[test]
    fn recursive_struct_stops_at_schemaless_struct() {
        let mut d = Decls::default();
        let node = d.declare("Node", DeclKind::Struct(vec![]));
        let Type::Decl(id) = node else { unreachable!() };
        d.get_mut(id).kind = DeclKind::Struct(vec![field("next", Type::optional(node.clone()))]);
        let lit = literal_type(&d, &node);
        assert_eq!(
            lit["structure"]["dataclassType"]["next"]["unionType"]["variants"][0],
            json!({"simple": "STRUCT", "structure": {"tag": "Node"}})
        );
    }

    #[test]
    fn descriptions() {
        let mut d = Decls::default();
        let people = d.declare("People", DeclKind::Class(vec![]));
        let point = d.declare("Point", DeclKind::Struct(vec![]));
        let color = d.declare("Color", DeclKind::Enum(vec!["Red".into(), "Green".into()]));
        let list = |t: Type| Type::List(Box::new(t));
        assert_eq!(describe(&d, &list(people)), "collection of PythonPickle");
        assert_eq!(
            describe(&d, &Type::Dict(Box::new(Type::Str), Box::new(Type::Int))),
            "map of INTEGER"
        );
        assert_eq!(
            describe(&d, &Type::optional(Type::Int)),
            "union of INTEGER | NONE"
        );
        assert_eq!(
            describe(&d, &Type::optional(list(Type::Int))),
            "union of (collection of INTEGER) | NONE"
        );
        assert_eq!(describe(&d, &point), "STRUCT Point");
        assert_eq!(describe(&d, &color), "enum [Red, Green]");
        assert_eq!(describe(&d, &Type::File), "blob (single)");
        assert_eq!(describe(&d, &Type::Dir), "blob (multipart)");
    }
}
