//! Annotations: `@retries`, `@cache`, `@timeout`, `@resources` before tasks, `@allow(pickle)`
//! before classes and extern types, `@batch(n)` after list types. Reports E0400 for unknown,
//! misplaced or ill-typed ones, W0100 for types lowered to Pickle and W0101 for `@batch` that
//! has no effect.

use super::suggest::did_you_mean;
use super::types::{Decls, Type};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::{Annotation, ExprKind, Item, ItemKind, TypeExpr, UnaryOp};

/// Every annotation Flow knows, with where it may stand.
const KNOWN: &[(&str, &str)] = &[
    ("retries", "before a task"),
    ("cache", "before a task"),
    ("timeout", "before a task"),
    ("resources", "before a task"),
    ("allow", "before a `class` or `extern type`"),
    ("batch", "after a list type"),
];

fn unknown(a: &Annotation) -> Diagnostic {
    let mut d = Diagnostic::new(
        Code::E0400,
        a.name.span,
        format!("unknown annotation `@{}`", a.name.name),
        "not an annotation Flow knows",
    );
    match did_you_mean(&a.name.name, KNOWN.iter().map(|(n, _)| n.to_string())) {
        Some(s) => {
            d = d.with_help(format!("did you mean `@{s}`?")).with_fix(
                format!("replace with `{s}`"),
                a.name.span,
                s,
            )
        }
        None => {
            d = d.with_note(format!(
                "the annotations are {}",
                KNOWN
                    .iter()
                    .map(|(n, _)| format!("`@{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
    d
}

fn misplaced(a: &Annotation, here: &str) -> Diagnostic {
    let place = KNOWN
        .iter()
        .find(|(n, _)| *n == a.name.name)
        .map_or("", |(_, p)| *p);
    Diagnostic::new(
        Code::E0400,
        a.span,
        format!("`@{}` cannot stand {here}", a.name.name),
        "misplaced annotation",
    )
    .with_help(format!("`@{}` goes {place}", a.name.name))
}

fn bad_args(a: &Annotation, wanted: &str) -> Diagnostic {
    Diagnostic::new(
        Code::E0400,
        a.span,
        format!("`@{}` takes {wanted}", a.name.name),
        "invalid arguments",
    )
}

/// An integer literal argument (a leading `-` included).
fn int_arg(e: &crate::syntax::ast::Expr) -> Option<i64> {
    match &e.kind {
        ExprKind::Int(n) => Some(*n),
        ExprKind::Unary(UnaryOp::Neg, inner) => match inner.kind {
            ExprKind::Int(n) => Some(-n),
            _ => None,
        },
        _ => None,
    }
}

/// Checks the annotations before a declaration; returns whether `@allow(pickle)` is among them.
pub fn check_item(item: &Item, diags: &mut Vec<Diagnostic>) -> bool {
    let mut allow_pickle = false;
    let here = match &item.kind {
        ItemKind::Callable(c) => format!("before a {}", c.kind.keyword()),
        ItemKind::Struct(_) => "before a struct".into(),
        ItemKind::Class(_) => "before a class".into(),
        ItemKind::Enum(_) => "before an enum".into(),
        ItemKind::Extern(_) => "before an extern type".into(),
        ItemKind::Alias { .. } => "before a type alias".into(),
    };
    let is_task = matches!(&item.kind, ItemKind::Callable(c) if c.kind == crate::syntax::ast::CallableKind::Task);
    let is_pickled = matches!(item.kind, ItemKind::Class(_) | ItemKind::Extern(_));
    let mut seen: Vec<&str> = Vec::new();
    for a in &item.annotations {
        let name = a.name.name.as_str();
        if !KNOWN.iter().any(|(n, _)| *n == name) {
            diags.push(unknown(a));
            continue;
        }
        if seen.contains(&name) {
            diags.push(Diagnostic::new(
                Code::E0400,
                a.span,
                format!("`@{name}` is given twice"),
                "repeated annotation",
            ));
            continue;
        }
        seen.push(name);
        let placed = match name {
            "allow" => is_pickled,
            "batch" => false,
            _ => is_task,
        };
        if !placed {
            diags.push(misplaced(a, &here));
            continue;
        }
        if let Some(d) = check_args(a) {
            diags.push(d);
        } else if name == "allow" {
            allow_pickle = true;
        }
    }
    allow_pickle
}

/// The arguments of a task or type-declaration annotation, checked; `None` when they are right.
fn check_args(a: &Annotation) -> Option<Diagnostic> {
    let positional = |n: usize| a.args.len() == n && a.args.iter().all(|x| x.name.is_none());
    match a.name.name.as_str() {
        "retries" => match (
            positional(1),
            a.args.first().and_then(|x| int_arg(&x.value)),
        ) {
            (true, Some(n)) if n >= 0 => None,
            (true, Some(n)) => Some(
                bad_args(a, "a count of at least 0")
                    .with_note(format!("{n} retries is not a count")),
            ),
            _ => Some(bad_args(
                a,
                "one integer, the number of retries: `@retries(2)`",
            )),
        },
        "cache" => match a.args.as_slice() {
            [arg]
                if arg.name.as_ref().is_some_and(|n| n.name == "version")
                    && matches!(arg.value.kind, ExprKind::Str(_)) =>
            {
                None
            }
            _ => Some(bad_args(a, "a version string: `@cache(version=\"1\")`")),
        },
        "timeout" => match a.args.as_slice() {
            [arg] if arg.name.is_none() => match arg.value.kind {
                ExprKind::Duration(ms) if ms > 0 => None,
                ExprKind::Duration(_) => Some(bad_args(a, "a duration longer than zero")),
                _ => Some(
                    bad_args(a, "a duration: `@timeout(30s)`")
                        .with_help("durations are written `250ms`, `30s`, `5m`, `2h`, `1d`"),
                ),
            },
            _ => Some(bad_args(a, "a duration: `@timeout(30s)`")),
        },
        "resources" => a.args.iter().find_map(|arg| {
            let ok = match arg.name.as_ref().map(|n| n.name.as_str()) {
                Some("cpu") | Some("gpu") => {
                    matches!(arg.value.kind, ExprKind::Int(n) if n > 0)
                        || matches!(arg.value.kind, ExprKind::Float(x) if x > 0.0)
                        || matches!(arg.value.kind, ExprKind::Str(_))
                }
                Some("mem") | Some("storage") => matches!(arg.value.kind, ExprKind::Str(_)),
                _ => false,
            };
            (!ok).then(|| {
                bad_args(
                    a,
                    "named requests: `@resources(cpu=2, mem=\"1Gi\")` (cpu, gpu, mem, storage)",
                )
            })
        }),
        _ => match a.args.as_slice() {
            [arg]
                if arg.name.is_none()
                    && matches!(&arg.value.kind, ExprKind::Name(n) if n.name == "pickle") =>
            {
                None
            }
            _ => Some(bad_args(a, "`pickle`: `@allow(pickle)`")),
        },
    }
}

/// Checks the annotations after a type and returns `n` of a valid `@batch(n)`.
pub fn batch_of(
    te: &TypeExpr,
    ty: &Type,
    decls: &Decls,
    diags: &mut Vec<Diagnostic>,
) -> Option<u32> {
    let mut batch = None;
    for a in &te.annotations {
        match a.name.name.as_str() {
            "batch" => {}
            name if KNOWN.iter().any(|(n, _)| *n == name) => {
                diags.push(misplaced(a, "after a type"));
                continue;
            }
            _ => {
                diags.push(unknown(a));
                continue;
            }
        }
        let n = match a.args.as_slice() {
            [arg] if arg.name.is_none() => int_arg(&arg.value),
            _ => None,
        };
        let Some(n) = n else {
            diags.push(bad_args(
                a,
                "one integer, the number of items per pickle file: `@batch(100)`",
            ));
            continue;
        };
        let Type::List(item) = ty else {
            diags.push(
                Diagnostic::new(
                    Code::E0400,
                    a.span,
                    format!("`@batch` on `{}`, which is not a list", decls.show(ty)),
                    "only lists are stored in batches",
                )
                .with_label(te.span, "not a list"),
            );
            continue;
        };
        if n < 1 {
            diags.push(
                Diagnostic::new(Code::E0400, a.span, format!("`@batch({n})` would store no data"), "the batch size must be at least 1")
                    .with_note("flytekit silently drops every item of a list with `BatchSize(0)`; Flow refuses it"),
            );
            continue;
        }
        if !decls.is_pickled(item) && !item.has_error() {
            diags.push(
                Diagnostic::new(Code::W0101, a.span, format!("`@batch` has no effect on `{}`", decls.show(ty)), "these items are not pickled")
                    .with_note("only lists of a pickled type (`class`, `extern type`) are written in batches; this list is one Flyte collection literal")
                    .with_fix("remove the annotation", a.span, ""),
            );
            continue;
        }
        batch = u32::try_from(n).ok();
    }
    batch
}
