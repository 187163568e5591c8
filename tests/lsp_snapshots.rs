//! Snapshots of the language server's hover and completion results, drawn under the source
//! text they answer. Each program in `tests/lsp/cases/` marks cursors with comment lines:
//!
//! ```text
//!     let m = max(xs)
//! #       ^ hover
//! ```
//!
//! A marker line (`#`, spaces, `^`, a space, then `hover` or `complete`) puts the cursor at the
//! column of its `^` on the nearest line above that is not a marker. The program is analysed
//! in-process as the server does (markers included: they are comments), and each marker line is
//! replaced by the result: a hover's range underlined with `^` and its Markdown below; the
//! completions an editor would list there — those starting with the word before the cursor, in
//! the order editors sort them in (by sort text, else label; at most [`MAX_ITEMS`]), each with its detail. Accept new snapshots with
//! `cargo insta review` (or `INSTA_UPDATE=always`).

mod common;

use std::fs;
use std::path::Path;

use flytec::lsp::analysis::{self, Analysis, OpenFiles};
use flytec::lsp::{complete, convert, hover};
use lsp_types::{CompletionItem, CompletionResponse, HoverContents, Url};

/// The most completions drawn under one marker; the rest are counted.
const MAX_ITEMS: usize = 15;

/// What a marker asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Request {
    Hover,
    Complete,
}

/// A marker line: the caret's column and the request.
fn marker(line: &str) -> Option<(usize, Request)> {
    let rest = line.strip_prefix('#')?;
    let caret = rest.find(|c: char| c != ' ')?;
    let after = rest[caret..].strip_prefix('^')?;
    let request = match after.strip_prefix(' ')? {
        "hover" => Request::Hover,
        "complete" => Request::Complete,
        _ => return None,
    };
    Some((caret + 1, request))
}

/// `# ` with the text starting at `column` (the `#` stays in column 0).
fn comment_at(column: usize, text: &str) -> String {
    format!("#{}{text}", " ".repeat(column.saturating_sub(1)))
        .trim_end()
        .to_string()
}

/// The result for a marker at byte `offset` of the document (in character `column` of its
/// line), drawn as comment lines.
fn draw(a: &Analysis, request: Request, offset: usize, column: usize) -> Vec<String> {
    let file = a.root_file();
    let position = convert::position(file, offset);
    let body = |column: usize, lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .map(|l| comment_at(column, &format!("│ {l}")))
            .collect()
    };
    match request {
        Request::Hover => {
            let Some(h) = hover::hover(a, position) else {
                return vec![comment_at(column, "^ hover: nothing")];
            };
            let HoverContents::Markup(markup) = h.contents else {
                panic!("hover is Markdown")
            };
            let range = h.range.expect("hover has a range");
            assert_eq!(range.start.line, range.end.line, "a one-line range");
            assert_eq!(
                range.start.line, position.line,
                "the range is on the cursor's line"
            );
            assert!(
                range.start <= position && position <= range.end,
                "the range holds the cursor"
            );
            let (start, end) = (range.start.character as usize, range.end.character as usize);
            let start = start.max(1);
            let mut lines = vec![comment_at(
                start,
                &format!("{} hover", "^".repeat(end - start)),
            )];
            lines.extend(body(
                start,
                markup.value.lines().map(String::from).collect(),
            ));
            lines
        }
        Request::Complete => {
            let items = match complete::completion(a, position) {
                Some(CompletionResponse::Array(items)) => items,
                Some(CompletionResponse::List(list)) => list.items,
                None => Vec::new(),
            };
            let before = &file.text[..offset];
            let word = before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
            let typed = &before[word.len()..];
            let mut shown: Vec<&CompletionItem> = items
                .iter()
                .filter(|i| {
                    i.filter_text
                        .as_ref()
                        .unwrap_or(&i.label)
                        .starts_with(typed)
                })
                .collect();
            shown.sort_by_key(|i| i.sort_text.as_ref().unwrap_or(&i.label).clone());
            let mut lines = vec![comment_at(column, "^ complete")];
            let width = shown.iter().map(|i| i.label.len()).max().unwrap_or(0);
            let mut rows: Vec<String> = shown
                .iter()
                .take(MAX_ITEMS)
                .map(|i| {
                    let detail = i.detail.as_deref().unwrap_or("");
                    format!("{:width$}  {detail}", i.label)
                        .trim_end()
                        .to_string()
                })
                .collect();
            if shown.len() > MAX_ITEMS {
                rows.push(format!("… {} more", shown.len() - MAX_ITEMS));
            }
            if rows.is_empty() {
                rows.push("(nothing)".into());
            }
            lines.extend(body(column, rows));
            lines
        }
    }
}

/// The program at `path` with every marker replaced by its result.
fn render(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("the case is readable");
    let uri = Url::from_file_path(path).expect("an absolute path");
    let a = analysis::analyse(&uri, &text, 1, OpenFiles::default(), &|_| None)
        .expect("the case is analysed");
    let file = a.root_file();
    let mut out = Vec::new();
    let mut target = None;
    for (number, line) in text.lines().enumerate() {
        let Some((column, request)) = marker(line) else {
            target = Some(number);
            out.push(line.to_string());
            continue;
        };
        let target = target.expect("a marker follows a line of code");
        let line_start = file.line_starts()[target];
        let code = text.lines().nth(target).unwrap_or_default();
        assert!(
            column <= code.chars().count(),
            "the caret is within its line: {line}"
        );
        let (within, _) = text[line_start..]
            .char_indices()
            .nth(column)
            .expect("the caret is within the line");
        out.extend(draw(&a, request, line_start + within, column));
    }
    out.join("\n") + "\n"
}

#[test]
fn hover_and_completion_results() {
    let dir = common::manifest_dir().join("tests/lsp/cases");
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .expect("tests/lsp/cases exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    for path in cases {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(stem, render(&path));
    }
}

#[test]
fn markers_are_read_from_comment_lines() {
    assert_eq!(marker("#       ^ hover"), Some((8, Request::Hover)));
    assert_eq!(marker("#  ^ complete"), Some((3, Request::Complete)));
    assert_eq!(marker("# a comment ^ hover"), None);
    assert_eq!(marker("## ^ hover"), None);
    assert_eq!(comment_at(4, "^ hover"), "#   ^ hover");
}
