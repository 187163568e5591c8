//! `flytec check FILE...`: report every problem in each program, for people or as JSON.

use std::path::PathBuf;

use flytec::check;
use flytec::diagnostics::render;

use super::{failed, print_human, Color, EXIT_ERRORS, EXIT_OK, EXIT_USAGE};

/// How to print diagnostics.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum Format {
    /// rustc-style text on stderr.
    #[default]
    Human,
    /// One JSON document on stdout.
    Json,
}

/// What `--deny` may turn into errors.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Deny {
    /// Every warning.
    Warnings,
}

/// Arguments of `flytec check`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.flow` files to check (each with everything it imports).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// When to colour human output.
    #[arg(long, value_enum, default_value_t)]
    color: Color,
    /// Fail (exit 1) on warnings too.
    #[arg(long, value_enum)]
    deny: Option<Deny>,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> i32 {
    let deny_warnings = args.deny.is_some();
    let mut json: Vec<serde_json::Value> = Vec::new();
    let mut all = Vec::new();
    let mut unreadable = false;
    for (i, file) in args.files.iter().enumerate() {
        let mut checked = match check::check_path(file) {
            Ok(checked) => checked,
            Err(e) => {
                eprintln!("error: {}", e.0);
                unreadable = true;
                continue;
            }
        };
        match args.format {
            Format::Human => print_human(&checked.diagnostics, &checked.sources, args.color),
            Format::Json => {
                let doc = render::to_json(&checked.diagnostics, &checked.sources);
                for d in doc["diagnostics"].as_array().into_iter().flatten() {
                    if !json.contains(d) {
                        json.push(d.clone());
                    }
                }
            }
        }
        all.extend(std::mem::take(&mut checked.diagnostics));
        if i + 1 == args.files.len() {
            // The process ends soon: freeing the syntax trees node by node would only cost time.
            std::mem::forget(checked);
        }
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({ "version": 1, "diagnostics": json })
        ),
        Format::Human => {
            if let Some(line) = render::summary(&all) {
                eprintln!("{line}");
            }
        }
    }
    if unreadable {
        EXIT_USAGE
    } else if failed(&all, deny_warnings) {
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}
