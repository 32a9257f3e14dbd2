//! Conformance files: a policy and the decisions it must give, each case
//! citing the text that justifies it. Adding a case is adding JSON.
//!
//! ```json
//! {"policy": "../../policies/huawei/global-2016.privet",
//!  "cases": [{"name": "marketing needs consent", "cite": "§1(b)",
//!             "request": {"data": "user.contact.email", "purpose": "marketing"},
//!             "expect": "deny", "hints": ["allowed with consent to marketing"]}]}
//! ```
//! The policy path is relative to the conformance file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::eval::{self, Decision};
use crate::policy::{Error, Policy};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub policy: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Allow,
    Deny,
    Error,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// The source text that justifies the expectation.
    pub cite: String,
    pub request: Value,
    pub expect: Expect,
    /// The exact legal basis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// The exact obligations, in any order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligations: Option<Vec<String>>,
    /// Each must appear in the citation of some reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    /// The exact missing facts, in any order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_facts: Option<Vec<String>>,
    /// Each must be among the hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<Vec<String>>,
    /// With `"expect": "error"`: a part of the error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseOutcome {
    pub name: String,
    pub cite: String,
    pub request: Value,
    pub expect: Expect,
    pub passed: bool,
    /// What did not match, one line each.
    pub failures: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of one file.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteOutcome {
    pub file: PathBuf,
    pub policy: PathBuf,
    pub cases: Vec<CaseOutcome>,
}

impl SuiteOutcome {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

/// Problems with a conformance file itself (not with its cases).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid conformance file: {message}")]
    Format { path: PathBuf, message: String },
    #[error("the policy of {path} does not load: {source}")]
    Policy {
        path: PathBuf,
        #[source]
        source: Error,
    },
}

impl Suite {
    /// Read one conformance file.
    pub fn read(path: &Path) -> Result<Suite, SuiteError> {
        let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| SuiteError::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

impl Expect {
    /// Whether the case expects an allow; `None` for an expected error.
    pub fn answer(self) -> Option<bool> {
        match self {
            Expect::Allow => Some(true),
            Expect::Deny => Some(false),
            Expect::Error => None,
        }
    }
}

/// Run every case of one conformance file.
pub fn run_file(path: &Path) -> Result<SuiteOutcome, SuiteError> {
    let suite = Suite::read(path)?;
    let policy_path = path.parent().unwrap_or(Path::new(".")).join(&suite.policy);
    let policy = Policy::from_path(&policy_path).map_err(|source| SuiteError::Policy {
        path: path.to_path_buf(),
        source,
    })?;
    let cases = suite
        .cases
        .iter()
        .map(|case| run_case(&policy, case))
        .collect();
    Ok(SuiteOutcome {
        file: path.to_path_buf(),
        policy: policy_path,
        cases,
    })
}

/// Decide one case and compare with what it expects.
pub fn run_case(policy: &Policy, case: &Case) -> CaseOutcome {
    let text = case.request.to_string();
    let result = policy
        .read_request("request", &text)
        .resolved
        .map(|resolved| {
            let decision = policy.decide_resolved(&resolved);
            let disagreement = eval::disagreement(policy.compiled(), &resolved, &decision);
            (decision, disagreement)
        });
    let mut failures = Vec::new();
    let (decision, error) = match result {
        Ok((decision, disagreement)) => {
            // The paths read different structures (the rules, the decision
            // index, the rules again with nothing remembered); a suite
            // checks that they agree.
            failures.extend(disagreement);
            (Some(decision), None)
        }
        Err(error) => (None, Some(error.to_string())),
    };
    match (case.expect, &decision, &error) {
        (Expect::Error, Some(d), _) => {
            failures.push(format!("expected an error, got {}", d.decision))
        }
        (Expect::Error, None, Some(message)) => {
            if let Some(wanted) = &case.error {
                if !message.contains(wanted.as_str()) {
                    failures.push(format!(
                        "expected an error containing {wanted:?}, got {message:?}"
                    ));
                }
            }
        }
        (expect, None, Some(message)) => failures.push(format!(
            "expected {}, got an error: {message}",
            expect_word(expect)
        )),
        (expect, Some(d), _) => {
            if d.allowed != (expect == Expect::Allow) {
                failures.push(format!(
                    "expected {}, got {}",
                    expect_word(expect),
                    d.decision
                ));
            }
            check_decision(case, d, &mut failures);
        }
        (_, None, None) => failures.push("no decision and no error".into()),
    }
    CaseOutcome {
        name: case.name.clone(),
        cite: case.cite.clone(),
        request: case.request.clone(),
        expect: case.expect,
        passed: failures.is_empty(),
        failures,
        decision,
        error,
    }
}

fn expect_word(expect: Expect) -> &'static str {
    match expect {
        Expect::Allow => "allow",
        Expect::Deny => "deny",
        Expect::Error => "an error",
    }
}

fn check_decision(case: &Case, decision: &Decision, failures: &mut Vec<String>) {
    if let Some(basis) = &case.basis {
        if decision.basis.as_deref() != Some(basis.as_str()) {
            failures.push(format!(
                "expected basis {basis}, got {}",
                decision.basis.as_deref().unwrap_or("no basis")
            ));
        }
    }
    if let Some(expected) = &case.obligations {
        if sorted(expected) != sorted(&decision.obligations) {
            failures.push(format!(
                "expected obligations {}, got {}",
                listed(expected),
                listed(&decision.obligations)
            ));
        }
    }
    if let Some(expected) = &case.missing_facts {
        if sorted(expected) != sorted(&decision.missing_facts) {
            failures.push(format!(
                "expected missing facts {}, got {}",
                listed(expected),
                listed(&decision.missing_facts)
            ));
        }
    }
    if let Some(expected) = &case.reasons {
        for cite in expected {
            let found = decision
                .reasons
                .iter()
                .any(|r| r.cite.as_deref().is_some_and(|c| c.contains(cite.as_str())));
            if !found {
                let cites: Vec<&str> = decision
                    .reasons
                    .iter()
                    .filter_map(|r| r.cite.as_deref())
                    .collect();
                failures.push(format!("expected a reason citing {cite:?}, got {cites:?}"));
            }
        }
    }
    if let Some(expected) = &case.hints {
        for hint in expected {
            if !decision.hints.contains(hint) {
                failures.push(format!(
                    "expected the hint {hint:?}, got {:?}",
                    decision.hints
                ));
            }
        }
    }
}

/// Names as a reader wants them: `a, b`, or `none`.
fn listed(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn sorted(items: &[String]) -> Vec<&str> {
    let mut items: Vec<&str> = items.iter().map(String::as_str).collect();
    items.sort_unstable();
    items
}
