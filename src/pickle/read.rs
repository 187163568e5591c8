//! Reading: the `Node` tree of a pickle to the `Value` of an expected type, with errors that
//! say where and what was expected.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::check::types::{DeclId, DeclKind, Decls, FieldSig, Type};
use crate::value::{Record, Value};

use super::*;

// ---------------------------------------------------------------------------------------------
// Reading: from Python objects to Flow values
// ---------------------------------------------------------------------------------------------

/// Reads the pickle `bytes` as a value of type `ty` (see the module documentation for the
/// conversions). An `extern type` keeps the bytes unopened as [`Value::Opaque`]; so does a union
/// holding one, unless the pickle is a value of one of its other members.
pub fn decode(bytes: &[u8], ty: &Type, decls: &Decls) -> Result<Value, PickleError> {
    let ty = decls.resolve(ty);
    if is_extern(decls, ty) {
        return Ok(Value::opaque(bytes.to_vec()));
    }
    let extern_member = match ty {
        Type::Union(ms) => ms.iter().any(|m| is_extern(decls, decls.resolve(m))),
        _ => false,
    };
    let mut machine = Machine::new(bytes);
    let root = match machine.run() {
        Ok(root) => root,
        Err(_) if extern_member => return Ok(Value::opaque(bytes.to_vec())),
        Err(e) => return Err(e),
    };
    let shapes = Shapes::new(decls, ty);
    let reader = Reader::new(&machine.nodes, decls, &shapes);
    let result = if let (true, Type::Union(ms)) = (extern_member, ty) {
        let mut members = [true, false].into_iter().flat_map(|strict| {
            ms.iter()
                .filter(|m| !is_extern(decls, decls.resolve(m)))
                .map(move |m| (m, strict))
        });
        Ok(members
            .find_map(|(m, strict)| reader.conv(root, m, strict).ok())
            .unwrap_or_else(|| Value::opaque(bytes.to_vec())))
    } else {
        reader
            .conv(root, ty, false)
            .map_err(|f| f.into_error(decls))
    };
    machine.release();
    result
}

thread_local! {
    /// Each thread's node buffer, kept from one decode to the next (a batched list decodes many
    /// files per thread), up to [`POOL_MAX_NODES`].
    pub(super) static NODE_POOL: Cell<Vec<Node<'static>>> = const { Cell::new(Vec::new()) };
}

pub(super) const POOL_MAX_NODES: usize = 1 << 18;

/// An emptied vector of nodes of another lifetime, in the same allocation (collecting a mapped
/// `into_iter` of a vector into one of a same-sized type reuses its buffer).
pub(super) fn recycle<'x, 'y>(mut nodes: Vec<Node<'x>>) -> Vec<Node<'y>> {
    nodes.clear();
    nodes
        .into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

pub(super) fn is_extern(decls: &Decls, ty: &Type) -> bool {
    matches!(ty, Type::Decl(id) if matches!(decls.get(*id).kind, DeclKind::Extern))
}

/// A struct, class or enum, with its names allocated once per decode.
pub(super) enum Shape<'d> {
    Record {
        name: Arc<str>,
        fields: Vec<(Arc<str>, &'d FieldSig)>,
    },
    Enum {
        name: Arc<str>,
        variants: Vec<Arc<str>>,
    },
}

/// The shapes of every struct, class and enum a type reaches, by declaration id: their names
/// allocated once per decode, and shared by all the values read.
pub(super) struct Shapes<'d>(Vec<Option<Shape<'d>>>);

impl<'d> Shapes<'d> {
    /// The shapes `ty` reaches.
    pub(super) fn new(decls: &'d Decls, ty: &Type) -> Shapes<'d> {
        let mut shapes = Shapes(Vec::new());
        shapes.collect(decls, ty);
        shapes
    }

    fn collect(&mut self, decls: &'d Decls, ty: &Type) {
        match ty {
            Type::List(t) => self.collect(decls, t),
            Type::Dict(k, v) => {
                self.collect(decls, k);
                self.collect(decls, v);
            }
            Type::Union(ts) | Type::Tuple(ts) => ts.iter().for_each(|t| self.collect(decls, t)),
            Type::NamedTuple(fs) => fs.iter().for_each(|(_, t)| self.collect(decls, t)),
            Type::Decl(id) => {
                let i = id.0 as usize;
                if self.get(*id).is_some() {
                    return;
                }
                let decl = decls.get(*id);
                let shape = match &decl.kind {
                    DeclKind::Struct(fs) | DeclKind::Class(fs) => Shape::Record {
                        name: Arc::from(decl.name.as_str()),
                        fields: fs.iter().map(|f| (Arc::from(f.name.as_str()), f)).collect(),
                    },
                    DeclKind::Enum(vs) => Shape::Enum {
                        name: Arc::from(decl.name.as_str()),
                        variants: vs.iter().map(|v| Arc::from(v.as_str())).collect(),
                    },
                    DeclKind::Alias(t) => return self.collect(decls, t),
                    _ => return,
                };
                if self.0.len() <= i {
                    self.0.resize_with(i + 1, || None);
                }
                self.0[i] = Some(shape);
                if let DeclKind::Struct(fs) | DeclKind::Class(fs) = &decl.kind {
                    for f in fs {
                        self.collect(decls, &f.ty);
                    }
                }
            }
            _ => {}
        }
    }

    /// The shape of a struct, class or enum the type reaches.
    #[inline]
    pub(super) fn get(&self, decl: DeclId) -> Option<&Shape<'d>> {
        self.0.get(decl.0 as usize).and_then(Option::as_ref)
    }
}

/// Converts the nodes of one pickle to values of the expected types.
pub(super) struct Reader<'n, 'a, 'd> {
    nodes: &'n [Node<'a>],
    decls: &'d Decls,
    shapes: &'d Shapes<'d>,
}

/// A conversion failure, with the path to it built on the way out (innermost segment first).
pub(super) struct Fail {
    kind: FailKind,
    path: Vec<Seg>,
}

pub(super) enum Seg {
    Index(usize),
    Key(String),
    Field(Arc<str>),
}

pub(super) enum FailKind {
    Mismatch {
        expected: Type,
        found: String,
    },
    MissingField {
        record: Arc<str>,
        field: Arc<str>,
        has_default: bool,
    },
    UnknownField {
        record: Arc<str>,
        field: String,
    },
    UnknownVariant {
        enum_name: Arc<str>,
        found: String,
        variants: Vec<Arc<str>>,
    },
    Invalid {
        expected: Type,
        message: String,
    },
    NestedExtern {
        type_name: String,
    },
    UnsupportedType {
        ty: Type,
    },
}

pub(super) type Conv = Result<Value, Box<Fail>>;

impl Fail {
    pub(super) fn new(kind: FailKind) -> Box<Fail> {
        Box::new(Fail {
            kind,
            path: Vec::new(),
        })
    }

    pub(super) fn into_error(self, decls: &Decls) -> PickleError {
        let mut path = String::new();
        for seg in self.path.iter().rev() {
            match seg {
                Seg::Index(i) => {
                    let _ = write!(path, "[{i}]");
                }
                Seg::Key(k) => {
                    let _ = write!(path, "[{k:?}]");
                }
                Seg::Field(f) if path.is_empty() => path.push_str(f),
                Seg::Field(f) => {
                    let _ = write!(path, ".{f}");
                }
            }
        }
        match self.kind {
            FailKind::Mismatch { expected, found } => PickleError::Mismatch {
                path,
                expected: decls.show(&expected),
                found,
            },
            FailKind::MissingField {
                record,
                field,
                has_default,
            } => PickleError::MissingField {
                path,
                record: record.to_string(),
                field: field.to_string(),
                has_default,
            },
            FailKind::UnknownField { record, field } => PickleError::UnknownField {
                path,
                record: record.to_string(),
                field,
            },
            FailKind::UnknownVariant {
                enum_name,
                found,
                variants,
            } => PickleError::UnknownVariant {
                path,
                enum_name: enum_name.to_string(),
                found,
                variants: variants.iter().map(|v| v.to_string()).collect(),
            },
            FailKind::Invalid { expected, message } => PickleError::InvalidValue {
                path,
                expected: decls.show(&expected),
                message,
            },
            FailKind::NestedExtern { type_name } => PickleError::NestedExtern { path, type_name },
            FailKind::UnsupportedType { ty } => PickleError::UnsupportedType {
                ty: decls.show(&ty),
            },
        }
    }

    /// Whether this is a plain "wrong kind of value" at the very value tried.
    pub(super) fn is_shallow(&self) -> bool {
        self.path.is_empty() && matches!(self.kind, FailKind::Mismatch { .. })
    }
}

pub(super) fn within(seg: impl FnOnce() -> Seg) -> impl FnOnce(Box<Fail>) -> Box<Fail> {
    move |mut f| {
        f.path.push(seg());
        f
    }
}

impl<'n, 'a, 'd> Reader<'n, 'a, 'd> {
    /// A reader of `nodes`, for types whose shapes are `shapes`.
    pub(super) fn new(nodes: &'n [Node<'a>], decls: &'d Decls, shapes: &'d Shapes<'d>) -> Self {
        Reader {
            nodes,
            decls,
            shapes,
        }
    }

    #[inline]
    pub(super) fn node(&self, id: u32) -> &'n Node<'a> {
        &self.nodes[id as usize]
    }

    pub(super) fn describe(&self, id: u32) -> String {
        match self.node(id) {
            Node::None => "None".into(),
            Node::Bool(b) => format!("a Python bool ({})", if *b { "True" } else { "False" }),
            Node::Int(_) => "a Python int".into(),
            Node::BigInt => "a Python int beyond 64 bits".into(),
            Node::Float(_) => "a Python float".into(),
            Node::Str(_) => "a Python str".into(),
            Node::Bytes(_) => "a Python bytes".into(),
            Node::List(_) => "a Python list".into(),
            Node::Tuple(_) => "a Python tuple".into(),
            Node::SmallDict(..) | Node::Dict(_) => "a Python dict".into(),
            Node::Set(_, false) => "a Python set".into(),
            Node::Set(_, true) => "a Python frozenset".into(),
            Node::Datetime(_) => "a `datetime.datetime`".into(),
            Node::Timedelta(_) => "a `datetime.timedelta`".into(),
            Node::Timezone(_) => "a `datetime.timezone`".into(),
            Node::Global(g) => format!("the Python global `{g}`"),
            Node::Object(o) => format!("a `{}` object", o.class),
            Node::Pickled(_) => "a nested pickle (an extern value)".into(),
        }
    }

    pub(super) fn mismatch(&self, id: u32, expected: &Type) -> Box<Fail> {
        Fail::new(FailKind::Mismatch {
            expected: expected.clone(),
            found: self.describe(id),
        })
    }

    pub(super) fn invalid(expected: &Type, message: String) -> Box<Fail> {
        Fail::new(FailKind::Invalid {
            expected: expected.clone(),
            message,
        })
    }

    /// The items of a list or tuple.
    pub(super) fn seq(&self, id: u32) -> Option<&'n [u32]> {
        match self.node(id) {
            Node::List(items) | Node::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The value of `ty` node `id` stands for; `strict` forbids widening `int` to `float`.
    pub(super) fn conv(&self, id: u32, ty: &Type, strict: bool) -> Conv {
        let node = self.node(id);
        match ty {
            Type::None => match node {
                Node::None => Ok(Value::None),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Bool => match node {
                Node::Bool(b) => Ok(Value::Bool(*b)),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Int => match node {
                Node::Int(i) => Ok(Value::Int(*i)),
                Node::BigInt => Err(Self::invalid(
                    ty,
                    "the Python int is beyond 64 bits".to_string(),
                )),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Float => match node {
                Node::Float(x) => Ok(Value::Float(*x)),
                Node::Int(i) if !strict => Ok(Value::Float(*i as f64)),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Str => match node {
                Node::Str(s) => Ok(Value::Str(Arc::from(&**s))),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::File | Type::Dir => match node {
                Node::Str(s) => Ok(Value::Path(Arc::from(&**s))),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Datetime => match node {
                Node::Str(s) => parse_datetime(s)
                    .map(Value::Datetime)
                    .map_err(|m| Self::invalid(ty, m)),
                Node::Datetime(us) => Ok(Value::Datetime(*us)),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::Duration => match node {
                Node::Int(secs) => secs
                    .checked_mul(1_000_000)
                    .map(Value::Duration)
                    .ok_or_else(|| Self::invalid(ty, format!("{secs} seconds is out of range"))),
                Node::Float(secs) => duration_from_secs(*secs)
                    .map(Value::Duration)
                    .ok_or_else(|| Self::invalid(ty, format!("{secs} seconds is out of range"))),
                Node::Timedelta(us) => Ok(Value::Duration(*us)),
                _ => Err(self.mismatch(id, ty)),
            },
            Type::List(item) => {
                let mut out = Vec::new();
                self.list_into(id, ty, item, strict, &mut out)?;
                Ok(Value::List(Arc::new(out)))
            }
            Type::Tuple(ts) => {
                let items = match self.seq(id) {
                    Some(items) if items.len() == ts.len() => items,
                    _ => return Err(self.mismatch(id, ty)),
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, (&it, t)) in items.iter().zip(ts).enumerate() {
                    out.push(self.conv(it, t, strict).map_err(within(|| Seg::Index(i)))?);
                }
                Ok(Value::Tuple(Arc::new(out)))
            }
            Type::NamedTuple(fs) => {
                let items = match self.seq(id) {
                    Some(items) if items.len() == fs.len() => items,
                    _ => return Err(self.mismatch(id, ty)),
                };
                let mut out = Vec::with_capacity(items.len());
                for (&it, (name, t)) in items.iter().zip(fs) {
                    out.push(
                        self.conv(it, t, strict)
                            .map_err(within(|| Seg::Field(Arc::from(name.as_str()))))?,
                    );
                }
                Ok(Value::Tuple(Arc::new(out)))
            }
            Type::Dict(_, v) => {
                let Some(pairs) = node.dict_pairs() else {
                    return Err(self.mismatch(id, ty));
                };
                let mut out = IndexMap::with_capacity(pairs.len());
                for &(k, val) in pairs {
                    let Node::Str(key) = self.node(k) else {
                        return Err(Fail::new(FailKind::Mismatch {
                            expected: Type::Str,
                            found: format!("{} as a dict key", self.describe(k)),
                        }));
                    };
                    let value = self
                        .conv(val, v, strict)
                        .map_err(within(|| Seg::Key(key.to_string())))?;
                    out.insert(key.to_string(), value);
                }
                Ok(Value::Dict(Arc::new(out)))
            }
            Type::Union(members) => self.union(id, ty, members, strict),
            Type::Decl(decl) => self.decl(id, ty, *decl, strict),
            Type::Param(_) | Type::Never | Type::Error => {
                Err(Fail::new(FailKind::UnsupportedType { ty: ty.clone() }))
            }
        }
    }

    /// Appends the items of the list `id`, of type `ty` = `list[item]`, to `out`.
    pub(super) fn list_into(
        &self,
        id: u32,
        ty: &Type,
        item: &Type,
        strict: bool,
        out: &mut Vec<Value>,
    ) -> Result<(), Box<Fail>> {
        let Some(items) = self.seq(id) else {
            return Err(self.mismatch(id, ty));
        };
        out.reserve(items.len());
        for (i, &it) in items.iter().enumerate() {
            out.push(
                self.conv(it, item, strict)
                    .map_err(within(|| Seg::Index(i)))?,
            );
        }
        Ok(())
    }

    pub(super) fn union(&self, id: u32, ty: &Type, members: &[Type], strict: bool) -> Conv {
        if matches!(self.node(id), Node::None) && members.contains(&Type::None) {
            return Ok(Value::None);
        }
        let mut best: Option<Box<Fail>> = None;
        let passes: &[bool] = if strict { &[true] } else { &[true, false] };
        for &pass in passes {
            for m in members {
                match self.conv(id, m, pass) {
                    Ok(v) => return Ok(v),
                    Err(f) => {
                        if !f.is_shallow() && best.as_ref().is_none_or(|b| b.is_shallow()) {
                            best = Some(f);
                        }
                    }
                }
            }
        }
        Err(match best {
            Some(f) => f,
            None => self.mismatch(id, ty),
        })
    }

    pub(super) fn decl(&self, id: u32, ty: &Type, decl: DeclId, strict: bool) -> Conv {
        let d = self.decls.get(decl);
        match &d.kind {
            DeclKind::Alias(t) => self.conv(id, t, strict),
            DeclKind::Extern => match self.node(id) {
                Node::Pickled(bytes) => Ok(Value::opaque(bytes.to_vec())),
                _ => Err(Fail::new(FailKind::NestedExtern {
                    type_name: d.name.clone(),
                })),
            },
            DeclKind::Callable(_) => Err(Fail::new(FailKind::UnsupportedType { ty: ty.clone() })),
            DeclKind::Struct(_) | DeclKind::Class(_) | DeclKind::Enum(_) => {
                match self.shapes.get(decl) {
                    Some(Shape::Record { name, fields }) => {
                        self.record(id, ty, name, fields, strict)
                    }
                    Some(Shape::Enum { name, variants }) => {
                        self.enumeration(id, ty, name, variants)
                    }
                    None => unreachable!("shapes are collected for every reachable declaration"),
                }
            }
        }
    }

    pub(super) fn enumeration(
        &self,
        id: u32,
        ty: &Type,
        name: &Arc<str>,
        variants: &[Arc<str>],
    ) -> Conv {
        let text: &str = match self.node(id) {
            Node::Str(s) => s,
            // An `enum.Enum` member pickles as `Color(value)`.
            Node::Object(o) => match o.args.and_then(|a| self.seq(a)) {
                Some([v]) => match self.node(*v) {
                    Node::Str(s) => s,
                    _ => return Err(self.mismatch(id, ty)),
                },
                _ => return Err(self.mismatch(id, ty)),
            },
            _ => return Err(self.mismatch(id, ty)),
        };
        match variants.iter().find(|v| ***v == *text) {
            Some(v) => Ok(Value::Enum(name.clone(), v.clone())),
            None => Err(Fail::new(FailKind::UnknownVariant {
                enum_name: name.clone(),
                found: text.to_string(),
                variants: variants.to_vec(),
            })),
        }
    }

    /// The dict of a record: a dict, or the attribute dict of a Python object.
    pub(super) fn record_pairs(&self, id: u32) -> Option<&'n [(u32, u32)]> {
        let node = self.node(id);
        if let Some(pairs) = node.dict_pairs() {
            return Some(pairs);
        }
        let Node::Object(o) = node else {
            return None;
        };
        match o.state.map(|s| self.node(s)) {
            None => Some(&[]),
            // `(__dict__, __slots__ dict)` when the class has slots; take the `__dict__`.
            Some(Node::Tuple(t)) => t.first().and_then(|&s| self.node(s).dict_pairs()),
            Some(state) => state.dict_pairs(),
        }
    }

    pub(super) fn key_is(&self, k: u32, name: &str) -> bool {
        matches!(self.node(k), Node::Str(s) if s == name)
    }

    pub(super) fn record(
        &self,
        id: u32,
        ty: &Type,
        name: &Arc<str>,
        fields: &[(Arc<str>, &FieldSig)],
        strict: bool,
    ) -> Conv {
        let Some(pairs) = self.record_pairs(id) else {
            return Err(self.mismatch(id, ty));
        };
        let mut out = Vec::with_capacity(fields.len());
        for (i, (fname, sig)) in fields.iter().enumerate() {
            // Flow writes fields in declaration order: look there first.
            let found = match pairs.get(i) {
                Some(&(k, v)) if self.key_is(k, fname) => Some(v),
                _ => pairs
                    .iter()
                    .rev()
                    .find(|(k, _)| self.key_is(*k, fname))
                    .map(|&(_, v)| v),
            };
            let Some(v) = found else {
                return Err(Fail::new(FailKind::MissingField {
                    record: name.clone(),
                    field: fname.clone(),
                    has_default: sig.has_default,
                }));
            };
            let value = self
                .conv(v, &sig.ty, strict)
                .map_err(within(|| Seg::Field(fname.clone())))?;
            out.push((fname.clone(), value));
        }
        if pairs.len() > fields.len() {
            for &(k, _) in pairs {
                let known =
                    matches!(self.node(k), Node::Str(s) if fields.iter().any(|(f, _)| **f == **s));
                if !known {
                    let field = match self.node(k) {
                        Node::Str(s) => format!("{s:?}"),
                        _ => self.describe(k),
                    };
                    return Err(Fail::new(FailKind::UnknownField {
                        record: name.clone(),
                        field,
                    }));
                }
            }
        }
        Ok(Value::Record(Arc::new(Record {
            type_name: name.clone(),
            fields: out,
        })))
    }
}
