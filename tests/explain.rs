//! Every `flytec explain` text stays true: each example of a mistake gives its code, and each
//! fixed version checks clean.

use flytec::check::check_text;
use flytec::diagnostics::{explain, Code};

fn codes_of(source: &str) -> Vec<String> {
    check_text("example.flow", source)
        .diagnostics
        .iter()
        .map(|d| d.code.to_string())
        .collect()
}

#[test]
fn every_mistake_example_reports_its_code() {
    for &code in Code::ALL {
        let examples = explain::examples(code);
        let found = codes_of(examples.mistake);
        assert!(
            found.contains(&code.to_string()),
            "{code}: the mistake example reports {found:?}\n{}",
            examples.mistake
        );
    }
}

#[test]
fn every_fixed_example_checks_clean() {
    for &code in Code::ALL {
        for fixed in explain::examples(code).fixed {
            let found = codes_of(fixed);
            assert!(
                found.is_empty(),
                "{code}: the fixed example reports {found:?}\n{fixed}"
            );
        }
    }
}
