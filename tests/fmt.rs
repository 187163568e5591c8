//! `flytec fmt`: the formatter's properties over every Flow file of the repository, snapshots
//! of messy hand-written inputs (`tests/fmt/*.flow`), and the command's exit codes.
//!
//! Over every file that parses: formatting is idempotent, keeps the program (the AST, spans
//! aside, is unchanged) and keeps every comment, in order. The AST and comment comparisons here
//! are written independently of the formatter's own self-check.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use flytec::fmt::format_source;
use flytec::source::FileId;
use flytec::syntax::{self, ast::Module};

/// Every `.flow` file the properties are checked over.
fn corpus() -> Vec<PathBuf> {
    let root = common::manifest_dir();
    let dirs = [
        "examples",
        "examples/lib",
        "tests/ui",
        "tests/ui/support",
        "tests/conformance",
        "tests/conformance/lib",
        "stdlib",
        "tests/fmt",
    ];
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| fs::read_dir(root.join(d)).ok())
        .flatten()
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    files.sort();
    files
}

fn parse(text: &str) -> Option<Module> {
    let mut errors = Vec::new();
    let module = syntax::parse(FileId(0), text, &mut errors);
    errors.is_empty().then_some(module)
}

/// The module's `Debug` rendering with every `Span { … }` replaced by `_`.
fn without_spans(module: &Module) -> String {
    let debug = format!("{module:?}");
    let mut out = String::new();
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        let close = rest[i..].find('}').expect("a span closes") + i + 1;
        out.push('_');
        rest = &rest[close..];
    }
    out + rest
}

/// The comments of `text` (outside string literals), each trimmed, in order.
fn comments(text: &str) -> Vec<String> {
    fn skip_string(b: &[u8], mut i: usize) -> usize {
        let triple = b[i..].starts_with(b"\"\"\"");
        i += if triple { 3 } else { 1 };
        while i < b.len() {
            if triple && b[i..].starts_with(b"\"\"\"") {
                return i + 3;
            }
            match b[i] {
                b'"' if !triple => return i + 1,
                b'\\' => i += 2,
                b'{' => {
                    let mut depth = 0;
                    while i < b.len() {
                        match b[i] {
                            b'{' => depth += 1,
                            b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            b'"' => {
                                i = skip_string(b, i);
                                continue;
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    i += 1;
                }
                _ => i += 1,
            }
        }
        i
    }
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                out.push(text[i..end].trim_end().to_string());
                i = end;
            }
            b'"' => i = skip_string(b, i),
            _ => i += 1,
        }
    }
    out
}

#[test]
fn formatting_is_idempotent_keeps_the_program_and_keeps_comments() {
    let root = common::manifest_dir();
    let mut formatted_files = 0;
    let mut problems = Vec::new();
    for path in corpus() {
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = fs::read_to_string(&path).expect("the file is readable");
        let Some(before) = parse(&text) else {
            // Only UI fixtures may be broken on purpose; the formatter must refuse them.
            assert!(name.starts_with("tests/ui/"), "{name} does not parse");
            assert!(
                format_source(&text).is_err(),
                "{name}: formatted despite errors"
            );
            continue;
        };
        let once = match format_source(&text) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{name}: not formatted: {}", e[0].message));
                continue;
            }
        };
        formatted_files += 1;
        match parse(&once) {
            None => problems.push(format!("{name}: the result does not parse")),
            Some(after) if without_spans(&after) != without_spans(&before) => {
                problems.push(format!("{name}: the result is a different program"))
            }
            Some(_) => {}
        }
        let (mut kept, mut original) = (comments(&once), comments(&text));
        if name.ends_with("imports_late.flow") {
            // Imports move to the top with their comments: the same comments, in another order.
            kept.sort();
            original.sort();
        }
        if kept != original {
            problems.push(format!("{name}: comments lost, changed or reordered"));
        }
        match format_source(&once) {
            Ok(twice) if twice == once => {}
            Ok(twice) => problems.push(format!(
                "{name}: not idempotent\n--- once\n{once}\n--- twice\n{twice}"
            )),
            Err(e) => problems.push(format!("{name}: the result is refused: {}", e[0].message)),
        }
        if once.lines().any(|l| l.ends_with(' ')) || !once.ends_with('\n') {
            problems.push(format!("{name}: trailing spaces or no final newline"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        formatted_files >= 40,
        "only {formatted_files} files formatted"
    );
}

/// The offsets of the newlines outside string literals, each with whether its line already
/// ends in a comment.
fn line_ends(text: &str) -> Vec<(usize, bool)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut in_comment = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                out.push((i, in_comment));
                in_comment = false;
            }
            b'#' => in_comment = true,
            b'"' if !in_comment => {
                let rest = &text[i..];
                // Reuse the comment scanner's string skipping: the string is where no comment is.
                let end = string_end(rest);
                i += end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The length of the string literal at the start of `s`.
fn string_end(s: &str) -> usize {
    let b = s.as_bytes();
    let triple = s.starts_with("\"\"\"");
    let mut i = if triple { 3 } else { 1 };
    let mut depth = 0;
    while i < b.len() {
        if depth == 0 && triple && s[i..].starts_with("\"\"\"") {
            return i + 3;
        }
        match b[i] {
            b'"' if depth == 0 && !triple => return i + 1,
            b'"' => {
                i += string_end(&s[i..]);
                continue;
            }
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Comments added everywhere a line may end: a trailing comment at the end of every line that
/// has none, or an own-line comment before every line.
fn with_comments(text: &str, trailing: bool) -> String {
    let mut out = String::new();
    let mut last = 0;
    for (n, (at, has_comment)) in line_ends(text).into_iter().enumerate() {
        if trailing && !has_comment {
            out.push_str(&text[last..at]);
            out.push_str(&format!(" # t{n}"));
            last = at;
        } else if !trailing {
            out.push_str(&text[last..at + 1]);
            out.push_str(&format!("# o{n}\n"));
            last = at + 1;
        }
    }
    out + &text[last..]
}

#[test]
fn comments_anywhere_are_kept() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for path in corpus() {
        let original = fs::read_to_string(&path).expect("the file is readable");
        if parse(&original).is_none() || path.ends_with("imports_late.flow") {
            continue;
        }
        for trailing in [true, false] {
            let text = with_comments(&original, trailing);
            let Some(before) = parse(&text) else {
                problems.push(format!(
                    "{}: the commented copy does not parse",
                    path.display()
                ));
                continue;
            };
            let once = match format_source(&text) {
                Ok(once) => once,
                Err(e) => {
                    problems.push(format!("{} ({trailing}): {}", path.display(), e[0].message));
                    continue;
                }
            };
            let same = parse(&once).is_some_and(|m| without_spans(&m) == without_spans(&before));
            if !same || comments(&once) != comments(&text) {
                problems.push(format!(
                    "{} ({trailing}): program or comments changed",
                    path.display()
                ));
            }
            if format_source(&once).as_deref() != Ok(once.as_str()) {
                problems.push(format!(
                    "{} ({trailing}): not idempotent\n{once}\n---\n{}",
                    path.display(),
                    format_source(&once).unwrap_or_default()
                ));
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 80, "only {checked} files checked");
}

#[test]
fn messy_inputs_format_as_reviewed() {
    let dir = common::manifest_dir().join("tests/fmt");
    let mut inputs: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/fmt exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    for path in inputs {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a name");
        let text = fs::read_to_string(&path).expect("the input is readable");
        let formatted = format_source(&text).unwrap_or_else(|e| panic!("{stem}: {e:?}"));
        let transcript =
            format!("{text}\n---------------------------------------- formatted\n\n{formatted}");
        insta::assert_snapshot!(format!("format_{stem}"), transcript);
    }
}

#[test]
fn syntax_errors_are_refused() {
    for text in [
        "task t( {",
        "workflow w() -> int { let = 1 }",
        "fn f() { 99999999999999999999 }",
    ] {
        assert!(format_source(text).is_err(), "{text}");
    }
    assert_eq!(format_source("").as_deref(), Ok(""));
    assert_eq!(
        format_source("# only\n\n\n# comments   \n").as_deref(),
        Ok("# only\n\n# comments\n")
    );
}

/// Inputs a mutation fuzzer found the formatter refusing (its self-check caught a changed
/// program), not idempotent on, or dropping comments from: each formats as shown, and that is a
/// fixed point.
#[test]
fn fuzzer_found_inputs_format_once_and_for_all() {
    let cases = [
        // A comment that ends the file after an import that moves above the declarations:
        // the second run put a blank line between the import and the comment.
        (
            "fn b() -> int { 2 }\nimport std.math\n## Docs\n",
            "import std.math\n\n## Docs\n\nfn b() -> int { 2 }\n",
        ),
        // Inline Python is raw: a `{` in it opens no interpolation and a `\` escapes nothing, so
        // the comments after it are comments. They were taken for string text: the first input
        // was refused, the second lost both comments.
        (
            "task e() -> int python \"\"\"{\"\"\"\n## doc\nworkflow m() {}\n",
            "task e() -> int python \"\"\"{\"\"\"\n\n## doc\nworkflow m() {}\n",
        ),
        (
            "task e() -> int python \"\"\"a\\\"\"\"  # why\n# more\nfn f() {}\n",
            "task e() -> int python \"\"\"a\\\"\"\"  # why\n\n# more\nfn f() {}\n",
        ),
    ];
    for (input, expected) in cases {
        let once = format_source(input).unwrap_or_else(|e| panic!("{input:?}: {}", e[0].message));
        assert_eq!(once, expected, "{input:?}");
        assert_eq!(
            format_source(&once).as_deref(),
            Ok(expected),
            "{input:?}: not idempotent"
        );
    }
}

#[test]
fn parentheses_follow_precedence() {
    let cases = [
        ("fn f() { (a + b) * c }", "(a + b) * c"),
        ("fn f() { a + b * c }", "a + b * c"),
        ("fn f() { -a ** 2 }", "-a ** 2"),
        ("fn f() { (-a) ** 2 }", "(-a) ** 2"),
        ("fn f() { a ** -b }", "a ** -b"),
        ("fn f() { not a == b }", "not a == b"),
        ("fn f() { (not a) == b }", "(not a) == b"),
        ("fn f() { a ?? b ?? c }", "a ?? b ?? c"),
        ("fn f() { ((x)) }", "(x)"),
        ("fn f() { (1,) }", "(1,)"),
    ];
    for (input, body) in cases {
        let got = format_source(input).expect("it parses");
        assert_eq!(got, format!("fn f() {{ {body} }}\n"), "{input}");
    }
}

fn flytec(args: &[&str], dir: &Path) -> common::Run {
    common::flytec(args, dir)
}

#[test]
fn check_reports_unformatted_files_and_fmt_rewrites_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let messy = "task t(x:int)->int{x+1}\n";
    let tidy = "task t(x: int) -> int { x + 1 }\n";
    fs::write(dir.path().join("messy.flow"), messy).unwrap();
    fs::write(dir.path().join("tidy.flow"), tidy).unwrap();

    let run = flytec(&["fmt", "--check", "tidy.flow"], dir.path());
    assert_eq!(run.code(), 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "");

    let run = flytec(&["fmt", "--check", "tidy.flow", "messy.flow"], dir.path());
    assert_eq!(run.code(), 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("would reformat messy.flow"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("-task t(x:int)->int{x+1}"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+task t(x: int) -> int { x + 1 }"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("tidy.flow"), "{}", run.stdout);
    assert_eq!(
        fs::read_to_string(dir.path().join("messy.flow")).unwrap(),
        messy
    );

    let run = flytec(&["fmt", "messy.flow", "tidy.flow"], dir.path());
    assert_eq!(run.code(), 0, "{}{}", run.stdout, run.stderr);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(
        fs::read_to_string(dir.path().join("messy.flow")).unwrap(),
        tidy
    );
    let run = flytec(&["fmt", "--check", "messy.flow"], dir.path());
    assert_eq!(run.code(), 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn syntax_errors_exit_1_and_unreadable_files_exit_2() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let broken = "task t( {\n";
    fs::write(dir.path().join("broken.flow"), broken).unwrap();
    let run = flytec(&["fmt", "--color", "never", "broken.flow"], dir.path());
    assert_eq!(run.code(), 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("E0001"), "{}", run.stderr);
    assert!(run.stderr.contains("broken.flow"), "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(dir.path().join("broken.flow")).unwrap(),
        broken
    );

    let run = flytec(&["fmt", "--check", "missing.flow"], dir.path());
    assert_eq!(run.code(), 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("missing.flow"), "{}", run.stderr);
}
