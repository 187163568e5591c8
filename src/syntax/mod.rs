//! Syntax: Flow text to an [`ast::Module`] with spans, and E0001 diagnostics for what does not
//! parse. A cheap scan first refuses nesting deeper than [`MAX_NESTING`], so no input can
//! exhaust the parser's stack, and more than [`MAX_UNCLOSED`] braces left open, on which the
//! parser's error recovery would take exponential time.

pub mod ast;
mod errors;
mod name;
mod parser;

pub use parser::{FlowParser, Rule};

use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// How deeply brackets, braces and string interpolations may nest.
pub const MAX_NESTING: usize = 200;

/// How many braces (of blocks, dicts, interpolations) may be left open in a file that is parsed.
/// The parser, which does not remember what it tried, parses an open block again for each block
/// open around it: its time doubles with each one.
pub const MAX_UNCLOSED: usize = 3;

/// Parses one file. Syntax errors are appended to `errors`; the module holds everything that
/// did parse.
pub fn parse(file: FileId, text: &str, errors: &mut Vec<Diagnostic>) -> ast::Module {
    match scan_brackets(text) {
        Brackets::TooDeep(offset) => {
            errors.push(
                Diagnostic::new(
                    Code::E0001,
                    Span::new(file, offset..offset + 1),
                    format!("brackets nest more than {MAX_NESTING} levels deep"),
                    "nesting limit reached here",
                )
                .with_help("split the expression into `let` bindings or smaller functions"),
            );
            ast::Module::default()
        }
        Brackets::Unclosed(open) if open.len() > MAX_UNCLOSED => {
            let mut diagnostic = Diagnostic::new(
                Code::E0001,
                Span::new(file, open[0]..open[0] + 1),
                format!("{} braces are never closed", open.len()),
                "this `{` is never closed",
            );
            for &offset in open.iter().skip(1).take(MAX_UNCLOSED) {
                diagnostic =
                    diagnostic.with_label(Span::new(file, offset..offset + 1), "nor is this one");
            }
            errors.push(diagnostic.with_help(format!(
                "close each block, dict and interpolation with `}}`; with more than \
                 {MAX_UNCLOSED} left open, the file is not parsed further"
            )));
            ast::Module::default()
        }
        Brackets::Unclosed(_) => parser::parse_module(file, text, errors),
    }
}

/// What [`scan_brackets`] finds.
enum Brackets {
    /// The offset of the first bracket nested deeper than [`MAX_NESTING`].
    TooDeep(usize),
    /// The offsets of the braces left open at the end of the file, in order (none in a file
    /// whose braces balance).
    Unclosed(Vec<usize>),
}

/// Where a scan of Flow text is: in code (the file's, or an interpolation's, opened at
/// `start`), with the brackets open in it, or in a string literal (`raw`: a Python task's code,
/// without escapes or interpolations).
enum Context {
    Code {
        start: Option<usize>,
        open: Vec<(u8, usize)>,
    },
    Str {
        triple: bool,
        raw: bool,
    },
}

/// Follows the brackets of `text`: where it ends (innermost last), or `Err` with the offset of
/// the first bracket nested deeper than [`MAX_NESTING`]. Brackets in comments and in the text
/// of strings do not count; an interpolation's braces do, and so does what they hold.
fn scan(text: &str) -> Result<Vec<Context>, usize> {
    let bytes = text.as_bytes();
    let mut stack = vec![Context::Code {
        start: None,
        open: Vec::new(),
    }];
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
            Some(Context::Code { open, .. }) => match bytes[i] {
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
                bracket @ (b'(' | b'[' | b'{') => {
                    open.push((bracket, i));
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(i);
                    }
                }
                b'}' if in_interpolation && open.is_empty() => {
                    stack.pop();
                    depth -= 1;
                }
                b')' | b']' | b'}' if !open.is_empty() => {
                    open.pop();
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
                    stack.push(Context::Code {
                        start: Some(i),
                        open: Vec::new(),
                    });
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    Ok(stack)
}

/// The brackets of `text`, as [`parse`] needs them.
fn scan_brackets(text: &str) -> Brackets {
    let stack = match scan(text) {
        Ok(stack) => stack,
        Err(offset) => return Brackets::TooDeep(offset),
    };
    let mut unclosed = Vec::new();
    for context in &stack {
        if let Context::Code { start, open } = context {
            unclosed.extend(start);
            unclosed.extend(open.iter().filter(|(b, _)| *b == b'{').map(|&(_, at)| at));
        }
    }
    Brackets::Unclosed(unclosed)
}

/// Whether `text`, which starts outside strings, ends inside a string literal or one of its
/// interpolations.
pub(crate) fn ends_in_string(text: &str) -> bool {
    scan(text).is_ok_and(|stack| stack.len() > 1)
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
