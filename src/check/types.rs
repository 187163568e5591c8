//! Checked types and the declaration table: what every name at the top level of a program
//! stands for once resolved. Produced by [`super::collect`], read by every later pass.

use std::fmt;

use crate::source::{FileId, Span};
use crate::syntax::ast::{Annotation, CallableKind};

/// Index of a declaration in [`Decls`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct DeclId(pub u32);

/// A checked type.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Type {
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `str`.
    Str,
    /// `bool`.
    Bool,
    /// `datetime`.
    Datetime,
    /// `duration`.
    Duration,
    /// `none`.
    None,
    /// `file`.
    File,
    /// `dir`.
    Dir,
    /// `list[T]`.
    List(Box<Type>),
    /// `dict[K, V]` (K is `str` in every valid program).
    Dict(Box<Type>, Box<Type>),
    /// `A | B | …`, flattened, without duplicates, in written order; `T?` is `T | none`.
    Union(Vec<Type>),
    /// `(A, B)`, inside bodies and as unnamed multiple outputs.
    Tuple(Vec<Type>),
    /// `(name: A, …)`: a task's named outputs as one value.
    NamedTuple(Vec<(String, Type)>),
    /// A struct, class, enum or extern type.
    Decl(DeclId),
    /// A type parameter of a generic built-in, by position.
    Param(u32),
    /// The type of `fail(…)` and `return`: fits everywhere.
    Never,
    /// Unknown after an error: fits everywhere, so one mistake gives one error.
    Error,
}

impl Type {
    /// `T?`.
    pub fn optional(inner: Type) -> Type {
        Type::union(vec![inner, Type::None])
    }

    /// The union of `members`, flattened and deduplicated; a single member stands alone.
    pub fn union(members: Vec<Type>) -> Type {
        let mut flat: Vec<Type> = Vec::new();
        for m in members {
            match m {
                Type::Union(inner) => {
                    for t in inner {
                        if !flat.contains(&t) {
                            flat.push(t);
                        }
                    }
                }
                Type::Never => {}
                t => {
                    if !flat.contains(&t) {
                        flat.push(t);
                    }
                }
            }
        }
        if flat.contains(&Type::Error) {
            return Type::Error;
        }
        match flat.len() {
            0 => Type::Never,
            1 => flat.pop().unwrap(),
            _ => {
                // `none` goes last, so `T | none` reads as `T?`.
                if let Some(i) = flat.iter().position(|t| *t == Type::None) {
                    let none = flat.remove(i);
                    flat.push(none);
                }
                Type::Union(flat)
            }
        }
    }

    /// Whether this type is `Error` or contains it.
    pub fn has_error(&self) -> bool {
        match self {
            Type::Error => true,
            Type::List(t) => t.has_error(),
            Type::Dict(k, v) => k.has_error() || v.has_error(),
            Type::Union(ts) | Type::Tuple(ts) => ts.iter().any(Type::has_error),
            Type::NamedTuple(fs) => fs.iter().any(|(_, t)| t.has_error()),
            _ => false,
        }
    }

    /// The non-`none` part of an optional type, if this is one.
    pub fn strip_none(&self) -> Option<Type> {
        match self {
            Type::Union(ts) if ts.contains(&Type::None) => Some(Type::union(
                ts.iter().filter(|t| **t != Type::None).cloned().collect(),
            )),
            _ => None,
        }
    }

    /// Whether the type is `int` or `float`.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }

    /// Replaces type parameters by `args` (unbound ones become `Error`).
    pub fn substitute(&self, args: &[Option<Type>]) -> Type {
        match self {
            Type::Param(i) => args
                .get(*i as usize)
                .cloned()
                .flatten()
                .unwrap_or(Type::Error),
            Type::List(t) => Type::List(Box::new(t.substitute(args))),
            Type::Dict(k, v) => {
                Type::Dict(Box::new(k.substitute(args)), Box::new(v.substitute(args)))
            }
            Type::Union(ts) => Type::union(ts.iter().map(|t| t.substitute(args)).collect()),
            Type::Tuple(ts) => Type::Tuple(ts.iter().map(|t| t.substitute(args)).collect()),
            Type::NamedTuple(fs) => Type::NamedTuple(
                fs.iter()
                    .map(|(n, t)| (n.clone(), t.substitute(args)))
                    .collect(),
            ),
            t => t.clone(),
        }
    }
}

/// What kind of named type a declaration is.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum DeclKind {
    /// `struct`: fields known to the type engine.
    Struct(Vec<FieldSig>),
    /// `class`: fields, but lowered to Pickle.
    Class(Vec<FieldSig>),
    /// `enum` with its variants.
    Enum(Vec<String>),
    /// `extern type`.
    Extern,
    /// `type A = T`, resolved.
    Alias(Type),
    /// `fn`, `task` or `workflow` (a built-in has no body and may have overloads).
    Callable(Signature),
}

/// A field of a record or a parameter of a callable.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldSig {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Whether it has a default and may be left out.
    pub has_default: bool,
    /// `@batch(n)` on its type.
    pub batch: Option<u32>,
    /// Where it is declared.
    pub span: Span,
    /// Its doc comment.
    pub doc: Option<String>,
}

impl FieldSig {
    /// A field or parameter `name: ty` with no default, batch, place or doc (built-in
    /// declarations and tests).
    pub fn new(name: &str, ty: Type) -> FieldSig {
        FieldSig {
            name: name.into(),
            ty,
            has_default: false,
            batch: None,
            span: Span::default(),
            doc: None,
        }
    }
}

/// The outputs a callable declares.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Outputs {
    /// No `->`.
    Nothing,
    /// `-> T`: one output, `o0`.
    Single(FieldSig),
    /// `-> (A, B)`: outputs `o0`, `o1`, … (their names are `o0`…).
    Unnamed(Vec<FieldSig>),
    /// `-> (a: A, …)`.
    Named(Vec<FieldSig>),
}

impl Outputs {
    /// The outputs as interface variables, with their names.
    pub fn fields(&self) -> &[FieldSig] {
        match self {
            Outputs::Nothing => &[],
            Outputs::Single(f) => std::slice::from_ref(f),
            Outputs::Unnamed(fs) | Outputs::Named(fs) => fs,
        }
    }

    /// The type of a call's value: the single type, a tuple, a named tuple, or `none`.
    pub fn value_type(&self) -> Type {
        match self {
            Outputs::Nothing => Type::None,
            Outputs::Single(f) => f.ty.clone(),
            Outputs::Unnamed(fs) => Type::Tuple(fs.iter().map(|f| f.ty.clone()).collect()),
            Outputs::Named(fs) => {
                Type::NamedTuple(fs.iter().map(|f| (f.name.clone(), f.ty.clone())).collect())
            }
        }
    }
}

/// A callable's checked signature.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// fn, task or workflow.
    pub kind: CallableKind,
    /// Type parameter names.
    pub generics: Vec<String>,
    /// Parameters in order.
    pub params: Vec<FieldSig>,
    /// Declared outputs.
    pub outputs: Outputs,
    /// Where the output type is written (the name when there is none).
    pub output_span: Span,
    /// Whether it is a built-in (declared without a body in the standard library).
    pub builtin: bool,
}

/// One top-level declaration.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Decl {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: DeclKind,
    /// The file it is declared in.
    pub file: FileId,
    /// The name's span.
    pub span: Span,
    /// Its doc comment.
    pub doc: Option<String>,
    /// Annotations before it (not kept in the IR: their meaning is lowered into it).
    #[serde(skip)]
    pub annotations: Vec<Annotation>,
}

/// Every declaration of a program, indexed by [`DeclId`].
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Decls {
    items: Vec<Decl>,
}

impl Decls {
    /// `ty` with aliases expanded at the top (at most 64 deep, so a cycle cannot hang).
    pub fn resolve<'t>(&'t self, ty: &'t Type) -> &'t Type {
        let mut ty = ty;
        for _ in 0..64 {
            match ty {
                Type::Decl(id) => match &self.get(*id).kind {
                    DeclKind::Alias(t) => ty = t,
                    _ => return ty,
                },
                _ => return ty,
            }
        }
        ty
    }

    /// Adds a declaration.
    pub fn push(&mut self, decl: Decl) -> DeclId {
        self.items.push(decl);
        DeclId(self.items.len() as u32 - 1)
    }

    /// Declares `name` as `kind` with no place in a source file (tests, tools); returns the
    /// type that names it.
    pub fn declare(&mut self, name: &str, kind: DeclKind) -> Type {
        Type::Decl(self.push(Decl {
            name: name.into(),
            kind,
            file: FileId::default(),
            span: Span::default(),
            doc: None,
            annotations: Vec::new(),
        }))
    }

    /// The declaration with id `id`.
    pub fn get(&self, id: DeclId) -> &Decl {
        &self.items[id.0 as usize]
    }

    /// Mutable access, for filling kinds in after every name is known.
    pub fn get_mut(&mut self, id: DeclId) -> &mut Decl {
        &mut self.items[id.0 as usize]
    }

    /// All declarations with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (DeclId, &Decl)> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, d)| (DeclId(i as u32), d))
    }

    /// A type written for people: `list[int]`, `Point`, `int?`.
    pub fn show(&self, ty: &Type) -> String {
        Shown(self, ty).to_string()
    }

    /// Whether a value of type `found` may stand where `expected` is wanted: equal types,
    /// `int` to `float`, a member to a union holding it, lists and dicts item-wise.
    pub fn fits(&self, found: &Type, expected: &Type) -> bool {
        match (found, expected) {
            (Type::Error, _) | (_, Type::Error) | (Type::Never, _) => true,
            (a, b) if a == b => true,
            (Type::Int, Type::Float) => true,
            (Type::List(a), Type::List(b)) => self.fits(a, b),
            (Type::Dict(ka, va), Type::Dict(kb, vb)) => self.fits(ka, kb) && self.fits(va, vb),
            (Type::Tuple(a), Type::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| self.fits(x, y))
            }
            (Type::NamedTuple(a), Type::NamedTuple(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((na, x), (nb, y))| na == nb && self.fits(x, y))
            }
            (Type::Union(members), b) => members.iter().all(|m| self.fits(m, b)),
            (a, Type::Union(members)) => members.iter().any(|m| self.fits(a, m)),
            _ => false,
        }
    }

    /// The type that holds both `a` and `b`: the wider one when one fits the other, else their union.
    pub fn join(&self, a: &Type, b: &Type) -> Type {
        if self.fits(a, b) {
            b.clone()
        } else if self.fits(b, a) {
            a.clone()
        } else {
            Type::union(vec![a.clone(), b.clone()])
        }
    }

    /// The fields of a struct or class type.
    pub fn fields(&self, ty: &Type) -> Option<&[FieldSig]> {
        match ty {
            Type::Decl(id) => match &self.get(*id).kind {
                DeclKind::Struct(fs) | DeclKind::Class(fs) => Some(fs),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether values of `ty` itself (not its items) are stored as Pickle: classes and extern types.
    pub fn is_pickled(&self, ty: &Type) -> bool {
        matches!(ty, Type::Decl(id) if matches!(self.get(*id).kind, DeclKind::Class(_) | DeclKind::Extern))
    }
}

struct Shown<'a>(&'a Decls, &'a Type);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decls = self.0;
        let show = |t: &Type| Shown(decls, t).to_string();
        match self.1 {
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Str => f.write_str("str"),
            Type::Bool => f.write_str("bool"),
            Type::Datetime => f.write_str("datetime"),
            Type::Duration => f.write_str("duration"),
            Type::None => f.write_str("none"),
            Type::File => f.write_str("file"),
            Type::Dir => f.write_str("dir"),
            Type::List(t) => write!(f, "list[{}]", show(t)),
            Type::Dict(k, v) => write!(f, "dict[{}, {}]", show(k), show(v)),
            Type::Union(ts) if ts.len() == 2 && ts[1] == Type::None => {
                let inner = show(&ts[0]);
                if matches!(ts[0], Type::Union(_)) {
                    write!(f, "({inner})?")
                } else {
                    write!(f, "{inner}?")
                }
            }
            Type::Union(ts) => f.write_str(&ts.iter().map(show).collect::<Vec<_>>().join(" | ")),
            Type::Tuple(ts) => write!(
                f,
                "({})",
                ts.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            Type::NamedTuple(fs) => {
                write!(
                    f,
                    "({})",
                    fs.iter()
                        .map(|(n, t)| format!("{n}: {}", show(t)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Type::Decl(id) => f.write_str(&decls.get(*id).name),
            Type::Param(i) => write!(f, "T{i}"),
            Type::Never => f.write_str("never"),
            Type::Error => f.write_str("{unknown}"),
        }
    }
}
