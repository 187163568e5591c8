//! Hover: what the name under the cursor is, as Markdown — a callable's signature (every
//! overload of a built-in) and doc comment, with the Flyte interface of a task or workflow; a
//! type's declaration, doc comment and Flyte literal type, with why a class or extern type is
//! pickled; a parameter's, field's or local's type (as the checker found it) and doc comment;
//! a task's named output read with `.name`; elsewhere in a body (a literal, an operator, a
//! bracket), the type of the innermost expression there.
//!
//! Consumes an analysis and a position; produces an LSP hover.

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use super::analysis::Analysis;
use super::convert;
use super::describe::{self, collapse};
use super::index::{Def, LocalKind};
use super::navigate::occurrence_at;
use crate::check::types::{DeclId, DeclKind, Type};
use crate::source::Span;
use crate::syntax::ast::{Callable, CallableKind, ItemKind, PythonCode};

/// The hover for the name at `position` of the document.
pub fn hover(a: &Analysis, position: Position) -> Option<Hover> {
    let offset = convert::offset(a.root_file(), position);
    let (text, span) = match occurrence_at(a, position) {
        Some(occurrence) => (markdown(a, &occurrence.def)?, occurrence.span),
        None => named_output(a, offset).or_else(|| expression(a, offset))?,
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(convert::range(a.root_file(), span)),
    })
}

/// The type of the innermost expression of the document at `offset` (not on white space), and
/// its span.
fn expression(a: &Analysis, offset: usize) -> Option<(String, Span)> {
    let at = a.root_file().text.get(offset..)?.chars().next()?;
    if at.is_whitespace() {
        return None;
    }
    let offset = offset as u32;
    let (span, ty) = a
        .checked
        .facts
        .as_ref()?
        .exprs
        .iter()
        .filter(|(span, ty)| {
            span.file == a.root && span.start <= offset && offset < span.end && !ty.has_error()
        })
        .min_by_key(|(span, _)| (span.end - span.start, span.start))?;
    let text = format!("{}\n\nexpression type", code(&a.checked.decls.show(ty)));
    Some((text, *span))
}

/// The Markdown for `.name` at `offset` reading a named output (`stats(xs).mean`), and the
/// name's span.
fn named_output(a: &Analysis, offset: usize) -> Option<(String, Span)> {
    let offset = offset as u32;
    let text = &a.root_file().text;
    let (span, fields) =
        a.checked
            .facts
            .as_ref()?
            .receivers
            .iter()
            .find_map(|(span, ty)| match ty {
                Type::NamedTuple(fields)
                    if span.file == a.root && span.start <= offset && offset <= span.end =>
                {
                    Some((*span, fields))
                }
                _ => None,
            })?;
    let name = text.get(span.range())?;
    let (_, ty) = fields.iter().find(|(n, _)| n == name)?;
    let mut parts = vec![
        code(&format!("{name}: {}", a.checked.decls.show(ty))),
        format!(
            "named output of `{}`",
            a.checked.decls.show(&Type::NamedTuple(fields.clone()))
        ),
    ];
    parts.extend(describe::flyte_line(a, ty));
    Some((parts.join("\n\n"), span))
}

fn code(text: &str) -> String {
    format!("```flow\n{text}\n```")
}

/// The Markdown describing `def`.
pub fn markdown(a: &Analysis, def: &Def) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    match def {
        Def::Decl(id) => decl(a, *id, &mut parts)?,
        Def::Param { owner, index } => {
            let item = a.index().item(&a.checked, *owner)?;
            let ItemKind::Callable(c) = &item.kind else {
                return None;
            };
            let p = c.params.get(*index)?;
            let file = a.file(a.checked.decls.get(*owner).file);
            parts.push(code(&describe::param_text(file, p)));
            parts.push(format!(
                "parameter of {} `{}`",
                c.kind.keyword(),
                c.name.name
            ));
            parts.extend(describe::doc_markdown(p.doc.as_deref()));
            if c.kind != CallableKind::Fn {
                if let DeclKind::Callable(sig) = &a.checked.decls.get(*owner).kind {
                    if let Some(f) = sig.params.get(*index) {
                        let batch = f
                            .batch
                            .map(|n| format!(", {n} items per pickle file"))
                            .unwrap_or_default();
                        parts.extend(describe::flyte_line(a, &f.ty).map(|l| l + &batch));
                    }
                }
            }
        }
        Def::Field { owner, index } => {
            let item = a.index().item(&a.checked, *owner)?;
            let (ItemKind::Struct(r) | ItemKind::Class(r)) = &item.kind else {
                return None;
            };
            let p = r.fields.get(*index)?;
            let file = a.file(a.checked.decls.get(*owner).file);
            parts.push(code(&describe::param_text(file, p)));
            parts.push(format!("field of `{}`", r.name.name));
            parts.extend(describe::doc_markdown(p.doc.as_deref()));
            if let Some(ty) = a.index().type_of_def(&a.checked, def) {
                parts.extend(describe::flyte_line(a, &ty));
            }
        }
        Def::Variant { owner, index } => {
            let item = a.index().item(&a.checked, *owner)?;
            let ItemKind::Enum(e) = &item.kind else {
                return None;
            };
            let (doc, v) = e.variants.get(*index)?;
            parts.push(code(&format!("{}.{}", e.name.name, v.name)));
            parts.push(format!("variant of enum `{}`", e.name.name));
            parts.extend(describe::doc_markdown(doc.as_deref()));
            parts.push(format!("Flyte: enum value `\"{}\"`", v.name));
        }
        Def::Local(l) => {
            let local = a.index().locals.get(*l)?;
            let keyword = match local.kind {
                LocalKind::Let => "let",
                LocalKind::Var => "var",
                LocalKind::Loop => "(loop variable)",
                LocalKind::Comprehension => "(comprehension variable)",
            };
            let file = a.file(local.span.file);
            match (&local.written, &local.ty) {
                (Some(te), _) => parts.push(code(&format!(
                    "{keyword} {}: {}",
                    local.name,
                    describe::type_text(file, te)
                ))),
                (None, Some(ty)) => {
                    parts.push(code(&format!(
                        "{keyword} {}: {}",
                        local.name,
                        a.checked.decls.show(ty)
                    )));
                    parts.push(
                        match local.kind {
                            LocalKind::Let | LocalKind::Var => "type inferred from its value",
                            LocalKind::Loop | LocalKind::Comprehension => {
                                "type inferred from the list it iterates"
                            }
                        }
                        .into(),
                    );
                }
                (None, None) => {
                    parts.push(code(&format!("{keyword} {}", local.name)));
                    parts.push("type unknown: its value does not check".into());
                }
            }
            if let Some(ty) = &local.ty {
                parts.extend(describe::flyte_line(a, ty));
            }
        }
        Def::BuiltinType(name) => {
            parts.push(code(name));
            parts.push(format!("built-in type: {}", describe::builtin_type(name)));
            if let Some(flyte) = describe::builtin_flyte(name) {
                parts.push(format!("Flyte: `{flyte}`"));
            }
        }
        Def::Module(m) => {
            let file = a.file(a.checked.modules.get(*m)?.file);
            let count = a.checked.item_decls.get(*m).map_or(0, Vec::len);
            parts.push(code(&format!("import \"{}\"", file.name)));
            parts.push(format!("{count} declarations"));
        }
    }
    Some(parts.join("\n\n"))
}

fn decl(a: &Analysis, id: DeclId, parts: &mut Vec<String>) -> Option<()> {
    let d = a.checked.decls.get(id);
    let file = a.file(d.file);
    let item = a.index().item(&a.checked, id)?;
    let is_std = a.files.get(d.file.0 as usize).is_some_and(|f| f.is_std);
    if let (ItemKind::Callable(_), true) = (&item.kind, is_std) {
        // Every overload of a built-in, each with its own doc comment.
        let module = a.index().item_of.get(&id)?.0;
        let overloads = a.checked.scopes.get(module)?.get(&d.name)?;
        for &o in overloads {
            let Some(ItemKind::Callable(c)) = a.index().item(&a.checked, o).map(|i| &i.kind) else {
                continue;
            };
            parts.push(code(&describe::callable_text(file, c)));
            parts.extend(describe::doc_markdown(
                a.checked.decls.get(o).doc.as_deref(),
            ));
        }
        parts.push(format!("built-in, from `{}`", file.name));
        return Some(());
    }
    parts.push(code(&describe::item_text(file, item)));
    parts.extend(describe::doc_markdown(d.doc.as_deref()));
    if let ItemKind::Callable(Callable {
        python: Some(python),
        ..
    }) = &item.kind
    {
        parts.push(match &python.code {
            PythonCode::Function { module, function } => format!(
                "Runs in Python: `{function}` from the module `{module}` (beside this file, \
                 else on `PYTHONPATH`)"
            ),
            PythonCode::Inline(_) => "Runs in Python: an inline body".to_string(),
        });
    }
    match &d.kind {
        DeclKind::Callable(sig) if sig.kind != CallableKind::Fn => {
            let mut lines = vec!["**Flyte interface**".to_string()];
            for (what, fields) in [("input", &sig.params[..]), ("output", sig.outputs.fields())] {
                for f in fields {
                    let shown = describe::flyte_line(a, &f.ty)
                        .map(|l| l.trim_start_matches("Flyte: ").to_string())
                        .unwrap_or_else(|| "no Flyte type".into());
                    let batch = f
                        .batch
                        .map(|n| format!(", {n} per pickle file"))
                        .unwrap_or_default();
                    lines.push(format!("- {what} `{}`: {shown}{batch}", f.name));
                }
            }
            if lines.len() > 1 {
                parts.push(lines.join("\n"));
            }
        }
        DeclKind::Callable(_) => {}
        DeclKind::Alias(ty) => {
            parts.extend(describe::flyte_line(a, ty));
        }
        DeclKind::Struct(_) | DeclKind::Class(_) | DeclKind::Enum(_) | DeclKind::Extern => {
            parts.extend(describe::flyte_line(a, &Type::Decl(id)));
            parts.extend(describe::pickle_note(a, id));
        }
    }
    if !is_std && d.file != a.root {
        let root = std::path::Path::new(&a.root_file().name);
        let name = std::path::Path::new(&file.name);
        let shown = root
            .parent()
            .and_then(|dir| name.strip_prefix(dir).ok())
            .unwrap_or(name);
        parts.push(format!("from `{}`", collapse(&shown.display().to_string())));
    }
    Some(())
}
