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

/// How deeply brackets, braces and string interpolations may nest.
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

/// The offset of the first bracket nested deeper than [`MAX_NESTING`]. Brackets in comments and
/// in the text of strings do not count; an interpolation's braces do, and so does what they hold.
fn too_deep(text: &str) -> Option<usize> {
    /// Where the scan is: in code (the file's, or an interpolation's, with how many brackets are
    /// open in it), or in a string literal (`raw`: a Python task's code, without escapes or
    /// interpolations).
    enum Context {
        Code { open: usize },
        Str { triple: bool, raw: bool },
    }
    let bytes = text.as_bytes();
    let mut stack = vec![Context::Code { open: 0 }];
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        // Most bytes mean nothing here: pass over them in a tight loop.
        let skip = match stack.last() {
            Some(Context::Code { .. }) => bytes[i..]
                .iter()
                .position(|b| matches!(b, b'#' | b'"' | b'(' | b')' | b'[' | b']' | b'{' | b'}')),
            _ => bytes[i..]
                .iter()
                .position(|b| matches!(b, b'\\' | b'"' | b'{' | b'\n')),
        };
        match skip {
            Some(n) => i += n,
            None => break,
        }
        let in_interpolation = stack.len() > 1;
        match stack.last_mut() {
            None => break,
            Some(Context::Code { open }) => match bytes[i] {
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'"' => {
                    let triple = bytes[i..].starts_with(b"\"\"\"");
                    let raw = opens_python_code(bytes, i);
                    stack.push(Context::Str { triple, raw });
                    i += if triple { 3 } else { 1 };
                    continue;
                }
                b'(' | b'[' | b'{' => {
                    *open += 1;
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Some(i);
                    }
                }
                b'}' if in_interpolation && *open == 0 => {
                    stack.pop();
                    depth -= 1;
                }
                b')' | b']' | b'}' if *open > 0 => {
                    *open -= 1;
                    depth -= 1;
                }
                _ => {}
            },
            Some(&mut Context::Str { triple, raw }) => match bytes[i] {
                b'\\' if !raw => i += 1,
                b'"' if triple && bytes[i..].starts_with(b"\"\"\"") => {
                    stack.pop();
                    i += 3;
                    continue;
                }
                b'"' | b'\n' if !triple => {
                    stack.pop();
                }
                b'{' if !raw => {
                    stack.push(Context::Code { open: 0 });
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Whether the `"` at `i` opens a Python task's code (`python "module:function"` or
/// `python """…"""`), which is raw: it follows the word `python` on its line.
pub(crate) fn opens_python_code(bytes: &[u8], i: usize) -> bool {
    let mut end = i;
    while end > 0 && matches!(bytes[end - 1], b' ' | b'\t' | b'\r') {
        end -= 1;
    }
    let before = &bytes[..end];
    let Some(rest) = before.strip_suffix(b"python") else {
        return false;
    };
    !rest
        .last()
        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
}
