//! `flytec explain CODE`: the long explanation of a diagnostic code.

use flytec::diagnostics::{explain, Code};

use super::{EXIT_OK, EXIT_USAGE};

/// Arguments of `flytec explain`.
#[derive(clap::Args)]
pub struct Args {
    /// A diagnostic code, e.g. `E0200`.
    code: String,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> i32 {
    match Code::parse(&args.code) {
        Some(code) => {
            println!("{}", explain::explain(code));
            EXIT_OK
        }
        None => {
            let known: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            eprintln!(
                "error: unknown diagnostic code `{}`\n  = note: the codes are {}",
                args.code,
                known.join(", ")
            );
            EXIT_USAGE
        }
    }
}
