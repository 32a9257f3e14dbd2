//! Runs every conformance file in tests/conformance: each case's request
//! against its policy, compared with what the case expects.

use std::path::PathBuf;

use privet::conformance::run_file;

#[test]
fn every_conformance_case_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/conformance exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no conformance files in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    let mut total = 0;
    for file in &files {
        let outcome = run_file(file).unwrap_or_else(|e| panic!("{e}"));
        assert!(!outcome.cases.is_empty(), "{} has no cases", file.display());
        total += outcome.cases.len();
        for case in outcome.cases.iter().filter(|c| !c.passed) {
            failures.push(format!(
                "{}: {} [{}]\n    request: {}\n    {}\n    decision: {}",
                file.display(),
                case.name,
                case.cite,
                case.request,
                case.failures.join("\n    "),
                case.decision
                    .as_ref()
                    .map(|d| serde_json::to_string(d).unwrap_or_default())
                    .or_else(|| case.error.clone())
                    .unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_changed_expectation_fails() {
    // The harness must be able to fail: flip one expectation and run it.
    let policy =
        privet::Policy::from_source("p.privet", "use std\nallow non_personal").expect("loads");
    let case: privet::conformance::Case = serde_json::from_value(serde_json::json!({
        "name": "statistics are free", "cite": "test",
        "request": {"data": "non_personal.statistics"}, "expect": "deny"
    }))
    .expect("valid case");
    let outcome = privet::conformance::run_case(&policy, &case);
    assert!(!outcome.passed);
    assert_eq!(outcome.failures, ["expected deny, got allow"]);
}
