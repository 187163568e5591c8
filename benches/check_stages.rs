//! Where one core's time goes in `flytec check`, stage by stage, against the cheapest thing any
//! pest parser of Flow must do: turn the text into pest tokens.
//!
//! ```sh
//! cargo bench --bench check_stages            # generates the 100,000-line program
//! cargo bench --bench check_stages -- DIR     # or checks DIR/main.flow and the files under DIR
//! ```
//!
//! The process pins itself to one core first, so `flytec check`'s own parallelism is off and
//! every figure is one core's. Each stage runs over every `.flow` file of the program, several
//! times; the table gives the median. The stages:
//!
//! 1. **pest tokens only** — a grammar of Flow's tokens (words, numbers, strings, punctuation,
//!    newlines; comments and blanks skipped) and nothing else, its token pairs walked once. No
//!    structure, no tree, no checking: a floor for any pest grammar of the same text.
//! 2. **Flow grammar (pest)** — `grammar/flow.pest` parsing each file, its pairs walked once.
//! 3. **parse to AST** — `flytec::syntax::parse`: stage 2 plus building the AST.
//! 4. **whole check** — `flytec::check::check_path` on `main.flow`: reading, parsing, name
//!    resolution, type checking and lowering.
//!
//! Each row shows its share of the time the 300,000 lines/s target allows on one core.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pest::Parser;

/// The `flytec` binary's allocator, so that allocation costs what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Flow's tokens and nothing else: the cheapest pest grammar that reads all of a Flow file.
#[derive(pest_derive::Parser)]
#[grammar_inline = r#"
file   = ${ SOI ~ (blank | token)* ~ EOI }
blank  = _{ (' '..' ' | '\t'..'\t' | '\r'..'\r')+ | '#'..'#' ~ (!('\n'..'\n') ~ ANY)* }
token  = _{ word | number | string | punct | nl }
word   = @{ (ASCII_ALPHA | '_'..'_') ~ (ASCII_ALPHANUMERIC | '_'..'_')* }
number = @{ ASCII_DIGIT ~ (ASCII_DIGIT | '_'..'_')* ~ ('.'..'.' ~ ASCII_DIGIT+)? ~ ASCII_ALPHA* }
string = @{ '"'..'"' ~ ('\\'..'\\' ~ ANY | !('"'..'"') ~ ANY)* ~ '"'..'"' }
punct  = @{ "->" | "==" | "!=" | "<=" | ">=" | "??" | "**" | "//" | '!'..'/' | ':'..'@' | '['..'^' | '{'..'~' }
nl     = { '\n'..'\n' }
"#]
struct Tokens;

/// One stage's work over the whole program; returns a number derived from it, so that the work
/// cannot be optimized away.
type Stage<'a> = Box<dyn Fn() -> usize + 'a>;

/// Timed repetitions of each stage.
const RUNS: usize = 7;
/// The throughput target of `flytec check`, on one core.
const TARGET_LINES_PER_S: f64 = 300_000.0;

fn main() {
    pin_to_one_core();
    let (dir, _generated) = program_dir();
    let files = flow_files(&dir);
    let texts: Vec<String> = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    let lines: usize = texts.iter().map(|t| t.lines().count()).sum();
    let bytes: usize = texts.iter().map(String::len).sum();
    let main_file = dir.join("main.flow");

    let stages: [(&str, Stage); 4] = [
        (
            "pest tokens only (floor)",
            Box::new(|| texts.iter().map(|t| token_pairs(t)).sum()),
        ),
        (
            "Flow grammar (pest)",
            Box::new(|| texts.iter().map(|t| flow_pairs(t)).sum()),
        ),
        (
            "parse to AST (`syntax::parse`)",
            Box::new(|| {
                texts
                    .iter()
                    .map(|t| {
                        let mut errors = Vec::new();
                        let module =
                            flytec::syntax::parse(flytec::source::FileId(0), t, &mut errors);
                        assert!(errors.is_empty(), "the program must parse: {errors:?}");
                        module.items.len()
                    })
                    .sum()
            }),
        ),
        (
            "whole check (`check::check_path`)",
            Box::new(|| {
                let checked = flytec::check::check_path(&main_file).expect("main.flow is readable");
                assert!(
                    checked.diagnostics.is_empty(),
                    "the program must check clean"
                );
                checked.diagnostics.len()
            }),
        ),
    ];

    println!(
        "`flytec check`, one core: {} files, {lines} lines, {:.1} MB; median of {RUNS} runs\n",
        texts.len(),
        bytes as f64 / 1e6
    );
    println!("| stage | median | lines/s | share of the one-core budget | vs. pest tokens only |");
    println!("|---|---:|---:|---:|---:|");
    let budget = lines as f64 / TARGET_LINES_PER_S;
    let mut floor = None;
    for (name, stage) in &stages {
        std::hint::black_box(stage()); // warm-up
        let time = median((0..RUNS).map(|_| timed(stage.as_ref())).collect());
        let secs = time.as_secs_f64();
        let floor_secs = *floor.get_or_insert(secs);
        println!(
            "| {name} | {:.1} ms | {:.0} | {:.0}% | {:.2}× |",
            secs * 1e3,
            lines as f64 / secs,
            secs / budget * 100.0,
            secs / floor_secs
        );
    }
    println!(
        "\nThe budget: {lines} lines at {TARGET_LINES_PER_S:.0} lines/s is {:.1} ms.",
        budget * 1e3
    );
}

/// Runs the rest of the process on the core it started on: `flytec check` sizes its thread
/// pool by the cores it may use.
fn pin_to_one_core() {
    // SAFETY: a zeroed `cpu_set_t` is a valid empty set; `sched_getcpu` and
    // `sched_setaffinity` only read and write this process's affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(libc::sched_getcpu().max(0) as usize, &mut set);
        let ok = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0;
        assert!(ok, "cannot pin the bench to one core");
    }
    assert_eq!(
        std::thread::available_parallelism().map_or(1, usize::from),
        1,
        "pinned to one core"
    );
}

/// The program's directory: the first argument, or a fresh 100,000-line program generated by
/// `bench/gen_program.py` (kept alive by the returned guard).
fn program_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    if let Some(dir) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        return (PathBuf::from(dir), None);
    }
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/gen_program.py");
    let status = std::process::Command::new("python3")
        .arg(script)
        .arg(tmp.path())
        .status()
        .expect("python3 runs bench/gen_program.py");
    assert!(status.success(), "bench/gen_program.py failed");
    (tmp.path().to_path_buf(), Some(tmp))
}

/// Every `.flow` file under `dir`, sorted.
fn flow_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "flow") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Tokenizes `text` with the token grammar and walks its pairs; returns how many there were.
fn token_pairs(text: &str) -> usize {
    let file = Tokens::parse(Rule::file, text)
        .expect("Flow text is made of Flow tokens")
        .next()
        .expect("the file pair");
    file.into_inner().map(|p| p.as_span().end() & 1).sum()
}

/// Parses `text` with Flow's grammar and walks every pair; returns how many there were.
fn flow_pairs(text: &str) -> usize {
    flytec::syntax::FlowParser::parse(flytec::syntax::Rule::file, text)
        .expect("the program parses")
        .flatten()
        .map(|p| p.as_span().end() & 1)
        .sum()
}

fn timed(stage: &dyn Fn() -> usize) -> Duration {
    let start = Instant::now();
    std::hint::black_box(stage());
    start.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
