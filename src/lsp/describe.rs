//! Text for people about declarations: signatures and declarations as written, doc comments,
//! and the Flyte literal type each type lowers to (with why a type is pickled).
//!
//! Consumes an analysis and a declaration; produces strings for hover, completion details and
//! document symbols. Types are shown as the source writes them (generic built-ins keep their
//! `T`), with whitespace collapsed.

use crate::check::lower;
use crate::check::types::{DeclId, DeclKind, Type};
use crate::source::SourceFile;
use crate::syntax::ast::{Callable, CallableKind, Item, ItemKind, Output, Param, TypeExpr};

use super::analysis::Analysis;

/// `text` with every run of whitespace made one space.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A written type with the annotations after it: `list[People] @batch(2)`.
pub fn type_text(file: &SourceFile, te: &TypeExpr) -> String {
    let mut text = collapse(&file.text[te.span.range()]);
    for a in &te.annotations {
        text.push(' ');
        text.push_str(&collapse(&file.text[a.span.range()]));
    }
    text
}

/// `name: T = default`.
pub fn param_text(file: &SourceFile, p: &Param) -> String {
    let mut text = format!("{}: {}", p.name.name, type_text(file, &p.ty));
    if let Some(default) = &p.default {
        text.push_str(" = ");
        text.push_str(&collapse(&file.text[default.span.range()]));
    }
    text
}

/// `task name(p: T, …) -> Out`, on one line.
pub fn callable_text(file: &SourceFile, c: &Callable) -> String {
    let generics = if c.generics.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = c.generics.iter().map(|g| g.name.as_str()).collect();
        format!("[{}]", names.join(", "))
    };
    let params: Vec<String> = c.params.iter().map(|p| param_text(file, p)).collect();
    let output = match &c.output {
        Output::Nothing => String::new(),
        Output::Type(te) => format!(" -> {}", type_text(file, te)),
        Output::Named(_, span) => format!(" -> {}", collapse(&file.text[span.range()])),
    };
    format!(
        "{} {}{generics}({}){output}",
        c.kind.keyword(),
        c.name.name,
        params.join(", ")
    )
}

/// The declaration of `item` as code: annotations, then the signature or the type's body.
pub fn item_text(file: &SourceFile, item: &Item) -> String {
    let mut lines: Vec<String> = item
        .annotations
        .iter()
        .map(|a| collapse(&file.text[a.span.range()]))
        .collect();
    match &item.kind {
        ItemKind::Callable(c) => lines.push(callable_text(file, c)),
        ItemKind::Struct(r) | ItemKind::Class(r) => {
            let keyword = if matches!(item.kind, ItemKind::Struct(_)) {
                "struct"
            } else {
                "class"
            };
            if r.fields.is_empty() {
                lines.push(format!("{keyword} {} {{}}", r.name.name));
            } else {
                lines.push(format!("{keyword} {} {{", r.name.name));
                for f in &r.fields {
                    lines.push(format!("    {},", param_text(file, f)));
                }
                lines.push("}".into());
            }
        }
        ItemKind::Enum(e) => {
            let names: Vec<&str> = e.variants.iter().map(|(_, v)| v.name.as_str()).collect();
            lines.push(format!("enum {} {{ {} }}", e.name.name, names.join(", ")));
        }
        ItemKind::Extern(name) => lines.push(format!("extern type {}", name.name)),
        ItemKind::Alias { name, ty } => {
            lines.push(format!("type {} = {}", name.name, type_text(file, ty)))
        }
    }
    lines.join("\n")
}

/// A short one-line summary for completion details and symbols.
pub fn detail(a: &Analysis, id: DeclId) -> String {
    let Some(item) = a.index().item(&a.checked, id) else {
        return String::new();
    };
    let file = a.file(a.checked.decls.get(id).file);
    match &item.kind {
        ItemKind::Callable(c) => callable_text(file, c),
        ItemKind::Struct(_) => "struct".into(),
        ItemKind::Class(_) => "class (pickled)".into(),
        ItemKind::Enum(_) => "enum".into(),
        ItemKind::Extern(_) => "extern type (pickled)".into(),
        ItemKind::Alias { ty, .. } => format!("= {}", type_text(file, ty)),
    }
}

/// A doc comment as Markdown paragraphs (the `##` lines joined).
pub fn doc_markdown(doc: Option<&str>) -> Option<String> {
    let doc = doc?;
    let lines: Vec<&str> = doc
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let text = lines.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// `Flyte: collection of PythonPickle` for a type (empty for types without a literal type).
pub fn flyte_line(a: &Analysis, ty: &Type) -> Option<String> {
    if ty.has_error() {
        return None;
    }
    let described = lower::describe(&a.checked.decls, ty);
    (described != "no Flyte type").then(|| format!("Flyte: `{described}`"))
}

/// Why values of a class or extern type are pickled, and what to do about it.
pub fn pickle_note(a: &Analysis, id: DeclId) -> Option<String> {
    let decl = a.checked.decls.get(id);
    let allowed = decl.annotations.iter().any(|an| an.name.name == "allow");
    let why = match decl.kind {
        DeclKind::Class(_) => format!(
            "`{0}` is a `class`: the type engine does not know it, so its values travel as Pickle \
             files (`python_class_name: {0}`), slower than literals and readable only by a \
             compatible Python version. Declare it as a `struct` if its fields are known types.",
            decl.name
        ),
        DeclKind::Extern => format!(
            "`{}` is an `extern type`: opaque to Flow, produced and consumed outside it, so its \
             values always travel as Pickle files, tied to one Python version.",
            decl.name
        ),
        _ => return None,
    };
    Some(if allowed {
        format!("{why}\n\nPickle is allowed for it (`@allow(pickle)`).")
    } else {
        why
    })
}

/// The keyword of a callable declaration (`task`, `workflow`, `fn`).
pub fn callable_kind(a: &Analysis, id: DeclId) -> Option<CallableKind> {
    match &a.checked.decls.get(id).kind {
        DeclKind::Callable(sig) => Some(sig.kind),
        _ => None,
    }
}

/// What a built-in type is, for hover.
pub fn builtin_type(name: &str) -> &'static str {
    match name {
        "int" => "64-bit signed integer",
        "float" => "64-bit float",
        "str" => "UTF-8 string",
        "bool" => "`true` or `false`",
        "datetime" => "UTC instant",
        "duration" => "signed span of time (`250ms`, `30s`, `5m`, `2h`, `1d`)",
        "file" => "a path to a file produced or consumed by a task",
        "dir" => "a path to a directory produced or consumed by a task",
        "list" => "`list[T]`: an ordered list",
        "dict" => "`dict[str, T]`: a string-keyed map, in insertion order",
        "none" => "the unit value `none`",
        _ => "built-in type",
    }
}

/// The checked type a built-in type name stands for (for its Flyte line).
pub fn builtin_flyte(name: &str) -> Option<&'static str> {
    Some(match name {
        "int" => "INTEGER",
        "float" => "FLOAT",
        "str" => "STRING",
        "bool" => "BOOLEAN",
        "datetime" => "DATETIME",
        "duration" => "DURATION",
        "none" => "NONE",
        "file" => "blob (single)",
        "dir" => "blob (multipart)",
        "list" => "collection of T",
        "dict" => "map of T",
        _ => return None,
    })
}
