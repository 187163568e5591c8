//! Calls: matching arguments to parameters (positional, then named; E0201–E0204), checking
//! them against the parameter types with the callee named in every message, constructors of
//! structs and classes, and overloaded generic built-ins checked by instantiation.

use super::body::{plural, Checker, Expect, Named};
use super::suggest::did_you_mean;
use super::types::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::*;

/// For each parameter, the argument given for it.
pub type Matched<'e> = Vec<Option<&'e Arg>>;

impl Checker<'_> {
    /// The type of a call expression in a `fn` or `task` body.
    pub fn call(&mut self, e: &Expr, callee: &Expr, args: &[Arg]) -> Type {
        let ExprKind::Name(name) = &callee.kind else {
            self.diags.push(Diagnostic::new(
                Code::E0200,
                callee.span,
                "only named functions, tasks and types can be called",
                "not callable",
            ));
            for a in args {
                self.expr(&a.value, None);
            }
            return Type::Error;
        };
        match self.lookup(&name.name) {
            Some(Named::Decls(ids)) => {
                self.note_use(&name.name);
                let decl = self.decls.get(ids[0]);
                match &decl.kind {
                    DeclKind::Callable(sig) if sig.builtin => {
                        self.builtin_call(e, name, &ids, args)
                    }
                    DeclKind::Callable(sig) => {
                        if sig.kind != CallableKind::Fn && self.owner.kind != CallableKind::Workflow
                        {
                            self.callable_from_body(name, sig.kind, e.span);
                        }
                        self.user_call(e, name, sig, args)
                    }
                    DeclKind::Struct(_) | DeclKind::Class(_) => self.constructor(e, ids[0], args),
                    _ => {
                        self.diags.push(Diagnostic::new(
                            Code::E0200,
                            name.span,
                            format!("`{}` cannot be called", name.name),
                            "not a function or record type",
                        ));
                        Type::Error
                    }
                }
            }
            Some(Named::Local(..)) => {
                self.diags.push(Diagnostic::new(
                    Code::E0200,
                    name.span,
                    format!("`{}` is a variable, not a function", name.name),
                    "not callable",
                ));
                Type::Error
            }
            None => {
                self.unknown_name(name, "function");
                for a in args {
                    self.expr(&a.value, None);
                }
                Type::Error
            }
        }
    }

    /// E0303: a task or workflow called from a task or fn body.
    fn callable_from_body(&mut self, name: &Ident, kind: CallableKind, span: Span) {
        let owner = self.owner.kind.keyword();
        self.diags.push(
            Diagnostic::new(
                Code::E0303,
                span,
                format!("{owner} `{}` calls {} `{}`", self.owner.name.name, kind.keyword(), name.name),
                format!("a {} cannot be called from a {owner} body", kind.keyword()),
            )
            .with_label(self.owner.name.span, format!("`{}` is a {owner}", self.owner.name.name))
            .with_help(match kind {
                CallableKind::Task => "move the shared logic into a `fn` and call that; tasks are wired together in workflows",
                _ => "call the workflow from another workflow, or move the logic into a `fn`",
            }),
        );
    }

    /// Checks a call to a user `fn`, task or workflow against its signature.
    pub fn user_call(&mut self, e: &Expr, name: &Ident, sig: &Signature, args: &[Arg]) -> Type {
        let callee = format!("{} `{}`", sig.kind.keyword(), name.name);
        let matched = self.match_args(&callee, &sig.params, args, e.span);
        for (param, arg) in sig.params.iter().zip(&matched) {
            if let Some(arg) = arg {
                let expect = Expect::ty(
                    param.ty.clone(),
                    format!("the argument `{}` of {callee}", param.name),
                )
                .because(param.span, format!("`{}` expects", param.name));
                self.arg_value(arg, &expect);
            }
        }
        sig.outputs.value_type()
    }

    /// Checks one argument's value; workflow bodies override what a value may be.
    fn arg_value(&mut self, arg: &Arg, expect: &Expect) {
        if self.owner.kind == CallableKind::Workflow {
            self.wf_value(&arg.value, Some(expect));
        } else {
            self.expr(&arg.value, Some(expect));
        }
    }

    /// Checks `S(field=…)` for a struct or class.
    pub fn constructor(&mut self, e: &Expr, id: DeclId, args: &[Arg]) -> Type {
        let decl = self.decls.get(id);
        let fields = self.decls.fields(&Type::Decl(id)).unwrap_or(&[]).to_vec();
        let what = format!("`{}`", decl.name);
        self.record_fields = true;
        let matched = self.match_args(&what, &fields, args, e.span);
        self.record_fields = false;
        for (field, arg) in fields.iter().zip(&matched) {
            if let Some(arg) = arg {
                let expect = Expect::ty(
                    field.ty.clone(),
                    format!("the field `{}` of {what}", field.name),
                )
                .because(field.span, format!("`{}` is declared", field.name));
                self.arg_value(arg, &expect);
            }
        }
        Type::Decl(id)
    }

    /// Matches arguments to parameters: positional first, then named. Reports E0201 (missing),
    /// E0202 (unknown name), E0203 (twice, or positional after named), E0204 (too many).
    pub fn match_args<'e>(
        &mut self,
        callee: &str,
        params: &[FieldSig],
        args: &'e [Arg],
        call_span: Span,
    ) -> Matched<'e> {
        let mut matched: Matched<'e> = vec![None; params.len()];
        let mut seen_named = false;
        let mut position = 0;
        let errors_before = self.diags.len();
        for arg in args {
            match &arg.name {
                None if seen_named => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::E0203,
                            arg.span,
                            format!("positional argument after named ones in the call to {callee}"),
                            "positional argument",
                        )
                        .with_help("put positional arguments first, or name this one too"),
                    );
                    self.skip_arg(arg);
                }
                None => {
                    if position < params.len() {
                        matched[position] = Some(arg);
                    } else {
                        self.diags.push(
                            Diagnostic::new(
                                Code::E0204,
                                arg.span,
                                format!(
                                    "{callee} takes {} argument{}, but more were given",
                                    params.len(),
                                    plural(params.len())
                                ),
                                "unexpected argument",
                            )
                            .with_fix(
                                "remove the argument",
                                arg.span,
                                "",
                            ),
                        );
                        self.skip_arg(arg);
                    }
                    position += 1;
                }
                Some(name) => {
                    seen_named = true;
                    match params.iter().position(|p| p.name == name.name) {
                        Some(i) if matched[i].is_some() => {
                            let first = matched[i].unwrap();
                            self.diags.push(
                                Diagnostic::new(
                                    Code::E0203,
                                    arg.span,
                                    format!(
                                        "argument `{}` given twice in the call to {callee}",
                                        name.name
                                    ),
                                    "given again here",
                                )
                                .with_label(first.span, "first given here"),
                            );
                            self.skip_arg(arg);
                        }
                        Some(i) => matched[i] = Some(arg),
                        None => {
                            let mut d = Diagnostic::new(
                                Code::E0202,
                                name.span,
                                format!(
                                    "{callee} has no {} named `{}`",
                                    if self.record_fields {
                                        "field"
                                    } else {
                                        "parameter"
                                    },
                                    name.name
                                ),
                                "unknown argument name",
                            );
                            let taken: Vec<String> = params
                                .iter()
                                .zip(&matched)
                                .filter(|(_, m)| m.is_none())
                                .map(|(p, _)| p.name.clone())
                                .collect();
                            if let Some(s) = did_you_mean(&name.name, taken.iter().cloned()) {
                                d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                                    format!("replace with `{s}`"),
                                    name.span,
                                    s,
                                );
                            } else {
                                d = d.with_note(format!(
                                    "{callee} takes {}",
                                    if params.is_empty() {
                                        "no arguments".to_string()
                                    } else {
                                        params
                                            .iter()
                                            .map(|p| format!("`{}`", p.name))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    }
                                ));
                            }
                            self.diags.push(d);
                            self.skip_arg(arg);
                        }
                    }
                }
            }
        }
        let missing: Vec<&FieldSig> = params
            .iter()
            .zip(&matched)
            .filter(|(p, m)| m.is_none() && !p.has_default)
            .map(|(p, _)| p)
            .collect();
        // A misplaced or misspelt argument usually is the missing one: report it once.
        if !missing.is_empty() && self.diags.len() == errors_before {
            let names = missing
                .iter()
                .map(|p| format!("`{}`", p.name))
                .collect::<Vec<_>>()
                .join(", ");
            let insert = missing
                .iter()
                .map(|p| format!("{}=…", p.name))
                .collect::<Vec<_>>()
                .join(", ");
            let mut d = Diagnostic::new(
                Code::E0201,
                call_span,
                format!(
                    "missing argument{} {names} in the call to {callee}",
                    plural(missing.len())
                ),
                format!("missing {names}"),
            );
            for p in &missing {
                d = d.with_label(p.span, format!("`{}` has no default", p.name));
            }
            d = d.with_help(format!("add `{insert}`"));
            if let Some(fix) = self.missing_fix(call_span, args, &missing) {
                d.fix = Some(fix);
            }
            self.diags.push(d);
        }
        matched
    }

    /// A fix inserting `name=…` placeholders before the closing parenthesis of a call.
    fn missing_fix(
        &self,
        call_span: Span,
        args: &[Arg],
        missing: &[&FieldSig],
    ) -> Option<crate::diagnostics::Fix> {
        let close = Span {
            start: call_span.end.checked_sub(1)?,
            end: call_span.end.checked_sub(1)?,
            ..call_span
        };
        let sep = if args.is_empty() { "" } else { ", " };
        let text = missing
            .iter()
            .map(|p| format!("{}={}", p.name, placeholder(&p.ty)))
            .collect::<Vec<_>>()
            .join(", ");
        Some(crate::diagnostics::Fix {
            message: "add the missing arguments".into(),
            span: close,
            replacement: format!("{sep}{text}"),
        })
    }

    fn skip_arg(&mut self, arg: &Arg) {
        if self.owner.kind == CallableKind::Workflow {
            self.wf_value(&arg.value, None);
        } else {
            self.expr(&arg.value, None);
        }
    }

    /// Checks a call to a built-in: the first overload whose parameters fit the arguments.
    fn builtin_call(&mut self, e: &Expr, name: &Ident, ids: &[DeclId], args: &[Arg]) -> Type {
        if self.owner.kind == CallableKind::Workflow {
            self.fn_in_workflow(e, name);
            return Type::Error;
        }
        let arg_types: Vec<Type> = args.iter().map(|a| self.expr(&a.value, None)).collect();
        let sigs: Vec<&Signature> = ids
            .iter()
            .filter_map(|id| match &self.decls.get(*id).kind {
                DeclKind::Callable(s) => Some(s),
                _ => None,
            })
            .collect();
        for sig in &sigs {
            if let Some(ty) = self.try_overload(sig, args, &arg_types) {
                return ty;
            }
        }
        if arg_types.iter().any(Type::has_error) {
            return sigs.first().map_or(Type::Error, |s| {
                if s.generics.is_empty() {
                    s.outputs.value_type()
                } else {
                    Type::Error
                }
            });
        }
        let given = arg_types
            .iter()
            .map(|t| format!("`{}`", self.decls.show(t)))
            .collect::<Vec<_>>()
            .join(", ");
        let versions: Vec<String> = sigs
            .iter()
            .map(|s| format!("{}{}", name.name, self.show_sig(s)))
            .collect();
        let mut d = Diagnostic::new(
            Code::E0200,
            e.span,
            if given.is_empty() {
                format!("`{}` needs arguments", name.name)
            } else {
                format!("`{}` cannot take ({given})", name.name)
            },
            "no version of this built-in fits these arguments",
        );
        for v in versions {
            d = d.with_note(format!("`{v}`"));
        }
        if sigs.len() == 1 {
            let sig = sigs[0];
            let missing = sig
                .params
                .iter()
                .skip(args.len())
                .filter(|p| !p.has_default)
                .count();
            if missing > 0 && args.iter().all(|a| a.name.is_none()) {
                d.code = Code::E0201;
                d.message = format!(
                    "missing argument{} in the call to `{}`",
                    plural(missing),
                    name.name
                );
            }
        }
        self.diags.push(d);
        sigs.first().map_or(Type::Error, |s| {
            if s.generics.is_empty() {
                s.outputs.value_type()
            } else {
                Type::Error
            }
        })
    }

    /// The result type of `sig` applied to arguments of `arg_types`, if they fit.
    fn try_overload(&self, sig: &Signature, args: &[Arg], arg_types: &[Type]) -> Option<Type> {
        let mut slots: Vec<Option<&Type>> = vec![None; sig.params.len()];
        let mut position = 0;
        for (arg, ty) in args.iter().zip(arg_types) {
            let i = match &arg.name {
                None => {
                    position += 1;
                    position - 1
                }
                Some(n) => sig.params.iter().position(|p| p.name == n.name)?,
            };
            if i >= slots.len() || slots[i].is_some() {
                return None;
            }
            slots[i] = Some(ty);
        }
        let mut binds: Vec<Option<Type>> = vec![None; sig.generics.len()];
        for (param, slot) in sig.params.iter().zip(&slots) {
            match slot {
                Some(ty) => {
                    if !unify(self.decls, &param.ty, ty, &mut binds) {
                        return None;
                    }
                }
                None if param.has_default => {}
                None => return None,
            }
        }
        Some(sig.outputs.value_type().substitute(&binds))
    }

    /// `(x: T, …) -> R` for notes.
    fn show_sig(&self, sig: &Signature) -> String {
        let params = sig
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, self.show_generic(&p.ty, sig)))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "({params}) -> {}",
            self.show_generic(&sig.outputs.value_type(), sig)
        )
    }

    fn show_generic(&self, ty: &Type, sig: &Signature) -> String {
        let mut shown = self.decls.show(ty);
        for (i, g) in sig.generics.iter().enumerate() {
            shown = shown.replace(&format!("T{i}"), g);
        }
        shown
    }
}

/// Binds type parameters in `param` so that `arg` fits it; false when it cannot.
fn unify(decls: &Decls, param: &Type, arg: &Type, binds: &mut [Option<Type>]) -> bool {
    match (param, arg) {
        (_, Type::Error | Type::Never) => true,
        (Type::Param(i), _) => {
            let slot = &mut binds[*i as usize];
            match slot {
                None => {
                    *slot = Some(arg.clone());
                    true
                }
                Some(bound) if decls.fits(arg, bound) => true,
                Some(bound) if decls.fits(bound, arg) => {
                    *slot = Some(arg.clone());
                    true
                }
                Some(_) => false,
            }
        }
        (Type::List(p), Type::List(a)) => unify(decls, p, a, binds),
        (Type::Dict(pk, pv), Type::Dict(ak, av)) => {
            unify(decls, pk, ak, binds) && unify(decls, pv, av, binds)
        }
        (Type::Tuple(ps), Type::Tuple(as_)) => {
            ps.len() == as_.len() && ps.iter().zip(as_).all(|(p, a)| unify(decls, p, a, binds))
        }
        (Type::Union(members), _) if members.iter().any(|m| matches!(m, Type::Param(_))) => {
            let fixed: Vec<&Type> = members
                .iter()
                .filter(|m| !matches!(m, Type::Param(_)))
                .collect();
            let given: Vec<Type> = match arg {
                Type::Union(ts) => ts.clone(),
                t => vec![t.clone()],
            };
            let rest: Vec<Type> = given
                .into_iter()
                .filter(|t| !fixed.iter().any(|f| decls.fits(t, f)))
                .collect();
            let param_var = members
                .iter()
                .find(|m| matches!(m, Type::Param(_)))
                .unwrap();
            unify(decls, param_var, &Type::union(rest), binds)
        }
        _ => decls.fits(arg, param),
    }
}

/// A placeholder value of type `ty` for inserted arguments.
fn placeholder(ty: &Type) -> String {
    match ty {
        Type::Int => "0".into(),
        Type::Float => "0.0".into(),
        Type::Str => "\"\"".into(),
        Type::Bool => "false".into(),
        Type::List(_) => "[]".into(),
        Type::Dict(..) => "{}".into(),
        Type::Union(ts) if ts.contains(&Type::None) => "none".into(),
        _ => "…".into(),
    }
}
