//! `flytec lsp`: the language server over stdio (see [`flytec::lsp`]).

/// Arguments of `flytec lsp`.
#[derive(clap::Args)]
pub struct Args {
    /// Speak over stdin and stdout (the default and only transport; accepted because editors
    /// pass it).
    #[arg(long)]
    stdio: bool,
}

/// Runs the server until the editor says `exit` or closes stdin; returns the exit code.
pub fn run(args: Args) -> i32 {
    let _ = args.stdio;
    flytec::lsp::serve_stdio()
}
