//! Type checking of `fn` and `task` bodies (LANGUAGE.md section 7): local scopes, statements and
//! expressions, checked against what the context expects so that a mismatch is reported at the
//! innermost expression that causes it.
//!
//! Consumes a callable's AST and signature; produces diagnostics. The same [`Checker`] holds the
//! name lookup and call checking that workflow bodies ([`super::workflow`]) use.

use std::collections::HashSet;

use super::collect::{Scope, TypeResolver};
use super::suggest::did_you_mean;
use super::types::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::*;

/// What the context wants of an expression, and how to report it when it does not get it.
#[derive(Clone, Debug)]
pub struct Expect {
    /// The wanted type.
    pub ty: Type,
    /// E0200 for ordinary mismatches, E0205 for a callable's result.
    pub code: Code,
    /// Where the expectation comes from, labelled secondary.
    pub origin: Option<(Span, String)>,
    /// The first words of the message, e.g. "the argument `a` of task `t`".
    pub what: String,
}

impl Expect {
    /// An ordinary E0200 expectation.
    pub fn ty(ty: Type, what: impl Into<String>) -> Expect {
        Expect {
            ty,
            code: Code::E0200,
            origin: None,
            what: what.into(),
        }
    }

    /// Adds where the expectation comes from.
    pub fn because(mut self, span: Span, label: impl Into<String>) -> Expect {
        self.origin = Some((span, label.into()));
        self
    }
}

/// A local variable (or, in a workflow, a promise).
#[derive(Debug)]
pub struct Local {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// `var` rather than `let`.
    pub mutable: bool,
    /// Where it is bound.
    pub span: Span,
    /// Whether it was read.
    pub used: bool,
    /// Parameters are never reported unused.
    pub param: bool,
}

/// What a name stands for.
pub enum Named {
    /// A local variable or parameter, by scope depth and index.
    Local(usize, usize),
    /// Top-level declarations (several for overloaded built-ins).
    Decls(Vec<DeclId>),
}

/// The checker of one callable's body.
pub struct Checker<'a> {
    /// The declaration table.
    pub decls: &'a Decls,
    /// The module's scope.
    pub scope: &'a Scope,
    /// Where problems go.
    pub diags: &'a mut Vec<Diagnostic>,
    /// The callable being checked.
    pub owner: &'a Callable,
    /// Its signature.
    pub sig: &'a Signature,
    /// Imports of the module whose names were used.
    pub used_imports: &'a mut HashSet<usize>,
    /// Workflow-to-workflow calls, for E0302.
    pub workflow_calls: &'a mut Vec<(DeclId, Span)>,
    /// Whether the module is part of the standard library.
    pub is_std: bool,
    /// Local scopes, innermost last.
    pub locals: Vec<Vec<Local>>,
    /// Whether the arguments being matched are a record's fields (for wording).
    pub record_fields: bool,
    loops: usize,
    /// Where the types found are recorded, when they are (see [`super::facts`]).
    pub(super) facts: Option<&'a mut super::facts::Facts>,
}

impl<'a> Checker<'a> {
    /// A checker for `owner`'s body.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        decls: &'a Decls,
        scope: &'a Scope,
        diags: &'a mut Vec<Diagnostic>,
        owner: &'a Callable,
        sig: &'a Signature,
        used_imports: &'a mut HashSet<usize>,
        workflow_calls: &'a mut Vec<(DeclId, Span)>,
        is_std: bool,
    ) -> Self {
        Checker {
            decls,
            scope,
            diags,
            owner,
            sig,
            used_imports,
            workflow_calls,
            is_std,
            locals: Vec::new(),
            record_fields: false,
            loops: 0,
            facts: None,
        }
    }

    /// Checks the body of a `fn` or `task`, with its parameters in scope.
    pub fn check_body(&mut self) {
        let Some(body) = &self.owner.body else { return };
        self.push_params();
        let expect = self.output_expect();
        let ty = self.block(body, expect.as_ref());
        if expect.is_some() && ty == Type::None && !ends_with_value(body) {
            self.missing_value(body);
        }
        self.pop_scope();
    }

    /// Checks parameter (or field) defaults against their declared types.
    pub fn check_defaults(&mut self) {
        for (param, field) in self.owner.params.iter().zip(&self.sig.params) {
            if let Some(default) = &param.default {
                let expect =
                    Expect::ty(field.ty.clone(), format!("the default of `{}`", field.name))
                        .because(param.ty.span, "declared type");
                self.push_scope();
                self.expr(default, Some(&expect));
                self.pop_scope();
            }
        }
    }

    /// Puts the parameters in a first scope.
    pub fn push_params(&mut self) {
        let params = self
            .sig
            .params
            .iter()
            .zip(&self.owner.params)
            .map(|(f, p)| Local {
                name: f.name.clone(),
                ty: f.ty.clone(),
                mutable: false,
                span: p.name.span,
                used: false,
                param: true,
            });
        self.locals.push(params.collect());
    }

    /// What the body's value must be, from the declared outputs (none when nothing is declared).
    pub fn output_expect(&self) -> Option<Expect> {
        if self.sig.outputs == Outputs::Nothing {
            return None;
        }
        let kind = self.owner.kind.keyword();
        Some(Expect {
            ty: self.sig.outputs.value_type(),
            code: Code::E0205,
            origin: Some((self.sig.output_span, "declared output".into())),
            what: format!("the result of {kind} `{}`", self.owner.name.name),
        })
    }

    /// E0205 for a body that declares outputs but ends without a value.
    pub fn missing_value(&mut self, body: &Block) {
        let end = Span {
            start: body.span.end.saturating_sub(1),
            ..body.span
        };
        let ty = self.decls.show(&self.sig.outputs.value_type());
        self.diags.push(
            Diagnostic::new(
                Code::E0205,
                end,
                format!(
                    "`{}` ends without producing its output `{ty}`",
                    self.owner.name.name
                ),
                "the body ends here without a value",
            )
            .with_label(self.sig.output_span, "declared output"),
        );
    }

    // ------------------------------------------------------------ scopes and names

    /// Opens a scope.
    pub fn push_scope(&mut self) {
        self.locals.push(Vec::new());
    }

    /// Closes a scope, reporting its unused variables (W0200).
    pub fn pop_scope(&mut self) {
        let scope = self.locals.pop().unwrap_or_default();
        for local in scope {
            if !local.used && !local.param && !local.name.starts_with('_') {
                self.diags.push(
                    Diagnostic::new(
                        Code::W0200,
                        local.span,
                        format!("unused variable `{}`", local.name),
                        "never read",
                    )
                    .with_help(format!("if this is intentional, name it `_{}`", local.name))
                    .with_fix(
                        "prefix it with `_`",
                        local.span,
                        format!("_{}", local.name),
                    ),
                );
            }
        }
    }

    /// Binds a name in the innermost scope (`_` binds nothing).
    pub fn bind(&mut self, ident: &Ident, ty: Type, mutable: bool) {
        if ident.name == "_" {
            return;
        }
        if let Some(facts) = self.facts() {
            facts.bindings.insert(ident.span, ty.clone());
        }
        let local = Local {
            name: ident.name.to_string(),
            ty,
            mutable,
            span: ident.span,
            used: false,
            param: false,
        };
        self.locals.last_mut().expect("a scope is open").push(local);
    }

    /// Binds a pattern to a value of type `ty`; E0204 when a tuple pattern has the wrong length.
    pub fn bind_pattern(&mut self, pattern: &Pattern, ty: &Type, mutable: bool, value_span: Span) {
        match pattern {
            Pattern::Name(ident) => self.bind(ident, ty.clone(), mutable),
            Pattern::Tuple(items, span) => {
                let parts: Option<Vec<Type>> = match ty {
                    Type::Tuple(ts) => Some(ts.clone()),
                    Type::NamedTuple(fs) => Some(fs.iter().map(|(_, t)| t.clone()).collect()),
                    Type::Error => Some(vec![Type::Error; items.len()]),
                    _ => None,
                };
                match parts {
                    Some(parts) if parts.len() == items.len() => {
                        for (p, t) in items.iter().zip(&parts) {
                            self.bind_pattern(p, t, mutable, value_span);
                        }
                    }
                    other => {
                        let n = other.as_ref().map_or(1, Vec::len);
                        self.diags.push(
                            Diagnostic::new(
                                Code::E0204,
                                *span,
                                format!(
                                    "{} names bound to a value with {n} item{}",
                                    items.len(),
                                    plural(n)
                                ),
                                format!("{} names", items.len()),
                            )
                            .with_label(value_span, format!("this is `{}`", self.decls.show(ty))),
                        );
                        self.bind_silently(items, mutable, value_span);
                    }
                }
            }
        }
    }

    /// Binds the names of patterns whose value is already in error, never reporting them unused.
    pub fn bind_silently(&mut self, items: &[Pattern], mutable: bool, value_span: Span) {
        for p in items {
            self.bind_pattern(p, &Type::Error, mutable, value_span);
        }
        for local in self.locals.last_mut().into_iter().flatten() {
            if local.ty == Type::Error {
                local.used = true;
            }
        }
    }

    /// What `name` stands for, innermost first; does not report.
    pub fn lookup(&self, name: &str) -> Option<Named> {
        for (depth, scope) in self.locals.iter().enumerate().rev() {
            if let Some(i) = scope.iter().rposition(|l| l.name == name) {
                return Some(Named::Local(depth, i));
            }
        }
        self.scope.get(name).map(|ids| Named::Decls(ids.to_vec()))
    }

    /// Marks an import used when `name` came through it.
    pub fn note_use(&mut self, name: &str) {
        if let Some(&i) = self.scope.via_import.get(name) {
            self.used_imports.insert(i);
        }
    }

    /// E0100 for an unknown name, with "did you mean" among every name in scope.
    pub fn unknown_name(&mut self, ident: &Ident, what: &str) {
        if self.scope.broken.contains(ident.name.as_str()) {
            return;
        }
        let locals = self.locals.iter().flatten().map(|l| l.name.clone());
        let globals = self.scope.names.keys().cloned();
        let mut d = Diagnostic::new(
            Code::E0100,
            ident.span,
            format!("unknown {what} `{}`", ident.name),
            "not found in this scope",
        );
        if let Some(s) = did_you_mean(&ident.name, locals.chain(globals)) {
            d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                format!("replace with `{s}`"),
                ident.span,
                s,
            );
        }
        self.diags.push(d);
    }

    /// Reports a mismatch between `found` at `span` and `expect`, unless it fits.
    pub fn check_fits(&mut self, found: &Type, span: Span, expect: &Expect) {
        if self.decls.fits(found, &expect.ty) {
            return;
        }
        let want = self.decls.show(&expect.ty);
        let got = self.decls.show(found);
        if let (Code::E0205, Some(wanted), Some(given)) =
            (expect.code, arity(&expect.ty), arity(found))
        {
            if wanted != given {
                let mut d = Diagnostic::new(
                    Code::E0204,
                    span,
                    format!(
                        "{} has {wanted} outputs, but {given} values are given",
                        expect.what
                    ),
                    format!("{given} values"),
                );
                if let Some((origin, _)) = &expect.origin {
                    d = d.with_label(*origin, format!("{wanted} outputs declared: `{want}`"));
                }
                self.diags.push(d);
                return;
            }
        }
        let mut d = Diagnostic::new(
            expect.code,
            span,
            format!("{} must be `{want}`, found `{got}`", expect.what),
            format!("this is `{got}`"),
        );
        if let Some((origin, label)) = &expect.origin {
            d = d.with_label(*origin, format!("{label}: `{want}`"));
        }
        if let Some(help) = conversion_help(found, &expect.ty) {
            d = d.with_help(help);
        }
        self.diags.push(d);
    }

    /// Resolves a written type (in a `let` annotation).
    pub fn resolve_type(&mut self, te: &TypeExpr) -> Type {
        let mut resolver = TypeResolver {
            decls: self.decls,
            scope: self.scope,
            generics: &[],
            diags: self.diags,
            is_std: self.is_std,
            used_imports: std::collections::HashSet::new(),
        };
        let ty = resolver.resolve(te);
        self.used_imports.extend(resolver.used_imports);
        ty
    }

    // ------------------------------------------------------------ statements

    /// Checks a block; its type is its last expression's, or `none`.
    pub fn block(&mut self, block: &Block, expect: Option<&Expect>) -> Type {
        self.push_scope();
        let mut ty = Type::None;
        let last = block.stmts.len().saturating_sub(1);
        for (i, stmt) in block.stmts.iter().enumerate() {
            let is_last = i == last;
            ty = match &stmt.kind {
                StmtKind::Expr(e) if is_last => self.expr(e, expect),
                _ => self.stmt(stmt),
            };
        }
        self.pop_scope();
        ty
    }

    fn stmt(&mut self, stmt: &Stmt) -> Type {
        match &stmt.kind {
            StmtKind::Let {
                mutable,
                pattern,
                ty,
                value,
            } => {
                let declared = ty.as_ref().map(|te| (self.resolve_type(te), te.span));
                let found = match &declared {
                    Some((t, span)) => {
                        let e = Expect::ty(t.clone(), "this value").because(*span, "declared type");
                        self.expr(value, Some(&e));
                        t.clone()
                    }
                    None => self.expr(value, None),
                };
                self.bind_pattern(pattern, &found, *mutable, value.span);
                Type::None
            }
            StmtKind::Assign {
                target,
                indices,
                value,
            } => {
                self.assign(target, indices, value);
                Type::None
            }
            StmtKind::For {
                pattern,
                iter,
                body,
            } => {
                let item = self.iter_item(iter);
                self.push_scope();
                self.bind_pattern(pattern, &item, false, iter.span);
                self.loops += 1;
                self.block(body, None);
                self.loops -= 1;
                self.pop_scope();
                Type::None
            }
            StmtKind::While { cond, body } => {
                self.expr(cond, Some(&Expect::ty(Type::Bool, "a `while` condition")));
                self.loops += 1;
                self.block(body, None);
                self.loops -= 1;
                Type::None
            }
            StmtKind::Break | StmtKind::Continue => {
                if self.loops == 0 {
                    let word = if stmt.kind == StmtKind::Break {
                        "break"
                    } else {
                        "continue"
                    };
                    self.diags.push(Diagnostic::new(
                        Code::E0001,
                        stmt.span,
                        format!("`{word}` outside a loop"),
                        "not inside `for` or `while`",
                    ));
                }
                Type::Never
            }
            StmtKind::Return(value) => {
                let expect = self.output_expect();
                match (value, &expect) {
                    (Some(v), _) => {
                        self.expr(v, expect.as_ref());
                    }
                    (None, Some(e)) => self.check_fits(&Type::None, stmt.span, e),
                    (None, None) => {}
                }
                Type::Never
            }
            StmtKind::Expr(e) => {
                let ty = self.expr(e, None);
                if ty == Type::Never {
                    ty
                } else {
                    Type::None
                }
            }
            StmtKind::Error => Type::Error,
        }
    }

    fn assign(&mut self, target: &Ident, indices: &[Expr], value: &Expr) {
        let Some(Named::Local(depth, i)) = self.lookup(&target.name) else {
            self.unknown_name(target, "variable");
            self.expr(value, None);
            return;
        };
        let local = &mut self.locals[depth][i];
        local.used |= !indices.is_empty();
        let (mutable, mut ty, bound_at) = (local.mutable, local.ty.clone(), local.span);
        if !mutable {
            self.diags.push(
                Diagnostic::new(
                    Code::E0200,
                    target.span,
                    format!("cannot assign to `{}`, bound with `let`", target.name),
                    "assigned here",
                )
                .with_label(bound_at, "bound here")
                .with_help(format!(
                    "declare it with `var {}` to reassign it",
                    target.name
                )),
            );
        }
        for index in indices {
            ty = self.item_type(ty, index, index.span, false);
        }
        let expect = Expect::ty(ty, format!("the value assigned to `{}`", target.name))
            .because(bound_at, "its type");
        self.expr(value, Some(&expect));
    }

    /// The item type of a list iterated by `for` or a comprehension.
    pub fn iter_item(&mut self, iter: &Expr) -> Type {
        match self.expr(iter, None) {
            Type::List(item) => *item,
            Type::Error => Type::Error,
            Type::Dict(..) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::E0200,
                        iter.span,
                        "cannot iterate over a dict",
                        "this is a dict",
                    )
                    .with_help("iterate over `keys(d)` or `values(d)`"),
                );
                Type::Error
            }
            other => {
                self.diags.push(Diagnostic::new(
                    Code::E0200,
                    iter.span,
                    format!("cannot iterate over `{}`", self.decls.show(&other)),
                    "not a list",
                ));
                Type::Error
            }
        }
    }
}

/// The number of items of a tuple type.
fn arity(ty: &Type) -> Option<usize> {
    match ty {
        Type::Tuple(ts) => Some(ts.len()),
        Type::NamedTuple(fs) => Some(fs.len()),
        _ => None,
    }
}

/// A help line for common conversions between `found` and `wanted`.
fn conversion_help(found: &Type, wanted: &Type) -> Option<String> {
    match (found, wanted) {
        (Type::Float, Type::Int) => Some("convert with `int(x)` (truncates) or `round(x)`".into()),
        (Type::Str, Type::Int) => Some("parse it with `int(s)`".into()),
        (Type::Str, Type::Float) => Some("parse it with `float(s)`".into()),
        (_, Type::Str) if !matches!(found, Type::Error) => {
            Some("convert with `str(x)` or interpolate: `\"{x}\"`".into())
        }
        (Type::Union(ts), t) if ts.contains(&Type::None) && !matches!(t, Type::Union(_)) => Some(
            "the value may be `none`: give a fallback with `x ?? default`, or `unwrap(x)`".into(),
        ),
        _ => None,
    }
}

/// Whether a block's last statement gives a value (an expression or a `return`).
fn ends_with_value(block: &Block) -> bool {
    matches!(
        block.stmts.last().map(|s| &s.kind),
        Some(StmtKind::Expr(_) | StmtKind::Return(_))
    )
}

/// `"s"` when `n` is not 1.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
