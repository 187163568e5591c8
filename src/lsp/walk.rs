//! The walk behind [`Index::build`]: one pass over a module's syntax tree with a stack of the
//! names bound in the current body, recording every occurrence, local and body it meets. The
//! types of locals and of the values fields are read from are the checker's
//! ([`crate::check::facts::Facts`]).
//!
//! Consumes a checked program and a module index; produces that module's occurrences, sorted.

use crate::check::collect::Scope;
use crate::check::facts::Facts;
use crate::check::load::ModuleIdx;
use crate::check::types::{DeclId, DeclKind, Type};
use crate::check::Checked;
use crate::source::Span;
use crate::syntax::ast::{
    Block, Comprehension, Expr, ExprKind, Ident, Item, ItemKind, Output, Pattern, Stmt, StmtKind,
    StrPart, TypeExpr, TypeExprKind,
};

use super::index::{Body, Def, Index, Local, LocalKind, Occurrence, BUILTIN_TYPES};

/// Walks module `m`, adding its locals and bodies to `index`; returns its occurrences in source
/// order.
pub fn index_module(checked: &Checked, m: ModuleIdx, index: &mut Index) -> Vec<Occurrence> {
    let module = &checked.modules[m];
    let mut walker = Walker {
        checked,
        facts: checked.facts.as_ref(),
        module: m,
        scope: &checked.scopes[m],
        occurrences: Vec::new(),
        index,
        stack: Vec::new(),
        owner: None,
    };
    for (i, import) in module.ast.imports.iter().enumerate() {
        if let Some(Some(target)) = module.imports.get(i) {
            walker.push(import.target_span, Def::Module(*target), false);
        }
    }
    for (i, item) in module.ast.items.iter().enumerate() {
        let id = checked.item_decls[m][i];
        walker.item(id, item);
    }
    let mut occurrences = walker.occurrences;
    occurrences.sort_by_key(|o| (o.span.start, o.span.end));
    occurrences
}

/// A name bound inside a body.
#[derive(Clone, Copy)]
enum Binding {
    Param(DeclId, usize),
    Local(usize),
}

struct Walker<'a> {
    checked: &'a Checked,
    facts: Option<&'a Facts>,
    module: ModuleIdx,
    scope: &'a Scope,
    occurrences: Vec<Occurrence>,
    index: &'a mut Index,
    stack: Vec<(String, Binding)>,
    owner: Option<DeclId>,
}

impl Walker<'_> {
    fn push(&mut self, span: Span, def: Def, is_def: bool) {
        self.occurrences.push(Occurrence { span, def, is_def });
    }

    fn item(&mut self, id: DeclId, item: &Item) {
        let name = item.name();
        self.push(name.span, Def::Decl(id), true);
        match &item.kind {
            ItemKind::Struct(record) | ItemKind::Class(record) => {
                for (index, field) in record.fields.iter().enumerate() {
                    self.push(field.name.span, Def::Field { owner: id, index }, true);
                    self.type_expr(&field.ty);
                    if let Some(default) = &field.default {
                        self.expr(default);
                    }
                }
            }
            ItemKind::Enum(e) => {
                for (index, (_, variant)) in e.variants.iter().enumerate() {
                    self.push(variant.span, Def::Variant { owner: id, index }, true);
                }
            }
            ItemKind::Extern(_) => {}
            ItemKind::Alias { ty, .. } => self.type_expr(ty),
            ItemKind::Callable(c) => {
                for (index, param) in c.params.iter().enumerate() {
                    self.push(param.name.span, Def::Param { owner: id, index }, true);
                    self.type_expr(&param.ty);
                    if let Some(default) = &param.default {
                        self.expr(default);
                    }
                }
                match &c.output {
                    Output::Nothing => {}
                    Output::Type(te) => self.type_expr(te),
                    Output::Named(fields, _) => {
                        for (_, te) in fields {
                            self.type_expr(te);
                        }
                    }
                }
                if let Some(body) = &c.body {
                    self.index.bodies.push(Body {
                        module: self.module,
                        owner: id,
                        span: body.span,
                    });
                    self.owner = Some(id);
                    self.stack = c
                        .params
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (p.name.name.to_string(), Binding::Param(id, i)))
                        .collect();
                    self.block(body);
                    self.stack.clear();
                    self.owner = None;
                }
            }
        }
    }

    fn type_expr(&mut self, te: &TypeExpr) {
        match &te.kind {
            TypeExprKind::Named(name, args) => {
                if BUILTIN_TYPES.contains(&name.name.as_str()) {
                    self.push(name.span, Def::BuiltinType(name.name.to_string()), false);
                } else if let Some(ids) = self.scope.get(&name.name) {
                    if !matches!(self.checked.decls.get(ids[0]).kind, DeclKind::Callable(_)) {
                        self.push(name.span, Def::Decl(ids[0]), false);
                    }
                }
                for arg in args {
                    self.type_expr(arg);
                }
            }
            TypeExprKind::None => {}
            TypeExprKind::Optional(inner) => self.type_expr(inner),
            TypeExprKind::Union(items) | TypeExprKind::Tuple(items) => {
                for item in items {
                    self.type_expr(item);
                }
            }
        }
    }

    fn lookup(&self, name: &str) -> Option<Def> {
        if let Some((_, binding)) = self.stack.iter().rev().find(|(n, _)| n == name) {
            return Some(match *binding {
                Binding::Param(owner, index) => Def::Param { owner, index },
                Binding::Local(l) => Def::Local(l),
            });
        }
        self.scope.get(name).map(|ids| Def::Decl(ids[0]))
    }

    fn block(&mut self, block: &Block) {
        let mark = self.stack.len();
        for stmt in &block.stmts {
            self.stmt(stmt, block.span.end);
        }
        self.stack.truncate(mark);
    }

    fn stmt(&mut self, stmt: &Stmt, block_end: u32) {
        match &stmt.kind {
            StmtKind::Let {
                mutable,
                pattern,
                ty,
                value,
            } => {
                self.expr(value);
                if let Some(te) = ty {
                    self.type_expr(te);
                }
                let kind = if *mutable {
                    LocalKind::Var
                } else {
                    LocalKind::Let
                };
                self.bind(
                    pattern,
                    kind,
                    ty.as_deref().cloned(),
                    (stmt.span.end, block_end),
                );
            }
            StmtKind::Assign {
                target,
                indices,
                value,
            } => {
                if let Some(def) = self.lookup(&target.name) {
                    self.push(target.span, def, false);
                }
                for index in indices {
                    self.expr(index);
                }
                self.expr(value);
            }
            StmtKind::For {
                pattern,
                iter,
                body,
            } => {
                self.expr(iter);
                let mark = self.stack.len();
                self.bind(
                    pattern,
                    LocalKind::Loop,
                    None,
                    (body.span.start, body.span.end),
                );
                self.block(body);
                self.stack.truncate(mark);
            }
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            StmtKind::Return(Some(e)) | StmtKind::Expr(e) => self.expr(e),
            StmtKind::Return(None) | StmtKind::Break | StmtKind::Continue | StmtKind::Error => {}
        }
    }

    fn bind(
        &mut self,
        pattern: &Pattern,
        kind: LocalKind,
        written: Option<TypeExpr>,
        visible: (u32, u32),
    ) {
        match pattern {
            Pattern::Name(ident) => {
                if ident.name == "_" {
                    return;
                }
                let l = self.index.locals.len();
                let ty = self
                    .facts
                    .and_then(|f| f.bindings.get(&ident.span))
                    .filter(|t| !t.has_error())
                    .cloned();
                self.index.locals.push(Local {
                    name: ident.name.to_string(),
                    span: ident.span,
                    kind,
                    written,
                    ty,
                    visible,
                    module: self.module,
                });
                self.push(ident.span, Def::Local(l), true);
                self.stack.push((ident.name.to_string(), Binding::Local(l)));
            }
            Pattern::Tuple(items, _) => {
                for item in items {
                    self.bind(item, kind, None, visible);
                }
            }
        }
    }

    fn comprehension(&mut self, comp: &Comprehension, whole: Span, body: &[&Expr]) {
        self.expr(&comp.iter);
        let mark = self.stack.len();
        self.bind(
            &comp.pattern,
            LocalKind::Comprehension,
            None,
            (whole.start, whole.end),
        );
        if let Some(cond) = &comp.cond {
            self.expr(cond);
        }
        for e in body {
            self.expr(e);
        }
        self.stack.truncate(mark);
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Duration(_)
            | ExprKind::Error => {}
            ExprKind::Str(parts) => {
                for part in parts {
                    if let StrPart::Interp(inner) = part {
                        self.expr(inner);
                    }
                }
            }
            ExprKind::Name(ident) => {
                if let Some(def) = self.lookup(&ident.name) {
                    self.push(ident.span, def, false);
                }
            }
            ExprKind::List(items) | ExprKind::Tuple(items) => {
                for item in items {
                    self.expr(item);
                }
            }
            ExprKind::Dict(entries) => {
                for (k, v) in entries {
                    self.expr(k);
                    self.expr(v);
                }
            }
            ExprKind::NamedTuple(items) => {
                for (_, v) in items {
                    self.expr(v);
                }
            }
            ExprKind::Unary(_, inner) | ExprKind::Fail(inner) => self.expr(inner),
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call(callee, args) => {
                self.expr(callee);
                let target = match &callee.kind {
                    ExprKind::Name(ident) => match self.lookup(&ident.name) {
                        Some(Def::Decl(_)) => self.scope.get(&ident.name),
                        _ => None,
                    },
                    _ => None,
                };
                for arg in args {
                    if let (Some(name), Some(ids)) = (&arg.name, target) {
                        if let Some(def) = named_arg(self.checked, ids, &name.name) {
                            self.push(name.span, def, false);
                        }
                    }
                    self.expr(&arg.value);
                }
            }
            ExprKind::Field(receiver, name) => {
                self.expr(receiver);
                if let Some(def) = self.member(receiver, name) {
                    self.push(name.span, def, false);
                }
            }
            ExprKind::TupleIndex(receiver, _, _) => self.expr(receiver),
            ExprKind::If(cond, then, otherwise) => {
                self.expr(cond);
                self.block(then);
                if let Some(otherwise) = otherwise {
                    self.expr(otherwise);
                }
            }
            ExprKind::Block(block) => self.block(block),
            ExprKind::ListComp(item, comp) => self.comprehension(comp, e.span, &[item]),
            ExprKind::DictComp(k, v, comp) => self.comprehension(comp, e.span, &[k, v]),
        }
    }

    /// What `receiver.name` stands for: an enum variant, or a field of the record type the
    /// checker found the receiver to have.
    fn member(&self, receiver: &Expr, name: &Ident) -> Option<Def> {
        if let ExprKind::Name(ident) = &receiver.kind {
            if let Some(Def::Decl(id)) = self.lookup(&ident.name) {
                if let DeclKind::Enum(variants) = &self.checked.decls.get(id).kind {
                    let index = variants.iter().position(|v| *v == name.name)?;
                    return Some(Def::Variant { owner: id, index });
                }
            }
        }
        let receiver = self.facts?.receivers.get(&name.span)?;
        field_of(self.checked, receiver, &name.name)
    }
}

/// The parameter (or constructor field) `name` of the callable or record that `ids` declare.
pub fn named_arg(checked: &Checked, ids: &[DeclId], name: &str) -> Option<Def> {
    ids.iter()
        .find_map(|&id| match &checked.decls.get(id).kind {
            DeclKind::Callable(sig) => sig
                .params
                .iter()
                .position(|p| p.name == name)
                .map(|index| Def::Param { owner: id, index }),
            DeclKind::Struct(fields) | DeclKind::Class(fields) => fields
                .iter()
                .position(|f| f.name == name)
                .map(|index| Def::Field { owner: id, index }),
            _ => None,
        })
}

/// Field `name` of a value of type `ty` (a struct or class, or an optional one).
pub fn field_of(checked: &Checked, ty: &Type, name: &str) -> Option<Def> {
    let ty = ty.strip_none().unwrap_or_else(|| ty.clone());
    let Type::Decl(owner) = ty else {
        return None;
    };
    let index = checked
        .decls
        .fields(&ty)?
        .iter()
        .position(|f| f.name == name)?;
    Some(Def::Field { owner, index })
}
