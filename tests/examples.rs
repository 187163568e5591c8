//! Every program in `examples/` checks clean: no errors, and no warnings but the seed's
//! intended W0100 for its `class People`.

use std::path::Path;

use flytec::check::check_path;

#[test]
fn every_example_checks_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .chain(std::fs::read_dir(dir.join("lib")).expect("examples/lib exists"))
    {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "flow") {
            continue;
        }
        let result = check_path(&path).expect("the example is readable");
        let codes: Vec<String> = result
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        let expected: &[&str] = if path.ends_with("pickle.flow") {
            &["W0100 `People` is lowered to Pickle"]
        } else {
            &[]
        };
        assert_eq!(codes, expected, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} examples found");
}
