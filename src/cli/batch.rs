//! `privet eval --requests`: one decision per line, for audits that replay
//! millions of processing records.
//!
//! Such a stream asks the same few questions over and over: the same
//! service, data and purpose, with contexts that differ only in what the
//! policy cannot see (an age of 34 or 35 where it asks only `< 13`). So each
//! decision is kept, rendered, under two keys: the exact text of its line
//! (a repeated line is not parsed again) and its decision key
//! ([`ResolvedRequest::decision_key`]: the request's keys, and of its facts
//! only what the policy's conditions tell apart; equal keys are decided
//! exactly alike). Only the first request of each kind pays for the
//! explained walk and for rendering its JSON.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use foldhash::{HashMap, HashMapExt};
use privet::diagnostics::{Problem, ProblemJson};
use privet::limits::MAX_BATCH_KEPT_BYTES;
use privet::{Policy, RequestId, ResolvedRequest};

use crate::cli::answer::{self, Answer};
use crate::{BAD_INPUT, FAILED, Format, OK, load_policy, report, summary};

/// A decision as `--format json` prints it.
struct Rendered {
    allowed: bool,
    json: Box<str>,
}

/// A decision kept in a slot, or one decided after the batch stopped keeping.
enum Kept {
    Slot(usize),
    Not(Rendered),
}

struct Batch<'p> {
    policy: &'p Policy,
    kept: Vec<Rendered>,
    by_line: HashMap<Box<str>, usize>,
    by_key: HashMap<Box<[u64]>, usize>,
    /// What the three above hold, in bytes of text and keys.
    kept_bytes: usize,
    /// The decision key of the request at hand.
    key: Vec<u64>,
}

impl<'p> Batch<'p> {
    fn new(policy: &'p Policy) -> Self {
        Batch {
            policy,
            kept: Vec::new(),
            by_line: HashMap::new(),
            by_key: HashMap::new(),
            kept_bytes: 0,
            key: Vec::new(),
        }
    }

    /// The decision on `request`: one kept under an equal decision key, or
    /// decided now (and kept while there is room).
    fn decide(&mut self, request: &ResolvedRequest) -> Result<Kept, Problem> {
        self.policy.decision_key(request, &mut self.key);
        if let Some(&slot) = self.by_key.get(self.key.as_slice()) {
            return Ok(Kept::Slot(slot));
        }
        let decision = self.policy.decide_resolved(request);
        let kept = Rendered {
            allowed: decision.allowed,
            json: serde_json::to_string(&decision)
                .map_err(|e| internal(&format!("cannot write the decision: {e}")))?
                .into(),
        };
        if self.kept_bytes >= MAX_BATCH_KEPT_BYTES {
            return Ok(Kept::Not(kept));
        }
        let slot = self.kept.len();
        self.kept_bytes += kept.json.len() + size_of_val(self.key.as_slice());
        self.kept.push(kept);
        self.by_key.insert(self.key.as_slice().into(), slot);
        Ok(Kept::Slot(slot))
    }

    /// A line's answer: whether its request is allowed and what to print
    /// (the decision as JSON, or in words for `Format::Text`), under the
    /// request's `id`; or what is wrong with the line.
    fn answer(&mut self, line: &str, format: Format) -> Result<Decided<'_>, Box<Invalid>> {
        match format {
            Format::Json => self.json(line),
            Format::Text => self.words(line),
        }
    }

    fn json(&mut self, line: &str) -> Result<Decided<'_>, Box<Invalid>> {
        if let Some(&slot) = self.by_line.get(line) {
            return self.slot(slot, None);
        }
        let (id, resolved) = self.policy.resolve_json_with_id(line);
        let resolved = match resolved {
            Ok(resolved) => resolved,
            Err(error) => {
                return Err(Box::new(Invalid {
                    id,
                    problems: error.problems(),
                }));
            }
        };
        match self.decide(&resolved).map_err(Invalid::without_id)? {
            Kept::Slot(slot) => {
                // A line with an `id` is unlike any other: keeping it would
                // only fill the budget.
                if id.is_none() && self.kept_bytes < MAX_BATCH_KEPT_BYTES {
                    self.kept_bytes += line.len();
                    self.by_line.insert(line.into(), slot);
                }
                self.slot(slot, id)
            }
            Kept::Not(decision) => Ok(Decided {
                allowed: decision.allowed,
                id,
                text: Cow::Owned(decision.json.into()),
            }),
        }
    }

    /// In words, the request is named as it was written.
    fn words(&mut self, line: &str) -> Result<Decided<'_>, Box<Invalid>> {
        let read = self.policy.read_request("request", line);
        let id = read.request.as_ref().and_then(|r| r.id.clone());
        let (request, resolved) = match (read.request, read.resolved) {
            (Some(request), Ok(resolved)) => (request, resolved),
            (_, Err(error)) => {
                return Err(Box::new(Invalid {
                    id,
                    problems: error.problems(),
                }));
            }
            (None, Ok(_)) => return Err(Invalid::without_id(internal("a request was lost"))),
        };
        let allowed = match self.decide(&resolved).map_err(Invalid::without_id)? {
            Kept::Slot(slot) => self.slot(slot, None)?.allowed,
            Kept::Not(decision) => decision.allowed,
        };
        Ok(Decided {
            allowed,
            id,
            text: Cow::Owned(summary(&request, allowed)),
        })
    }

    #[inline]
    fn slot(&self, slot: usize, id: Option<RequestId>) -> Result<Decided<'_>, Box<Invalid>> {
        let kept = self
            .kept
            .get(slot)
            .ok_or_else(|| Invalid::without_id(internal("a kept decision is missing")))?;
        Ok(Decided {
            allowed: kept.allowed,
            id,
            text: Cow::Borrowed(&kept.json),
        })
    }
}

/// A line's decision: whether it allows, the request's `id`, and what to
/// print for it.
struct Decided<'b> {
    allowed: bool,
    id: Option<RequestId>,
    text: Cow<'b, str>,
}

/// What is wrong with a line, and the `id` of its request if it has one.
struct Invalid {
    id: Option<RequestId>,
    problems: Vec<Problem>,
}

impl Invalid {
    /// Boxed, as every `Invalid` is: the answer to a line that is fine,
    /// returned for every line, stays small.
    fn without_id(problem: Problem) -> Box<Self> {
        Box::new(Invalid {
            id: None,
            problems: vec![problem],
        })
    }

    /// `{"id": ..., "error": "line N: ...", "problems": [...]}`: each
    /// problem placed at the line of the batch and the column on it.
    fn write_json(&self, out: &mut impl Write, name: &str, number: usize) -> std::io::Result<()> {
        let problems = self
            .problems
            .iter()
            .map(|problem| ProblemJson {
                file: Some(name.to_string()),
                line: Some(number),
                ..problem.to_json()
            })
            .collect();
        let answer = Answer {
            id: self.id.as_ref(),
            body: answer::Invalid {
                error: self.in_one_line(number),
                problems,
            },
        };
        serde_json::to_writer(&mut *out, &answer)?;
        out.write_all(b"\n")
    }

    /// "line N: what (help); ...", since a line has no room for a rendered
    /// diagnostic.
    fn in_one_line(&self, number: usize) -> String {
        let what = answer::in_one_line(&self.problems, |problem| {
            problem
                .location()
                .map(|(_, _, column)| format!("column {column}"))
        });
        format!("line {number}: {what}")
    }
}

fn internal(what: &str) -> Problem {
    Problem::error("privet::internal", format!("internal error: {what}"))
}

/// `privet eval POLICY --requests FILE|-`.
pub(crate) fn eval_many(
    policy_path: &Path,
    requests_path: &str,
    format: Format,
    fail_on_deny: bool,
    colour: bool,
) -> u8 {
    let Some(policy) = load_policy(policy_path, colour) else {
        return BAD_INPUT;
    };
    let (name, input): (&str, Box<dyn Read>) = if requests_path == "-" {
        ("<stdin>", Box::new(std::io::stdin()))
    } else {
        match std::fs::File::open(requests_path) {
            Ok(file) => (requests_path, Box::new(file)),
            Err(error) => {
                report(
                    &[Problem::error(
                        "privet::io",
                        format!("cannot read {requests_path}: {error}"),
                    )
                    .with_help("check the path")],
                    colour,
                );
                return BAD_INPUT;
            }
        }
    };
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut batch = Batch::new(&policy);
    let mut bad_lines = 0usize;
    let mut denied = 0usize;
    let mut bytes = Vec::new();
    for number in 1.. {
        bytes.clear();
        let read = match reader.read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(read) => Ok(read),
            Err(error) => Err(Invalid::without_id(
                Problem::error("privet::io", format!("cannot read the line: {error}"))
                    .with_help("the rest of the input is not read"),
            )),
        };
        let stop = read.is_err();
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = read.and_then(|_| {
            std::str::from_utf8(line).map_err(|e| {
                Invalid::without_id(
                    Problem::error("privet::io", format!("cannot read the line: {e}"))
                        .with_help("a request is JSON text in UTF-8"),
                )
            })
        });
        // A blank line asks nothing: a program may end its requests with
        // one, and a file may end with several. Blank as JSON counts it, in
        // ASCII whitespace, so that a request line costs one byte's look.
        if line
            .as_ref()
            .is_ok_and(|line| line.bytes().all(|b| b.is_ascii_whitespace()))
        {
            continue;
        }
        let written = match line.and_then(|line| batch.answer(line, format)) {
            Ok(decided) => {
                denied += usize::from(!decided.allowed);
                match format {
                    Format::Json => {
                        answer::write_decision(&mut out, decided.id.as_ref(), &decided.text)
                    }
                    Format::Text => writeln!(out, "{number}: {}", decided.text),
                }
            }
            Err(invalid) => {
                bad_lines += 1;
                match format {
                    Format::Json => invalid.write_json(&mut out, name, number),
                    Format::Text => {
                        writeln!(out, "{number}: error: {}", invalid.in_one_line(number))
                    }
                }
            }
        };
        // Before reading on, which may wait for a program that waits for
        // this answer, every answer so far is written out; while more input
        // is at hand (a file, a fast writer), answers wait in the buffer.
        let flushed = if reader.buffer().is_empty() {
            out.flush()
        } else {
            Ok(())
        };
        if written.and(flushed).is_err() {
            // The reader of our output went away (a closed pipe): stop quietly.
            return BAD_INPUT;
        }
        if stop {
            // The input itself failed; what follows cannot be trusted.
            break;
        }
    }
    if out.flush().is_err() {
        return BAD_INPUT;
    }
    if bad_lines > 0 {
        errln!("privet: {bad_lines} invalid request line(s)");
        BAD_INPUT
    } else if fail_on_deny && denied > 0 {
        FAILED
    } else {
        OK
    }
}
