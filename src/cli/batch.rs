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
use std::io::{BufRead, Write};
use std::path::Path;

use foldhash::{HashMap, HashMapExt};
use privet::diagnostics::Problem;
use privet::limits::MAX_BATCH_KEPT_BYTES;
use privet::{Policy, Request, ResolvedRequest};

use crate::{BAD_INPUT, FAILED, Format, OK, load_policy, report, summary};

/// A decision as `--format json` prints it.
struct Kept {
    allowed: bool,
    json: Box<str>,
}

/// A decision kept in a slot, or one decided after the batch stopped keeping.
enum Decided {
    Slot(usize),
    Unkept(Kept),
}

struct Batch<'p> {
    policy: &'p Policy,
    kept: Vec<Kept>,
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
    fn decide(&mut self, request: &ResolvedRequest) -> Result<Decided, String> {
        self.policy.decision_key(request, &mut self.key);
        if let Some(&slot) = self.by_key.get(self.key.as_slice()) {
            return Ok(Decided::Slot(slot));
        }
        let decision = self.policy.decide_resolved(request);
        let kept = Kept {
            allowed: decision.allowed,
            json: serde_json::to_string(&decision)
                .map_err(|e| format!("cannot write the decision: {e}"))?
                .into(),
        };
        if self.kept_bytes >= MAX_BATCH_KEPT_BYTES {
            return Ok(Decided::Unkept(kept));
        }
        let slot = self.kept.len();
        self.kept_bytes += kept.json.len() + size_of_val(self.key.as_slice());
        self.kept.push(kept);
        self.by_key.insert(self.key.as_slice().into(), slot);
        Ok(Decided::Slot(slot))
    }

    /// A line's answer: whether its request is allowed, and what to print
    /// (the decision as JSON, or in words for `Format::Text`); or what is
    /// wrong with the line.
    fn answer(&mut self, line: &str, format: Format) -> Result<(bool, Cow<'_, str>), String> {
        match format {
            Format::Json => self.json(line),
            Format::Text => self.words(line),
        }
    }

    fn json(&mut self, line: &str) -> Result<(bool, Cow<'_, str>), String> {
        if let Some(&slot) = self.by_line.get(line) {
            return self.slot(slot);
        }
        let resolved = self
            .policy
            .resolve_json(line)
            .map_err(|e| line_error(&e.problems()))?;
        match self.decide(&resolved)? {
            Decided::Slot(slot) => {
                if self.kept_bytes < MAX_BATCH_KEPT_BYTES {
                    self.kept_bytes += line.len();
                    self.by_line.insert(line.into(), slot);
                }
                self.slot(slot)
            }
            Decided::Unkept(kept) => Ok((kept.allowed, Cow::Owned(kept.json.into()))),
        }
    }

    /// In words, the request is named as it was written.
    fn words(&mut self, line: &str) -> Result<(bool, Cow<'_, str>), String> {
        let request = Request::from_json(line).map_err(|p| line_error(&[p]))?;
        let resolved = self
            .policy
            .resolve(&request)
            .map_err(|e| line_error(&e.problems()))?;
        let allowed = match self.decide(&resolved)? {
            Decided::Slot(slot) => self.slot(slot)?.0,
            Decided::Unkept(kept) => kept.allowed,
        };
        Ok((allowed, Cow::Owned(summary(&request, allowed))))
    }

    fn slot(&self, slot: usize) -> Result<(bool, Cow<'_, str>), String> {
        let kept = self
            .kept
            .get(slot)
            .ok_or("internal error: a kept decision is missing")?;
        Ok((kept.allowed, Cow::Borrowed(&kept.json)))
    }
}

/// A bad line of a batch, in one line: where on the line, what, and the
/// help ("did you mean ..."), since there is no room for a rendered
/// diagnostic.
fn line_error(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| {
            let mut text = problem.message.clone();
            if let Some((_, _, column)) = problem.location() {
                text.push_str(&format!(" at column {column}"));
            }
            if let Some(help) = &problem.help {
                text.push_str(&format!(" ({help})"));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
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
    let mut reader: Box<dyn BufRead> = if requests_path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(requests_path) {
            Ok(file) => Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
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
            Err(error) => Err(format!("cannot read the line: {error}")),
        };
        let stop = read.is_err();
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let answer = read.and_then(|_| {
            std::str::from_utf8(line).map_err(|e| format!("cannot read the line: {e}"))
        });
        let written = match answer.and_then(|line| batch.answer(line, format)) {
            Ok((allowed, text)) => {
                denied += usize::from(!allowed);
                match format {
                    Format::Json => out
                        .write_all(text.as_bytes())
                        .and_then(|()| out.write_all(b"\n")),
                    Format::Text => writeln!(out, "{number}: {text}"),
                }
            }
            Err(message) => {
                bad_lines += 1;
                let message = format!("line {number}: {message}");
                match format {
                    Format::Json => writeln!(out, "{}", serde_json::json!({ "error": message })),
                    Format::Text => writeln!(out, "{number}: error: {message}"),
                }
            }
        };
        if written.is_err() {
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
