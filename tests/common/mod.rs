//! Helpers shared by the integration tests: running the `flytec` binary under a time limit,
//! reading its `--format json` diagnostics, and reading the `# expect:` / `# help:` / `# args:`
//! headers that test programs start with (the format of `../shared/conformance`).

// Each test crate includes this module and uses a different part of it.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one `flytec` run may take before it counts as a hang and is killed.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The directory holding `Cargo.toml`; tests run the binary from here so that file names in
/// diagnostics are short, relative and the same on every machine.
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `flytec ARGS` in `dir`, killing it (and failing the test) after [`TIMEOUT`].
pub fn flytec(args: &[&str], dir: &Path) -> Run {
    flytec_within(args, dir, TIMEOUT)
}

/// Runs `flytec ARGS` in `dir`, killing it (and failing the test) after `limit`.
pub fn flytec_within(args: &[&str], dir: &Path, limit: Duration) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flytec"));
    command.args(args).current_dir(dir);
    run(command, limit)
}

/// Runs `command` with no input and its output captured; kills it and panics if it is still
/// running after `limit`.
pub fn run(mut command: Command, limit: Duration) -> Run {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    // Read both pipes while waiting, so a child writing a lot never blocks on a full pipe.
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            // Best effort: the child may have exited since `try_wait`.
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not finish within {limit:?} and was killed (a hang?)");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Run {
        status,
        stdout: stdout.join().expect("reading stdout"),
        stderr: stderr.join().expect("reading stderr"),
    }
}

/// Reads a pipe to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error leaves what was read so far, which is all a test can show anyway.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// What one finished run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    /// How the process ended.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Run {
    /// The exit code. Fails the test when the process panicked (exit 101) or did not exit by
    /// itself: killed by a signal, as a stack overflow or an abort does.
    pub fn code(&self) -> i32 {
        let Some(code) = self.status.code() else {
            panic!("flytec crashed ({}); stderr:\n{}", self.status, self.stderr);
        };
        assert_ne!(code, 101, "flytec panicked; stderr:\n{}", self.stderr);
        code
    }

    /// The diagnostics of a `--format json` run, after checking that stdout is exactly one
    /// document of the documented shape (LANGUAGE.md section 10).
    pub fn diagnostics(&self) -> Vec<Reported> {
        let doc: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}); exit {}; stdout:\n{}\nstderr:\n{}",
                self.status, self.stdout, self.stderr
            )
        });
        assert_eq!(doc["version"], 1, "`version` must be 1 in {doc}");
        let diagnostics = doc["diagnostics"].as_array();
        let diagnostics = diagnostics.unwrap_or_else(|| panic!("no `diagnostics` array in {doc}"));
        diagnostics.iter().map(Reported::from_json).collect()
    }
}

/// One diagnostic of `--format json` output.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The code, e.g. `E0200`.
    pub code: String,
    /// The 1-based line where the primary label starts.
    pub line: u64,
    /// The 1-based column, in characters, where the primary label starts.
    pub column: u64,
    /// The whole JSON object, for assertions about its message, labels and help.
    pub json: Value,
}

impl Reported {
    /// Reads one diagnostic object, checking every documented field is there with its type.
    fn from_json(json: &Value) -> Reported {
        let field = |name: &str| {
            json.get(name)
                .unwrap_or_else(|| panic!("diagnostic without `{name}`: {json}"))
        };
        let code = field("code")
            .as_str()
            .unwrap_or_else(|| panic!("`code` is not a string: {json}"));
        let severity = if code.starts_with('E') {
            "error"
        } else {
            "warning"
        };
        assert_eq!(
            field("severity"),
            severity,
            "the severity of {code} in {json}"
        );
        assert!(
            field("message").is_string(),
            "`message` is not a string: {json}"
        );
        assert!(field("file").is_string(), "`file` is not a string: {json}");
        let help = field("help");
        assert!(
            help.is_string() || help.is_null(),
            "`help` is neither a string nor null: {json}"
        );
        for label in field("labels")
            .as_array()
            .unwrap_or_else(|| panic!("`labels` is not an array: {json}"))
        {
            assert!(
                label["message"].is_string(),
                "label without a `message`: {json}"
            );
            assert!(label["file"].is_string(), "label without a `file`: {json}");
            position(&label["range"]["start"], json);
        }
        let range = field("range");
        position(&range["end"], json);
        let (line, column) = position(&range["start"], json);
        Reported {
            code: code.to_owned(),
            line,
            column,
            json: json.clone(),
        }
    }

    /// Whether the message, a label's message or the help holds `word` as a whole word: not
    /// inside a longer name (`cache` is not in `@cached`), though case is ignored.
    pub fn mentions(&self, word: &str) -> bool {
        let labels = self.json["labels"].as_array().into_iter().flatten();
        let mut texts = [&self.json["message"], &self.json["help"]]
            .into_iter()
            .chain(labels.map(|label| &label["message"]));
        texts.any(|text| text.as_str().is_some_and(|text| has_word(text, word)))
    }
}

/// Whether `text` holds `word`, ignoring case, with no letter, digit or `_` right before or after.
fn has_word(text: &str, word: &str) -> bool {
    let (text, word) = (text.to_lowercase(), word.to_lowercase());
    let is_name_char = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(&word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

/// Reads a `{"line": L, "column": C}` position of `diagnostic`; both are 1-based.
fn position(position: &Value, diagnostic: &Value) -> (u64, u64) {
    let number = |name: &str| {
        position[name]
            .as_u64()
            .filter(|&n| n >= 1)
            .unwrap_or_else(|| panic!("`{name}` is not a 1-based number in {diagnostic}"))
    };
    (number("line"), number("column"))
}

/// What a test program's header says `flytec check` must report about it.
///
/// The header is the file's leading run of `#` lines. `# expect: CODE @ LINE` expects one
/// diagnostic starting on LINE (`@ 4|7`: on either line); `# expect: ok` expects none;
/// `# help: WORD` wants WORD (say, the name a "did you mean" should offer) as a whole word in
/// the message, a label or the help of an expected diagnostic; `# args: ARGS` adds
/// command-line arguments.
#[derive(Debug)]
pub struct Expectations {
    /// One entry per expected diagnostic.
    pub diagnostics: Vec<Expected>,
    /// Words the expected diagnostics must mention.
    pub help: Vec<String>,
    /// Extra `flytec check` arguments.
    pub args: Vec<String>,
}

/// One expected diagnostic: its code and the lines it may start on.
#[derive(Debug)]
pub struct Expected {
    /// The code, e.g. `E0200`.
    pub code: String,
    /// The lines it may start on, 1-based.
    pub lines: Vec<u64>,
}

impl Expectations {
    /// Reads the header of `source`. Fails on a malformed header, on a header without any
    /// `# expect:` line, and on an expected line past the end of the file.
    pub fn parse(source: &str) -> Result<Expectations, String> {
        let mut diagnostics = Vec::new();
        let mut help = Vec::new();
        let mut args = Vec::new();
        let mut expects_something = false;
        for line in source.lines().take_while(|line| line.starts_with('#')) {
            if let Some(rest) = line.strip_prefix("# help:") {
                help.extend(rest.split_whitespace().map(str::to_owned));
            } else if let Some(rest) = line.strip_prefix("# args:") {
                args.extend(rest.split_whitespace().map(str::to_owned));
            } else if let Some(rest) = line.strip_prefix("# expect:") {
                expects_something = true;
                if rest.trim() != "ok" {
                    diagnostics.push(Expected::parse(rest.trim())?);
                }
            }
        }
        if !expects_something {
            return Err("no `# expect:` line in the header".to_owned());
        }
        let line_count = source.lines().count() as u64;
        for expected in &diagnostics {
            if let Some(line) = expected.lines.iter().find(|&&line| line > line_count) {
                return Err(format!(
                    "{} expected on line {line}, past the end of the file",
                    expected.code
                ));
            }
        }
        Ok(Expectations {
            diagnostics,
            help,
            args,
        })
    }

    /// Whether the arguments include `--deny warnings`.
    pub fn denies_warnings(&self) -> bool {
        self.args
            .windows(2)
            .any(|pair| pair == ["--deny", "warnings"])
    }

    /// The exit code `flytec check` must give: 1 when an error is expected, or a warning under
    /// `--deny warnings`; 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        let fails = |e: &Expected| e.code.starts_with('E') || self.denies_warnings();
        i32::from(self.diagnostics.iter().any(fails))
    }

    /// Compares the reported diagnostics with the expected ones, each expectation matching one
    /// diagnostic: returns one line per missing or unexpected diagnostic and per `# help:` word
    /// no expected diagnostic mentions (empty when they agree).
    pub fn differences(&self, reported: &[Reported]) -> Vec<String> {
        let mut unmatched: Vec<&Reported> = reported.iter().collect();
        let mut matched = Vec::new();
        // Expectations with fewer allowed lines go first, so that `@ 4|7` does not take the
        // diagnostic on line 4 that `@ 4` needs.
        let mut expected: Vec<&Expected> = self.diagnostics.iter().collect();
        expected.sort_by_key(|e| e.lines.len());
        let mut differences = Vec::new();
        for e in expected {
            match unmatched
                .iter()
                .position(|d| d.code == e.code && e.lines.contains(&d.line))
            {
                Some(i) => matched.push(unmatched.remove(i)),
                None => differences.push(format!("missing {} @ {}", e.code, join_lines(&e.lines))),
            }
        }
        differences.extend(
            unmatched
                .iter()
                .map(|d| format!("unexpected {} @ {}", d.code, d.line)),
        );
        for word in &self.help {
            if !matched.iter().any(|d| d.mentions(word)) {
                differences.push(format!("no expected diagnostic mentions `{word}`"));
            }
        }
        differences
    }
}

impl Expected {
    /// Reads `CODE @ LINE|LINE…`.
    fn parse(text: &str) -> Result<Expected, String> {
        let malformed = || format!("malformed expectation `{text}`: want `CODE @ LINE` or `ok`");
        let (code, lines) = text.split_once('@').ok_or_else(malformed)?;
        let code = code.trim();
        let well_formed = code.len() == 5
            && (code.starts_with('E') || code.starts_with('W'))
            && code[1..].bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(malformed());
        }
        let lines = lines
            .trim()
            .split('|')
            .map(|line| line.trim().parse().ok().filter(|&line| line >= 1))
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(malformed)?;
        Ok(Expected {
            code: code.to_owned(),
            lines,
        })
    }
}

/// `4|7`.
fn join_lines(lines: &[u64]) -> String {
    lines
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("|")
}

/// The lines a list of diagnostics start on, as `E0200 @ 4, W0200 @ 9`, for failure messages.
pub fn summary(reported: &[Reported]) -> String {
    let items: Vec<String> = reported
        .iter()
        .map(|d| format!("{} @ {}", d.code, d.line))
        .collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}
