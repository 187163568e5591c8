//! `flytec run FILE [ENTRY] [--NAME VALUE]…`: compile (or load a compiled IR), check the inputs
//! against the entry's interface, run it through the store, print the outputs.

use std::path::PathBuf;

use flytec::check::types::{DeclKind, Signature};
use flytec::diagnostics::{Code, Diagnostic};
use flytec::interp::executor::{self, Options, RunFailure};
use flytec::interp::ErrorKind;
use flytec::ir::{Program, Target};
use flytec::literal;
use flytec::python::Interpreter;
use flytec::source::SourceMap;
use flytec::store::Store;
use flytec::value::Value;

use super::compile::load_program;
use super::{Color, EXIT_USAGE};

/// The run failed.
pub const EXIT_RUN_FAILED: i32 = 3;

/// Arguments of `flytec run`.
#[derive(clap::Args)]
pub struct Args {
    /// A `.flow` file, or an IR file written by `flytec compile`.
    file: PathBuf,
    /// The entry, then inputs as `--NAME VALUE` (VALUE is JSON; a bare string is accepted for
    /// a `str` or an enum), and options: `--inputs FILE.json`, `--literals`, `--jobs N`,
    /// `--run-dir DIR`, `--cache-dir DIR`, `--color WHEN`, `--python PATH` (the interpreter of
    /// Python tasks; default `FLYTEC_PYTHON`, else `python3`), `--strict-pickle` (an extern
    /// value pickled by another Python version is an error, not a warning).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

/// Options and inputs parsed from the arguments after the file.
#[derive(Default)]
struct Parsed {
    entry: Option<String>,
    inputs: Vec<(String, String)>,
    inputs_file: Option<PathBuf>,
    literals: bool,
    jobs: Option<usize>,
    run_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    color: Color,
    python: Option<PathBuf>,
    strict_pickle: bool,
}

fn parse_rest(rest: &[String]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            if parsed.entry.is_some() {
                return Err(format!(
                    "unexpected argument `{arg}`: inputs are given as `--NAME VALUE`"
                ));
            }
            parsed.entry = Some(arg.clone());
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        // Switches take no value.
        match name {
            "literals" => {
                parsed.literals = true;
                continue;
            }
            "strict-pickle" => {
                parsed.strict_pickle = true;
                continue;
            }
            _ => {}
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().cloned().ok_or_else(|| {
                format!("`--{name}` needs a value (`--NAME VALUE` gives the input NAME)")
            })?,
        };
        match name {
            "inputs" => parsed.inputs_file = Some(value.into()),
            "jobs" => {
                parsed.jobs = Some(
                    value
                        .parse()
                        .map_err(|_| format!("`--jobs` takes a number, not `{value}`"))?,
                )
            }
            "run-dir" => parsed.run_dir = Some(value.into()),
            "cache-dir" => parsed.cache_dir = Some(value.into()),
            "python" => parsed.python = Some(value.into()),
            "color" => {
                parsed.color = match value.as_str() {
                    "auto" => Color::Auto,
                    "always" => Color::Always,
                    "never" => Color::Never,
                    _ => {
                        return Err(format!(
                            "`--color` takes auto, always or never, not `{value}`"
                        ))
                    }
                }
            }
            _ => {
                if let Some((_, first)) = parsed.inputs.iter().find(|(n, _)| n == name) {
                    return Err(format!(
                        "input `{name}` is given twice: `--{name} {first}` and `--{name} {value}`"
                    ));
                }
                parsed.inputs.push((name.to_string(), value))
            }
        }
    }
    Ok(parsed)
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> i32 {
    let parsed = match parse_rest(&args.rest) {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let program = match load_program(&args.file, parsed.color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let (name, target) = match choose_entry(&program, parsed.entry.as_deref()) {
        Ok(entry) => entry,
        Err(e) => return usage(&e),
    };
    let sig = signature(&program, target);
    let inputs = match gather_inputs(&program, target, sig, &parsed) {
        Ok(values) => values,
        Err(e) => return usage(&e),
    };
    let store = match Store::create(parsed.run_dir.clone(), parsed.cache_dir.clone()) {
        Ok(s) => s,
        Err(e) => return usage(&format!("cannot create the run directory: {e}")),
    };
    let jobs = parsed
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let progress = Progress::new();
    let on_node = |record: &flytec::store::NodeRecord| progress.node_ended(record);
    let result = executor::run(
        &program,
        target,
        inputs,
        &store,
        &Options {
            jobs,
            on_node: Some(&on_node),
            python: Interpreter::new(parsed.python.clone(), parsed.strict_pickle),
        },
    );
    progress.finish();
    let code = match result {
        Ok(outcome) => {
            let doc = if parsed.literals {
                outcome.literals
            } else {
                serde_json::Value::Object(
                    outcome
                        .outputs
                        .iter()
                        .map(|(n, v)| (n.clone(), literal::value_to_json(v)))
                        .collect(),
                )
            };
            println!("{doc}");
            0
        }
        Err(failure) => {
            report_failure(&program, &name, &failure, parsed.color);
            EXIT_RUN_FAILED
        }
    };
    eprintln!("run directory: {}", store.run_dir.display());
    code
}

/// A spinner with a count of finished nodes on stderr, shown only when stderr is a terminal
/// and only once the run has taken more than a second.
struct Progress {
    bar: indicatif::ProgressBar,
    started: std::time::Instant,
    terminal: bool,
}

impl Progress {
    fn new() -> Self {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed} {pos} nodes done, last: {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        Progress {
            bar,
            started: std::time::Instant::now(),
            terminal,
        }
    }

    fn node_ended(&self, record: &flytec::store::NodeRecord) {
        if self.terminal
            && self.bar.is_hidden()
            && self.started.elapsed() > std::time::Duration::from_secs(1)
        {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.bar
                .enable_steady_tick(std::time::Duration::from_millis(120));
        }
        self.bar.inc(1);
        self.bar
            .set_message(format!("{} ({})", record.name, record.status));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn usage(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// The entry to run: the one named, else the only workflow, else the workflow named `main`.
fn choose_entry(program: &Program, name: Option<&str>) -> Result<(String, Target), String> {
    if program.entries.is_empty() {
        return Err("the program has no task or workflow to run".to_string());
    }
    let names = || {
        program
            .entries
            .iter()
            .map(|e| format!("`{}`", e.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(name) = name {
        return program
            .entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| (e.name.clone(), e.target))
            .ok_or_else(|| {
                format!(
                    "no task or workflow named `{name}`; the file has {}",
                    names()
                )
            });
    }
    let workflows: Vec<_> = program
        .entries
        .iter()
        .filter(|e| matches!(e.target, Target::Workflow(_)))
        .collect();
    let main = workflows.iter().find(|e| e.name == "main");
    match (workflows.as_slice(), main) {
        ([only], _) | (_, Some(only)) => Ok((only.name.clone(), only.target)),
        _ => Err(format!(
            "name the task or workflow to run: the file has {}",
            names()
        )),
    }
}

fn signature(program: &Program, target: Target) -> &Signature {
    let decl = match target {
        Target::Task(f) => program.functions[f as usize].decl,
        Target::Workflow(w) => program.workflows[w as usize].decl,
    };
    match &program.decls.get(decl).kind {
        DeclKind::Callable(sig) => sig,
        _ => unreachable!("entries are callables"),
    }
}

/// The entry's inputs from `--NAME VALUE`, `--inputs FILE` and defaults, checked against its
/// interface before anything runs.
fn gather_inputs(
    program: &Program,
    target: Target,
    sig: &Signature,
    parsed: &Parsed,
) -> Result<Vec<Value>, String> {
    // Each input's JSON, and for a flag whose value looks like JSON but is not, why.
    let mut given: Vec<(String, serde_json::Value, Option<String>)> = Vec::new();
    if let Some(file) = &parsed.inputs_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("`{}` is not JSON: {e}", file.display()))?;
        let serde_json::Value::Object(map) = doc else {
            return Err(format!(
                "`{}` must hold a JSON object keyed by input name",
                file.display()
            ));
        };
        given.extend(map.into_iter().map(|(name, json)| (name, json, None)));
    }
    for (name, text) in &parsed.inputs {
        let param = sig
            .params
            .iter()
            .find(|p| p.name == *name)
            .ok_or_else(|| unknown_input(sig, name))?;
        let (json, not_json) = match serde_json::from_str(text) {
            Ok(json) => (json, None),
            // A bare string; when it opens like a JSON list, object or string, the JSON error
            // is kept to explain a mismatch.
            Err(e) => {
                let bracketed = text.trim_start().starts_with(['[', '{', '"']);
                let why = bracketed.then(|| e.to_string());
                (serde_json::Value::String(text.clone()), why)
            }
        };
        let json = match (&json, &param.ty) {
            (serde_json::Value::String(_), _) => json,
            (_, flytec::check::types::Type::Str) => serde_json::Value::String(text.clone()),
            _ => json,
        };
        given.retain(|(n, ..)| n != name);
        given.push((name.clone(), json, not_json));
    }
    for (name, ..) in &given {
        if !sig.params.iter().any(|p| p.name == *name) {
            return Err(unknown_input(sig, name));
        }
    }
    let defaults = |decl, field: &str| executor::record_default(program, decl, field);
    sig.params
        .iter()
        .enumerate()
        .map(|(i, p)| match given.iter().find(|(n, ..)| *n == p.name) {
            Some((_, json, not_json)) => {
                literal::value_from_json_with_defaults(json, &p.ty, &program.decls, &defaults)
                    .map_err(|e| {
                        let ty = program.decls.show(&p.ty);
                        match not_json {
                            // Taken as a bare string, it did not fit: the JSON error says more.
                            Some(why) => format!(
                                "input `{}` must be `{ty}`, but `{}` is not JSON: {why}",
                                p.name,
                                json.as_str().unwrap_or_default()
                            ),
                            None => format!("input `{}` must be `{ty}`: {e}", p.name),
                        }
                    })
            }
            None => executor::default_input(program, target, i).ok_or_else(|| {
                format!(
                    "missing input `{}` of type `{}`: give it as `--{} VALUE`",
                    p.name,
                    program.decls.show(&p.ty),
                    p.name
                )
            }),
        })
        .collect()
}

fn unknown_input(sig: &Signature, name: &str) -> String {
    let names: Vec<String> = sig.params.iter().map(|p| format!("`{}`", p.name)).collect();
    let known = if names.is_empty() {
        "it takes no inputs".to_string()
    } else {
        format!("its inputs are {}", names.join(", "))
    };
    format!("unknown input `{name}`: {known}")
}

/// Renders a run failure like a check diagnostic, pointing at the failing expression.
fn report_failure(program: &Program, entry: &str, failure: &RunFailure, color: Color) {
    let what = match failure.error.kind {
        ErrorKind::Timeout => "timed out",
        _ => "failed",
    };
    let headline = format!(
        "{} `{}` {what} (node {}, attempt {}): {}",
        failure.kind.keyword(),
        failure.task,
        failure.node,
        failure.attempt,
        failure.error.message
    );
    match failure.error.span {
        Some(span) => {
            let mut sources = SourceMap::new();
            for f in &program.files {
                sources.add(f.name.clone(), f.text.clone());
            }
            let mut d = Diagnostic::new(Code::E0001, span, headline, failure.error.message.clone());
            if let Some(detail) = &failure.error.detail {
                d = d.with_note(detail.as_str());
            }
            let d = d.with_note(format!("the run of `{entry}` stopped here"));
            print_runtime(&d, &sources, color);
        }
        None => {
            eprintln!("error: {headline}");
            if let Some(detail) = &failure.error.detail {
                eprintln!("{detail}");
            }
        }
    }
}

fn print_runtime(d: &Diagnostic, sources: &SourceMap, color: Color) {
    // Runtime errors reuse the check renderer; the code line is replaced by `error[run]`.
    let mut buffer = Vec::new();
    let _ = flytec::diagnostics::render::render_human(
        std::slice::from_ref(d),
        sources,
        color.enabled(),
        &mut buffer,
    );
    let text = String::from_utf8_lossy(&buffer).replacen("error[E0001]", "error[run]", 1);
    eprint!("{text}");
}
