//! `privet test`: run conformance files and report as text, JSON or JUnit.

use std::path::PathBuf;

use privet::conformance::{self, CaseOutcome, SuiteError, SuiteOutcome};
use privet::diagnostics::Problem;
use privet::policy::{Error, files_below};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{BAD_INPUT, FAILED, OK, TestFormat, decision_details, report};

pub fn run(paths: &[PathBuf], format: TestFormat, colour: bool) -> u8 {
    let mut files = Vec::new();
    let mut trouble: Vec<Problem> = Vec::new();
    for path in paths {
        match files_below(path, "json") {
            Ok(found) => files.extend(found),
            Err(error) => trouble.push(
                Problem::error(
                    "privet::io",
                    format!("cannot read {}: {error}", path.display()),
                )
                .with_help("name conformance files, or directories that hold them"),
            ),
        }
    }
    if files.is_empty() && trouble.is_empty() {
        trouble.push(
            Problem::error("privet::no_tests", "no conformance files (.json) found")
                .with_help("a conformance file holds {\"policy\": ..., \"cases\": [...]}"),
        );
    }
    let mut outcomes = Vec::new();
    for file in &files {
        match conformance::run_file(file) {
            Ok(outcome) => outcomes.push(outcome),
            Err(SuiteError::Policy {
                source: source @ Error::SeveralPolicies { .. },
                ..
            }) => trouble.extend(source.problems()),
            Err(SuiteError::Policy { path, source }) => {
                trouble.extend(source.problems());
                trouble.push(Problem::error(
                    "privet::policy",
                    format!(
                        "the policy of {} does not check; run `privet check` on it",
                        path.display()
                    ),
                ));
            }
            Err(error) => trouble.push(Problem::error(
                "privet::conformance_file",
                error.to_string(),
            )),
        }
    }
    report(&trouble, colour);
    let passed: usize = outcomes.iter().map(SuiteOutcome::passed).sum();
    let failed: usize = outcomes.iter().map(SuiteOutcome::failed).sum();
    match format {
        TestFormat::Text => out!("{}", text(&outcomes, passed, failed)),
        TestFormat::Json => {
            let json = serde_json::json!({ "passed": passed, "failed": failed, "files": outcomes });
            outln!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        TestFormat::Junit => match junit(&outcomes).to_string() {
            Ok(xml) => out!("{xml}"),
            Err(error) => {
                errln!("privet: cannot write JUnit XML: {error}");
                return BAD_INPUT;
            }
        },
    }
    if !trouble.is_empty() {
        BAD_INPUT
    } else if failed > 0 {
        FAILED
    } else {
        OK
    }
}

fn text(outcomes: &[SuiteOutcome], passed: usize, failed: usize) -> String {
    let mut out = String::new();
    for outcome in outcomes {
        let verdict = if outcome.failed() == 0 {
            "PASS"
        } else {
            "FAIL"
        };
        out.push_str(&format!(
            "{verdict} {} ({} of {} cases pass)\n",
            outcome.file.display(),
            outcome.passed(),
            outcome.cases.len()
        ));
        for case in outcome.cases.iter().filter(|c| !c.passed) {
            out.push_str(&failure_text(case));
        }
    }
    out.push_str(&format!("{passed} passed, {failed} failed\n"));
    out
}

/// A failing case: the request, what was expected, what came, and why.
fn failure_text(case: &CaseOutcome) -> String {
    let mut out = format!("  FAIL {} [{}]\n", case.name, case.cite);
    out.push_str(&format!("    request:  {}\n", case.request));
    for failure in &case.failures {
        out.push_str(&format!("    {failure}\n"));
    }
    if let Some(decision) = &case.decision {
        out.push_str(&format!("    decision: {}", decision.decision));
        out.push_str(&decision_details(decision, "      ", "      "));
        out.push('\n');
    }
    if let Some(error) = &case.error {
        out.push_str(&format!("    error: {error}\n"));
    }
    out
}

fn junit(outcomes: &[SuiteOutcome]) -> Report {
    let mut report = Report::new("privet conformance");
    for outcome in outcomes {
        let mut suite = TestSuite::new(outcome.file.display().to_string());
        for case in &outcome.cases {
            let status = if case.passed {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(case.failures.join("; "));
                status.set_description(failure_text(case));
                status
            };
            let mut test_case = TestCase::new(format!("{} [{}]", case.name, case.cite), status);
            test_case.set_classname(outcome.policy.display().to_string());
            suite.add_test_case(test_case);
        }
        report.add_test_suite(suite);
    }
    report
}
