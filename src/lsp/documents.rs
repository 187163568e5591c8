//! Document synchronization notifications (open, change, save, close, watched files) and the
//! diagnostics each document publishes.
//!
//! Consumes notifications and their JSON parameters; updates the server's open documents and
//! schedules their analysis. Produces the LSP diagnostics of one file of an analysis.

use std::io::Write;
use std::time::Instant;

use lsp_types::{
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, Position, Range,
    TextDocumentContentChangeEvent,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::analysis::{Analysis, Failure};
use super::convert;
use super::server::{Document, Server};
use crate::source::{FileId, SourceFile};

fn params<P: DeserializeOwned>(value: Value) -> Result<P, String> {
    serde_json::from_value(value).map_err(|e| format!("invalid parameters: {e}"))
}

/// Handles one notification; `Err` explains why it was ignored (for the log).
pub fn notification<W: Write>(
    server: &mut Server<W>,
    method: &str,
    value: Value,
) -> Result<(), String> {
    let now = Instant::now();
    match method {
        "textDocument/didOpen" => {
            let p: DidOpenTextDocumentParams = params(value)?;
            let uri = p.text_document.uri;
            let key = convert::uri_key(&uri);
            server.docs.insert(
                uri.clone(),
                Document {
                    uri: uri.clone(),
                    key: key.clone(),
                    text: p.text_document.text,
                    version: p.text_document.version,
                    analysis: Err(Failure("not analysed yet".into())),
                    due: None,
                    changed: None,
                },
            );
            server.schedule(&uri, now);
            server.schedule_dependents(&key, now);
        }
        "textDocument/didChange" => {
            let p: DidChangeTextDocumentParams = params(value)?;
            let uri = p.text_document.uri;
            let Some(doc) = server.docs.get_mut(&uri) else {
                return Err(format!("{uri} is not open"));
            };
            for change in p.content_changes {
                apply_change(&mut doc.text, change);
            }
            doc.version = p.text_document.version;
            let key = doc.key.clone();
            server.schedule(&uri, now);
            server.schedule_dependents(&key, now);
        }
        "textDocument/didSave" => {
            let p: DidSaveTextDocumentParams = params(value)?;
            let uri = p.text_document.uri;
            let key = convert::uri_key(&uri);
            if let (Some(doc), Some(text)) = (server.docs.get_mut(&uri), p.text) {
                if doc.text != text {
                    doc.text = text;
                    server.schedule(&uri, now);
                }
            }
            server.schedule_dependents(&key, now);
        }
        "textDocument/didClose" => {
            let p: DidCloseTextDocumentParams = params(value)?;
            let key = convert::uri_key(&p.text_document.uri);
            server.close(&p.text_document.uri);
            server.schedule_dependents(&key, now);
        }
        "workspace/didChangeWatchedFiles" => {
            let p: DidChangeWatchedFilesParams = params(value)?;
            for change in p.changes {
                let key = convert::uri_key(&change.uri);
                server.schedule_dependents(&key, now);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Applies one change: the whole text, or (from clients that send them anyway) a range.
fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text,
        Some(Range { start, end }) => {
            let file = SourceFile::new(String::new(), std::mem::take(text));
            let at = |p: Position| convert::offset(&file, p);
            let (a, b) = (at(start), at(end));
            let (a, b) = (a.min(b), a.max(b));
            let mut new = file.text;
            new.replace_range(a..b, &change.text);
            *text = new;
        }
    }
}

/// The diagnostics of `file` found by analysis `a`, as LSP diagnostics.
pub fn diagnostics_in(a: &Analysis, file: FileId) -> Vec<lsp_types::Diagnostic> {
    let Some(info) = a.files.get(file.0 as usize) else {
        return Vec::new();
    };
    let source = a.file(file);
    a.checked
        .diagnostics
        .iter()
        .filter(|d| d.span().file == file)
        .map(|d| convert::diagnostic(d, source, &info.uri, &|span| a.location(span)))
        .collect()
}

/// The one diagnostic of a document that could not be analysed.
pub fn failure_diagnostic(message: &str) -> lsp_types::Diagnostic {
    lsp_types::Diagnostic {
        range: Range::default(),
        severity: Some(lsp_types::DiagnosticSeverity::WARNING),
        source: Some(convert::SOURCE.into()),
        message: message.to_string(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranged_changes_apply_in_utf16() {
        let mut text = "let é = 1\nx".to_string();
        apply_change(
            &mut text,
            TextDocumentContentChangeEvent {
                range: Some(Range {
                    start: Position {
                        line: 0,
                        character: 8,
                    },
                    end: Position {
                        line: 0,
                        character: 9,
                    },
                }),
                range_length: None,
                text: "22".into(),
            },
        );
        assert_eq!(text, "let é = 22\nx");
    }
}
