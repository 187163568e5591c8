//! Rename: top-level declarations (across the open documents' programs and the workspace, see
//! [`super::navigate`]), parameters (with the named arguments of calls), enum variants and
//! local variables. Refused, with a message, when the new name is not an identifier, is a
//! keyword or a built-in type, or collides with a name in scope; built-ins, built-in types and
//! record fields (whose `.field` uses cannot all be found without the checker's inferred types)
//! are not renamed.
//!
//! Consumes analyses, a position and a new name; produces a workspace edit.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use lsp_types::{Position, PrepareRenameResponse, TextEdit, Url, WorkspaceEdit};

use super::analysis::Analysis;
use super::convert;
use super::index::{Def, BUILTIN_TYPES};
use super::navigate::{closed_users, def_key, occurrence_at, occurrences_everywhere};
use super::server::{Document, RequestError};
use crate::syntax::ast::ItemKind;

/// The reserved words of LANGUAGE.md section 2.
pub const KEYWORDS: &[&str] = &[
    "task", "workflow", "fn", "struct", "class", "enum", "extern", "type", "import", "let", "var",
    "if", "else", "for", "in", "while", "break", "continue", "return", "fail", "and", "or", "not",
    "true", "false", "none",
];

/// Why the name under the cursor cannot be renamed, if it cannot.
fn refusal(a: &Analysis, def: &Def) -> Option<&'static str> {
    let span = a.index().def_span(&a.checked, def);
    let in_std = span.is_some_and(|s| a.files.get(s.file.0 as usize).is_some_and(|f| f.is_std));
    match def {
        Def::BuiltinType(_) => Some("built-in types cannot be renamed"),
        Def::Module(_) => Some("rename the file instead"),
        Def::Field { .. } => Some(
            "fields cannot be renamed yet: their `.field` uses on values of inferred type cannot all be found",
        ),
        _ if in_std => Some("built-ins of the standard library cannot be renamed"),
        _ => None,
    }
}

/// The range of the name under the cursor, when it can be renamed.
pub fn prepare(a: &Analysis, position: Position) -> Result<PrepareRenameResponse, RequestError> {
    let occurrence =
        occurrence_at(a, position).ok_or_else(|| RequestError::failed("no name to rename here"))?;
    if let Some(why) = refusal(a, &occurrence.def) {
        return Err(RequestError::failed(why));
    }
    let range = convert::range(a.root_file(), occurrence.span);
    let placeholder = a.checked.sources.slice(occurrence.span).to_string();
    Ok(PrepareRenameResponse::RangeWithPlaceholder { range, placeholder })
}

/// Checks `new` as a name: an identifier, not a keyword or built-in type.
pub fn check_name(new: &str) -> Result<(), String> {
    let mut chars = new.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`{new}` is not an identifier: names are letters, digits and `_`, not starting with a digit"
        ));
    }
    if KEYWORDS.contains(&new) {
        return Err(format!("`{new}` is a keyword"));
    }
    if BUILTIN_TYPES.contains(&new) {
        return Err(format!("`{new}` is a built-in type"));
    }
    Ok(())
}

/// The edit renaming the name under the cursor to `new`.
pub fn rename(
    docs: &BTreeMap<Url, Document>,
    roots: &[PathBuf],
    a: &Analysis,
    position: Position,
    new: &str,
) -> Result<WorkspaceEdit, RequestError> {
    let occurrence =
        occurrence_at(a, position).ok_or_else(|| RequestError::failed("no name to rename here"))?;
    if let Some(why) = refusal(a, &occurrence.def) {
        return Err(RequestError::failed(why));
    }
    check_name(new).map_err(RequestError::failed)?;
    let old = a.checked.sources.slice(occurrence.span).to_string();
    if old == new {
        return Ok(WorkspaceEdit::default());
    }
    let key = def_key(a, &occurrence.def)
        .ok_or_else(|| RequestError::failed("cannot find where this name is declared"))?;
    let closed = closed_users(docs, roots, a, &occurrence.def);
    let found = occurrences_everywhere(docs, &closed, a, &key);
    for (b, o) in &found {
        collision(b, &o.def, o.span, &old, new).map_err(RequestError::failed)?;
    }
    let mut changes: HashMap<Url, Vec<TextEdit>> = HashMap::new();
    for (b, o) in found {
        let Some(location) = b.location(o.span) else {
            continue;
        };
        changes.entry(location.uri).or_default().push(TextEdit {
            range: location.range,
            new_text: new.to_string(),
        });
    }
    Ok(WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    })
}

/// Whether renaming `def` (written `old` at `span`, one of its occurrences in analysis `b`) to
/// `new` would make another name clash with it or hide it.
fn collision(
    b: &Analysis,
    def: &Def,
    span: crate::source::Span,
    old: &str,
    new: &str,
) -> Result<(), String> {
    let Some(m) = b.module_of(span.file) else {
        return Ok(());
    };
    let at = span.start as usize;
    let line = |s: crate::source::Span| b.file(s.file).line_col(s.start as usize).line;
    match def {
        Def::Decl(_) => {
            let scope = &b.checked.scopes[m];
            if let Some(other) = scope.get(new) {
                let d = b.checked.decls.get(other[0]);
                let file = b.file(d.file);
                return Err(format!(
                    "`{new}` is already declared ({}:{})",
                    file.name,
                    line(d.span)
                ));
            }
            if let Some(Def::Local(_) | Def::Param { .. }) =
                b.index().resolve_at(&b.checked, m, at, new)
            {
                return Err(format!(
                    "a local variable or parameter `{new}` would hide `{old}` at line {}",
                    line(span)
                ));
            }
        }
        Def::Local(_) | Def::Param { .. } | Def::Variant { .. } => {
            if let Def::Variant { owner, .. } = def {
                if let Some(ItemKind::Enum(e)) = b.index().item(&b.checked, *owner).map(|i| &i.kind)
                {
                    if e.variants.iter().any(|(_, v)| v.name == new) {
                        return Err(format!("`{}` already has a variant `{new}`", e.name.name));
                    }
                }
                return Ok(());
            }
            if let Def::Param { owner, .. } = def {
                if let Some(ItemKind::Callable(c)) =
                    b.index().item(&b.checked, *owner).map(|i| &i.kind)
                {
                    if c.params.iter().any(|p| p.name.name == new) {
                        return Err(format!("`{}` already has a parameter `{new}`", c.name.name));
                    }
                }
            }
            match b.index().resolve_at(&b.checked, m, at, new) {
                Some(Def::Local(_) | Def::Param { .. }) => {
                    return Err(format!(
                        "`{new}` is already a local variable or parameter in scope at line {}",
                        line(span)
                    ))
                }
                Some(Def::Decl(_)) if !is_named_argument(b, def, span) => {
                    return Err(format!(
                        "`{new}` would hide the top-level `{new}` at line {}",
                        line(span)
                    ))
                }
                _ => {}
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether `span` is a `name=` argument (not a use inside a body).
fn is_named_argument(b: &Analysis, def: &Def, span: crate::source::Span) -> bool {
    matches!(def, Def::Param { .. })
        && b.index().def_span(&b.checked, def) != Some(span)
        && b.file(span.file).text[span.end as usize..]
            .trim_start()
            .starts_with('=')
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn new_names_must_be_identifiers_and_not_reserved() {
        assert!(check_name("total_2").is_ok());
        assert!(check_name("_x").is_ok());
        assert!(check_name("2x").unwrap_err().contains("not an identifier"));
        assert!(check_name("a-b").unwrap_err().contains("not an identifier"));
        assert!(check_name("").unwrap_err().contains("not an identifier"));
        assert!(check_name("λ").unwrap_err().contains("not an identifier"));
        assert!(check_name("while").unwrap_err().contains("keyword"));
        assert!(check_name("dict").unwrap_err().contains("built-in type"));
    }
}
