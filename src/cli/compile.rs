//! `flytec compile FILE [-o OUT]`: check a program and write its IR as versioned JSON.

use std::path::{Path, PathBuf};

use flytec::check;
use flytec::ir::{self, Program, IR_VERSION};

use super::{failed, print_human, Color, EXIT_ERRORS, EXIT_OK, EXIT_USAGE};

/// Arguments of `flytec compile`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.flow` file.
    file: PathBuf,
    /// Where to write the IR (default: stdout).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t)]
    color: Color,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> i32 {
    let program = match compile(&args.file, args.color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let text = serde_json::to_string(&program).expect("the IR serializes");
    match &args.output {
        Some(path) => match flytec::store::atomic_write(path, text.as_bytes()) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                EXIT_USAGE
            }
        },
        None => {
            println!("{text}");
            EXIT_OK
        }
    }
}

/// Checks and lowers a `.flow` file, printing its diagnostics; `Err` holds the exit code.
pub fn compile(file: &Path, color: Color) -> Result<Program, i32> {
    let checked = check::check_path(file).map_err(|e| {
        eprintln!("error: {}", e.0);
        EXIT_USAGE
    })?;
    print_human(&checked.diagnostics, &checked.sources, color);
    if failed(&checked.diagnostics, false) {
        return Err(EXIT_ERRORS);
    }
    Ok(ir::lower::lower(&checked))
}

/// A program from a `.flow` file or an IR file written by `flytec compile` (refused when its
/// version is not this flytec's).
pub fn load_program(file: &Path, color: Color) -> Result<Program, i32> {
    let is_ir = file.extension().is_some_and(|e| e == "json");
    if !is_ir {
        return compile(file, color);
    }
    let text = std::fs::read_to_string(file).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", file.display());
        EXIT_USAGE
    })?;
    let doc = ir_json(&text).map_err(|e| {
        eprintln!("error: `{}` is not an IR file: {e}", file.display());
        EXIT_USAGE
    })?;
    let version = doc.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(IR_VERSION)) {
        let found = version.map_or("an IR without a version".to_string(), |v| {
            format!("IR version {v}")
        });
        eprintln!(
            "error: `{}` is {found}, but this flytec reads IR version {IR_VERSION}\n  = help: compile the program again with this flytec: `flytec compile FILE.flow -o {}`",
            file.display(),
            file.display()
        );
        return Err(EXIT_USAGE);
    }
    let program: Program = serde_json::from_value(doc).map_err(|e| {
        eprintln!("error: `{}` is not a valid IR file: {e}", file.display());
        EXIT_USAGE
    })?;
    ir::validate::validate(&program).map_err(|e| {
        eprintln!("error: `{}` is not a valid IR file: {e}", file.display());
        EXIT_USAGE
    })?;
    Ok(program)
}

/// How deeply an IR file's JSON may nest. A long operator chain such as `x + x + … + x` is a
/// left-nested tree three JSON levels deep per operator, so the IR of a program `check`
/// accepts can nest far deeper than `serde_json`'s default limit of 128; this limit still
/// keeps reading it within the stack of [`super::with_large_stack`].
const MAX_IR_DEPTH: usize = 150_000;

/// `text` as JSON, refused when it nests deeper than [`MAX_IR_DEPTH`].
fn ir_json(text: &str) -> Result<serde_json::Value, String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' if in_string => {
                bytes.next();
            }
            b'"' => in_string = !in_string,
            b'[' | b'{' if !in_string => {
                depth += 1;
                if depth > MAX_IR_DEPTH {
                    return Err(format!("it nests more than {MAX_IR_DEPTH} levels deep"));
                }
            }
            b']' | b'}' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let doc = serde::Deserialize::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(doc)
}
