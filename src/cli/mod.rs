//! One module per command: each calls the library, renders its results and returns the exit
//! code (LANGUAGE.md section 10: 0 ok, 1 program errors, 2 usage or unreadable file, 3 run failed).

pub mod check;
pub mod compile;
pub mod explain;
pub mod fmt;
pub mod interface;
pub mod lsp;
pub mod run;

use std::io::IsTerminal;

use flytec::diagnostics::{render, Diagnostic, Severity};
use flytec::source::SourceMap;

/// The program has no errors.
pub const EXIT_OK: i32 = 0;
/// The program has errors (or warnings under `--deny warnings`).
pub const EXIT_ERRORS: i32 = 1;
/// The command line is wrong or a file cannot be read.
pub const EXIT_USAGE: i32 = 2;

/// When to colour diagnostics.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum Color {
    /// When stderr is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl Color {
    /// Whether to colour output written to stderr.
    pub fn enabled(self) -> bool {
        match self {
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
            Color::Always => true,
            Color::Never => false,
        }
    }
}

/// Runs `f` on a thread with a large stack, so deeply nested (but accepted) programs cannot
/// overflow it; returns `f`'s exit code.
pub fn with_large_stack(f: impl FnOnce() -> i32 + Send + 'static) -> i32 {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .expect("the checker thread starts")
        .join()
        .unwrap_or(EXIT_USAGE + 99)
}

/// Writes diagnostics for people to stderr, then the summary line.
pub fn print_human(diagnostics: &[Diagnostic], sources: &SourceMap, color: Color) {
    let mut err = std::io::stderr().lock();
    // A closed stderr leaves nothing to report to.
    let _ = render::render_human(diagnostics, sources, color.enabled(), &mut err);
}

/// Whether diagnostics fail the command: any error, or any warning under `--deny warnings`.
pub fn failed(diagnostics: &[Diagnostic], deny_warnings: bool) -> bool {
    diagnostics
        .iter()
        .any(|d| d.severity() == Severity::Error || deny_warnings)
}
