//! The Python-version caveat of Pickle, made visible: consumes a Python task's input values and
//! the interpreter's version; produces a warning (or, with `--strict-pickle`, an error) for
//! every extern input written by another Python version. Versions are compared by major and
//! minor number (`3.11.7` and `3.11.2` agree; `3.11` and `3.12` do not): that is where the
//! pickle protocol and the layout of pickled classes change.

use std::path::Path;
use std::process::{Command, Stdio};

use super::Interpreter;
use crate::check::types::Signature;
use crate::value::Value;

/// The version of the interpreter at `path` (`3.11.7`).
pub(super) fn probe(path: &Path) -> Result<String, String> {
    let output = Command::new(path)
        .args(["-c", "import platform; print(platform.python_version())"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "cannot start the Python interpreter `{}`: {e} (choose one with `--python PATH` \
                 or `FLYTEC_PYTHON`)",
                path.display()
            )
        })?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || version.is_empty() {
        return Err(format!(
            "`{}` did not tell its version: is it a Python interpreter?",
            path.display()
        ));
    }
    Ok(version)
}

/// The warnings for the extern inputs of task `task` written by another Python version than
/// the interpreter's; with `--strict-pickle`, the first one is an error instead.
pub(super) fn check_inputs(
    interpreter: &Interpreter,
    task: &str,
    sig: &Signature,
    inputs: &[Value],
) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for (param, value) in sig.params.iter().zip(inputs) {
        let mut versions: Vec<&str> = Vec::new();
        value.for_each_opaque(&mut |o| {
            if let Some(v) = o.python_version.as_deref() {
                if !versions.contains(&v) {
                    versions.push(v);
                }
            }
        });
        if versions.is_empty() {
            continue;
        }
        let running = interpreter.version()?;
        for written in versions {
            if same_minor(written, running) {
                continue;
            }
            let message = format!(
                "input `{}` of task `{task}` was pickled by Python {written}, and the task runs \
                 on Python {running}: a pickle may not load, or load differently, in another \
                 Python version",
                param.name
            );
            if interpreter.strict_pickle {
                return Err(format!("{message} (refused by `--strict-pickle`)"));
            }
            warnings.push(message);
        }
    }
    Ok(warnings)
}

/// Whether two versions agree on major and minor number.
fn same_minor(a: &str, b: &str) -> bool {
    let key = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_agree_on_major_and_minor() {
        assert!(same_minor("3.11.7", "3.11.2"));
        assert!(!same_minor("3.11.7", "3.12.0"));
        assert!(!same_minor("3.1", "3.11"));
    }
}
