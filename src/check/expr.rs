//! Type checking of expressions in `fn` and `task` bodies: literals, names, operators,
//! field and index access, comprehensions and `if` expressions, each checked against what its
//! context expects.
//!
//! Consumes expression ASTs; produces their types and diagnostics (a second `impl` of
//! [`Checker`]; calls are in [`super::calls`]).

use super::body::{plural, Checker, Expect, Named};
use super::suggest::did_you_mean;
use super::types::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::*;

impl Checker<'_> {
    /// The type of `e`, checked against `expect` where given.
    pub fn expr(&mut self, e: &Expr, expect: Option<&Expect>) -> Type {
        match &e.kind {
            ExprKind::If(cond, then, otherwise) => {
                return self.if_expr(cond, then, otherwise.as_deref(), expect)
            }
            ExprKind::Block(b) => return self.block(b, expect),
            ExprKind::List(items) if !items.is_empty() || expect.is_some() => {
                return self.list(e, items, expect)
            }
            ExprKind::Dict(entries) if !entries.is_empty() || expect.is_some() => {
                return self.dict(e, entries, expect)
            }
            _ => {}
        }
        let ty = self.infer(e);
        if let Some(facts) = self.facts() {
            facts.exprs.insert(e.span, ty.clone());
        }
        if let Some(expect) = expect {
            self.check_fits(&ty, e.span, expect);
            if self.decls.fits(&ty, &expect.ty) && ty.has_error() {
                return expect.ty.clone();
            }
        }
        ty
    }

    fn list(&mut self, e: &Expr, items: &[Expr], expect: Option<&Expect>) -> Type {
        let wanted_item = match expect.map(|x| &x.ty) {
            Some(Type::List(t)) => Some((**t).clone()),
            Some(Type::Error) => Some(Type::Error),
            _ => None,
        };
        match wanted_item {
            Some(item) => {
                let inner = Expect::ty(item.clone(), "a list item");
                let inner = match expect.and_then(|x| x.origin.clone()) {
                    Some((span, label)) => inner.because(span, label),
                    None => inner,
                };
                for it in items {
                    self.expr(it, Some(&inner));
                }
                Type::List(Box::new(item))
            }
            None => {
                let ty = self.list_literal(e, items);
                if let Some(expect) = expect {
                    self.check_fits(&ty, e.span, expect);
                }
                ty
            }
        }
    }

    fn list_literal(&mut self, e: &Expr, items: &[Expr]) -> Type {
        let Some(first) = items.first() else {
            self.diags.push(
                Diagnostic::new(
                    Code::E0200,
                    e.span,
                    "cannot tell the type of an empty list",
                    "type unknown",
                )
                .with_help("name the type: `let xs: list[int] = []`"),
            );
            return Type::Error;
        };
        let first_ty = self.expr(first, None);
        let mut ty = first_ty.clone();
        for it in &items[1..] {
            let t = self.expr(it, None);
            if self.decls.fits(&t, &ty) {
                continue;
            }
            if self.decls.fits(&ty, &t) {
                ty = t;
                continue;
            }
            self.diags.push(
                Diagnostic::new(
                    Code::E0200,
                    it.span,
                    format!(
                        "list items must have one type: `{}` then `{}`",
                        self.decls.show(&ty),
                        self.decls.show(&t)
                    ),
                    format!("this is `{}`", self.decls.show(&t)),
                )
                .with_label(
                    first.span,
                    format!("the first item is `{}`", self.decls.show(&first_ty)),
                ),
            );
            return Type::List(Box::new(Type::Error));
        }
        Type::List(Box::new(ty))
    }

    fn dict(&mut self, e: &Expr, entries: &[(Expr, Expr)], expect: Option<&Expect>) -> Type {
        let wanted_value = match expect.map(|x| &x.ty) {
            Some(Type::Dict(_, v)) => Some((**v).clone()),
            Some(Type::Error) => Some(Type::Error),
            _ => None,
        };
        let key = Expect::ty(Type::Str, "a dict key");
        match wanted_value {
            Some(v) => {
                let value = Expect::ty(v.clone(), "a dict value");
                for (k, val) in entries {
                    self.expr(k, Some(&key));
                    self.expr(val, Some(&value));
                }
                Type::Dict(Box::new(Type::Str), Box::new(v))
            }
            None => {
                let Some((k0, v0)) = entries.first() else {
                    self.diags.push(
                        Diagnostic::new(
                            Code::E0200,
                            e.span,
                            "cannot tell the type of an empty dict",
                            "type unknown",
                        )
                        .with_help("name the type: `var counts: dict[str, int] = {}`"),
                    );
                    return Type::Error;
                };
                self.expr(k0, Some(&key));
                let v = self.expr(v0, None);
                let value =
                    Expect::ty(v.clone(), "a dict value").because(v0.span, "the first value");
                for (k, val) in &entries[1..] {
                    self.expr(k, Some(&key));
                    self.expr(val, Some(&value));
                }
                let ty = Type::Dict(Box::new(Type::Str), Box::new(v));
                if let Some(expect) = expect {
                    self.check_fits(&ty, e.span, expect);
                }
                ty
            }
        }
    }

    fn if_expr(
        &mut self,
        cond: &Expr,
        then: &Block,
        otherwise: Option<&Expr>,
        expect: Option<&Expect>,
    ) -> Type {
        self.expr(cond, Some(&Expect::ty(Type::Bool, "an `if` condition")));
        let Some(otherwise) = otherwise else {
            self.block(then, None);
            return Type::None;
        };
        let a = self.block(then, expect);
        let b = self.expr(otherwise, expect);
        match expect {
            Some(x) => x.ty.clone(),
            None => self.decls.join(&a, &b),
        }
    }

    /// The type of `e` with nothing expected of it.
    fn infer(&mut self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Int(_) => Type::Int,
            ExprKind::Float(_) => Type::Float,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::None => Type::None,
            ExprKind::Duration(_) => Type::Duration,
            ExprKind::Str(parts) => {
                for part in parts {
                    if let StrPart::Interp(x) = part {
                        self.expr(x, None);
                    }
                }
                Type::Str
            }
            ExprKind::Name(ident) => self.name_value(ident),
            ExprKind::List(items) => self.list_literal(e, items),
            ExprKind::Dict(entries) => self.dict(e, entries, None),
            ExprKind::Tuple(items) => {
                Type::Tuple(items.iter().map(|x| self.expr(x, None)).collect())
            }
            ExprKind::NamedTuple(items) => Type::NamedTuple(
                items
                    .iter()
                    .map(|(n, x)| (n.name.to_string(), self.expr(x, None)))
                    .collect(),
            ),
            ExprKind::Unary(op, inner) => self.unary(*op, inner),
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r),
            ExprKind::Call(callee, args) => self.call(e, callee, args),
            ExprKind::Field(obj, name) => self.field(obj, name),
            ExprKind::TupleIndex(obj, n, span) => {
                let ty = self.expr(obj, None);
                self.tuple_item(&ty, *n, *span)
            }
            ExprKind::Index(obj, index) => self.index(obj, index),
            ExprKind::ListComp(elem, comp) => {
                self.push_scope();
                self.comprehension(comp);
                let t = self.expr(elem, None);
                self.pop_scope();
                Type::List(Box::new(t))
            }
            ExprKind::DictComp(k, v, comp) => {
                self.push_scope();
                self.comprehension(comp);
                self.expr(k, Some(&Expect::ty(Type::Str, "a dict key")));
                let t = self.expr(v, None);
                self.pop_scope();
                Type::Dict(Box::new(Type::Str), Box::new(t))
            }
            ExprKind::Fail(msg) => {
                self.expr(msg, Some(&Expect::ty(Type::Str, "the message of `fail`")));
                Type::Never
            }
            ExprKind::If(..) | ExprKind::Block(_) => self.expr(e, None),
            ExprKind::Error => Type::Error,
        }
    }

    fn comprehension(&mut self, comp: &Comprehension) {
        let item = self.iter_item(&comp.iter);
        self.bind_pattern(&comp.pattern, &item, false, comp.iter.span);
        if let Some(cond) = &comp.cond {
            self.expr(
                cond,
                Some(&Expect::ty(Type::Bool, "a comprehension filter")),
            );
        }
    }

    fn name_value(&mut self, ident: &Ident) -> Type {
        match self.lookup(&ident.name) {
            Some(Named::Local(depth, i)) => {
                let local = &mut self.locals[depth][i];
                local.used = true;
                local.ty.clone()
            }
            Some(Named::Decls(ids)) => {
                self.note_use(&ident.name);
                let decl = self.decls.get(ids[0]);
                let what = match &decl.kind {
                    DeclKind::Callable(sig) => format!(
                        "{} `{}` is not a value; call it",
                        sig.kind.keyword(),
                        ident.name
                    ),
                    _ => format!("`{}` is a type, not a value", ident.name),
                };
                self.diags.push(Diagnostic::new(
                    Code::E0200,
                    ident.span,
                    what,
                    "used as a value",
                ));
                Type::Error
            }
            None => {
                self.unknown_name(ident, "name");
                Type::Error
            }
        }
    }

    fn unary(&mut self, op: UnaryOp, inner: &Expr) -> Type {
        let t = self.expr(inner, None);
        match (op, &t) {
            (_, Type::Error) => Type::Error,
            (UnaryOp::Neg, Type::Int | Type::Float | Type::Duration) => t,
            (UnaryOp::Not, Type::Bool) => Type::Bool,
            _ => {
                let (sym, wants) = if op == UnaryOp::Neg {
                    ("-", "a number")
                } else {
                    ("not", "a `bool`")
                };
                self.diags.push(Diagnostic::new(
                    Code::E0200,
                    inner.span,
                    format!("`{sym}` needs {wants}, found `{}`", self.decls.show(&t)),
                    format!("this is `{}`", self.decls.show(&t)),
                ));
                Type::Error
            }
        }
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> Type {
        if op == BinOp::Coalesce {
            return self.coalesce(l, r);
        }
        if matches!(op, BinOp::And | BinOp::Or) {
            let wants = Expect::ty(Type::Bool, format!("an operand of `{}`", op.symbol()));
            self.expr(l, Some(&wants));
            self.expr(r, Some(&wants));
            return Type::Bool;
        }
        let lt = self.expr(l, None);
        let rt = self.expr(r, None);
        if lt.has_error() || rt.has_error() {
            return if op.is_comparison() || op == BinOp::In {
                Type::Bool
            } else {
                Type::Error
            };
        }
        let result = binary_result(self.decls, op, &lt, &rt);
        result.unwrap_or_else(|| {
            let (ls, rs) = (self.decls.show(&lt), self.decls.show(&rt));
            let mut d = Diagnostic::new(
                Code::E0200,
                r.span,
                format!("`{}` cannot combine `{ls}` and `{rs}`", op.symbol()),
                format!("this is `{rs}`"),
            )
            .with_label(l.span, format!("this is `{ls}`"));
            if op == BinOp::Add && (lt == Type::Str || rt == Type::Str) {
                d = d.with_help("convert with `str(…)` or interpolate: `\"{a}{b}\"`");
            } else if lt.strip_none().is_some() || rt.strip_none().is_some() {
                d = d.with_help(
                    "the value may be `none`: give a fallback with `x ?? default`, or `unwrap(x)`",
                );
            }
            self.diags.push(d);
            if op.is_comparison() || op == BinOp::In {
                Type::Bool
            } else {
                Type::Error
            }
        })
    }

    fn coalesce(&mut self, l: &Expr, r: &Expr) -> Type {
        let lt = self.expr(l, None);
        let inner = match lt.strip_none() {
            Some(t) => t,
            None if matches!(l.kind, ExprKind::Index(..)) || lt.has_error() => lt.clone(),
            None => {
                self.diags.push(
                    Diagnostic::new(
                        Code::E0200,
                        l.span,
                        format!(
                            "`??` needs an optional value, found `{}`",
                            self.decls.show(&lt)
                        ),
                        "never `none`",
                    )
                    .with_help(
                        "`x ?? d` gives `d` when `x` is `none` or a missing `xs[i]` / `d[k]`",
                    ),
                );
                lt.clone()
            }
        };
        let reported = self.diags.len();
        let rt = self.expr(
            r,
            Some(&Expect::ty(inner.clone(), "the fallback of `??`").because(l.span, "the value")),
        );
        if self.decls.fits(&rt, &inner) {
            return self.decls.join(&inner, &rt);
        }
        // The fallback does not fit, which is reported: the whole expression's type is unknown,
        // so that the one mistake is not reported again where the result is used.
        let mismatch = self.diags[reported..]
            .iter_mut()
            .find(|d| d.labels[0].span == r.span);
        if let (ExprKind::Binary(op, ..), Some(d)) = (&r.kind, mismatch) {
            if op.is_comparison() || *op == BinOp::In {
                d.help = Some(format!(
                    "`??` binds more loosely than `{0}`, so the fallback is the whole comparison; \
                     to compare the value or its fallback, put the `??` in parentheses: \
                     `(a ?? b) {0} c`",
                    op.symbol()
                ));
            }
        }
        Type::Error
    }

    fn field(&mut self, obj: &Expr, name: &Ident) -> Type {
        if let ExprKind::Name(type_name) = &obj.kind {
            if let Some(Named::Decls(ids)) = self.lookup(&type_name.name) {
                if let DeclKind::Enum(variants) = &self.decls.get(ids[0]).kind {
                    self.note_use(&type_name.name);
                    return self.enum_variant(ids[0], variants, name);
                }
            }
        }
        let ty = self.expr(obj, None);
        self.field_of(&ty, name)
    }

    /// The value `E.name` of enum `id`, or E0100.
    pub fn enum_variant(&mut self, id: DeclId, variants: &[String], name: &Ident) -> Type {
        if !variants.iter().any(|v| *v == name.name) {
            let enum_name = &self.decls.get(id).name;
            let mut d = Diagnostic::new(
                Code::E0100,
                name.span,
                format!("enum `{enum_name}` has no variant `{}`", name.name),
                "unknown variant",
            )
            .with_note(format!(
                "the variants are {}",
                variants
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            if let Some(s) = did_you_mean(&name.name, variants.iter().cloned()) {
                d = d
                    .with_help(format!("did you mean `{enum_name}.{s}`?"))
                    .with_fix(format!("replace with `{s}`"), name.span, s);
            }
            self.diags.push(d);
        }
        Type::Decl(id)
    }

    /// The type of field `name` of a value of type `ty`, or E0100.
    pub fn field_of(&mut self, ty: &Type, name: &Ident) -> Type {
        if let Some(facts) = self.facts() {
            facts.receivers.insert(name.span, ty.clone());
        }
        if let Type::NamedTuple(fields) = ty {
            if let Some((_, t)) = fields.iter().find(|(n, _)| *n == name.name) {
                return t.clone();
            }
            let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            self.no_field(ty, name, names);
            return Type::Error;
        }
        if ty.has_error() {
            return Type::Error;
        }
        match self.decls.fields(ty) {
            Some(fields) => match fields.iter().find(|f| f.name == name.name) {
                Some(f) => f.ty.clone(),
                None => {
                    let names = fields.iter().map(|f| f.name.clone()).collect();
                    self.no_field(ty, name, names);
                    Type::Error
                }
            },
            None => {
                self.no_field(ty, name, Vec::new());
                Type::Error
            }
        }
    }

    fn no_field(&mut self, ty: &Type, name: &Ident, names: Vec<String>) {
        let shown = self.decls.show(ty);
        let mut d = Diagnostic::new(
            Code::E0100,
            name.span,
            format!("`{shown}` has no field `{}`", name.name),
            "unknown field",
        );
        if let Some(s) = did_you_mean(&name.name, names.iter().cloned()) {
            d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                format!("replace with `{s}`"),
                name.span,
                s,
            );
        } else if !names.is_empty() {
            d = d.with_note(format!(
                "the fields are {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        self.diags.push(d);
    }

    /// The type of item `n` of a tuple, or E0100.
    pub fn tuple_item(&mut self, ty: &Type, n: u32, span: Span) -> Type {
        let items: Vec<Type> = match ty {
            Type::Tuple(ts) => ts.clone(),
            Type::NamedTuple(fs) => fs.iter().map(|(_, t)| t.clone()).collect(),
            Type::Error => return Type::Error,
            other => {
                self.diags.push(Diagnostic::new(
                    Code::E0100,
                    span,
                    format!("`{}` is not a tuple", self.decls.show(other)),
                    "no numbered items",
                ));
                return Type::Error;
            }
        };
        match items.get(n as usize) {
            Some(t) => t.clone(),
            None => {
                self.diags.push(Diagnostic::new(
                    Code::E0100,
                    span,
                    format!("`{}` has no item {n}", self.decls.show(ty)),
                    format!("it has {} item{}", items.len(), plural(items.len())),
                ));
                Type::Error
            }
        }
    }

    fn index(&mut self, obj: &Expr, index: &Expr) -> Type {
        let ty = self.expr(obj, None);
        self.item_type(ty, index, obj.span, true)
    }

    /// The type of `value[index]` for a value of type `ty` (strings only when `strings`, as
    /// they cannot be assigned into); E0200 at `at` for anything else.
    pub fn item_type(&mut self, ty: Type, index: &Expr, at: Span, strings: bool) -> Type {
        match ty {
            Type::List(item) => {
                self.expr(index, Some(&Expect::ty(Type::Int, "a list index")));
                *item
            }
            Type::Dict(_, v) => {
                self.expr(index, Some(&Expect::ty(Type::Str, "a dict key")));
                *v
            }
            Type::Str if strings => {
                self.expr(index, Some(&Expect::ty(Type::Int, "a string index")));
                Type::Str
            }
            Type::Error => {
                self.expr(index, None);
                Type::Error
            }
            other => {
                self.expr(index, None);
                self.diags.push(Diagnostic::new(
                    Code::E0200,
                    at,
                    format!("cannot index into `{}`", self.decls.show(&other)),
                    if strings {
                        "not a list, dict or str"
                    } else {
                        "not a list or dict"
                    },
                ));
                Type::Error
            }
        }
    }
}

/// The result type of `l op r` for operand types that make sense together.
fn binary_result(decls: &Decls, op: BinOp, l: &Type, r: &Type) -> Option<Type> {
    use Type::*;
    let numeric = l.is_numeric() && r.is_numeric();
    let wider = || {
        if *l == Float || *r == Float {
            Float
        } else {
            Int
        }
    };
    match op {
        BinOp::Add if numeric => Some(wider()),
        BinOp::Add => match (l, r) {
            (Str, Str) => Some(Str),
            (List(a), List(b)) => Some(List(Box::new(decls.join(a, b)))),
            (Duration, Duration) => Some(Duration),
            (Datetime, Duration) | (Duration, Datetime) => Some(Datetime),
            _ => Option::None,
        },
        BinOp::Sub if numeric => Some(wider()),
        BinOp::Sub => match (l, r) {
            (Duration, Duration) => Some(Duration),
            (Datetime, Duration) => Some(Datetime),
            (Datetime, Datetime) => Some(Duration),
            _ => Option::None,
        },
        BinOp::Mul | BinOp::FloorDiv | BinOp::Mod | BinOp::Pow if numeric => Some(wider()),
        BinOp::Mul => {
            matches!((l, r), (Duration, Int | Float) | (Int | Float, Duration)).then_some(Duration)
        }
        BinOp::Div if numeric => Some(Float),
        BinOp::Eq | BinOp::Ne => (numeric || decls.fits(l, r) || decls.fits(r, l)).then_some(Bool),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            (numeric || (l == r && matches!(l, Str | Datetime | Duration))).then_some(Bool)
        }
        BinOp::In => match r {
            List(item) => (decls.fits(l, item) || decls.fits(item, l)).then_some(Bool),
            Dict(..) | Str => (*l == Str).then_some(Bool),
            _ => Option::None,
        },
        _ => Option::None,
    }
}
