//! Renders [`Diagnostic`]s at the edge: rustc-style text for people (through
//! codespan-reporting) and the frozen `--format json` document for machines.
//!
//! Consumes diagnostics and the [`SourceMap`] their spans point into; produces text on a writer,
//! a one-line summary, or a `serde_json::Value`. Columns are counted in characters everywhere
//! (a tab is one column); only the drawn source snippet expands tabs, to [`TAB_WIDTH`] spaces.

use std::io;
use std::ops::Range;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{self, Files};
use codespan_reporting::term::{self, termcolor::Ansi, Chars, Config, DisplayStyle};
use serde::Serialize;

use super::{Code, Diagnostic, Severity};
use crate::source::{FileId, LineCol, SourceFile, SourceMap, Span};

/// How many columns a tab takes in a drawn source snippet (not in reported columns).
pub const TAB_WIDTH: usize = 4;

/// Version of the JSON document; bump it on any incompatible change of its shape.
const JSON_VERSION: u32 = 1;

/// The file name reported for a span whose file is not in the source map (a compiler bug).
const UNKNOWN_FILE: &str = "<unknown>";

/// The file with id `id`, or `None` when the map does not hold it.
fn lookup(sources: &SourceMap, id: FileId) -> Option<&SourceFile> {
    sources.iter().nth(id.0 as usize).map(|(_, file)| file)
}

/// The range codespan draws for `span`: clamped, and without a trailing line break.
fn drawn_range(file: &SourceFile, span: Span) -> Range<usize> {
    without_line_break(&file.text, clamp(file, span))
}

/// A drawn label ends before a line break it covers, so that a span on a newline token is
/// drawn as a caret at the end of its line rather than as a label running into the next line.
fn without_line_break(text: &str, mut range: Range<usize>) -> Range<usize> {
    for ending in ["\n", "\r"] {
        if range.end > range.start && text[..range.end].ends_with(ending) {
            range.end -= 1;
        }
    }
    range
}

/// Like [`lookup`], as codespan's error for a missing file.
fn require(sources: &SourceMap, id: FileId) -> Result<&SourceFile, files::Error> {
    lookup(sources, id).ok_or(files::Error::FileMissing)
}

/// The span's byte range made safe to slice: inside the text, on character boundaries (the
/// start rounded down, the end rounded up), and not reversed.
fn clamp(file: &SourceFile, span: Span) -> Range<usize> {
    let text = &file.text;
    let mut start = (span.start as usize).min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (span.end as usize).clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// The source map as codespan's file database: ids are [`FileId`]s, names are the names as
/// given, and line and column numbers are those of [`SourceFile::line_col`] (1-based, columns
/// in characters), so the `file:line:column` header agrees with the JSON output.
impl<'a> Files<'a> for SourceMap {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, files::Error> {
        Ok(&require(self, id)?.name)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, files::Error> {
        Ok(&require(self, id)?.text)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, files::Error> {
        Ok(require(self, id)?.line_index(byte_index))
    }

    fn column_number(
        &'a self,
        id: FileId,
        _line_index: usize,
        byte_index: usize,
    ) -> Result<usize, files::Error> {
        Ok(require(self, id)?.line_col(byte_index).column as usize)
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, files::Error> {
        let file = require(self, id)?;
        let lines = file.line_starts().len();
        if line_index >= lines {
            return Err(files::Error::LineTooLarge {
                given: line_index,
                max: lines - 1,
            });
        }
        Ok(file.line_range(line_index))
    }
}

/// The codespan configuration: rustc-like ASCII borders, tabs drawn [`TAB_WIDTH`] wide.
fn config() -> Config {
    Config {
        display_style: DisplayStyle::Rich,
        tab_width: TAB_WIDTH,
        chars: Chars::ascii(),
        ..Config::default()
    }
}

/// Converts one diagnostic. Labels whose file is missing from `sources` are dropped rather
/// than failing the whole render; the fix's message stands in for a missing help line.
fn to_codespan(diagnostic: &Diagnostic, sources: &SourceMap) -> cs::Diagnostic<FileId> {
    let severity = match diagnostic.severity() {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let labels = diagnostic
        .labels
        .iter()
        .enumerate()
        .filter_map(|(i, label)| {
            let file = lookup(sources, label.span.file)?;
            let style = if i == 0 {
                cs::LabelStyle::Primary
            } else {
                cs::LabelStyle::Secondary
            };
            Some(
                cs::Label::new(style, label.span.file, drawn_range(file, label.span))
                    .with_message(&label.message),
            )
        });
    let mut notes: Vec<String> = diagnostic
        .notes
        .iter()
        .map(|n| format!("note: {n}"))
        .collect();
    let fix = diagnostic.fix.as_ref().map(|fix| &fix.message);
    if let Some(help) = diagnostic.help.as_ref().or(fix) {
        notes.push(format!("help: {help}"));
    }
    cs::Diagnostic::new(severity)
        .with_code(diagnostic.code)
        .with_message(&diagnostic.message)
        .with_labels_iter(labels)
        .with_notes(notes)
}

fn io_error(error: files::Error) -> io::Error {
    match error {
        files::Error::Io(error) => error,
        other => io::Error::other(other.to_string()),
    }
}

/// Writes `diagnostics` for people, rustc-style, each followed by a blank line:
///
/// ```text
/// error[E0200]: `scale` expects `int` for `factor`, found `str`
///   --> main.flow:6:23
///   |
/// 1 | task scale(x: float, factor: int) -> float {
///   |                              --- this expects `int`
///   .
/// 6 |     scale(x=x, factor=factor)
///   |                       ^^^^^^ this is `str`
///   |
///   = note: …
///   = help: …
/// ```
///
/// With `color`, ANSI colour codes are added. The whole text is written to `out` at once.
pub fn render_human(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    color: bool,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let config = config();
    let mut buffer = Vec::new();
    for diagnostic in diagnostics {
        let diagnostic = to_codespan(diagnostic, sources);
        if color {
            term::emit_to_write_style(&mut Ansi::new(&mut buffer), &config, sources, &diagnostic)
        } else {
            term::emit_to_io_write(&mut buffer, &config, sources, &diagnostic)
        }
        .map_err(io_error)?;
    }
    out.write_all(&buffer)?;
    out.flush()
}

/// `1 error`, `2 warnings`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The closing line after the diagnostics, or `None` when there are none:
/// `error: could not check due to 2 errors and 1 warning`, `warning: 3 warnings emitted`.
pub fn summary(diagnostics: &[Diagnostic]) -> Option<String> {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    match (errors, warnings) {
        (0, 0) => None,
        (0, w) => Some(format!("warning: {} emitted", count(w, "warning"))),
        (e, 0) => Some(format!(
            "error: could not check due to {}",
            count(e, "error")
        )),
        (e, w) => Some(format!(
            "error: could not check due to {} and {}",
            count(e, "error"),
            count(w, "warning")
        )),
    }
}

// The JSON document of LANGUAGE.md section 10. These types are its frozen shape: keys appear
// in declaration order, and existing keys must not change (new keys may be added).

#[derive(Serialize)]
struct JsonDocument<'a> {
    version: u32,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: Code,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    range: JsonRange,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
    notes: &'a [String],
    fix: Option<JsonFix<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    file: &'a str,
    range: JsonRange,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    message: &'a str,
    file: &'a str,
    range: JsonRange,
    replacement: &'a str,
}

#[derive(Serialize, Clone, Copy)]
struct JsonRange {
    start: JsonPosition,
    end: JsonPosition,
}

impl JsonRange {
    /// Where a span without a known file is reported: 1:1.
    const UNKNOWN: JsonRange = JsonRange {
        start: JsonPosition { line: 1, column: 1 },
        end: JsonPosition { line: 1, column: 1 },
    };
}

#[derive(Serialize, Clone, Copy)]
struct JsonPosition {
    line: u32,
    column: u32,
}

impl From<LineCol> for JsonPosition {
    fn from(position: LineCol) -> JsonPosition {
        JsonPosition {
            line: position.line,
            column: position.column,
        }
    }
}

/// The file name and 1-based character range of `span`; [`UNKNOWN_FILE`] at 1:1 for a span
/// whose file is not in the map.
fn locate(sources: &SourceMap, span: Span) -> (&str, JsonRange) {
    match lookup(sources, span.file) {
        Some(file) => {
            let range = clamp(file, span);
            let range = JsonRange {
                start: file.line_col(range.start).into(),
                end: file.line_col(range.end).into(),
            };
            (&file.name, range)
        }
        None => (UNKNOWN_FILE, JsonRange::UNKNOWN),
    }
}

fn json_diagnostic<'a>(diagnostic: &'a Diagnostic, sources: &'a SourceMap) -> JsonDiagnostic<'a> {
    let labels: Vec<JsonLabel> = diagnostic
        .labels
        .iter()
        .map(|label| {
            let (file, range) = locate(sources, label.span);
            JsonLabel {
                message: &label.message,
                file,
                range,
            }
        })
        .collect();
    let (file, range) = match labels.first() {
        Some(primary) => (primary.file, primary.range),
        None => (UNKNOWN_FILE, JsonRange::UNKNOWN),
    };
    let fix = diagnostic.fix.as_ref().map(|fix| {
        let (file, range) = locate(sources, fix.span);
        JsonFix {
            message: &fix.message,
            file,
            range,
            replacement: &fix.replacement,
        }
    });
    JsonDiagnostic {
        code: diagnostic.code,
        severity: diagnostic.severity(),
        message: &diagnostic.message,
        file,
        range,
        labels,
        help: diagnostic.help.as_deref(),
        notes: &diagnostic.notes,
        fix,
    }
}

/// The `--format json` document of LANGUAGE.md section 10:
/// `{"version": 1, "diagnostics": [{"code", "severity", "message", "file", "range", "labels",
/// "help", "notes", "fix"}]}`. Lines and columns are 1-based, columns count characters, and a
/// range's end is exclusive (one past the last character). `file` and `range` are the primary
/// label's; `labels` holds every label, the primary first; `help` and `fix` may be `null`.
pub fn to_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    let document = JsonDocument {
        version: JSON_VERSION,
        diagnostics: diagnostics
            .iter()
            .map(|d| json_diagnostic(d, sources))
            .collect(),
    };
    serde_json::to_value(document).expect("the JSON document has string keys only")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sources(text: &str) -> (SourceMap, FileId) {
        let mut map = SourceMap::new();
        let id = map.add("demo.flow".into(), text.into());
        (map, id)
    }

    fn span_of(map: &SourceMap, file: FileId, needle: &str, nth: usize) -> Span {
        let text = &map.get(file).text;
        let start = text
            .match_indices(needle)
            .nth(nth)
            .expect("needle in text")
            .0;
        Span::new(file, start..start + needle.len())
    }

    fn human(diagnostics: &[Diagnostic], map: &SourceMap, color: bool) -> String {
        let mut out = Vec::new();
        render_human(diagnostics, map, color, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    const PROGRAM: &str = "\
task scale(x: float, factor: int) -> float { x * factor }

workflow main(x: float, factor: str) -> float {
\tlet λ = scale(x=x, factor=factor)
\tλ
}
";

    fn mismatch(map: &SourceMap, file: FileId) -> Diagnostic {
        Diagnostic::new(
            Code::E0200,
            span_of(map, file, "factor", 4),
            "mismatched types: `scale` expects `int` for `factor`, found `str`",
            "this is `str`",
        )
        .with_label(span_of(map, file, "int", 0), "this expects `int`")
        .with_label(span_of(map, file, "str", 0), "declared `str` here")
        .with_note("nothing converts `str` to `int` implicitly")
        .with_help("declare the input as `factor: int`, or convert it in a task with `int(…)`")
    }

    #[test]
    fn json_has_the_documented_shape_and_counts_columns_in_characters() {
        let (map, file) = sources(PROGRAM);
        let diagnostic = mismatch(&map, file).with_fix(
            "declare `factor: int`",
            span_of(&map, file, "str", 0),
            "int",
        );
        let json = to_json(&[diagnostic], &map);
        // Line 4 is `\tlet λ = scale(x=x, factor=factor)`: the tab and `λ` are one column each.
        let expected = json!({
            "version": 1,
            "diagnostics": [{
                "code": "E0200",
                "severity": "error",
                "message": "mismatched types: `scale` expects `int` for `factor`, found `str`",
                "file": "demo.flow",
                "range": {"start": {"line": 4, "column": 28}, "end": {"line": 4, "column": 34}},
                "labels": [
                    {
                        "message": "this is `str`",
                        "file": "demo.flow",
                        "range": {"start": {"line": 4, "column": 28}, "end": {"line": 4, "column": 34}}
                    },
                    {
                        "message": "this expects `int`",
                        "file": "demo.flow",
                        "range": {"start": {"line": 1, "column": 30}, "end": {"line": 1, "column": 33}}
                    },
                    {
                        "message": "declared `str` here",
                        "file": "demo.flow",
                        "range": {"start": {"line": 3, "column": 33}, "end": {"line": 3, "column": 36}}
                    }
                ],
                "help": "declare the input as `factor: int`, or convert it in a task with `int(…)`",
                "notes": ["nothing converts `str` to `int` implicitly"],
                "fix": {
                    "message": "declare `factor: int`",
                    "file": "demo.flow",
                    "range": {"start": {"line": 3, "column": 33}, "end": {"line": 3, "column": 36}},
                    "replacement": "int"
                }
            }]
        });
        assert_eq!(json, expected);
        // Keys keep the documented order.
        let keys: Vec<&str> = json["diagnostics"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["code", "severity", "message", "file", "range", "labels", "help", "notes", "fix"]
        );
    }

    #[test]
    fn json_uses_null_for_absent_help_and_fix_and_reports_warnings() {
        let (map, file) = sources("λλ class People { name: str }\n");
        let warning = Diagnostic::new(
            Code::W0100,
            span_of(&map, file, "People", 0),
            "`People` is lowered to Pickle",
            "declared here",
        );
        let json = to_json(&[warning], &map);
        let d = &json["diagnostics"][0];
        assert_eq!(d["severity"], "warning");
        assert_eq!(d["code"], "W0100");
        assert_eq!(d["help"], serde_json::Value::Null);
        assert_eq!(d["fix"], serde_json::Value::Null);
        assert_eq!(d["notes"], json!([]));
        assert_eq!(
            d["range"],
            json!({"start": {"line": 1, "column": 10}, "end": {"line": 1, "column": 16}})
        );
        assert_eq!(to_json(&[], &map), json!({"version": 1, "diagnostics": []}));
    }

    #[test]
    fn header_column_matches_json_column_after_tabs_and_multibyte_text() {
        let (map, file) = sources(PROGRAM);
        let out = human(&[mismatch(&map, file)], &map, false);
        assert!(out.contains("--> demo.flow:4:28"), "{out}");
        let d = Diagnostic::new(
            Code::E0100,
            span_of(&map, file, "λ", 1),
            "unknown name",
            "here",
        );
        assert!(human(&[d], &map, false).contains("--> demo.flow:5:2"));
    }

    #[test]
    fn human_render_without_color() {
        let (map, file) = sources(PROGRAM);
        let warning = Diagnostic::new(
            Code::W0200,
            span_of(&map, file, "λ", 0),
            "unused variable `λ`",
            "never used",
        )
        .with_fix("prefix it with `_`", span_of(&map, file, "λ", 0), "_λ");
        let out = human(&[mismatch(&map, file), warning], &map, false);
        assert!(!out.contains('\u{1b}'));
        insta::assert_snapshot!("human_render_without_color", out);
    }

    #[test]
    fn human_render_with_color_uses_ansi_codes() {
        let (map, file) = sources(PROGRAM);
        let out = human(&[mismatch(&map, file)], &map, true);
        assert!(out.contains("\u{1b}["), "{out:?}");
        assert!(out.contains("E0200"));
    }

    #[test]
    fn a_span_on_a_line_break_is_drawn_at_the_end_of_its_line() {
        let (map, file) = sources("task t() -> int {\r\n    1 +\r\n}\n");
        let newline = map.get(file).text.find("+\r\n").unwrap() + 1;
        let d = Diagnostic::new(
            Code::E0001,
            Span::new(file, newline..newline + 2),
            "expected an expression",
            "expected an expression here",
        );
        let out = human(&[d], &map, false);
        assert_eq!(
            out,
            "error[E0001]: expected an expression\n  --> demo.flow:2:8\n  |\n2 |     1 +\n  \
             |        ^ expected an expression here\n\n"
        );
    }

    #[test]
    fn bad_spans_and_missing_files_do_not_panic() {
        let (map, file) = sources("λ\n");
        let inside_char = Span {
            file,
            start: 1,
            end: 1,
        };
        let past_end = Span {
            file,
            start: 10,
            end: 99,
        };
        let reversed = Span {
            file,
            start: 2,
            end: 0,
        };
        let missing = Span {
            file: FileId(7),
            start: 0,
            end: 1,
        };
        let d = Diagnostic::new(Code::E0001, inside_char, "bad", "inside a character")
            .with_label(past_end, "past the end")
            .with_label(reversed, "reversed")
            .with_label(missing, "elsewhere");
        let out = human(std::slice::from_ref(&d), &map, false);
        assert!(out.starts_with("error[E0001]: bad"), "{out}");
        let json = to_json(&[d], &map);
        let labels = &json["diagnostics"][0]["labels"];
        assert_eq!(labels[0]["range"]["start"], json!({"line": 1, "column": 1}));
        assert_eq!(labels[1]["range"]["end"], json!({"line": 2, "column": 1}));
        assert_eq!(labels[3]["file"], UNKNOWN_FILE);
    }

    #[test]
    fn codespan_line_ranges_stop_before_the_line_break() {
        let (map, file) = sources("a\r\nbc\n");
        assert_eq!(map.line_range(file, 0).unwrap(), 0..1);
        assert_eq!(map.line_range(file, 1).unwrap(), 3..5);
        assert_eq!(map.line_range(file, 2).unwrap(), 6..6);
        assert!(map.line_range(file, 3).is_err());
        assert!(map.name(FileId(1)).is_err());
    }

    #[test]
    fn summary_counts_and_pluralizes() {
        let span = Span::new(FileId(0), 0..1);
        let of = |errors: usize, warnings: usize| {
            let error = Diagnostic::new(Code::E0100, span, "unknown name `x`", "not found");
            let warning = Diagnostic::new(Code::W0200, span, "unused variable `x`", "unused");
            let mut all = vec![warning; warnings];
            all.extend(std::iter::repeat_n(error, errors));
            summary(&all)
        };
        assert_eq!(of(0, 0), None);
        assert_eq!(of(0, 1).unwrap(), "warning: 1 warning emitted");
        assert_eq!(of(0, 2).unwrap(), "warning: 2 warnings emitted");
        assert_eq!(of(1, 0).unwrap(), "error: could not check due to 1 error");
        assert_eq!(of(3, 0).unwrap(), "error: could not check due to 3 errors");
        assert_eq!(
            of(2, 1).unwrap(),
            "error: could not check due to 2 errors and 1 warning"
        );
        assert_eq!(
            of(1, 2).unwrap(),
            "error: could not check due to 1 error and 2 warnings"
        );
    }
}
