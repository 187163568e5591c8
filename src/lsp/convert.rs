//! Conversions between the checker's world (files by name, byte spans) and the protocol's (URIs,
//! UTF-16 line/character positions), and of [`Diagnostic`]s into LSP diagnostics.

use std::path::{Path, PathBuf};

use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
    Url,
};

use crate::diagnostics::{Diagnostic, Severity};
use crate::source::{SourceFile, Span};

/// The `source` field of every diagnostic the server publishes.
pub const SOURCE: &str = "flytec";

/// The LSP position of byte `offset` in `file`.
pub fn position(file: &SourceFile, offset: usize) -> Position {
    let (line, character) = file.line_utf16(offset);
    Position { line, character }
}

/// The LSP range of `span` in `file`.
pub fn range(file: &SourceFile, span: Span) -> Range {
    Range {
        start: position(file, span.start as usize),
        end: position(file, span.end as usize),
    }
}

/// The byte offset of an LSP position in `file` (clamped to the text).
pub fn offset(file: &SourceFile, position: Position) -> usize {
    if position.line as usize >= file.line_starts().len() {
        return file.text.len();
    }
    file.offset_utf16(position.line, position.character)
}

/// The name the checker is given for a document: its path for a `file:` URI, the URI itself
/// otherwise (imports of such a document are then looked up relative to nothing useful).
pub fn document_name(uri: &Url) -> String {
    match uri_path(uri) {
        Some(path) => path.display().to_string(),
        None => uri.to_string(),
    }
}

/// The local path of a `file:` URI.
pub fn uri_path(uri: &Url) -> Option<PathBuf> {
    if uri.scheme() == "file" {
        uri.to_file_path().ok()
    } else {
        None
    }
}

/// A key that is the same for every spelling of one file: the canonical path when the file
/// exists, the normalized path otherwise, the URI for anything that is not a file.
pub fn uri_key(uri: &Url) -> String {
    match uri_path(uri) {
        Some(path) => path_key(&path),
        None => uri.to_string(),
    }
}

/// [`uri_key`] for a path.
pub fn path_key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| normalize(path))
        .display()
        .to_string()
}

/// `a/./b/../c` as `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Converts one diagnostic whose primary label is in `file` (reached at `uri`). Secondary labels
/// become related information, wherever `locate` finds their file; the help line and the notes
/// follow as related information at the primary range, so the message stays exactly that of
/// `flytec check`.
pub fn diagnostic(
    d: &Diagnostic,
    file: &SourceFile,
    uri: &Url,
    locate: &dyn Fn(Span) -> Option<Location>,
) -> lsp_types::Diagnostic {
    let primary = range(file, d.span());
    let mut related = Vec::new();
    for label in &d.labels[1..] {
        if let Some(location) = locate(label.span) {
            related.push(DiagnosticRelatedInformation {
                location,
                message: label.message.clone(),
            });
        }
    }
    let here = Location {
        uri: uri.clone(),
        range: primary,
    };
    if !d.labels[0].message.is_empty() {
        related.insert(
            0,
            DiagnosticRelatedInformation {
                location: here.clone(),
                message: d.labels[0].message.clone(),
            },
        );
    }
    for note in &d.notes {
        related.push(DiagnosticRelatedInformation {
            location: here.clone(),
            message: format!("note: {note}"),
        });
    }
    if let Some(help) = &d.help {
        related.push(DiagnosticRelatedInformation {
            location: here.clone(),
            message: format!("help: {help}"),
        });
    }
    lsp_types::Diagnostic {
        range: primary,
        severity: Some(match d.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        code_description: None,
        source: Some(SOURCE.to_string()),
        message: d.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: (d.code == crate::diagnostics::Code::W0200)
            .then(|| vec![lsp_types::DiagnosticTag::UNNECESSARY]),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let file = SourceFile::new("a".into(), "let é😀 = x\nnext".into());
        let x = file.text.find('x').unwrap();
        assert_eq!(
            position(&file, x),
            Position {
                line: 0,
                character: 10
            }
        );
        assert_eq!(offset(&file, position(&file, x)), x);
        assert_eq!(
            offset(
                &file,
                Position {
                    line: 9,
                    character: 0
                }
            ),
            file.text.len()
        );
    }

    #[test]
    fn paths_normalize() {
        assert_eq!(
            normalize(Path::new("/a/./b/../c.flow")),
            PathBuf::from("/a/c.flow")
        );
    }
}
