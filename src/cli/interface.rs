//! `flytec interface FILE`: every task's and workflow's Flyte interface, as one JSON object
//! mapping its name to a `flyteidl.core.TypedInterface` in protobuf JSON mapping.

use std::path::PathBuf;

use flytec::check::{self, lower};

use super::{failed, print_human, Color, EXIT_ERRORS, EXIT_OK, EXIT_USAGE};

/// Arguments of `flytec interface`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.flow` file.
    file: PathBuf,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t)]
    color: Color,
}

/// Runs the command; returns the exit code. A program with errors prints them and no JSON.
pub fn run(args: Args) -> i32 {
    let checked = match check::check_path(&args.file) {
        Ok(checked) => checked,
        Err(e) => {
            eprintln!("error: {}", e.0);
            return EXIT_USAGE;
        }
    };
    print_human(&checked.diagnostics, &checked.sources, args.color);
    if failed(&checked.diagnostics, false) {
        return EXIT_ERRORS;
    }
    let interfaces: serde_json::Map<String, serde_json::Value> = checked
        .interfaces()
        .map(|(name, sig)| {
            (
                name.to_string(),
                lower::typed_interface(&checked.decls, sig),
            )
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&interfaces).expect("JSON values serialize")
    );
    EXIT_OK
}
