//! Malformed and hostile input: `flytec check` must end every one in a diagnostic and exit 1
//! (the program is wrong) or 2 (the file cannot be read), and never panic (exit 101), crash (a
//! signal, as a stack overflow gives) or hang (runs are killed after [`common::TIMEOUT`]).
//!
//! Each test writes its input into a fresh temporary directory and runs flytec there, so file
//! names in diagnostics are short and relative.

mod common;

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Reported, Run};
use tempfile::TempDir;

/// A temporary directory to put programs in and run `flytec check` from.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    /// An empty directory.
    fn new() -> Scratch {
        Scratch {
            dir: TempDir::new().expect("a temporary directory"),
        }
    }

    /// A directory holding one file, `name`, with `contents`.
    fn with_file(name: &str, contents: impl AsRef<[u8]>) -> Scratch {
        let scratch = Scratch::new();
        scratch.write(name, contents);
        scratch
    }

    /// Writes `name` (relative to the directory).
    fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        fs::write(self.path(name), contents).unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
    }

    /// The absolute path of `name`.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `flytec check ARGS…` in the directory.
    fn check(&self, args: &[&str]) -> Run {
        self.check_within(args, common::TIMEOUT)
    }

    /// Runs `flytec check ARGS…` in the directory, allowing it `limit`.
    fn check_within(&self, args: &[&str], limit: Duration) -> Run {
        let args: Vec<&str> = ["check", "--color", "never"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        common::flytec_within(&args, self.dir.path(), limit)
    }

    /// Checks `name` with `--format json`; returns the exit code and the diagnostics.
    fn check_json(&self, name: &str) -> (i32, Vec<Reported>) {
        let run = self.check(&["--format", "json", name]);
        (run.code(), run.diagnostics())
    }
}

/// Asserts that a `--format json` run exited 1 and reported `code` starting on `line`; returns
/// that diagnostic.
fn assert_error_on_line(exit: i32, reported: &[Reported], code: &str, line: u64) -> Reported {
    assert_eq!(
        exit,
        1,
        "exit code; reported: {}",
        common::summary(reported)
    );
    reported
        .iter()
        .find(|d| d.code == code && d.line == line)
        .unwrap_or_else(|| {
            panic!(
                "no {code} @ {line}; reported: {}",
                common::summary(reported)
            )
        })
        .clone()
}

/// A pseudo-random byte stream: a 64-bit linear congruential generator (Knuth's MMIX constants),
/// so the inputs are the same on every run without a `rand` dependency.
struct Lcg(u64);

impl Lcg {
    /// The next byte (the generator's high bits, which are the most random).
    fn byte(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 56) as u8
    }

    /// A number below `n` (slightly biased, which does not matter here).
    fn below(&mut self, n: usize) -> usize {
        let high = (u16::from(self.byte()) << 8) | u16::from(self.byte());
        usize::from(high) % n
    }
}

#[test]
fn empty_file_is_a_program_without_declarations() {
    let scratch = Scratch::with_file("empty.flow", "");
    let (exit, reported) = scratch.check_json("empty.flow");
    assert_eq!(exit, 0, "reported: {}", common::summary(&reported));
    assert!(
        reported.is_empty(),
        "reported: {}",
        common::summary(&reported)
    );
}

#[test]
fn non_utf8_is_a_syntax_error_at_the_first_bad_byte() {
    // Line 3 holds a valid two-byte character, then the invalid byte 0xFF inside a string.
    let before = "    \"héllo ";
    let mut text = format!("# A greeting.\ntask greet() -> str {{\n{before}").into_bytes();
    text.extend_from_slice(b"\xFF\"\n}\n");
    let scratch = Scratch::with_file("latin1.flow", text);
    let (exit, reported) = scratch.check_json("latin1.flow");
    assert_eq!(
        reported.len(),
        1,
        "want one E0001; reported: {}",
        common::summary(&reported)
    );
    let error = assert_error_on_line(exit, &reported, "E0001", 3);
    let column = before.chars().count() as u64 + 1;
    assert_eq!(
        error.column, column,
        "column of the bad byte, in characters: {}",
        error.json
    );
}

#[test]
fn nul_byte_is_a_syntax_error_where_it_is() {
    let scratch = Scratch::with_file("nul.flow", "task one() -> int {\n    1\0\n}\n");
    let (exit, reported) = scratch.check_json("nul.flow");
    let error = assert_error_on_line(exit, &reported, "E0001", 2);
    assert_eq!(error.column, 6, "column of the NUL byte: {}", error.json);
}

#[test]
fn random_bytes_are_a_syntax_error() {
    for seed in 1..=4 {
        let mut random = Lcg(seed);
        let bytes: Vec<u8> = (0..64 * 1024).map(|_| random.byte()).collect();
        let scratch = Scratch::with_file("garbage.flow", bytes);
        let (exit, reported) = scratch.check_json("garbage.flow");
        assert_eq!(
            exit,
            1,
            "seed {seed}: reported {}",
            common::summary(&reported)
        );
        assert!(
            reported.iter().any(|d| d.code == "E0001"),
            "seed {seed}: no E0001"
        );
    }
}

/// Tokens of every kind, for token soup: the parser's error paths and recovery see them all.
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "task", "workflow", "fn", "struct", "class", "enum", "extern", "type", "import", "let", "var",
    "if", "else", "for", "in", "while", "break", "continue", "return", "fail", "and", "or", "not",
    "true", "false", "none", "x", "Point", "list", "dict", "int", "str", "(", ")", "[", "]", "{",
    "}", ",", ":", "->", "=", "==", "+", "*", "**", "//", "??", "?", "|", ".", "@", "@batch(2)",
    "42", "-7", "3.5", "1e-3", "30s", "\"s {x}\"", "\"\"\"t\"\"\"", "#c\n", "##d\n", "\n", "\t",
    "é", "_",
];

#[test]
fn token_soup_is_reported_not_crashed_on() {
    let mut failures = Vec::new();
    for seed in 1..=30 {
        let mut random = Lcg(seed);
        let soup: Vec<&str> = (0..400)
            .map(|_| TOKENS[random.below(TOKENS.len())])
            .collect();
        let scratch = Scratch::with_file("soup.flow", soup.join(" "));
        let (exit, reported) = scratch.check_json("soup.flow");
        if exit != 1 || reported.is_empty() {
            failures.push(format!(
                "seed {seed}: exit {exit}, reported {}",
                common::summary(&reported)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The size of the large file: 20 MB in an optimized build; 2 MB in a debug build, where the
/// generated parser is some 20 times slower and 20 MB would take minutes.
const LARGE: u64 = if cfg!(debug_assertions) { 2 } else { 20 } * 1024 * 1024;

#[test]
fn large_file_of_declarations_checks_clean() {
    const LIMIT: Duration = Duration::from_secs(90);
    let scratch = Scratch::new();
    let file = fs::File::create(scratch.path("large.flow")).expect("creating large.flow");
    let mut out = BufWriter::new(file);
    let mut written = 0;
    for i in 0.. {
        let chunk = format!(
            "## Sample {i}.\n\
             struct Sample{i} {{ site: str, value: float = {i}.5 }}\n\
             fn scale{i}(x: float) -> float {{ x * {i}.0 + 1.0 }}\n\
             task measure{i}(s: Sample{i}) -> float {{ scale{i}(s.value) }}\n\
             workflow main{i}(s: Sample{i}) -> float {{ measure{i}(s=s) }}\n\n"
        );
        out.write_all(chunk.as_bytes()).expect("writing large.flow");
        written += chunk.len() as u64;
        if written >= LARGE {
            break;
        }
    }
    out.flush().expect("writing large.flow");
    drop(out);
    let run = scratch.check_within(&["large.flow"], LIMIT);
    assert_eq!(run.code(), 0, "stderr:\n{}", run.stderr);
}

/// Valid programs nesting one construct `depth` times, by what they nest.
fn nested_programs(depth: usize) -> [(&'static str, String); 6] {
    let nest = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    };
    // The nested expression is a statement of its own, its value unused.
    let statement = |nested| format!("task deep(x: bool) -> int {{\n    {nested}\n    0\n}}\n");
    let list_type = nest("list[", "int", "]");
    [
        ("parentheses", statement(nest("(", "x", ")"))),
        (
            "if blocks",
            statement(nest("if x { ", "fail(\"deep\")", " }")),
        ),
        ("list literals", statement(nest("[", "x", "]"))),
        (
            "parentheses in an interpolation",
            statement(format!("\"{{{}}}\"", nest("(", "x", ")"))),
        ),
        ("dict literals", statement(nest("{\"k\": ", "x", "}"))),
        (
            "list types",
            format!("task deep(xs: {list_type}) -> int {{ len(xs) }}\n"),
        ),
    ]
}

/// Words of which a nesting-depth error mentions at least one.
const NESTING_WORDS: [&str; 4] = ["nest", "nested", "nesting", "depth"];

#[test]
fn deep_nesting_is_a_syntax_error_about_depth() {
    let mut failures = Vec::new();
    for (what, program) in nested_programs(10_000) {
        let scratch = Scratch::with_file("deep.flow", program);
        let (exit, reported) = scratch.check_json("deep.flow");
        let about_depth = reported
            .iter()
            .any(|d| d.code == "E0001" && NESTING_WORDS.iter().any(|w| d.mentions(w)));
        if exit != 1 || !about_depth {
            let found = common::summary(&reported);
            failures.push(format!(
                "10,000 nested {what}: exit {exit}, reported {found}, none an E0001 about nesting"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn moderate_nesting_is_accepted() {
    for (what, program) in nested_programs(32) {
        let scratch = Scratch::with_file("nested.flow", program);
        let (exit, reported) = scratch.check_json("nested.flow");
        assert_eq!(
            exit,
            0,
            "32 nested {what}: reported {}",
            common::summary(&reported)
        );
    }
}

#[test]
fn long_operator_chain_does_not_overflow_the_stack() {
    // Flat in the text, but 100,000 levels deep as a left-nested tree of `+`.
    let sum = vec!["x"; 100_000].join(" + ");
    let scratch = Scratch::with_file(
        "chain.flow",
        format!("task chain(x: int) -> int {{\n    {sum}\n}}\n"),
    );
    let (exit, reported) = scratch.check_json("chain.flow");
    // Checking it clean is best; a clear error is acceptable; a crash fails in `check_json`.
    assert!(
        exit == 0 || (exit == 1 && !reported.is_empty()),
        "exit {exit}, reported {}",
        common::summary(&reported)
    );
}

/// Braces left open, many on one line, then more declarations: the parser's error recovery once
/// took time exponential in how many were open (30 never finished), for each of these.
#[test]
fn many_unclosed_braces_on_a_line_are_reported_in_time() {
    let rest: String = (0..200)
        .map(|i| format!("struct S{i} {{ x: int }}\n"))
        .collect();
    let mut failures = Vec::new();
    for open in [
        "if a {",
        "x {",
        "for x in xs {",
        "f(if a {",
        "\"{if a {",
        "\"{x + \"{",
    ] {
        let program = format!("task t() -> int {{\n    {}\n}}\n\n{rest}", open.repeat(30));
        let scratch = Scratch::with_file("open.flow", program);
        let (exit, reported) = scratch.check_json("open.flow");
        if exit != 1 || !reported.iter().any(|d| d.code == "E0001") {
            failures.push(format!(
                "30 × `{open}`: exit {exit}, reported {}",
                common::summary(&reported)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn blocks_left_open_on_lines_of_their_own_are_reported_in_time() {
    // Each block left open was parsed again for each one around it: 12 of them before 2,000
    // statements never finished.
    let program = format!(
        "task t() -> int {{\n{}{}    0\n}}\n",
        "    if a {\n".repeat(12),
        "    let v = 1\n".repeat(2000)
    );
    let scratch = Scratch::with_file("open.flow", program);
    let (exit, reported) = scratch.check_json("open.flow");
    let error = assert_error_on_line(exit, &reported, "E0001", 1);
    assert!(error.mentions("closed"), "{}", error.json);
}

#[test]
fn braces_in_a_string_count_towards_the_nesting_limit() {
    // Each `{` opens an interpolation inside the last: a scan that skipped string text did not
    // count them, and the parser then took seconds per thousand.
    let program = format!("task t() -> str {{\n    \"{}\"\n}}\n", "{".repeat(10_000));
    let scratch = Scratch::with_file("braces.flow", program);
    let (exit, reported) = scratch.check_json("braces.flow");
    let error = assert_error_on_line(exit, &reported, "E0001", 2);
    assert!(
        NESTING_WORDS.iter().any(|w| error.mentions(w)),
        "{}",
        error.json
    );
}

#[test]
fn missing_closing_brace_is_not_called_an_unterminated_string() {
    let program = "task t() -> int {\n    if a {\n        1\n}\n\nstruct S { x: int }\n";
    let scratch = Scratch::with_file("brace.flow", program);
    let (exit, reported) = scratch.check_json("brace.flow");
    assert_eq!(exit, 1, "reported: {}", common::summary(&reported));
    assert!(
        reported
            .iter()
            .any(|d| d.code == "E0001" && d.mentions("`}`")),
        "want an E0001 expecting `}}`; reported: {}",
        common::summary(&reported)
    );
    assert!(
        !reported.iter().any(|d| d.mentions("string")),
        "reported: {}",
        common::summary(&reported)
    );
}

#[test]
fn unterminated_string_is_reported_where_it_starts() {
    let program =
        "task greet(name: str) -> str {\n    \"hello {name}\n}\n\ntask one() -> int { 1 }\n";
    let scratch = Scratch::with_file("string.flow", program);
    let (exit, reported) = scratch.check_json("string.flow");
    assert_error_on_line(exit, &reported, "E0001", 2);
}

#[test]
fn unterminated_triple_quoted_string_is_reported() {
    let program = "task report(name: str) -> str {\n    \"\"\"Report for {name}\n\nmore text\n}\n";
    let scratch = Scratch::with_file("triple.flow", program);
    let (exit, reported) = scratch.check_json("triple.flow");
    assert_eq!(exit, 1, "reported: {}", common::summary(&reported));
    // Where the string opens (line 2) or where its end was expected: the end of the file.
    let lines = program.lines().count() as u64;
    let at_start_or_end =
        |d: &Reported| d.code == "E0001" && [2, lines, lines + 1].contains(&d.line);
    assert!(
        reported.iter().any(at_start_or_end),
        "reported: {}",
        common::summary(&reported)
    );
}

#[test]
fn missing_file_is_a_usage_error_naming_it() {
    let scratch = Scratch::new();
    let run = scratch.check(&["no-such-file.flow"]);
    assert_eq!(run.code(), 2, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains("no-such-file.flow"),
        "stderr does not name the file:\n{}",
        run.stderr
    );
}

#[test]
fn unreadable_file_is_a_usage_error_naming_it() {
    let scratch = Scratch::with_file("secret.flow", "task one() -> int { 1 }\n");
    let path = scratch.path("secret.flow");
    make_unreadable(&path);
    if fs::read(&path).is_ok() {
        // Permissions do not stop this user (root, or a file system without modes).
        eprintln!(
            "note: skipped: {} is still readable after chmod 000",
            path.display()
        );
        return;
    }
    let run = scratch.check(&["secret.flow"]);
    assert_eq!(run.code(), 2, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains("secret.flow"),
        "stderr does not name the file:\n{}",
        run.stderr
    );
}

/// Takes every permission away from `path` (`chmod 000`); does nothing where modes do not exist.
fn make_unreadable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o000)).expect("chmod 000");
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[test]
fn importing_a_directory_is_an_import_error() {
    let scratch = Scratch::with_file(
        "main.flow",
        "# shapes.flow is a directory.\nimport \"shapes.flow\"\n\ntask one() -> int { 1 }\n",
    );
    fs::create_dir(scratch.path("shapes.flow")).expect("creating shapes.flow/");
    let (exit, reported) = scratch.check_json("main.flow");
    assert_eq!(
        reported.len(),
        1,
        "want one E0102; reported: {}",
        common::summary(&reported)
    );
    assert_error_on_line(exit, &reported, "E0102", 2);
}

#[test]
fn checking_a_directory_is_a_usage_error_naming_it() {
    let scratch = Scratch::new();
    fs::create_dir(scratch.path("programs")).expect("creating programs/");
    let run = scratch.check(&["programs"]);
    assert_eq!(run.code(), 2, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains("programs"),
        "stderr does not name the directory:\n{}",
        run.stderr
    );
}

#[test]
fn wrong_command_lines_are_usage_errors() {
    let scratch = Scratch::with_file("one.flow", "task one() -> int { 1 }\n");
    let wrong: [&[&str]; 4] = [
        &[],
        &["--format", "yaml", "one.flow"],
        &["--color", "sometimes", "one.flow"],
        &["--no-such-flag", "one.flow"],
    ];
    for args in wrong {
        let run = scratch.check(args);
        assert_eq!(
            run.code(),
            2,
            "flytec check {args:?}; stderr:\n{}",
            run.stderr
        );
    }
}
