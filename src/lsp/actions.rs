//! Code actions and formatting (by `flytec fmt`'s formatter). Every diagnostic that carries a machine-applicable
//! [`Fix`](crate::diagnostics::Fix) — a did-you-mean replacement, a missing named argument,
//! `@allow(pickle)`, removing an unused import — is offered as a quick fix when the requested
//! range touches it.
//!
//! Consumes an analysis and a range; produces code actions with workspace edits.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionResponse, Position, Range, TextEdit,
    WorkspaceEdit,
};

use super::analysis::Analysis;
use super::convert;
use super::server::RequestError;
use crate::diagnostics::Code;
use crate::source::SourceFile;

/// Whether `textDocument/formatting` is offered (by [`crate::fmt::format_source`]).
pub const FORMATTING: bool = true;

/// The quick fixes for diagnostics of the document touching `range`.
pub fn code_actions(a: &Analysis, range: Range) -> CodeActionResponse {
    let file = a.root_file();
    let (from, to) = (
        convert::offset(file, range.start),
        convert::offset(file, range.end),
    );
    let mut actions = Vec::new();
    for d in &a.checked.diagnostics {
        let span = d.span();
        let Some(fix) = &d.fix else { continue };
        if span.file != a.root || (span.end as usize) < from || (span.start as usize) > to {
            continue;
        }
        let Some(location) = a.location(fix.span) else {
            continue;
        };
        let info = &a.files[a.root.0 as usize];
        let diagnostic = convert::diagnostic(d, file, &info.uri, &|s| a.location(s));
        let mut changes = HashMap::new();
        changes.insert(
            location.uri,
            vec![TextEdit {
                range: location.range,
                new_text: fix.replacement.clone(),
            }],
        );
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: fix.message.clone(),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic]),
            edit: Some(WorkspaceEdit {
                changes: Some(changes),
                ..Default::default()
            }),
            is_preferred: Some(matches!(d.code, Code::E0100 | Code::E0202 | Code::E0201)),
            ..Default::default()
        }));
    }
    actions
}

/// The edits formatting `text` with `flytec fmt`'s layout: one edit replacing the whole
/// document, or none when it is already formatted. A document with syntax errors is not
/// formatted (the request fails, naming the first error).
pub fn format(text: &str) -> Result<Option<Vec<TextEdit>>, RequestError> {
    let formatted = crate::fmt::format_source(text).map_err(|errors| {
        let first = errors.first().map_or_else(String::new, |d| {
            let file = SourceFile::new(String::new(), text.to_string());
            let at = file.line_col(d.span().start as usize);
            format!(": line {}, column {}: {}", at.line, at.column, d.message)
        });
        RequestError::failed(format!(
            "cannot format a document with syntax errors ({} found){first}",
            errors.len()
        ))
    })?;
    if formatted == text {
        return Ok(Some(Vec::new()));
    }
    let file = SourceFile::new(String::new(), text.to_string());
    let range = Range {
        start: Position::default(),
        end: convert::position(&file, text.len()),
    };
    Ok(Some(vec![TextEdit {
        range,
        new_text: formatted,
    }]))
}
