//! The `flytec` command line: parses arguments with clap and dispatches to one module per command.

mod cli;

/// A run makes and frees millions of small values (records, strings): glibc's malloc spent a
/// third of `flytec run`'s time on them (consolidating freed chunks), mimalloc a fraction.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// The toolchain for Flow, a statically typed language for Flyte-style data workflows.
#[derive(Parser)]
#[command(name = "flytec", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, resolve, type-check and lower programs; report every problem found.
    Check(cli::check::Args),
    /// Print the Flyte interface (TypedInterface JSON) of every task and workflow of a file.
    Interface(cli::interface::Args),
    /// Explain a diagnostic code, with an example of the mistake and of its fix.
    Explain(cli::explain::Args),
    /// Check a program and write its IR (versioned JSON) for `flytec run`.
    Compile(cli::compile::Args),
    /// Run a workflow or task, serializing every value that crosses a node boundary.
    Run(cli::run::Args),
    /// Rewrite files in the canonical layout (`--check`: only report the ones that differ).
    Fmt(cli::fmt::Args),
    /// Serve the Language Server Protocol over stdio, for editors.
    Lsp(cli::lsp::Args),
}

/// mimalloc's number for its purge delay option (`mi_option_t` in mimalloc.h, the same in its
/// versions 2 and 3), which its Rust bindings do not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Check(_)) {
        lean_memory();
    }
    let code = cli::with_large_stack(move || match cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Interface(args) => cli::interface::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Compile(args) => cli::compile::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Fmt(args) => cli::fmt::run(args),
        Command::Lsp(args) => cli::lsp::run(args),
    });
    std::process::exit(code);
}

/// Keeps `flytec check`'s memory small: parsing outgrows and frees large token buffers, which
/// mimalloc would keep for a while (with [`NO_HUGE_PAGES_FOR_CHECK`], the 100,000-line
/// benchmark peaks at about 55 MB instead of 117).
fn lean_memory() {
    // SAFETY: sets an option before any thread but this one exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

/// For `flytec check`, turns transparent huge pages off before the first allocation, which
/// would otherwise fault in a 2 MB page (about 1.5 ms of a 30-line check). Runs as the program
/// is loaded, before `main`: glibc passes the arguments to such initializers.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static NO_HUGE_PAGES_FOR_CHECK: extern "C" fn(
    std::ffi::c_int,
    *const *const std::ffi::c_char,
    *const *const std::ffi::c_char,
) = {
    extern "C" fn no_huge_pages_for_check(
        argc: std::ffi::c_int,
        argv: *const *const std::ffi::c_char,
        _env: *const *const std::ffi::c_char,
    ) {
        // SAFETY: glibc passes the program's `argc` and `argv`, whose entries are C strings.
        let command = (argc > 1 && !argv.is_null())
            .then(|| unsafe { std::ffi::CStr::from_ptr(*argv.add(1)) });
        if command.is_some_and(|c| c.to_bytes() == b"check") {
            // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process; a failure changes
            // nothing.
            unsafe {
                libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
            }
        }
    }
    no_huge_pages_for_check
};
