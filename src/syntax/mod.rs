//! Syntax: Flow text to an [`ast::Module`] with spans, and E0001 diagnostics for what does not
//! parse. A cheap scan first refuses nesting deeper than [`MAX_NESTING`], so no input can
//! exhaust the parser's stack.

pub mod ast;
mod errors;
mod name;
mod parser;

pub use parser::{FlowParser, Rule};

use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// How deeply brackets and braces may nest.
pub const MAX_NESTING: usize = 200;

/// Parses one file. Syntax errors are appended to `errors`; the module holds everything that
/// did parse.
pub fn parse(file: FileId, text: &str, errors: &mut Vec<Diagnostic>) -> ast::Module {
    if let Some(offset) = too_deep(text) {
        errors.push(
            Diagnostic::new(
                Code::E0001,
                Span::new(file, offset..offset + 1),
                format!("brackets nest more than {MAX_NESTING} levels deep"),
                "nesting limit reached here",
            )
            .with_help("split the expression into `let` bindings or smaller functions"),
        );
        return ast::Module::default();
    }
    parser::parse_module(file, text, errors)
}

/// The offset of the first bracket nested deeper than [`MAX_NESTING`], skipping strings and
/// comments.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}
