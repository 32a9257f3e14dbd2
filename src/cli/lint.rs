//! `privet lint`: findings for legal review, as text, JSON or SARIF.

use std::path::PathBuf;

use clap::ValueEnum;
use privet::diagnostics::Problem;
use privet::lint::{self, Counts, Finding, Level};
use privet::policy::policies_at;

use crate::{BAD_INPUT, FAILED, OK, report};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// Findings drawn like `privet check` draws problems.
    Text,
    /// One JSON object: every finding with its rules, region and condition.
    Json,
    /// SARIF 2.1.0, for code scanning in CI.
    Sarif,
}

/// The least level of finding to show.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinLevel {
    Note,
    Warning,
    Error,
}

impl From<MinLevel> for Level {
    fn from(level: MinLevel) -> Level {
        match level {
            MinLevel::Note => Level::Note,
            MinLevel::Warning => Level::Warning,
            MinLevel::Error => Level::Error,
        }
    }
}

/// One policy's outcome: its findings, or the problems that kept it from checking.
struct Outcome {
    path: PathBuf,
    findings: Vec<Finding>,
    problems: Vec<Problem>,
}

/// Text is read by people: by default it leaves the notes out (the
/// deliberate carve-outs, hundreds of them on a real policy) and counts them.
/// JSON and SARIF are read by tools, which get every finding.
pub fn run(paths: &[PathBuf], format: LintFormat, min_level: Option<MinLevel>, colour: bool) -> u8 {
    let min_level = match (min_level, format) {
        (Some(level), _) => Level::from(level),
        (None, LintFormat::Text) => Level::Warning,
        (None, LintFormat::Json | LintFormat::Sarif) => Level::Note,
    };
    let shown = |finding: &&Finding| finding.level >= min_level;
    // Accepted findings are settled: text leaves them out; tools get them
    // marked with their reasons.
    let drawn = |finding: &&Finding| shown(finding) && finding.accepted.is_none();
    let mut trouble: Vec<Problem> = Vec::new();
    let mut outcomes = Vec::new();
    for path in paths {
        let policies = match policies_at(path) {
            Ok(policies) => policies,
            Err(error) => {
                trouble.extend(error.problems());
                continue;
            }
        };
        for policy in policies {
            let linted = policy
                .sources
                .map_err(|error| error.problems())
                .and_then(|sources| lint::lint(&sources));
            outcomes.push(match linted {
                Ok(findings) => Outcome {
                    path: policy.path,
                    findings,
                    problems: Vec::new(),
                },
                Err(problems) => Outcome {
                    path: policy.path,
                    findings: Vec::new(),
                    problems,
                },
            });
        }
    }
    let broken = !trouble.is_empty()
        || outcomes
            .iter()
            .any(|o| o.problems.iter().any(Problem::is_error));
    let mut total = Counts::default();
    for outcome in &outcomes {
        total.add(Counts::of(&outcome.findings));
    }

    let mut out = String::new();
    match format {
        LintFormat::Text => {
            report(&trouble, colour);
            for outcome in &outcomes {
                if !outcome.problems.is_empty() {
                    report(&outcome.problems, colour);
                    out.push_str(&format!(
                        "FAIL {}: the policy does not check; run `privet check` on it\n",
                        outcome.path.display()
                    ));
                    continue;
                }
                out.push_str(&lint::render(
                    outcome.findings.iter().filter(drawn),
                    colour,
                    100,
                ));
                let counts = Counts::of(&outcome.findings);
                let verdict = if counts.errors > 0 { "FAIL" } else { "ok  " };
                out.push_str(&format!(
                    "{verdict} {} ({counts})\n",
                    outcome.path.display()
                ));
            }
            if outcomes.len() > 1 {
                out.push_str(&format!("{} linted: {total}\n", plural(outcomes.len())));
            }
            let hidden = |level: Level| {
                outcomes
                    .iter()
                    .flat_map(|o| &o.findings)
                    .filter(|f| f.level == level && f.level < min_level && f.accepted.is_none())
                    .count()
            };
            for (level, one, many) in [
                (Level::Note, "note", "notes"),
                (Level::Warning, "warning", "warnings"),
            ] {
                match hidden(level) {
                    0 => {}
                    1 => out.push_str(&format!("1 {one} not shown; --min-level {one} shows it\n")),
                    n => out.push_str(&format!(
                        "{n} {many} not shown; --min-level {one} shows them\n"
                    )),
                }
            }
            match total.accepted {
                0 => {}
                1 => out.push_str(
                    "1 accepted finding not shown; --format json lists it with its reason\n",
                ),
                n => out.push_str(&format!(
                    "{n} accepted findings not shown; --format json lists them with their reasons\n"
                )),
            }
        }
        LintFormat::Json => {
            let json = serde_json::json!({
                "ok": !broken && total.errors == 0,
                "summary": total,
                "files": outcomes.iter().map(|o| serde_json::json!({
                    "path": o.path.display().to_string(),
                    "checks": !o.problems.iter().any(Problem::is_error),
                    "summary": Counts::of(&o.findings),
                    "findings": o.findings.iter().filter(shown).map(Finding::to_json).collect::<Vec<_>>(),
                    "problems": o.problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "problems": trouble.iter().map(Problem::to_json).collect::<Vec<_>>(),
            });
            out = serde_json::to_string_pretty(&json).unwrap_or_default();
            out.push('\n');
        }
        LintFormat::Sarif => {
            let findings: Vec<Finding> = outcomes
                .iter()
                .flat_map(|o| o.findings.iter().filter(shown).cloned())
                .collect();
            let mut problems = trouble.clone();
            problems.extend(outcomes.iter().flat_map(|o| o.problems.iter().cloned()));
            let log = lint::sarif(&findings, &problems);
            out = serde_json::to_string_pretty(&log).unwrap_or_default();
            out.push('\n');
        }
    }
    // A reader that went away (a closed pipe) loses the text, not the verdict.
    out!("{out}");
    if broken {
        BAD_INPUT
    } else if total.errors > 0 {
        FAILED
    } else {
        OK
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 policy".into()
    } else {
        format!("{n} policies")
    }
}
