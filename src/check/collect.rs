//! Name collection and signatures: every top-level declaration of every module becomes a
//! [`Decl`]; each module gets its scope (own names, then imported ones, then the prelude);
//! written types become checked [`Type`]s. Reports E0100 (unknown type), E0101 (declared
//! twice) and E0401 (interface types that cannot be lowered).
//!
//! Consumes the loaded modules; produces the declaration table and one scope per module.

use std::collections::{HashMap, HashSet};

use super::load::{Loaded, ModuleIdx};
use super::suggest::did_you_mean;
use super::types::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{self, CallableKind, ItemKind, TypeExpr, TypeExprKind};

/// The names visible at the top level of one module.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    /// Name to declarations (several only for overloaded built-ins).
    pub names: HashMap<String, Vec<DeclId>>,
    /// For each name that came in through an import, the index of that import.
    pub via_import: HashMap<String, usize>,
    /// Names of declarations in this module or the ones it imports that did not parse: not
    /// reported again as unknown.
    pub broken: HashSet<String>,
}

impl Scope {
    /// The declarations a name stands for.
    pub fn get(&self, name: &str) -> Option<&[DeclId]> {
        self.names.get(name).map(Vec::as_slice)
    }
}

/// The declaration table and the scope of each module.
pub struct Collected {
    /// Every declaration.
    pub decls: Decls,
    /// One scope per module, indexed like the modules.
    pub scopes: Vec<Scope>,
    /// For each module, its items' declaration ids, in item order.
    pub item_decls: Vec<Vec<DeclId>>,
    /// For each module, the imports (by index) that its declarations' types use.
    pub used_imports: Vec<HashSet<usize>>,
}

/// The built-in type names and how many type arguments each takes.
const BUILTIN_TYPES: &[(&str, usize)] = &[
    ("int", 0),
    ("float", 0),
    ("str", 0),
    ("bool", 0),
    ("datetime", 0),
    ("duration", 0),
    ("file", 0),
    ("dir", 0),
    ("list", 1),
    ("dict", 2),
];

/// Collects declarations and signatures of every module.
pub fn collect(loaded: &Loaded, diags: &mut Vec<Diagnostic>) -> Collected {
    let mut decls = Decls::default();
    let mut own: Vec<HashMap<String, Vec<DeclId>>> = Vec::new();
    let mut item_decls = Vec::new();
    for module in &loaded.modules {
        let mut names: HashMap<String, Vec<DeclId>> = HashMap::new();
        let mut ids = Vec::new();
        for item in &module.ast.items {
            let name = item.name();
            let id = decls.push(Decl {
                name: name.name.to_string(),
                kind: placeholder(&item.kind),
                file: module.file,
                span: name.span,
                doc: item.doc.clone(),
                annotations: item.annotations.clone(),
            });
            ids.push(id);
            let overload = module.is_std && matches!(item.kind, ItemKind::Callable(_));
            match names.get_mut(name.name.as_str()) {
                Some(existing) if overload => existing.push(id),
                Some(existing) => diags.push(declared_twice(
                    &name.name,
                    name.span,
                    decls.get(existing[0]).span,
                )),
                None => {
                    names.insert(name.name.to_string(), vec![id]);
                }
            }
        }
        own.push(names);
        item_decls.push(ids);
    }

    let scopes = (0..loaded.modules.len())
        .map(|m| module_scope(loaded, m, &own, &decls, diags))
        .collect();
    let used_imports = vec![HashSet::new(); loaded.modules.len()];
    let mut collected = Collected {
        decls,
        scopes,
        item_decls,
        used_imports,
    };
    resolve_aliases(loaded, &mut collected, diags);
    for m in 0..loaded.modules.len() {
        fill_kinds(loaded, m, &mut collected, diags);
    }
    collected
}

/// The kind a declaration has until its types are resolved: right enough for `is_pickled` and
/// for telling types from callables.
fn placeholder(kind: &ItemKind) -> DeclKind {
    match kind {
        ItemKind::Struct(_) => DeclKind::Struct(Vec::new()),
        ItemKind::Class(_) => DeclKind::Class(Vec::new()),
        ItemKind::Enum(_) => DeclKind::Enum(Vec::new()),
        ItemKind::Extern(_) => DeclKind::Extern,
        ItemKind::Alias { .. } => DeclKind::Alias(Type::Error),
        ItemKind::Callable(c) => DeclKind::Callable(Signature {
            kind: c.kind,
            generics: Vec::new(),
            params: Vec::new(),
            outputs: Outputs::Nothing,
            output_span: c.name.span,
            builtin: false,
        }),
    }
}

fn declared_twice(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::E0101,
        span,
        format!("`{name}` is declared twice"),
        format!("`{name}` declared again here"),
    )
    .with_label(first, "first declared here")
    .with_help("rename one of them: each name may be declared once in its scope")
}

/// A module's scope: its own names, then those of the modules it imports directly, then the
/// prelude's.
fn module_scope(
    loaded: &Loaded,
    m: ModuleIdx,
    own: &[HashMap<String, Vec<DeclId>>],
    decls: &Decls,
    diags: &mut Vec<Diagnostic>,
) -> Scope {
    let module = &loaded.modules[m];
    let mut scope = Scope {
        names: own[m].clone(),
        via_import: HashMap::new(),
        broken: module.ast.broken.iter().cloned().collect(),
    };
    for (i, target) in module.imports.iter().enumerate() {
        let Some(target) = *target else { continue };
        scope
            .broken
            .extend(loaded.modules[target].ast.broken.iter().cloned());
        let mut names: Vec<(&String, &Vec<DeclId>)> = own[target].iter().collect();
        names.sort_by_key(|(_, ids)| ids[0]);
        for (name, ids) in names {
            match scope.names.get(name) {
                Some(existing) if existing != ids => {
                    let here = decls.get(existing[0]);
                    if here.file == module.file {
                        diags.push(
                            declared_twice(name, here.span, decls.get(ids[0]).span)
                                .with_note(format!("`{name}` also comes in through this import")),
                        );
                    } else {
                        diags.push(
                            Diagnostic::new(
                                Code::E0101,
                                module.ast.imports[i].target_span,
                                format!("`{name}` is declared by two imported files"),
                                format!("this import brings a second `{name}`"),
                            )
                            .with_label(here.span, "the first one")
                            .with_label(decls.get(ids[0]).span, "the second one"),
                        );
                    }
                }
                Some(_) => {}
                None => {
                    scope.names.insert(name.clone(), ids.clone());
                    scope.via_import.insert(name.clone(), i);
                }
            }
        }
    }
    if m != 0 {
        for (name, ids) in &own[0] {
            scope
                .names
                .entry(name.clone())
                .or_insert_with(|| ids.clone());
        }
    }
    scope
}

/// Expands every `type A = T`. Aliases may refer to aliases declared later or in other files,
/// so expansion repeats until nothing changes; an alias still unknown then refers to itself.
fn resolve_aliases(loaded: &Loaded, c: &mut Collected, diags: &mut Vec<Diagnostic>) {
    let mut aliases = Vec::new();
    for (m, module) in loaded.modules.iter().enumerate() {
        for (item, &id) in module.ast.items.iter().zip(&c.item_decls[m]) {
            if let ItemKind::Alias { name, ty } = &item.kind {
                c.decls.get_mut(id).kind = DeclKind::Alias(Type::Error);
                aliases.push((m, id, name, ty));
            }
        }
    }
    let expand = |c: &Collected, m: ModuleIdx, ty: &TypeExpr, sink: &mut Vec<Diagnostic>| {
        let mut r = TypeResolver {
            decls: &c.decls,
            scope: &c.scopes[m],
            generics: &[],
            diags: sink,
            is_std: loaded.modules[m].is_std,
            used_imports: HashSet::new(),
        };
        (r.resolve(ty), r.used_imports)
    };
    for _ in 0..=aliases.len() {
        let mut changed = false;
        for &(m, id, _, ty) in &aliases {
            let (new, _) = expand(c, m, ty, &mut Vec::new());
            if !matches!(&c.decls.get(id).kind, DeclKind::Alias(old) if *old == new) {
                c.decls.get_mut(id).kind = DeclKind::Alias(new);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for &(m, _, name, ty) in &aliases {
        let mut found = Vec::new();
        let (ty, used) = expand(c, m, ty, &mut found);
        c.used_imports[m].extend(used);
        if ty.has_error() && found.is_empty() {
            diags.push(Diagnostic::new(
                Code::E0200,
                name.span,
                format!("type alias `{}` refers to itself", name.name),
                "this alias is part of a cycle of aliases",
            ));
        }
        diags.extend(found);
    }
}

/// Resolves the kinds (fields, variants, signatures) of module `m`'s declarations.
fn fill_kinds(loaded: &Loaded, m: ModuleIdx, c: &mut Collected, diags: &mut Vec<Diagnostic>) {
    let module = &loaded.modules[m];
    for (item, &id) in module.ast.items.iter().zip(&c.item_decls[m]) {
        let mut r = TypeResolver {
            decls: &c.decls,
            scope: &c.scopes[m],
            generics: &[],
            diags,
            is_std: module.is_std,
            used_imports: HashSet::new(),
        };
        let kind = match &item.kind {
            ItemKind::Struct(rec) => DeclKind::Struct(r.fields(&rec.fields, true)),
            ItemKind::Class(rec) => DeclKind::Class(r.fields(&rec.fields, false)),
            ItemKind::Enum(e) => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for (_, v) in &e.variants {
                    if let Some(first) = seen.insert(&v.name, v.span) {
                        r.diags.push(declared_twice(&v.name, v.span, first));
                    }
                }
                DeclKind::Enum(e.variants.iter().map(|(_, v)| v.name.to_string()).collect())
            }
            ItemKind::Extern(_) => DeclKind::Extern,
            ItemKind::Alias { .. } => continue,
            ItemKind::Callable(callable) => {
                DeclKind::Callable(r.signature(callable, module.is_std))
            }
        };
        let used = r.used_imports;
        c.used_imports[m].extend(used);
        c.decls.get_mut(id).kind = kind;
    }
}

/// Turns written types into checked ones within one module's scope.
pub struct TypeResolver<'a> {
    /// The declaration table.
    pub decls: &'a Decls,
    /// The module's scope.
    pub scope: &'a Scope,
    /// Type parameters in scope (generic built-ins).
    pub generics: &'a [String],
    /// Where problems go.
    pub diags: &'a mut Vec<Diagnostic>,
    /// Whether the module is part of the standard library (which may write `never`).
    pub is_std: bool,
    /// Imports (by index) whose names the resolved types used.
    pub used_imports: HashSet<usize>,
}

impl TypeResolver<'_> {
    /// The checked type of a written one.
    pub fn resolve(&mut self, te: &TypeExpr) -> Type {
        match &te.kind {
            TypeExprKind::None => Type::None,
            TypeExprKind::Optional(inner) => Type::optional(self.resolve(inner)),
            TypeExprKind::Union(members) => {
                Type::union(members.iter().map(|t| self.resolve(t)).collect())
            }
            TypeExprKind::Tuple(items) => {
                Type::Tuple(items.iter().map(|t| self.resolve(t)).collect())
            }
            TypeExprKind::Named(name, args) => self.named(name, args, te.span),
        }
    }

    fn named(&mut self, name: &ast::Ident, args: &[TypeExpr], span: Span) -> Type {
        if let Some(i) = self.generics.iter().position(|g| *g == name.name) {
            return Type::Param(i as u32);
        }
        if let Some(&(_, arity)) = BUILTIN_TYPES.iter().find(|(n, _)| *n == name.name) {
            if args.len() != arity {
                let wanted = match arity {
                    0 => "no type arguments".to_string(),
                    1 => "one type argument, `list[T]`".to_string(),
                    _ => "two type arguments, `dict[str, T]`".to_string(),
                };
                self.diags.push(Diagnostic::new(
                    Code::E0200,
                    span,
                    format!("`{}` takes {wanted}", name.name),
                    format!(
                        "{} type argument{} given",
                        args.len(),
                        if args.len() == 1 { "" } else { "s" }
                    ),
                ));
                return Type::Error;
            }
            let key_span = args.first().map_or(span, |a| a.span);
            let mut args = args.iter().map(|a| self.resolve(a));
            return match name.name.as_str() {
                "int" => Type::Int,
                "float" => Type::Float,
                "str" => Type::Str,
                "bool" => Type::Bool,
                "datetime" => Type::Datetime,
                "duration" => Type::Duration,
                "file" => Type::File,
                "dir" => Type::Dir,
                "list" => Type::List(Box::new(args.next().unwrap())),
                _ => {
                    let key = args.next().unwrap();
                    let value = args.next().unwrap();
                    if !matches!(key, Type::Str | Type::Error) {
                        self.diags.push(
                            Diagnostic::new(
                                Code::E0401,
                                key_span,
                                format!("dict keys must be `str`, not `{}`", self.decls.show(&key)),
                                "this key type cannot be lowered to a Flyte map",
                            )
                            .with_note("a Flyte map literal is keyed by strings; flytekit would silently pickle this dict")
                            .with_help(format!(
                                "use `dict[str, {}]`, or a `list` of structs holding the key and the value",
                                self.decls.show(&value)
                            )),
                        );
                        return Type::Error;
                    }
                    Type::Dict(Box::new(key), Box::new(value))
                }
            };
        }
        if name.name == "never" && self.is_std {
            return Type::Never;
        }
        if let Some(&i) = self.scope.via_import.get(name.name.as_str()) {
            self.used_imports.insert(i);
        }
        let found = self.scope.get(&name.name).map(|ids| ids[0]);
        match found.map(|id| (id, &self.decls.get(id).kind)) {
            Some((_, DeclKind::Alias(ty))) => ty.clone(),
            Some((
                id,
                DeclKind::Struct(_) | DeclKind::Class(_) | DeclKind::Enum(_) | DeclKind::Extern,
            )) => {
                if !args.is_empty() {
                    self.diags.push(Diagnostic::new(
                        Code::E0200,
                        span,
                        format!("`{}` takes no type arguments", name.name),
                        "remove the brackets",
                    ));
                }
                Type::Decl(id)
            }
            Some((_, DeclKind::Callable(sig))) => {
                self.diags.push(Diagnostic::new(
                    Code::E0100,
                    name.span,
                    format!("`{}` is a {}, not a type", name.name, sig.kind.keyword()),
                    "expected a type here",
                ));
                Type::Error
            }
            None if self.scope.broken.contains(name.name.as_str()) => Type::Error,
            None => {
                let candidates = BUILTIN_TYPES.iter().map(|(n, _)| n.to_string()).chain(
                    self.scope
                        .names
                        .iter()
                        .filter(|(_, ids)| {
                            !matches!(self.decls.get(ids[0]).kind, DeclKind::Callable(_))
                        })
                        .map(|(n, _)| n.clone()),
                );
                let mut d = Diagnostic::new(
                    Code::E0100,
                    name.span,
                    format!("unknown type `{}`", name.name),
                    "not a type in scope",
                );
                if let Some(s) = did_you_mean(&name.name, candidates) {
                    d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                        format!("replace with `{s}`"),
                        name.span,
                        s,
                    );
                }
                self.diags.push(d);
                Type::Error
            }
        }
    }

    /// The fields of a record; a struct's fields must cross an interface, so tuples are refused.
    fn fields(&mut self, params: &[ast::Param], is_struct: bool) -> Vec<FieldSig> {
        let sigs = self.params(params);
        if is_struct {
            for (p, f) in params.iter().zip(&sigs) {
                self.check_lowerable(&f.ty, p.ty.span, "a struct field");
            }
        }
        sigs
    }

    fn params(&mut self, params: &[ast::Param]) -> Vec<FieldSig> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        params
            .iter()
            .map(|p| {
                if let Some(first) = seen.insert(&p.name.name, p.name.span) {
                    self.diags
                        .push(declared_twice(&p.name.name, p.name.span, first));
                }
                self.field_sig(
                    &p.name.name,
                    &p.ty,
                    p.default.is_some(),
                    p.span,
                    p.doc.clone(),
                )
            })
            .collect()
    }

    fn field_sig(
        &mut self,
        name: &str,
        ty: &TypeExpr,
        has_default: bool,
        span: Span,
        doc: Option<String>,
    ) -> FieldSig {
        let resolved = self.resolve(ty);
        let batch = super::annotations::batch_of(ty, &resolved, self.decls, self.diags);
        FieldSig {
            name: name.to_string(),
            ty: resolved,
            has_default,
            batch,
            span,
            doc,
        }
    }

    fn signature(&mut self, c: &ast::Callable, is_std: bool) -> Signature {
        let generics: Vec<String> = c.generics.iter().map(|g| g.name.to_string()).collect();
        if !c.generics.is_empty() && !is_std {
            self.diags.push(Diagnostic::new(
                Code::E0001,
                c.generics[0].span,
                "type parameters are only available to the standard library",
                "not allowed here",
            ));
        }
        let mut inner = TypeResolver {
            decls: self.decls,
            scope: self.scope,
            generics: &generics,
            diags: &mut *self.diags,
            is_std: self.is_std,
            used_imports: HashSet::new(),
        };
        let params = inner.params(&c.params);
        let (outputs, output_span) = match &c.output {
            ast::Output::Nothing => (Outputs::Nothing, c.name.span),
            ast::Output::Type(te) => match &te.kind {
                TypeExprKind::Tuple(items) if c.kind != CallableKind::Fn => (
                    Outputs::Unnamed(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, t)| inner.field_sig(&format!("o{i}"), t, false, t.span, None))
                            .collect(),
                    ),
                    te.span,
                ),
                _ => (
                    Outputs::Single(inner.field_sig("o0", te, false, te.span, None)),
                    te.span,
                ),
            },
            ast::Output::Named(fields, span) => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for (name, _) in fields {
                    if let Some(first) = seen.insert(&name.name, name.span) {
                        inner
                            .diags
                            .push(declared_twice(&name.name, name.span, first));
                    }
                }
                (
                    Outputs::Named(
                        fields
                            .iter()
                            .map(|(n, t)| {
                                inner.field_sig(&n.name, t, false, n.span.to(t.span), None)
                            })
                            .collect(),
                    ),
                    *span,
                )
            }
        };
        if c.kind != CallableKind::Fn {
            let what = c.kind.keyword();
            for (p, f) in c.params.iter().zip(&params) {
                inner.check_lowerable(&f.ty, p.ty.span, &format!("a {what} input"));
            }
            let spans: Vec<Span> = match &c.output {
                ast::Output::Type(te) => match &te.kind {
                    TypeExprKind::Tuple(items) => items.iter().map(|t| t.span).collect(),
                    _ => vec![te.span],
                },
                ast::Output::Named(fields, _) => fields.iter().map(|(_, t)| t.span).collect(),
                ast::Output::Nothing => Vec::new(),
            };
            for (f, span) in outputs.fields().iter().zip(spans) {
                inner.check_lowerable(&f.ty, span, &format!("a {what} output"));
            }
        }
        let used = std::mem::take(&mut inner.used_imports);
        self.used_imports.extend(used);
        if c.body.is_none() && c.python.is_none() && !is_std {
            self.diags.push(
                Diagnostic::new(
                    Code::E0001,
                    c.name.span,
                    format!("`{}` has no body", c.name.name),
                    "expected `{ … }` after the signature",
                )
                .with_note("only the standard library declares built-ins without a body"),
            );
        }
        Signature {
            kind: c.kind,
            generics,
            params,
            outputs,
            output_span,
            builtin: c.body.is_none() && is_std,
        }
    }

    /// Reports E0401 when `ty` cannot cross a task boundary (tuples).
    fn check_lowerable(&mut self, ty: &Type, span: Span, what: &str) {
        if let Some(bad) = unlowerable(ty) {
            self.diags.push(
                Diagnostic::new(
                    Code::E0401,
                    span,
                    format!("{what} cannot have the type `{}`", self.decls.show(ty)),
                    format!("`{}` has no Flyte literal type", self.decls.show(&bad)),
                )
                .with_help(
                    "declare a `struct` with a named field for each item and use it instead",
                ),
            );
        }
    }
}

/// The part of `ty` that has no Flyte literal type (a tuple), if any.
fn unlowerable(ty: &Type) -> Option<Type> {
    match ty {
        Type::Tuple(_) | Type::NamedTuple(_) | Type::Never => Some(ty.clone()),
        Type::List(t) => unlowerable(t),
        Type::Dict(_, v) => unlowerable(v),
        Type::Union(ts) => ts.iter().find_map(unlowerable),
        _ => None,
    }
}
