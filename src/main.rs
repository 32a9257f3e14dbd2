//! The `privet` command: a thin shell over the library.

// Problems are large and rare; see lib.rs.
#![allow(clippy::result_large_err)]

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use privet::compile::compile;
use privet::diagnostics::{self, Problem};
use privet::policy::policies_at;
use privet::{Decision, Error, Policy, ReadRequest, Request, RequestId};

use crate::cli::answer::Answer;

// `print!` and friends panic when the reader of the output has gone away
// (`privet test | head -1`); these write the same text and drop it then, so
// the command ends with the exit code its work earned.
macro_rules! emit {
    ($write:ident, $stream:expr, $($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = $write!($stream, $($arg)*);
    }};
}
macro_rules! out { ($($arg:tt)*) => { emit!(write, std::io::stdout(), $($arg)*) }; }
macro_rules! outln { ($($arg:tt)*) => { emit!(writeln, std::io::stdout(), $($arg)*) }; }
macro_rules! err { ($($arg:tt)*) => { emit!(write, std::io::stderr(), $($arg)*) }; }
macro_rules! errln { ($($arg:tt)*) => { emit!(writeln, std::io::stderr(), $($arg)*) }; }

mod cli {
    pub mod answer;
    pub mod batch;
    pub mod diff;
    pub mod fmt;
    pub mod graph;
    pub mod lint;
    pub mod test;
}

/// Exit codes of DESIGN.md §3.
pub(crate) const OK: u8 = 0;
pub(crate) const FAILED: u8 = 1;
pub(crate) const BAD_INPUT: u8 = 2;

#[derive(Parser)]
#[command(
    name = "privet",
    version,
    about = "Privacy policy as code: check policies, and ask them whether data may be processed",
    long_about = "Privacy policy as code.\n\n\
        A policy (.privet) says which data may be used for which purposes, shared with whom, \
        on which legal basis and under which conditions. privet checks policies and decides \
        requests against them: default deny, deny overrides allow, unknown facts fail closed.\n\n\
        Exit codes: 0 ok, 1 a check failed or (with --fail-on-deny) a request was denied, \
        2 bad input (unreadable file, invalid policy or request, wrong usage).",
    after_help = "Example:\n  privet eval policies/huawei/global-2016.privet --request - <<'EOF'\n  \
        {\"data\": [\"user.contact.email\"], \"purpose\": \"marketing\", \"context\": {\"subject_age\": 30}}\n  EOF"
)]
struct Cli {
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Colour::Auto, global = true)]
    color: Colour,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and validate policies; report every problem with its place and a suggestion.
    ///
    /// A path is a file (one policy) or a directory: its .privet files, at any depth,
    /// form one policy, unless their `policy` headers name several, when each
    /// subdirectory is read by this rule and each file directly inside is a policy.
    Check {
        /// Policy files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `text` draws diagnostics for people, `json` lists them for CI.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run conformance files: each case's request against its policy, compared with
    /// what the case expects.
    ///
    /// A directory is searched for .json files recursively. Exit 0 when every case
    /// passes, 1 when any fails, 2 when a file cannot be read or its policy does not check.
    #[command(after_help = "Examples:\n  \
        privet test tests/conformance\n  \
        privet test tests/conformance --format junit > conformance.xml")]
    Test {
        /// Conformance files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `text` for people, `json` for tools, `junit` for CI test reports.
        #[arg(long, value_enum, default_value_t = TestFormat::Text)]
        format: TestFormat,
    },
    /// Rewrite policies in the canonical layout (comments kept), or with --check list
    /// the files that would change.
    ///
    /// A directory stands for every .privet file below it (each formatted alone);
    /// `-` formats standard input to standard output. Exit 1 with --check when a file would change,
    /// 2 when a file cannot be read or does not parse.
    Fmt {
        /// Policy files or directories, or `-`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; exit 1 and name the files that are not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Show exactly which requests two policies decide differently.
    ///
    /// Every data category, purpose, recipient, action and subject both policies know,
    /// and every combination of fact values that matters, is compared (not sampled);
    /// changes are grouped under the broadest keys that share them, with the rules
    /// and citations on both sides. Where a bound of the search is reached the diff
    /// says INCOMPLETE and why, and exits 2 rather than report fewer changes.
    /// Exit 0 no change, 1 changes, 2 trouble (an incomplete diff included).
    #[command(after_help = "Example:\n  \
        privet diff policies/huawei/global-2016.privet policies/huawei/enterprise-community-2018.privet")]
    Diff {
        /// The policy before the change (a file or a directory).
        old: PathBuf,
        /// The policy after the change.
        new: PathBuf,
        /// `text` for people, `json` for tools.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Findings for legal review: overridden allows, rules that never fire, redundant or
    /// uncited rules, unused declarations.
    ///
    /// Reports allows that denies override (with the exact region and the deny's
    /// condition), rules that can never fire, rules another rule makes redundant, rules
    /// without a citation, local keys and facts nothing uses, and facts compared with
    /// values they cannot take. A reviewer accepts a finding with a comment line directly
    /// above its rule, `// privet:accept CODE because REASON`: it is then listed (JSON,
    /// SARIF) but no longer counts. Paths mean what they mean to `privet check` (a directory
    /// is one policy, or a collection of them); a vocabulary such as std.privet is only
    /// checked. Exit 0 when no finding is an error, 1 when one is, 2 when a policy cannot
    /// be read or does not check.
    #[command(after_help = "Examples:\n  \
        privet lint policies/huawei\n  \
        privet lint policies/huawei --min-level warning\n  \
        privet lint policies --format sarif > privet.sarif")]
    Lint {
        /// Policy files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `text` for people, `json` for tools, `sarif` (2.1.0) for code scanning.
        #[arg(long, value_enum, default_value_t = cli::lint::LintFormat::Text)]
        format: cli::lint::LintFormat,
        /// Leave out findings below this level. Default: `warning` for text (the notes
        /// left out are counted), `note` (every finding) for JSON and SARIF.
        #[arg(long, value_enum)]
        min_level: Option<cli::lint::MinLevel>,
    },
    /// Draw a policy's data categories, rules and purposes as a graph (DOT or SVG).
    ///
    /// The data categories and purposes its rules mention (with the keys above them),
    /// data coloured by identifiability class, and its rules between them (green allow,
    /// red deny, dashed when conditional), labelled with their citations.
    #[command(after_help = "Examples:\n  \
        privet graph policies/huawei/global-2016.privet > global.dot\n  \
        privet graph policies/huawei/global-2016.privet --format svg --data user.contact > contact.svg")]
    Graph {
        /// A policy file, or a directory whose .privet files form one policy.
        policy: PathBuf,
        /// `dot` prints Graphviz DOT; `svg` runs it through Graphviz's `dot -Tsvg`.
        #[arg(long, value_enum, default_value_t = cli::graph::GraphFormat::Dot)]
        format: cli::graph::GraphFormat,
        /// Only rules about this data category (or what lies below it).
        #[arg(long, value_name = "KEY")]
        data: Option<String>,
        /// Only rules for this purpose (or what lies below it).
        #[arg(long, value_name = "KEY")]
        purpose: Option<String>,
    },
    /// Decide requests against a policy.
    ///
    /// A request is JSON: {"data": [...], "purpose": ..., "recipient": ..., "action": ...,
    /// "subject": ..., "context": {...}}; only `data` is required.
    #[command(after_help = "Examples:\n  \
        privet eval policies/huawei/global-2016.privet --request request.json\n  \
        echo '{\"data\": \"non_personal.statistics\"}' | privet eval policies/huawei/global-2016.privet --request -\n  \
        privet eval policies/huawei/global-2016.privet --requests audit.jsonl > decisions.jsonl")]
    Eval {
        /// A policy file, or a directory whose .privet files form one policy.
        policy: PathBuf,
        /// One request: a JSON file, or `-` for standard input.
        #[arg(
            long,
            conflicts_with = "requests",
            required_unless_present = "requests"
        )]
        request: Option<String>,
        /// Many requests, one JSON object per line (`-` for standard input); prints one
        /// decision per line, in order, with the line's "id" first if it has one; blank lines
        /// are skipped. A bad line prints {"error": "...", "problems": [...]} and makes the exit
        /// code 2. Each answer is written before more input is awaited, so a program can keep
        /// one privet and ask it line by line.
        #[arg(long)]
        requests: Option<String>,
        /// `text` explains in words; `json` prints the decision object (for an invalid
        /// request, the error object a bad batch line prints).
        /// Default: text for --request, json for --requests.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Exit with 1 when a request is denied.
        #[arg(long)]
        fail_on_deny: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TestFormat {
    Text,
    Json,
    Junit,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Colour {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let colour = match cli.color {
        Colour::Always => true,
        Colour::Never => false,
        Colour::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let code = match cli.command {
        Command::Check { paths, format } => check(&paths, format, colour),
        Command::Test { paths, format } => cli::test::run(&paths, format, colour),
        Command::Fmt { paths, check } => cli::fmt::run(&paths, check, colour),
        Command::Lint {
            paths,
            format,
            min_level,
        } => cli::lint::run(&paths, format, min_level, colour),
        Command::Graph {
            policy,
            format,
            data,
            purpose,
        } => cli::graph::run(
            &policy,
            format,
            &privet::graph::GraphOptions { data, purpose },
            colour,
        ),
        Command::Diff { old, new, format } => cli::diff::run(&old, &new, format, colour),
        Command::Eval {
            policy,
            request,
            requests,
            format,
            fail_on_deny,
        } => match (request, requests) {
            (Some(request), _) => eval_one(
                &policy,
                &request,
                format.unwrap_or(Format::Text),
                fail_on_deny,
                colour,
            ),
            (None, Some(requests)) => cli::batch::eval_many(
                &policy,
                &requests,
                format.unwrap_or(Format::Json),
                fail_on_deny,
                colour,
            ),
            (None, None) => BAD_INPUT,
        },
    };
    ExitCode::from(code)
}

pub(crate) fn report(problems: &[Problem], colour: bool) {
    let width = 100;
    let text = if colour {
        diagnostics::render_colour(problems, width)
    } else {
        diagnostics::render_plain(problems, width)
    };
    err!("{text}");
}

fn check(paths: &[PathBuf], format: Format, colour: bool) -> u8 {
    let mut code = OK;
    let mut all_problems: Vec<Problem> = Vec::new();
    let mut results = Vec::new();
    for path in paths {
        let policies = match policies_at(path) {
            Ok(policies) => policies,
            Err(error) => {
                all_problems.extend(error.problems());
                code = BAD_INPUT;
                continue;
            }
        };
        for policy in policies {
            let problems = match policy.sources {
                Ok(sources) => match compile(&sources) {
                    Ok((_, warnings)) => warnings,
                    Err(problems) => problems,
                },
                Err(error) => {
                    if matches!(error, Error::Io { .. }) {
                        code = BAD_INPUT;
                    }
                    error.problems()
                }
            };
            if problems.iter().any(Problem::is_error) && code == OK {
                code = FAILED;
            }
            results.push((policy.path, problems));
        }
    }
    match format {
        Format::Json => {
            let json = serde_json::json!({
                "ok": code == OK,
                "files": results.iter().map(|(file, problems)| serde_json::json!({
                    "path": file.display().to_string(),
                    "ok": !problems.iter().any(Problem::is_error),
                    "problems": problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "problems": all_problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
            });
            outln!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        Format::Text => {
            report(&all_problems, colour);
            let mut failed = 0;
            for (file, problems) in &results {
                report(problems, colour);
                if problems.iter().any(Problem::is_error) {
                    failed += 1;
                } else {
                    outln!("ok   {}", file.display());
                }
            }
            let total = results.len();
            if failed > 0 {
                outln!("{failed} of {total} policies failed the check");
            } else if total > 0 {
                outln!(
                    "{total} {} checked, no errors",
                    if total == 1 { "policy" } else { "policies" }
                );
            }
        }
    }
    code
}

pub(crate) fn load_policy(path: &Path, colour: bool) -> Option<Policy> {
    match Policy::from_path(path) {
        Ok(policy) => Some(policy),
        Err(error) => {
            report(&error.problems(), colour);
            // A collection loads well enough; it is just not one policy.
            if !matches!(error, Error::SeveralPolicies { .. }) {
                errln!(
                    "privet: the policy {} does not load; run `privet check` on it",
                    path.display()
                );
            }
            None
        }
    }
}

fn read_input(name: &str) -> Result<String, Problem> {
    let mut text = String::new();
    let result = if name == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(name).map(|t| text = t)
    };
    result.map(|()| text).map_err(|error| {
        let help = if error.kind() == std::io::ErrorKind::InvalidData {
            "a request is JSON text in UTF-8; re-save the file as UTF-8"
        } else {
            "check the path"
        };
        Problem::error("privet::io", format!("cannot read {name}: {error}")).with_help(help)
    })
}

fn eval_one(
    policy_path: &Path,
    request_path: &str,
    format: Format,
    fail_on_deny: bool,
    colour: bool,
) -> u8 {
    let Some(policy) = load_policy(policy_path, colour) else {
        return BAD_INPUT;
    };
    let name = if request_path == "-" {
        "<stdin>"
    } else {
        request_path
    };
    let read = read_input(request_path).map(|text| policy.read_request(name, &text));
    let (request, resolved) = match read {
        Ok(ReadRequest {
            request: Some(request),
            resolved: Ok(resolved),
        }) => (request, resolved),
        Ok(ReadRequest { request, resolved }) => {
            let problems = resolved.err().map(|e| e.problems()).unwrap_or_default();
            return invalid(
                request.and_then(|r| r.id).as_ref(),
                &problems,
                format,
                colour,
            );
        }
        Err(problem) => return invalid(None, &[problem], format, colour),
    };
    let decision = policy.decide_resolved(&resolved);
    match format {
        Format::Json => {
            let answer = Answer {
                id: request.id.as_ref(),
                body: &decision,
            };
            outln!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
        }
        Format::Text => out!("{}", explain(&request, &decision)),
    }
    if fail_on_deny && !decision.allowed {
        FAILED
    } else {
        OK
    }
}

/// An invalid request: its problems drawn on standard error and, for
/// `--format json`, its answer on standard output, so that a program
/// reading the answer reads what a batch line would say.
fn invalid(id: Option<&RequestId>, problems: &[Problem], format: Format, colour: bool) -> u8 {
    report(problems, colour);
    if format == Format::Json {
        let answer = Answer {
            id,
            body: cli::answer::Invalid {
                error: cli::answer::in_one_line(problems, |problem| {
                    problem
                        .location()
                        .map(|(_, line, column)| format!("line {line}, column {column}"))
                }),
                problems: problems.iter().map(Problem::to_json).collect(),
            },
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&answer).unwrap_or_default()
        );
    }
    BAD_INPUT
}

/// "ALLOW user.contact.email for marketing to first_party (use)".
pub(crate) fn summary(request: &Request, allowed: bool) -> String {
    let verdict = if allowed { "ALLOW" } else { "DENY " };
    let recipient = request.recipient.as_deref().unwrap_or("first_party");
    let action = request
        .action
        .as_deref()
        .unwrap_or(if recipient == "first_party" {
            "use"
        } else {
            "share"
        });
    format!(
        "{verdict} {} for {} to {recipient} ({action}, {})",
        request.data.join(", "),
        request.purpose.as_deref().unwrap_or("any purpose"),
        request.subject.as_deref().unwrap_or("customer"),
    )
}

/// A decision in words, for people.
fn explain(request: &Request, decision: &Decision) -> String {
    let mut out = summary(request, decision.allowed);
    if let Some(class) = decision.class {
        out.push_str(&format!("\n  data class: {class}"));
    }
    if let Some(basis) = &decision.basis {
        out.push_str(&format!("\n  legal basis: {basis}"));
    }
    if !decision.obligations.is_empty() {
        out.push_str(&format!(
            "\n  obligations: {}",
            decision.obligations.join(", ")
        ));
    }
    out.push_str(if decision.allowed {
        "\n  because:"
    } else {
        "\n  why not:"
    });
    out.push_str(&decision_details(decision, "    ", "  "));
    out.push('\n');
    out
}

/// The reasons, missing facts and hints of a decision, in words: reasons
/// indented by `reasons`, the rest by `notes`. Each line starts with a newline.
pub(crate) fn decision_details(decision: &Decision, reasons: &str, notes: &str) -> String {
    let mut out = String::new();
    for reason in &decision.reasons {
        if reason.rule == "default" {
            // No rule decided: the detail says what nothing allows.
            out.push_str(&format!("\n{reasons}{}", reason.detail));
            continue;
        }
        let cite = reason
            .cite
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n{reasons}{:<5} {}{cite}\n{reasons}      {}",
            reason.effect, reason.rule, reason.detail
        ));
    }
    if !decision.missing_facts.is_empty() {
        out.push_str(&format!(
            "\n{notes}missing facts: {} (unknown facts fail closed: give them in \"context\")",
            decision.missing_facts.join(", ")
        ));
    }
    for hint in &decision.hints {
        out.push_str(&format!("\n{notes}hint: {hint}"));
    }
    out
}
