//! `flytec fmt [--check] FILE...`: rewrite files in the canonical layout, or with `--check`
//! list the files that are not in it.

use std::io::Write;
use std::path::{Path, PathBuf};

use flytec::source::SourceMap;

use super::{print_human, Color, EXIT_ERRORS, EXIT_OK, EXIT_USAGE};

/// Arguments of `flytec fmt`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.flow` files to format (in place).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write nothing; exit 1 if a file is not formatted, listing it with its first difference.
    #[arg(long)]
    check: bool,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t)]
    color: Color,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> i32 {
    let mut unreadable = false;
    let mut failed = false;
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                unreadable = true;
                continue;
            }
        };
        let formatted = match flytec::fmt::format_source(&text) {
            Ok(formatted) => formatted,
            Err(diagnostics) => {
                let mut sources = SourceMap::new();
                sources.add(path.display().to_string(), text);
                print_human(&diagnostics, &sources, args.color);
                let n = diagnostics.len();
                eprintln!(
                    "error: could not format {} due to {n} error{}",
                    path.display(),
                    if n == 1 { "" } else { "s" }
                );
                failed = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if args.check {
            let mut out = std::io::stdout().lock();
            // A closed stdout leaves nothing to report to; the exit code still says it.
            let _ = writeln!(out, "would reformat {}", path.display());
            let _ = out.write_all(first_difference(path, &text, &formatted).as_bytes());
            failed = true;
        } else if let Err(e) = flytec::store::atomic_write(path, formatted.as_bytes()) {
            eprintln!("error: cannot write {}: {e}", path.display());
            unreadable = true;
        }
    }
    if unreadable {
        EXIT_USAGE
    } else if failed {
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}

/// A short unified diff of the first hunk where `old` and `new` differ, with up to 3 lines of
/// context and at most 8 lines from each side.
fn first_difference(path: &Path, old: &str, new: &str) -> String {
    const CONTEXT: usize = 3;
    const SHOWN: usize = 8;
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    let from = prefix.saturating_sub(CONTEXT);
    let mut out = format!("--- {0}\n+++ {0} (formatted)\n", path.display());
    let removed = (a_end - prefix).min(SHOWN);
    let added = (b_end - prefix).min(SHOWN);
    out.push_str(&format!(
        "@@ -{},{} +{},{} @@\n",
        from + 1,
        prefix - from + removed,
        from + 1,
        prefix - from + added
    ));
    for line in &a[from..prefix] {
        out.push_str(&format!(" {line}\n"));
    }
    for line in &a[prefix..prefix + removed] {
        out.push_str(&format!("-{line}\n"));
    }
    for line in &b[prefix..prefix + added] {
        out.push_str(&format!("+{line}\n"));
    }
    if a_end - prefix > removed || b_end - prefix > added {
        out.push_str(" …\n");
    }
    if a == b {
        // Only line endings or the final newline differ.
        out.push_str("(whitespace at line ends or the end of the file differs)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_hunk_is_shown_with_context() {
        let diff = first_difference(Path::new("a.flow"), "a\nb\nc\nd\n", "a\nb\nC\nd\n");
        assert_eq!(
            diff,
            "--- a.flow\n+++ a.flow (formatted)\n@@ -1,3 +1,3 @@\n a\n b\n-c\n+C\n"
        );
    }
}
