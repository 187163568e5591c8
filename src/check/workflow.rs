//! Workflow bodies (LANGUAGE.md section 6): names are promises of values that do not exist yet,
//! so a body may only wire calls together — `let`, attribute access, branches on comparisons,
//! map comprehensions over one call, and the outputs. Reports E0300 (computation on a promise),
//! E0301 (branch conditions, `else`, branch types) and E0204 (destructuring outputs).

use super::body::{Checker, Expect, Named};
use super::types::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::*;

const MOVE_TO_TASK: &str = "move the computation into a task, which runs once the value exists";

impl Checker<'_> {
    /// Checks a workflow's body.
    pub fn check_workflow(&mut self) {
        let Some(body) = &self.owner.body else { return };
        self.push_params();
        let expect = self.output_expect();
        let ty = self.wf_block(body, expect.as_ref());
        if expect.is_some()
            && ty == Type::None
            && !matches!(
                body.stmts.last().map(|s| &s.kind),
                Some(StmtKind::Expr(_) | StmtKind::Return(_))
            )
        {
            self.missing_value(body);
        }
        self.pop_scope();
    }

    fn wf_block(&mut self, block: &Block, expect: Option<&Expect>) -> Type {
        self.push_scope();
        let mut ty = Type::None;
        let last = block.stmts.len().saturating_sub(1);
        for (i, stmt) in block.stmts.iter().enumerate() {
            ty = match &stmt.kind {
                StmtKind::Expr(e) if i == last => self.wf_value(e, expect),
                StmtKind::Return(Some(e)) => {
                    let expect = self.output_expect();
                    self.wf_value(e, expect.as_ref());
                    Type::Never
                }
                StmtKind::Let {
                    mutable: false,
                    pattern,
                    ty: declared,
                    value,
                } => {
                    let declared = declared.as_ref().map(|te| (self.resolve_type(te), te.span));
                    let found = match &declared {
                        Some((t, span)) => {
                            let e =
                                Expect::ty(t.clone(), "this value").because(*span, "declared type");
                            self.wf_value(value, Some(&e));
                            t.clone()
                        }
                        None => self.wf_value(value, None),
                    };
                    self.wf_bind(pattern, &found, value);
                    Type::None
                }
                StmtKind::Expr(e) => {
                    self.wf_value(e, None);
                    Type::None
                }
                StmtKind::Error => Type::Error,
                _ => {
                    self.not_in_workflow(stmt);
                    Type::None
                }
            };
        }
        self.pop_scope();
        ty
    }

    /// Binds a workflow `let`; destructuring a call names its outputs (E0204 when they differ).
    fn wf_bind(&mut self, pattern: &Pattern, ty: &Type, value: &Expr) {
        if let (Pattern::Tuple(items, span), ExprKind::Call(callee, _)) = (pattern, &value.kind) {
            let outputs = match ty {
                Type::Tuple(ts) => ts.len(),
                Type::NamedTuple(fs) => fs.len(),
                Type::Error => items.len(),
                _ => 1,
            };
            if outputs != items.len() {
                let callee_name = match &callee.kind {
                    ExprKind::Name(n) => format!("`{}`", n.name),
                    _ => "the call".into(),
                };
                self.diags.push(
                    Diagnostic::new(
                        Code::E0204,
                        *span,
                        format!(
                            "{callee_name} has {outputs} output{}, but {} names are bound",
                            super::body::plural(outputs),
                            items.len()
                        ),
                        format!("{} names", items.len()),
                    )
                    .with_label(value.span, format!("this gives `{}`", self.decls.show(ty))),
                );
                self.bind_silently(items, false, value.span);
                return;
            }
        }
        self.bind_pattern(pattern, ty, false, value.span);
    }

    fn not_in_workflow(&mut self, stmt: &Stmt) {
        let what = match &stmt.kind {
            StmtKind::Let { .. } => "`var`",
            StmtKind::Assign { .. } => "assignment",
            StmtKind::For { .. } => "a `for` loop",
            StmtKind::While { .. } => "a `while` loop",
            StmtKind::Break | StmtKind::Continue => "`break` and `continue`",
            _ => "this statement",
        };
        self.diags.push(
            Diagnostic::new(Code::E0300, stmt.span, format!("{what} cannot be used in a workflow body"), "not allowed in a workflow")
                .with_note("a workflow body is compiled into a graph of task calls; its names are promises of values that do not exist yet")
                .with_help("bind calls with `let`, iterate with a map `[t(x=i) for i in xs]`, or move the logic into a task"),
        );
    }

    /// E0300 for a `fn` or built-in called in a workflow body.
    pub fn fn_in_workflow(&mut self, e: &Expr, name: &Ident) {
        self.diags.push(
            Diagnostic::new(Code::E0300, e.span, format!("`{}` cannot be called in a workflow body", name.name), "a function call on promises")
                .with_note("workflow inputs and task outputs are promises: their values exist only when the workflow runs")
                .with_help(MOVE_TO_TASK),
        );
    }

    fn computation(&mut self, e: &Expr, what: &str) {
        self.diags.push(
            Diagnostic::new(Code::E0300, e.span, format!("{what} in a workflow body"), "computed on a promise")
                .with_note("workflow inputs and task outputs are promises: their values exist only when the workflow runs")
                .with_help(MOVE_TO_TASK),
        );
    }

    /// The type of a value in a workflow body: promises, literals, calls (nodes), records and
    /// collections of those, attribute access, branches and maps.
    pub fn wf_value(&mut self, e: &Expr, expect: Option<&Expect>) -> Type {
        let ty = match &e.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Duration(_)
            | ExprKind::Error => {
                return self.expr(e, expect);
            }
            ExprKind::Str(parts) => {
                if parts.iter().any(|p| matches!(p, StrPart::Interp(_))) {
                    self.computation(e, "string interpolation");
                    return Type::Error;
                }
                Type::Str
            }
            ExprKind::Name(ident) => match self.lookup(&ident.name) {
                Some(Named::Local(depth, i)) => {
                    let local = &mut self.locals[depth][i];
                    local.used = true;
                    local.ty.clone()
                }
                _ => return self.expr(e, expect),
            },
            ExprKind::List(items) => {
                let item_expect = match expect.map(|x| &x.ty) {
                    Some(Type::List(t)) => Some(Expect::ty((**t).clone(), "a list item")),
                    _ => None,
                };
                let types: Vec<Type> = items
                    .iter()
                    .map(|x| self.wf_value(x, item_expect.as_ref()))
                    .collect();
                match (item_expect, types.first()) {
                    (Some(x), _) => Type::List(Box::new(x.ty)),
                    (None, Some(first)) => Type::List(Box::new(
                        types
                            .iter()
                            .fold(first.clone(), |acc, t| self.decls.join(&acc, t)),
                    )),
                    (None, None) => return self.expr(e, expect),
                }
            }
            ExprKind::Dict(entries) => {
                let value_expect = match expect.map(|x| &x.ty) {
                    Some(Type::Dict(_, v)) => Some(Expect::ty((**v).clone(), "a dict value")),
                    _ => None,
                };
                let mut value_ty = None;
                for (k, v) in entries {
                    self.wf_value(k, Some(&Expect::ty(Type::Str, "a dict key")));
                    let t = self.wf_value(v, value_expect.as_ref());
                    value_ty.get_or_insert(t);
                }
                match (value_expect, value_ty) {
                    (Some(x), _) => Type::Dict(Box::new(Type::Str), Box::new(x.ty)),
                    (None, Some(t)) => Type::Dict(Box::new(Type::Str), Box::new(t)),
                    (None, None) => return self.expr(e, expect),
                }
            }
            ExprKind::Tuple(items) => {
                Type::Tuple(items.iter().map(|x| self.wf_value(x, None)).collect())
            }
            ExprKind::NamedTuple(items) => {
                let wanted: Vec<(String, Type)> = match expect.map(|x| &x.ty) {
                    Some(Type::NamedTuple(fs)) => fs.clone(),
                    _ => Vec::new(),
                };
                let fields = items
                    .iter()
                    .map(|(n, x)| {
                        let inner = wanted.iter().find(|(w, _)| *w == n.name).map(|(_, t)| {
                            Expect::ty(t.clone(), format!("the output `{}`", n.name))
                        });
                        (n.name.to_string(), self.wf_value(x, inner.as_ref()))
                    })
                    .collect();
                Type::NamedTuple(fields)
            }
            ExprKind::Call(callee, args) => self.wf_call(e, callee, args),
            ExprKind::Field(obj, name) => {
                if let ExprKind::Name(n) = &obj.kind {
                    if let Some(Named::Decls(ids)) = self.lookup(&n.name) {
                        if let DeclKind::Enum(variants) = &self.decls.get(ids[0]).kind {
                            self.note_use(&n.name);
                            return self.enum_variant(ids[0], variants, name);
                        }
                    }
                }
                let ty = self.wf_value(obj, None);
                self.field_of(&ty, name)
            }
            ExprKind::TupleIndex(obj, n, span) => {
                let ty = self.wf_value(obj, None);
                self.tuple_item(&ty, *n, *span)
            }
            ExprKind::Index(obj, index) => {
                if !is_literal(index) {
                    self.computation(e, "indexing with a computed key");
                    return Type::Error;
                }
                let ty = self.wf_value(obj, None);
                self.item_type(ty, index, obj.span, false)
            }
            ExprKind::If(cond, then, otherwise) => {
                return self.wf_branch(e, cond, then, otherwise.as_deref(), expect)
            }
            ExprKind::ListComp(elem, comp) => self.wf_map(e, elem, comp),
            ExprKind::Fail(msg) => {
                self.expr(msg, Some(&Expect::ty(Type::Str, "the message of `fail`")));
                Type::Never
            }
            ExprKind::Unary(..) => {
                self.computation(e, "an operator applied to a promise");
                return Type::Error;
            }
            ExprKind::Binary(op, ..) => {
                let what = if op.is_comparison() {
                    format!(
                        "a comparison (`{}`) outside a branch condition",
                        op.symbol()
                    )
                } else {
                    format!("arithmetic (`{}`)", op.symbol())
                };
                self.computation(e, &what);
                return Type::Error;
            }
            ExprKind::DictComp(..) => {
                self.computation(e, "a dict comprehension");
                return Type::Error;
            }
            ExprKind::Block(b) => return self.wf_block(b, expect),
        };
        if let Some(facts) = self.facts() {
            facts.exprs.insert(e.span, ty.clone());
        }
        if let Some(expect) = expect {
            self.check_fits(&ty, e.span, expect);
        }
        ty
    }

    /// A call in a workflow: a task or sub-workflow node, or a record built of promises.
    fn wf_call(&mut self, e: &Expr, callee: &Expr, args: &[Arg]) -> Type {
        let ExprKind::Name(name) = &callee.kind else {
            return self.call(e, callee, args);
        };
        if let Some(Named::Decls(ids)) = self.lookup(&name.name) {
            if let DeclKind::Callable(sig) = &self.decls.get(ids[0]).kind {
                match sig.kind {
                    CallableKind::Fn if !sig.builtin => {
                        self.note_use(&name.name);
                        self.fn_in_workflow(e, name);
                        for a in args {
                            self.wf_value(&a.value, None);
                        }
                        return sig.outputs.value_type();
                    }
                    CallableKind::Workflow => self.workflow_calls.push((ids[0], e.span)),
                    _ => {}
                }
            }
        }
        self.call(e, callee, args)
    }

    /// A branch node: conditions compare promises and literals; an `else` is required; every
    /// branch gives the same type.
    fn wf_branch(
        &mut self,
        e: &Expr,
        cond: &Expr,
        then: &Block,
        otherwise: Option<&Expr>,
        expect: Option<&Expect>,
    ) -> Type {
        self.wf_condition(cond);
        let mut arms: Vec<(Type, Span)> = vec![(self.wf_block(then, expect), value_span(then))];
        let mut next = otherwise;
        loop {
            match next.map(|x| &x.kind) {
                Some(ExprKind::If(c, b, rest)) => {
                    self.wf_condition(c);
                    arms.push((self.wf_block(b, expect), value_span(b)));
                    next = rest.as_deref();
                }
                Some(ExprKind::Block(b)) => {
                    arms.push((self.wf_block(b, expect), value_span(b)));
                    break;
                }
                _ => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::E0301,
                            e.span,
                            "a workflow branch needs an `else`",
                            "no `else` here",
                        )
                        .with_note(
                            "every run must take some branch, so that the branch's output exists",
                        )
                        .with_help(
                            "add `else { … }`, or `else { fail(\"…\") }` when no value fits",
                        ),
                    );
                    return Type::Error;
                }
            }
        }
        let valued: Vec<&(Type, Span)> = arms
            .iter()
            .filter(|(t, _)| *t != Type::Never && !t.has_error())
            .collect();
        if let Some((first, first_span)) = valued.first() {
            if let Some((other, other_span)) = valued.iter().find(|(t, _)| t != first) {
                self.diags.push(
                    Diagnostic::new(
                        Code::E0301,
                        *other_span,
                        format!(
                            "workflow branches give different types: `{}` and `{}`",
                            self.decls.show(first),
                            self.decls.show(other)
                        ),
                        format!("this branch gives `{}`", self.decls.show(other)),
                    )
                    .with_label(
                        *first_span,
                        format!("this branch gives `{}`", self.decls.show(first)),
                    )
                    .with_note(
                        "every branch of a workflow branch node must produce the same output type",
                    ),
                );
                return Type::Error;
            }
            return first.clone();
        }
        if arms.iter().any(|(t, _)| t.has_error()) {
            Type::Error
        } else {
            Type::Never
        }
    }

    /// A branch condition: comparisons of promises and literals, with `and`, `or`, `not`.
    fn wf_condition(&mut self, cond: &Expr) {
        match &cond.kind {
            ExprKind::Binary(BinOp::And | BinOp::Or, l, r) => {
                self.wf_condition(l);
                self.wf_condition(r);
            }
            ExprKind::Unary(UnaryOp::Not, inner) => self.wf_condition(inner),
            ExprKind::Binary(op, l, r) if op.is_comparison() => {
                let lt = self.wf_operand(l);
                let rt = self.wf_operand(r);
                if lt.has_error() || rt.has_error() {
                    return;
                }
                let comparable = match op {
                    BinOp::Eq | BinOp::Ne => self.decls.fits(&lt, &rt) || self.decls.fits(&rt, &lt),
                    _ => {
                        (lt.is_numeric() && rt.is_numeric())
                            || (lt == rt
                                && matches!(lt, Type::Str | Type::Datetime | Type::Duration))
                    }
                };
                if !comparable {
                    let (ls, rs) = (self.decls.show(&lt), self.decls.show(&rt));
                    self.diags.push(
                        Diagnostic::new(
                            Code::E0200,
                            cond.span,
                            format!("`{}` cannot compare `{ls}` and `{rs}`", op.symbol()),
                            "incomparable types",
                        )
                        .with_label(l.span, format!("this is `{ls}`"))
                        .with_label(r.span, format!("this is `{rs}`")),
                    );
                }
            }
            _ => {
                let mut d = Diagnostic::new(
                    Code::E0301,
                    cond.span,
                    "a branch condition must compare promises and literals",
                    "not a comparison",
                )
                .with_note("Flyte evaluates branch conditions itself: only `==`, `!=`, `<`, `<=`, `>`, `>=` on promises and literals, joined by `and`, `or`, `not`");
                d = match &cond.kind {
                    ExprKind::Call(..) => d.with_help("bind the call first, `let big = is_big(x=x)`, then compare: `if big == true { … }`"),
                    _ => d.with_help("compare the value explicitly, e.g. `if flag == true { … }`"),
                };
                self.diags.push(d);
            }
        }
    }

    /// A side of a comparison in a branch condition: a promise (with attribute access) or a literal.
    fn wf_operand(&mut self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Call(..) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::E0301,
                        e.span,
                        "a branch condition cannot call a task",
                        "a call inside a condition",
                    )
                    .with_help("bind the call with `let` before the branch and compare its output"),
                );
                Type::Error
            }
            _ => self.wf_value(e, None),
        }
    }

    /// A map node: `[t(x=i, k=y) for i in xs]`, one call per item.
    fn wf_map(&mut self, e: &Expr, elem: &Expr, comp: &Comprehension) -> Type {
        let item = match self.wf_value(&comp.iter, None) {
            Type::List(item) => *item,
            Type::Error => Type::Error,
            other => {
                self.diags.push(Diagnostic::new(
                    Code::E0200,
                    comp.iter.span,
                    format!(
                        "a map iterates over a list, not `{}`",
                        self.decls.show(&other)
                    ),
                    "not a list",
                ));
                Type::Error
            }
        };
        if let Some(cond) = &comp.cond {
            self.computation(cond, "a filter in a map");
        }
        self.push_scope();
        self.bind_pattern(&comp.pattern, &item, false, comp.iter.span);
        let ty = match &elem.kind {
            ExprKind::Call(..) => self.wf_value(elem, None),
            _ => {
                self.diags.push(
                    Diagnostic::new(
                        Code::E0300,
                        elem.span,
                        "a map in a workflow must call one task for each item",
                        "not a task call",
                    )
                    .with_help("write `[t(x=i) for i in xs]` with a task `t` that does the work")
                    .with_label(e.span, "this map"),
                );
                Type::Error
            }
        };
        self.pop_scope();
        Type::List(Box::new(ty))
    }
}

fn is_literal(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Int(_) | ExprKind::Str(_) | ExprKind::Bool(_)
    ) && !matches!(&e.kind, ExprKind::Str(parts) if parts.iter().any(|p| matches!(p, StrPart::Interp(_))))
}

/// The span of a block's value: its last statement, or the block.
fn value_span(block: &Block) -> Span {
    block.stmts.last().map_or(block.span, |s| s.span)
}
