//! Python tasks: consumes a task's [`PythonTask`], its signature and its input values (already
//! read back from the store); produces its output value, computed by a Python process.
//!
//! Each attempt starts the interpreter (`--python PATH`, else `FLYTEC_PYTHON`, else `python3`)
//! on the runner script shipped in the binary (`runner.py`), in the node's directory of the run:
//! `call.json` says what to call and the Flow types involved ([`spec`]), `inputs.pkl` holds the
//! inputs, and the runner writes `outputs.pkl` (the Python version and the outputs, in Flow's
//! plain pickle form) or `error.json`. The process's stdout goes to flytec's stderr, so that
//! `print` in a task never mixes with the run's JSON output. A timeout kills the process.
//!
//! Extern values cross unopened: the bytes Python wrote are stored as they are and handed to the
//! next Python task, which loads them. Every extern value a Python task returns records the
//! Python version that wrote it ([`Opaque::python_version`]); handing it to a Python of another
//! version (major.minor) warns, or fails with `--strict-pickle` ([`version`]).

mod spec;
mod version;

use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::json;

use crate::check::types::{Decls, Signature, Type};
use crate::interp::RuntimeError;
use crate::ir::{PythonTask, SourceText};
use crate::pickle;
use crate::source::Span;
use crate::store::atomic_write;
use crate::syntax::ast::PythonCode;
use crate::value::{Opaque, Value};

pub use spec::Specs;

/// The runner script, started as `python3 -c RUNNER CALL.json`.
const RUNNER: &str = include_str!("runner.py");

/// The Python interpreter Python tasks run on, and how strictly pickle versions are checked.
pub struct Interpreter {
    /// The interpreter's path or command name.
    pub path: PathBuf,
    /// Whether an extern value written by another Python version is an error (else a warning).
    pub strict_pickle: bool,
    version: OnceLock<Result<String, String>>,
}

impl Interpreter {
    /// The interpreter at `path`, else `FLYTEC_PYTHON`, else `python3`.
    pub fn new(path: Option<PathBuf>, strict_pickle: bool) -> Self {
        let path = path
            .or_else(|| std::env::var_os("FLYTEC_PYTHON").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("python3"));
        Interpreter {
            path,
            strict_pickle,
            version: OnceLock::new(),
        }
    }

    /// The interpreter's version (`3.11.7`), asked once.
    pub fn version(&self) -> Result<&str, String> {
        self.version
            .get_or_init(|| version::probe(&self.path))
            .as_deref()
            .map_err(Clone::clone)
    }
}

/// One attempt of a Python task.
pub struct Call<'a> {
    /// The task's name.
    pub task: &'a str,
    /// What it calls.
    pub python: &'a PythonTask,
    /// Its signature.
    pub sig: &'a Signature,
    /// The program's declarations.
    pub decls: &'a Decls,
    /// The `.flow` file that declares it: inline bodies are compiled under its name, with
    /// their lines numbered as they are in it, and errors point into it.
    pub source: &'a SourceText,
    /// A directory of its own, where the call's files go.
    pub dir: PathBuf,
    /// When the attempt must end (`@timeout`).
    pub deadline: Option<Instant>,
}

/// What a Python task's attempt gave: its value (a tuple when it has several outputs), and
/// warnings to show.
pub struct Outcome {
    /// The output value, as a Flow task's body would give it.
    pub value: Value,
    /// Pickle version warnings.
    pub warnings: Vec<String>,
}

/// Runs one attempt of a Python task with `inputs` (in parameter order).
pub fn call(
    interpreter: &Interpreter,
    call: &Call,
    inputs: &[Value],
) -> Result<Outcome, RuntimeError> {
    let span = call.python.span;
    let at = |message: String| RuntimeError::at(span, message);
    let warnings = version::check_inputs(interpreter, call.task, call.sig, inputs).map_err(at)?;
    std::fs::create_dir_all(&call.dir)
        .map_err(|e| at(format!("cannot create `{}`: {e}", call.dir.display())))?;
    let files = CallFiles::new(&call.dir);
    let plain: IndexMap<String, Value> = call
        .sig
        .params
        .iter()
        .map(|p| p.name.clone())
        .zip(inputs.iter().cloned())
        .collect();
    let bytes = pickle::encode(&Value::Dict(Arc::new(plain)))
        .map_err(|e| at(format!("cannot pickle the inputs: {e}")))?;
    atomic_write(&files.inputs, &bytes)
        .map_err(|e| at(format!("cannot write `{}`: {e}", files.inputs.display())))?;
    atomic_write(
        &files.call,
        describe_call(call, &files).to_string().as_bytes(),
    )
    .map_err(|e| at(format!("cannot write `{}`: {e}", files.call.display())))?;
    let child = start(interpreter, &files.call).map_err(at)?;
    let status = wait(child, call.deadline).map_err(|e| match e {
        Waited::TimedOut => RuntimeError::at(span, "timed out")
            .timeout()
            .with_detail("the Python process was killed"),
        Waited::Failed(message) => at(message),
    })?;
    if !status.success() {
        return Err(failure(&files, status, span, call.source));
    }
    let value = read_outputs(&files.outputs, call.sig, call.decls).map_err(at)?;
    Ok(Outcome { value, warnings })
}

/// The files of one call, in its directory.
struct CallFiles {
    call: PathBuf,
    inputs: PathBuf,
    outputs: PathBuf,
    error: PathBuf,
}

impl CallFiles {
    fn new(dir: &Path) -> Self {
        CallFiles {
            call: dir.join("call.json"),
            inputs: dir.join("inputs.pkl"),
            outputs: dir.join("outputs.pkl"),
            error: dir.join("error.json"),
        }
    }
}

/// `call.json`: what to call, and the Flow types of its inputs and outputs.
fn describe_call(call: &Call, files: &CallFiles) -> serde_json::Value {
    let mut specs = Specs::new(call.decls);
    let inputs: Vec<_> = call
        .sig
        .params
        .iter()
        .map(|p| json!([p.name, specs.spec(&p.ty)]))
        .collect();
    let outputs: Vec<_> = call
        .sig
        .outputs
        .fields()
        .iter()
        .map(|o| json!([o.name, specs.spec(&o.ty)]))
        .collect();
    let (module, function, inline) = match &call.python.code {
        PythonCode::Function { module, function } => (Some(module), Some(function), None),
        PythonCode::Inline(body) => (None, None, Some(body)),
    };
    json!({
        "task": call.task,
        "module": module,
        "function": function,
        "inline": inline,
        "inline_line": line_of(call.source, call.python.span.start as usize),
        "flow_file": call.source.name,
        "dir": call.python.dir,
        "inputs": inputs,
        "outputs": outputs,
        "types": specs.into_named(),
        "inputs_file": files.inputs,
        "outputs_file": files.outputs,
        "error_file": files.error,
    })
}

/// Starts the runner; its stdout goes to our stderr, its stderr is ours.
fn start(interpreter: &Interpreter, call_file: &Path) -> Result<Child, String> {
    let stdout = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| Stdio::inherit(), Stdio::from);
    Command::new(&interpreter.path)
        .arg("-c")
        .arg(RUNNER)
        .arg(call_file)
        .stdin(Stdio::null())
        .stdout(stdout)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start the Python interpreter `{}`: {e} (choose one with `--python PATH` \
                 or `FLYTEC_PYTHON`)",
                interpreter.path.display()
            )
        })
}

/// Why waiting for the runner did not give an exit status.
enum Waited {
    TimedOut,
    Failed(String),
}

/// Waits for `child`, killing it at `deadline`.
fn wait(mut child: Child, deadline: Option<Instant>) -> Result<std::process::ExitStatus, Waited> {
    let Some(deadline) = deadline else {
        return child.wait().map_err(|e| Waited::Failed(e.to_string()));
    };
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                // Killing can only fail when the process has just ended.
                let _ = child.kill();
                let _ = child.wait();
                return Err(Waited::TimedOut);
            }
            Ok(None) => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(Waited::Failed(e.to_string())),
        }
    }
}

/// The 1-based line of `offset` in `source`.
fn line_of(source: &SourceText, offset: usize) -> usize {
    source.text[..offset.min(source.text.len())]
        .matches('\n')
        .count()
        + 1
}

/// The span of the text on 1-based line `line` of `source` (without its indentation), in the
/// file of `like`.
fn line_span(source: &SourceText, line: usize, like: Span) -> Option<Span> {
    let start = source
        .text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum::<usize>();
    let text = source.text[start..].lines().next()?;
    let indent = text.len() - text.trim_start().len();
    let end = start + text.trim_end().len();
    (end > start + indent).then(|| Span::new(like.file, start + indent..end))
}

/// The run error of a runner that failed: what it reported, or how the process ended. An
/// exception raised by an inline body points at its line in the `.flow` file.
fn failure(
    files: &CallFiles,
    status: std::process::ExitStatus,
    span: Span,
    source: &SourceText,
) -> RuntimeError {
    let report = std::fs::read(&files.error)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let Some(report) = report else {
        return RuntimeError::at(
            span,
            format!("the Python process ended ({status}) without a result"),
        );
    };
    let kind = report["kind"].as_str().unwrap_or("runner");
    let message = report["message"].as_str().unwrap_or("").to_string();
    match kind {
        "exception" => {
            let last = message.lines().last().unwrap_or("an exception").to_string();
            let at = report["flow_line"]
                .as_u64()
                .and_then(|line| line_span(source, line as usize, span))
                .unwrap_or(span);
            RuntimeError::at(at, format!("the Python code raised {last}")).with_detail(format!(
                "Python traceback (most recent call last):\n{message}"
            ))
        }
        "runner" => RuntimeError::at(span, "the Python task runner failed").with_detail(message),
        _ => RuntimeError::at(span, message),
    }
}

/// The outputs the runner wrote: `(python_version, [output, …])`, as one value (a tuple for
/// several outputs), every extern value marked with the version.
fn read_outputs(file: &Path, sig: &Signature, decls: &Decls) -> Result<Value, String> {
    let bytes =
        std::fs::read(file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
    let types: Vec<Type> = sig.outputs.fields().iter().map(|o| o.ty.clone()).collect();
    let shape = Type::Tuple(vec![Type::Str, Type::Tuple(types.clone())]);
    let value = pickle::decode(&bytes, &shape, decls)
        .map_err(|e| format!("the Python outputs do not read back: {e}"))?;
    let Value::Tuple(parts) = value else {
        return Err("the Python outputs do not read back".into());
    };
    let (Value::Str(version), Value::Tuple(outputs)) = (&parts[0], &parts[1]) else {
        return Err("the Python outputs do not read back".into());
    };
    let mut outputs: Vec<Value> = outputs
        .iter()
        .map(|v| {
            let mut any = false;
            v.for_each_opaque(&mut |_| any = true);
            if any {
                mark_version(v.clone(), version)
            } else {
                v.clone()
            }
        })
        .collect();
    Ok(match outputs.len() {
        1 => outputs.remove(0),
        _ => Value::Tuple(Arc::new(outputs)),
    })
}

/// `value` with every extern value in it marked as written by Python `version`.
fn mark_version(value: Value, version: &str) -> Value {
    let all = |items: &[Value]| -> Vec<Value> {
        items
            .iter()
            .map(|v| mark_version(v.clone(), version))
            .collect()
    };
    match value {
        Value::Opaque(o) => Value::Opaque(Arc::new(Opaque {
            bytes: o.bytes.clone(),
            python_version: Some(version.to_string()),
            uri: None,
        })),
        Value::List(items) => Value::list(all(&items)),
        Value::Tuple(items) => Value::Tuple(Arc::new(all(&items))),
        Value::Dict(map) => Value::Dict(Arc::new(
            map.iter()
                .map(|(k, v)| (k.clone(), mark_version(v.clone(), version)))
                .collect(),
        )),
        Value::Record(r) => {
            let mut record = (*r).clone();
            for (_, v) in &mut record.fields {
                *v = mark_version(std::mem::replace(v, Value::None), version);
            }
            Value::Record(Arc::new(record))
        }
        other => other,
    }
}
