//! `flytec fmt`: one canonical layout for Flow source, like `rustfmt` or `gofmt`.
//!
//! [`format_source`] parses a file, refuses it if it has syntax errors, and prints its AST back
//! in canonical form with every comment kept. Before returning, it re-parses what it printed and
//! checks that the AST (spans aside) and the comments (in order) are unchanged, so a file is never
//! rewritten with a different meaning.
//!
//! # Layout
//!
//! - 4-space indentation, lines of at most 100 columns where the layout allows it (long strings,
//!   comments and expressions without brackets may overflow), no trailing spaces, one final
//!   newline.
//! - `import`s first, in source order (with their comments), then one blank line, then the
//!   declarations, separated by exactly one blank line.
//! - Annotations one per line before a declaration; type annotations after the type,
//!   `list[T] @batch(2)`.
//! - `struct`/`class` fields and `enum` variants on one line, `struct P { x: float, y: float }`,
//!   when the declaration fits, else one per line without commas.
//! - Every bracketed list — parameters, arguments, named outputs, list/dict/tuple literals, type
//!   arguments, tuple patterns — on one line when it fits, else one item per line with a trailing
//!   comma, the closing bracket on its own line. The outermost list that does not fit breaks
//!   first; the lists inside it stay on one line if they then fit. A header whose parameters fit
//!   but whose named outputs do not breaks the outputs, `-> (` … `) {`. A comprehension that does
//!   not fit puts its element, `for` clause and `if` clause on lines of their own. Binary
//!   operators never break a line.
//! - Spaces around binary operators, after commas and colons, none before `(` or `[`, none around
//!   the `=` of a named argument or named-tuple item (`f(x=1)`), one around that of a binding.
//! - Blocks (bodies, `if`/`else`, `for`, `while`) put each statement on its own line; a block that
//!   holds a single expression (or `return`, `break`, `continue`) stays `{ x }` on one line when
//!   it was written on one line and still fits. The blocks of one `if … else …` chain are either
//!   all on one line or all broken, and `else` follows `}` on the same line.
//! - Inside blocks and lists at most one blank line is kept where the source had one or more;
//!   blank lines at the start or end of a block are removed.
//! - String and number literals are copied exactly as written (escapes, triple quotes, `1_000`,
//!   `1e-3`, `30s`). Expressions in string interpolations are not reformatted.
//! - Parentheses the user wrote are kept (one pair where several were nested); parentheses the
//!   precedence of LANGUAGE.md section 7 requires are added where the tree needs them (the tree
//!   records no grouping, so an expression built without them would otherwise change meaning).
//!   Two are added even when not strictly needed, for safety: around a `not` on the right of a
//!   tighter operator, `a == (not b)`, and around an integer before `.0`, `(1).0`.
//!
//! # Comments
//!
//! Comments are not in the AST, so they are recovered from the text (a small lexer finds every
//! `#` outside string literals, interpolations included) and merged back by position while
//! printing. Each comment is *own-line* (only whitespace before it on its line) or *trailing*
//! (after code). The printer takes comments, in source order, at *anchors*: before each
//! declaration, annotation, statement, list item and comprehension clause, and before each
//! closing `}`/`)`/`]` of a block or list. At an anchor, a trailing comment stays at the end of
//! the line before it (a second one at the same anchor gets a line of its own); own-line comments
//! get lines of their own at the anchor's indentation, with a blank line above where the source
//! had one. A comment inside an expression where no anchor is (after a binary operator or `=`,
//! between `}` and `else`, in empty brackets) is taken at the next anchor: a trailing one ends up
//! at the end of the line that now holds that code, an own-line one on the line after it. A
//! comment that must end its line forces the enclosing lists onto several lines.
//!
//! Each top-level declaration owns the comments from the end of the previous one's line to the
//! end of its own last line, so no comment moves to another declaration (an `import` that moves
//! to the top takes its comments along). `##` doc comments stay directly above what they
//! document; in fields, parameters and variants, a comment that was not on the line right above
//! the next item is kept apart from it by a blank line, so that it cannot become its doc.

mod comments;
mod doc;
mod exprs;
mod items;
mod lex;

use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax;

use comments::Comments;
use doc::{concat, group, if_break, indent, text, Doc};

/// Formats one Flow file. Returns the syntax errors instead when it does not parse (their spans
/// are in file [`FileId`]`(0)`).
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    let file = FileId(0);
    let mut errors = Vec::new();
    let module = syntax::parse(file, text, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut printer = Printer {
        text,
        bytes: text.as_bytes(),
        comments: Comments::scan(text),
    };
    let doc = printer.module(&module);
    let formatted = doc::render(&doc).trim_start_matches('\n').to_string();
    let imports_moved = module.items.iter().any(|item| {
        module
            .imports
            .iter()
            .any(|import| import.span.start > item.span.start)
    });
    verify(text, &module, &formatted, imports_moved).map_err(|problem| {
        vec![Diagnostic::new(
            Code::E0001,
            Span::new(file, 0..0),
            format!("cannot format this file without changing it: {problem}"),
            "left unchanged",
        )
        .with_note("this is a bug in `flytec fmt`; the file was not rewritten")]
    })?;
    Ok(formatted)
}

/// The AST of `module` as text, spans left out: two modules that print the same are the same
/// program, written differently.
fn ast_without_spans(module: &syntax::ast::Module) -> String {
    strip_spans(&format!("{module:?}"))
}

/// Removes every `Span { … }` from a `Debug` rendering.
fn strip_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(i) = rest.find("Span { ") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(" }").map_or(rest.len(), |j| j + 2);
        out.push('_');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Checks that `formatted` parses to the same AST as `original` and keeps its comments (in
/// order, unless imports moved to the top, taking their comments with them).
fn verify(
    original: &str,
    module: &syntax::ast::Module,
    formatted: &str,
    imports_moved: bool,
) -> Result<(), String> {
    let mut errors = Vec::new();
    let again = syntax::parse(FileId(0), formatted, &mut errors);
    if let Some(e) = errors.first() {
        return Err(format!("the result does not parse ({})", e.message));
    }
    if ast_without_spans(&again) != ast_without_spans(module) {
        return Err("the result parses to a different program".into());
    }
    let (before, after) = (Comments::scan(original), Comments::scan(formatted));
    let (mut before, mut after) = (before.texts(), after.texts());
    if imports_moved {
        before.sort_unstable();
        after.sort_unstable();
    }
    if before != after {
        return Err("the result loses or reorders a comment".into());
    }
    Ok(())
}

/// Prints an AST back as Flow, merging in the comments of the text it was parsed from.
struct Printer<'t> {
    text: &'t str,
    bytes: &'t [u8],
    comments: Comments,
}

/// The state of a sequence of lines being laid out: statements, declarations or list items.
struct Seq {
    /// Nothing has been laid out in it yet (so no blank line goes first).
    first: bool,
    /// Keep blank lines from the source.
    blanks: bool,
    /// A blank line is an extra newline only when the enclosing group breaks (in lists).
    soft: bool,
    /// The items carry `##` docs: comments that were not on the lines right above what follows
    /// them are kept apart from it by a blank line, so that no comment becomes a doc.
    docs: bool,
    /// The last comment laid out on a line of its own: where it starts, and whether it had a
    /// line of its own in the source too.
    last_own: Option<(usize, bool)>,
    /// Where the previous item ends: comments before it have flowed out of it.
    prev_end: usize,
    /// The next line needs a blank line before it.
    need_blank: bool,
}

impl Seq {
    fn new(blanks: bool, soft: bool, docs: bool) -> Seq {
        Seq {
            first: true,
            blanks,
            soft,
            docs,
            prev_end: 0,
            need_blank: false,
            last_own: None,
        }
    }

    fn blank_line(&self) -> Doc {
        if self.soft {
            Doc::SoftLine
        } else {
            Doc::HardLine
        }
    }
}

/// How a bracketed list is laid out.
#[derive(Clone, Copy)]
struct ListStyle {
    open: &'static str,
    close: &'static str,
    /// Spaces inside the brackets when flat, `{ x, y }`, and no commas when broken (records
    /// and enums).
    braces: bool,
    /// A comma after the last item even when flat (a one-item tuple).
    comma_after_last: bool,
    /// The items carry doc comments.
    docs: bool,
}

impl ListStyle {
    fn of(open: &'static str, close: &'static str) -> ListStyle {
        ListStyle {
            open,
            close,
            braces: false,
            comma_after_last: false,
            docs: false,
        }
    }
}

impl Printer<'_> {
    /// Lays out the comments not yet taken that start before `pos`: trailing ones at the end of
    /// the current line, own-line ones each on a line.
    fn comments_before(&mut self, out: &mut Vec<Doc>, pos: usize, seq: &mut Seq) {
        let mut own_lines = false;
        for i in self.comments.take_before(pos) {
            let c = self.comments.get(i).clone();
            // One trailing comment may end the current line; any more go on lines of their own.
            if !own_lines && !c.own_line {
                out.push(Doc::LineSuffix(c.text));
                out.push(Doc::BreakParent);
                own_lines = true;
                continue;
            }
            own_lines = true;
            let flowed = c.start < seq.prev_end;
            let blank =
                c.blank_before || (seq.need_blank && !flowed) || self.detached(seq, c.start);
            if blank && seq.blanks && !seq.first {
                out.push(Doc::HardLine);
            }
            out.push(Doc::HardLine);
            out.push(text(c.text));
            seq.first = false;
            seq.last_own = Some((c.start, c.own_line));
            if !flowed {
                seq.need_blank = false;
            }
        }
    }

    /// Whether, in a sequence with docs, the comment last laid out on its own line was not on
    /// the line right above `pos` in the source: the two then need a blank line between them.
    fn detached(&self, seq: &Seq, pos: usize) -> bool {
        let Some((start, own_line)) = seq.last_own.filter(|_| seq.docs) else {
            return false;
        };
        let between = self.bytes.get(start..pos).unwrap_or_default();
        !own_line
            || between.iter().filter(|&&b| b == b'\n').count() != 1
            || !lex::starts_line(self.bytes, pos)
    }

    /// The comments before a line that starts at `pos`, then the break `brk` before it.
    fn lead(&mut self, out: &mut Vec<Doc>, pos: usize, seq: &mut Seq, brk: Doc) {
        self.comments_before(out, pos, seq);
        let blank =
            lex::blank_line_before(self.bytes, pos) || seq.need_blank || self.detached(seq, pos);
        if blank && seq.blanks && !seq.first {
            out.push(seq.blank_line());
        }
        out.push(brk);
        seq.first = false;
        seq.need_blank = false;
        seq.last_own = None;
    }

    /// A bracketed, comma-separated list; `span` gives each item's start and end.
    fn list<T>(
        &mut self,
        style: ListStyle,
        items: &[T],
        span: impl Fn(&T) -> (usize, usize),
        mut item: impl FnMut(&mut Self, &T) -> Doc,
    ) -> Doc {
        if items.is_empty() {
            return text(format!("{}{}", style.open, style.close));
        }
        let edge = || {
            if style.braces {
                Doc::Line
            } else {
                Doc::SoftLine
            }
        };
        let mut inner = Vec::new();
        let mut seq = Seq::new(true, true, style.docs);
        for (i, x) in items.iter().enumerate() {
            let (start, end) = span(x);
            if i > 0 {
                inner.push(if style.braces {
                    if_break(text(""), text(","))
                } else {
                    text(",")
                });
            }
            self.lead(
                &mut inner,
                start,
                &mut seq,
                if i == 0 { edge() } else { Doc::Line },
            );
            inner.push(item(self, x));
            seq.prev_end = end;
        }
        inner.push(if style.comma_after_last {
            text(",")
        } else if style.braces {
            text("")
        } else {
            if_break(text(","), text(""))
        });
        let close = lex::skip_trivia_and_commas(self.bytes, seq.prev_end);
        self.comments_before(&mut inner, close, &mut seq);
        group(concat(vec![
            text(style.open),
            indent(concat(inner)),
            edge(),
            text(style.close),
        ]))
    }

    /// The source text of `start..end`.
    fn slice(&self, start: usize, end: usize) -> &str {
        self.text.get(start..end).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_stripped() {
        assert_eq!(
            strip_spans("Ident { name: \"x\", span: Span { file: FileId(0), start: 1, end: 2 } }"),
            "Ident { name: \"x\", span: _ }"
        );
    }

    #[test]
    fn syntax_errors_are_returned() {
        let errors = format_source("task t( {").unwrap_err();
        assert!(!errors.is_empty());
    }

    #[test]
    fn formats_a_small_file() {
        let got =
            format_source("task   t(x:int)->int{x+1}\n\n\n\nworkflow w( ) { t(x=1) }").unwrap();
        assert_eq!(
            got,
            "task t(x: int) -> int { x + 1 }\n\nworkflow w() { t(x=1) }\n"
        );
    }
}
