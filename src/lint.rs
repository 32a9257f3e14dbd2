//! `privet lint`: findings a legal reviewer should see in a policy that
//! checks — allows that denies override (with the exact region and the
//! deny's condition), rules that can never fire, rules another rule makes
//! redundant, rules without a citation, local declarations nothing uses, and
//! facts compared with values they can never take.
//!
//! Every finding has a level (`error`, `warning`, `note`), the place it is
//! about and the rules involved with their citations. A reviewer accepts a
//! finding in the policy itself, with a comment line directly above the rule
//! or declaration it is about: `// privet:accept CODE because REASON`. An
//! accepted finding is still reported, with its reason, but no longer counts;
//! an accept without a reason, or one that matches no finding, is a finding. The CLI renders them
//! with miette ([`render`]), as JSON ([`Finding::to_json`]) or as SARIF 2.1.0
//! ([`sarif`]) for code scanning.
//!
//! Conditions are decided by enumeration: the facts a condition reads take
//! representative values — `false`/`true`; each number the condition compares
//! with, and one either side; every subset of the purposes or members it
//! mentions — and, where a condition speaks of the request's purpose, one
//! purpose of each kind the rule's scope holds. That is exact for the
//! conditions the language can write, and bounded: a condition with too many
//! combinations is left undecided (no finding) rather than guessed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use fixedbitset::FixedBitSet;
use miette::{Diagnostic, LabeledSpan, Severity, SourceCode};
use serde::Serialize;

use crate::compile::{
    self, CompiledPolicy, CompiledRule, Cond, FactId, FactKind, FactValue, KeyId, regions,
};
use crate::diagnostics::{Problem, SourceFile, did_you_mean};
use crate::limits::{MAX_LINT_BOXES, MAX_LINT_VALUATIONS, fact_id, key_id};
use crate::syntax::{
    self, ByDimension, CompareOp, Condition, ConditionKind, Dimension, Effect, HeaderKind, Item,
    Literal, Span,
};

/// How much a finding matters. Errors fail `privet lint` (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// The finding codes, with what each means (the SARIF rule descriptions).
pub const CODES: &[(&str, &str)] = &[
    (
        OVERRIDDEN,
        "An allow that a deny overrides, in part or in whole: the region the deny removes and under which condition.",
    ),
    (
        NEVER_FIRES,
        "A rule that can never fire: its condition can never hold, or denies remove everything it allows.",
    ),
    (
        REDUNDANT,
        "A rule made redundant by another rule with the same effect that covers every point of it.",
    ),
    (
        ALWAYS_TRUE,
        "A condition that holds whatever the facts: the rule acts as if it had none.",
    ),
    (
        MISSING_CITE,
        "A rule that cites no source text: a decision it makes cannot be traced to the policy.",
    ),
    (
        UNUSED_KEY,
        "A key the policy declares that no rule or condition names.",
    ),
    (
        UNUSED_FACT,
        "A fact the policy declares that no condition reads.",
    ),
    (
        UNUSED_OBLIGATION,
        "An obligation the policy declares that no rule attaches.",
    ),
    (
        UNUSED_BASIS,
        "A legal basis the policy declares that no rule relies on.",
    ),
    (
        IMPOSSIBLE_VALUE,
        "A fact compared with a value it can never take, such as an age below zero.",
    ),
    (
        ACCEPT_WITHOUT_REASON,
        "A `// privet:accept CODE` comment that gives no reason after `because`: it accepts nothing.",
    ),
    (
        STALE_ACCEPT,
        "A `// privet:accept CODE because ...` comment that matches no finding of the rule or declaration directly below it.",
    ),
];

pub const OVERRIDDEN: &str = "privet::lint::overridden";
pub const NEVER_FIRES: &str = "privet::lint::never_fires";
pub const REDUNDANT: &str = "privet::lint::redundant";
pub const ALWAYS_TRUE: &str = "privet::lint::always_true";
pub const MISSING_CITE: &str = "privet::lint::missing_cite";
pub const UNUSED_KEY: &str = "privet::lint::unused_key";
pub const UNUSED_FACT: &str = "privet::lint::unused_fact";
pub const UNUSED_OBLIGATION: &str = "privet::lint::unused_obligation";
pub const UNUSED_BASIS: &str = "privet::lint::unused_basis";
pub const IMPOSSIBLE_VALUE: &str = "privet::lint::impossible_value";
pub const ACCEPT_WITHOUT_REASON: &str = "privet::lint::accept_without_reason";
pub const STALE_ACCEPT: &str = "privet::lint::stale_accept";

/// How a reviewer accepts a finding in the policy itself: a comment line
/// `// privet:accept CODE because REASON` directly above the rule or
/// declaration the finding is about (other comment lines may come between).
const ACCEPT_MARK: &str = "privet:accept";

/// A rule a finding involves.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRef {
    /// `file:line:col`, as decisions name rules.
    pub rule: String,
    pub effect: &'static str,
    pub cite: Option<String>,
}

/// Another place a finding points at: the other rule of a pair.
#[derive(Debug, Clone)]
pub struct Related {
    pub source: SourceFile,
    pub span: Span,
    pub label: String,
}

/// How a deny's scope relates to the scope of the allow it overrides, in the
/// terms of PolicyLint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    /// Both rules cover the same points.
    Same,
    /// The deny covers part of the allow, and nothing outside it.
    Narrower,
    /// The deny covers all of the allow, and more.
    Broader,
    /// Each covers points the other does not.
    Overlapping,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Same => "same",
            Relation::Narrower => "narrower",
            Relation::Broader => "broader",
            Relation::Overlapping => "overlapping",
        }
    }
}

/// A region of points, per dimension the broadest keys that describe it;
/// `None` means every key of the dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub data: Option<Vec<String>>,
    pub purposes: Option<Vec<String>>,
    pub recipients: Option<Vec<String>>,
    pub actions: Option<Vec<String>>,
    pub subjects: Option<Vec<String>>,
}

impl fmt::Display for Region {
    /// As a rule would say it: `share of user.contact for marketing to affiliate about customer`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |keys: &Vec<String>| keys.join(", ");
        if let Some(actions) = &self.actions {
            write!(f, "{} of ", list(actions))?;
        }
        match &self.data {
            Some(data) => f.write_str(&list(data))?,
            None => f.write_str("any data")?,
        }
        if let Some(purposes) = &self.purposes {
            write!(f, " for {}", list(purposes))?;
        }
        if let Some(recipients) = &self.recipients {
            write!(f, " to {}", list(recipients))?;
        }
        if let Some(subjects) = &self.subjects {
            write!(f, " about {}", list(subjects))?;
        }
        Ok(())
    }
}

/// One thing `privet lint` found.
#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub code: &'static str,
    pub message: String,
    /// The file and span the finding is about.
    pub source: SourceFile,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
    /// The rules involved, the one the finding is about first.
    pub rules: Vec<RuleRef>,
    /// Other places to look at: the other rule of a pair.
    pub related: Vec<Related>,
    /// For an override: how the deny's scope relates to the allow's.
    pub relation: Option<Relation>,
    /// For an override: the points the deny removes from the allow.
    pub region: Option<Region>,
    /// For an override: the deny's condition as written (`None`: unconditional).
    pub condition: Option<String>,
    /// Set when a reviewer accepted the finding in the policy: it is still
    /// reported, but no longer counts (nor fails `privet lint`).
    pub accepted: Option<Accepted>,
}

/// A reviewer's acceptance of a finding, from a `// privet:accept` comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// Why the finding is acceptable, as the comment says after `because`.
    pub reason: String,
    /// The comment's line, in the finding's file.
    pub line: usize,
    /// The comment, in the finding's file.
    #[serde(skip)]
    pub span: Span,
}

/// A finding as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct FindingJson {
    pub level: Level,
    pub code: &'static str,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub rules: Vec<RuleRef>,
    pub relation: Option<Relation>,
    pub region: Option<Region>,
    pub region_text: Option<String>,
    pub condition: Option<String>,
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Accepted>,
}

impl Finding {
    fn new(
        level: Level,
        code: &'static str,
        message: impl Into<String>,
        source: &SourceFile,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Finding {
            level,
            code,
            message: message.into(),
            source: source.clone(),
            span,
            label: label.into(),
            help: None,
            rules: Vec::new(),
            related: Vec::new(),
            relation: None,
            region: None,
            condition: None,
            accepted: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// 1-based line and column where the finding starts.
    pub fn start(&self) -> (usize, usize) {
        self.source.line_col(self.span.start)
    }

    /// 1-based line and column just past where the finding ends.
    pub fn end(&self) -> (usize, usize) {
        self.source.line_col(self.span.end)
    }

    pub fn file(&self) -> &str {
        &self.source.name
    }

    pub fn to_json(&self) -> FindingJson {
        let (line, column) = self.start();
        let (end_line, end_column) = self.end();
        FindingJson {
            level: self.level,
            code: self.code,
            message: self.message.clone(),
            file: self.source.name.to_string(),
            line,
            column,
            end_line,
            end_column,
            rules: self.rules.clone(),
            relation: self.relation,
            region: self.region.clone(),
            region_text: self.region.as_ref().map(ToString::to_string),
            condition: self.condition.clone(),
            help: self.help.clone(),
            accepted: self.accepted.clone(),
        }
    }
}

/// A finding with the source miette draws from.
struct Rendered<'a> {
    finding: &'a Finding,
    related: Vec<RenderedRelated<'a>>,
}

/// The other rule of a finding, drawn below it.
#[derive(Debug)]
struct RenderedRelated<'a> {
    related: &'a Related,
}

impl fmt::Display for RenderedRelated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.related.label)
    }
}

impl std::error::Error for RenderedRelated<'_> {}

impl Diagnostic for RenderedRelated<'_> {
    fn severity(&self) -> Option<Severity> {
        Some(Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.related.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.related.span;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            None,
            span.start,
            span.end.saturating_sub(span.start),
        ))))
    }
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.finding, f)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl Diagnostic for Rendered<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.finding.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(match self.finding.level {
            Level::Error => Severity::Error,
            Level::Warning => Severity::Warning,
            Level::Note => Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.finding
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.finding.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let finding = self.finding;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            (!finding.label.is_empty()).then(|| finding.label.clone()),
            finding.span.start,
            finding.span.end.saturating_sub(finding.span.start),
        ))))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }
}

/// Draw findings as miette does for `privet check`, with or without colour.
pub fn render<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    colour: bool,
    width: usize,
) -> String {
    let theme = if colour {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_show_related_as_nested(true);
    let mut out = String::new();
    for finding in findings {
        let rendered = Rendered {
            finding,
            related: finding
                .related
                .iter()
                .map(|related| RenderedRelated { related })
                .collect(),
        };
        if handler.render_report(&mut out, &rendered).is_err() {
            let (line, column) = finding.start();
            out.push_str(&format!(
                "{}: {}:{line}:{column}: {}\n",
                finding.level.as_str(),
                finding.source.name,
                finding.message
            ));
        }
    }
    out
}

/// Lint one policy made of `files` (and what they `use`). A vocabulary (a
/// file with a `vocabulary` header, such as `policies/std/std.privet`) is
/// only checked, not linted. A policy that does not check returns its
/// problems.
pub fn lint(files: &[SourceFile]) -> Result<Vec<Finding>, Vec<Problem>> {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for source in files {
        let (file, syntax_problems) = syntax::parse(source);
        problems.extend(syntax_problems);
        parsed.push((source.clone(), file));
    }
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }
    let (policy, warnings) = compile::compile(files)?;
    let mut findings: Vec<Finding> = warnings
        .into_iter()
        .filter_map(|problem| {
            let source = problem.source.clone()?;
            let span = problem.span?;
            let mut finding = Finding::new(
                Level::Warning,
                problem.code,
                problem.message,
                &source,
                span,
                problem.label,
            );
            finding.help = problem.help;
            Some(finding)
        })
        .collect();
    // The vocabulary and the policy's own files: only the latter are linted.
    let local: Vec<&(SourceFile, syntax::File)> = parsed
        .iter()
        .filter(|(source, file)| {
            source.name.as_ref() != compile::STD_NAME
                && !file
                    .header
                    .as_ref()
                    .is_some_and(|h| h.kind == HeaderKind::Vocabulary)
        })
        .collect();
    if local.is_empty() {
        return Ok(findings);
    }
    let linter = Linter::new(&policy, &local);
    findings.extend(linter.run());
    apply_accepts(&local, &mut findings);
    findings.sort_by(|a, b| {
        (a.source.name.as_ref(), a.span.start, b.level, a.code).cmp(&(
            b.source.name.as_ref(),
            b.span.start,
            a.level,
            b.code,
        ))
    });
    Ok(findings)
}

/// A `// privet:accept` comment, and the item directly below it.
struct Accept<'a> {
    source: &'a SourceFile,
    /// The comment, from `//` to the end of its line.
    span: Span,
    code: &'a str,
    /// `None` when the comment gives no reason.
    reason: Option<&'a str>,
    /// The span of the rule or declaration it stands above, if any.
    item: Option<Span>,
    used: bool,
}

/// Every accept comment of `files`, each with the item it stands above.
fn accepts<'a>(files: &[&'a (SourceFile, syntax::File)]) -> Vec<Accept<'a>> {
    let mut found = Vec::new();
    for (source, file) in files {
        let text: &str = &source.text;
        let mut items: Vec<Span> = file.items.iter().map(Item::span).collect();
        items.sort_by_key(|span| span.start);
        let mut line_start = 0;
        // Lines end where pest's NEWLINE ends them: at `\n`, `\r\n` or a lone `\r`.
        for line in text.split_inclusive(['\n', '\r']) {
            let at = line_start;
            line_start += line.len();
            // Only a comment that is its line's whole text stands above an item.
            let Some(start) = syntax::comment_start(line) else {
                continue;
            };
            if !line.get(..start).unwrap_or_default().trim().is_empty() {
                continue;
            }
            let comment = line.get(start + 2..).unwrap_or_default().trim();
            let Some(rest) = comment
                .strip_prefix(ACCEPT_MARK)
                .filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
            else {
                continue;
            };
            let mut words = rest.trim_start().splitn(2, char::is_whitespace);
            let code = words.next().unwrap_or_default();
            let reason = words
                .next()
                .and_then(|rest| rest.trim_start().strip_prefix("because"))
                .filter(|reason| reason.is_empty() || reason.starts_with(char::is_whitespace))
                .map(str::trim)
                .filter(|reason| !reason.is_empty());
            let span = Span::new(at + start, at + line.trim_end().len());
            let next = items.partition_point(|item| item.start < span.end);
            let item = items
                .get(next)
                .filter(|item| only_comments(text.get(line_start..item.start).unwrap_or("")))
                .copied();
            found.push(Accept {
                source,
                span,
                code,
                reason,
                item,
                used: false,
            });
        }
    }
    found
}

/// Whether `gap` holds nothing but whole comment lines: no code, and no
/// empty line, which would part a comment from the item below it.
fn only_comments(gap: &str) -> bool {
    gap.split_inclusive(['\n', '\r'])
        .all(|line| line.trim_start().starts_with("//"))
}

/// Mark the findings reviewers accepted, and report accepts without a
/// reason (which accept nothing) and accepts that match no finding.
fn apply_accepts(files: &[&(SourceFile, syntax::File)], findings: &mut Vec<Finding>) {
    let mut accepts = accepts(files);
    if accepts.is_empty() {
        return;
    }
    // By file and item: the accepts that stand above it.
    let mut above: HashMap<(&str, usize), Vec<usize>> = HashMap::new();
    for (index, accept) in accepts.iter().enumerate() {
        if let (Some(item), Some(_)) = (accept.item, accept.reason) {
            above
                .entry((&*accept.source.name, item.start))
                .or_default()
                .push(index);
        }
    }
    // The items of each file, to find the one a finding is about.
    let items: HashMap<&str, Vec<Span>> = files
        .iter()
        .map(|(source, file)| {
            let mut spans: Vec<Span> = file.items.iter().map(Item::span).collect();
            spans.sort_by_key(|span| span.start);
            (&*source.name, spans)
        })
        .collect();
    // Codes of the findings on each accepted item, for "did you mean".
    let mut codes_on: HashMap<(&str, usize), BTreeSet<&'static str>> = HashMap::new();
    for finding in findings.iter_mut() {
        let Some((&file, spans)) = items.get_key_value(finding.file()) else {
            continue;
        };
        let at = finding.span.start;
        let Some(item) = spans
            .get(
                spans
                    .partition_point(|span| span.start <= at)
                    .wrapping_sub(1),
            )
            .filter(|span| at < span.end.max(span.start + 1))
        else {
            continue;
        };
        let Some(indices) = above.get(&(file, item.start)) else {
            continue;
        };
        codes_on
            .entry((file, item.start))
            .or_default()
            .insert(finding.code);
        for &index in indices {
            let Some(accept) = accepts.get_mut(index) else {
                continue;
            };
            if accept.code == finding.code {
                accept.used = true;
                let (line, _) = accept.source.line_col(accept.span.start);
                finding.accepted = Some(Accepted {
                    reason: accept.reason.unwrap_or_default().to_string(),
                    line,
                    span: accept.span,
                });
            }
        }
    }
    let mut reported = Vec::new();
    for accept in &accepts {
        let finding = match (accept.reason, accept.item) {
            (None, _) => Finding::new(
                Level::Warning,
                ACCEPT_WITHOUT_REASON,
                if accept.code.is_empty() {
                    "this accept names no finding and gives no reason, so it accepts nothing".into()
                } else {
                    format!(
                        "this accept of `{}` gives no reason, so it accepts nothing",
                        accept.code
                    )
                },
                accept.source,
                accept.span,
                "no reason",
            )
            .with_help(format!(
                "say why the finding is acceptable: `// {ACCEPT_MARK} {} because <reason>`",
                if accept.code.is_empty() {
                    "CODE"
                } else {
                    accept.code
                }
            )),
            (Some(_), None) => Finding::new(
                Level::Warning,
                STALE_ACCEPT,
                format!(
                    "this accept of `{}` is not directly above a rule or declaration",
                    accept.code
                ),
                accept.source,
                accept.span,
                "accepts nothing",
            )
            .with_help(
                "put it on the comment lines directly above the rule or declaration the finding \
                 is about, with no empty line between",
            ),
            (Some(_), Some(_)) if accept.used => continue,
            (Some(_), Some(item)) => {
                let here = codes_on.get(&(&*accept.source.name, item.start));
                let known = CODES.iter().map(|(code, _)| *code);
                let help = did_you_mean(
                    accept.code,
                    here.into_iter().flatten().copied().chain(known),
                )
                .unwrap_or_else(|| match here {
                    Some(codes) => format!(
                        "the findings here are {}; remove the accept if the finding is gone",
                        codes
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => "nothing is found here any more: remove the accept".into(),
                });
                Finding::new(
                    Level::Warning,
                    STALE_ACCEPT,
                    format!(
                        "no `{}` finding on the rule or declaration below: this accept is stale",
                        accept.code
                    ),
                    accept.source,
                    accept.span,
                    "matches no finding",
                )
                .with_help(help)
            }
        };
        reported.push(finding);
    }
    findings.extend(reported);
}

/// Counts of findings by level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// Findings a reviewer accepted, of any level: not in the counts above.
    pub accepted: usize,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Counts {
        let mut counts = Counts::default();
        for finding in findings {
            match finding.level {
                _ if finding.accepted.is_some() => counts.accepted += 1,
                Level::Error => counts.errors += 1,
                Level::Warning => counts.warnings += 1,
                Level::Note => counts.notes += 1,
            }
        }
        counts
    }

    pub fn add(&mut self, other: Counts) {
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.notes += other.notes;
        self.accepted += other.accepted;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {}, {}",
            plural(self.errors, "error", "errors"),
            plural(self.warnings, "warning", "warnings"),
            plural(self.notes, "note", "notes")
        )?;
        if self.accepted > 0 {
            write!(f, ", {} accepted", self.accepted)?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ the analysis

/// A rule as the linter sees it: compiled, and as written.
struct RuleInfo<'a> {
    index: usize,
    compiled: &'a CompiledRule,
    ast: &'a syntax::Rule,
    source: &'a SourceFile,
    /// Every point per dimension (a missing scope is the whole taxonomy).
    sets: ByDimension<FixedBitSet>,
    /// The allow's basis requirement and its own condition; a deny's own.
    conds: Vec<&'a Cond>,
}

impl RuleInfo<'_> {
    fn effect(&self) -> Effect {
        self.compiled.effect
    }

    fn reference(&self) -> RuleRef {
        RuleRef {
            rule: self.compiled.location.to_string(),
            effect: self.compiled.effect.as_str(),
            cite: self.compiled.cite.as_deref().map(str::to_string),
        }
    }

    /// ` [§1(b)]`, or ` (no cite)`.
    fn cite_suffix(&self) -> String {
        match &self.compiled.cite {
            Some(cite) => format!(" [{cite}]"),
            None => " (no cite)".into(),
        }
    }

    /// `policies/x.privet:12:1 [§1(b)]`.
    fn named(&self) -> String {
        match &self.compiled.cite {
            Some(cite) => format!("{} [{cite}]", self.compiled.location),
            None => format!("{} (no cite)", self.compiled.location),
        }
    }

    /// The rule's first words: its effect, actions and data, up to the end
    /// of its first line.
    fn head(&self) -> Span {
        let start = self.ast.span.start;
        let data_end = self.ast.scopes[Dimension::Data]
            .as_ref()
            .and_then(|names| names.last())
            .map_or(self.ast.effect.span.end, |name| name.span.end);
        let text = self.source.text.get(start..data_end).unwrap_or("");
        let end = match text.find('\n') {
            Some(newline) => start + text.get(..newline).unwrap_or("").trim_end().len(),
            None => data_end,
        };
        Span::new(start, end.max(self.ast.effect.span.end))
    }

    /// The `when`/`unless` clauses as written, on one line.
    fn condition_text(&self) -> Option<String> {
        let text = |c: &Condition| one_line(self.source.text.get(c.span.range()).unwrap_or(""));
        match (&self.ast.when, &self.ast.unless) {
            (Some(w), Some(u)) => Some(format!("when {} unless {}", text(w), text(u))),
            (Some(w), None) => Some(format!("when {}", text(w))),
            (None, Some(u)) => Some(format!("unless {}", text(u))),
            (None, None) => None,
        }
    }

    /// Where the condition is written, or the rule's head.
    fn condition_span(&self) -> Span {
        match (&self.ast.when, &self.ast.unless) {
            (Some(w), Some(u)) => {
                Span::new(w.span.start.min(u.span.start), w.span.end.max(u.span.end))
            }
            (Some(c), None) | (None, Some(c)) => c.span,
            (None, None) => self.head(),
        }
    }
}

/// Text on one line, comments dropped, runs of spaces made one.
fn one_line(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

struct Linter<'a> {
    policy: &'a CompiledPolicy,
    files: &'a [&'a (SourceFile, syntax::File)],
    rules: Vec<RuleInfo<'a>>,
    /// The values each int fact can take.
    domains: HashMap<FactId, (i64, i64)>,
    /// Rules found to never fire on their own (unsatisfiable condition).
    dead: HashSet<usize>,
}

impl<'a> Linter<'a> {
    fn new(policy: &'a CompiledPolicy, files: &'a [&'a (SourceFile, syntax::File)]) -> Self {
        let by_location: HashMap<&str, usize> = policy
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (&*r.location, i))
            .collect();
        let full = ByDimension::from_fn(|d| policy.taxonomy(d).everything().clone());
        let mut rules = Vec::new();
        for (source, file) in files.iter().map(|f| (&f.0, &f.1)) {
            for item in &file.items {
                let Item::Rule(ast) = item else { continue };
                let (line, column) = source.line_col(ast.span.start);
                let location = format!("{}:{line}:{column}", source.name);
                let Some(&index) = by_location.get(location.as_str()) else {
                    continue;
                };
                let Some(compiled) = policy.rules.get(index) else {
                    continue;
                };
                let sets = ByDimension::from_fn(|d| {
                    compiled.scopes[d]
                        .clone()
                        .unwrap_or_else(|| full[d].clone())
                });
                let mut conds = Vec::new();
                if compiled.effect == Effect::Allow {
                    if let Some(requires) = compiled
                        .basis
                        .and_then(|b| policy.bases.get(b))
                        .and_then(|b| b.requires.as_ref())
                    {
                        conds.push(requires);
                    }
                }
                if let Some(own) = &compiled.condition {
                    conds.push(own);
                }
                rules.push(RuleInfo {
                    index,
                    compiled,
                    ast,
                    source,
                    sets,
                    conds,
                });
            }
        }
        let domains = policy
            .facts
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FactKind::Int)
            .map(|(id, f)| (fact_id(id), int_domain(&f.name)))
            .collect();
        Linter {
            policy,
            files,
            rules,
            domains,
            dead: HashSet::new(),
        }
    }

    fn run(mut self) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.conditions(&mut findings);
        self.overrides(&mut findings);
        self.redundant(&mut findings);
        self.citations(&mut findings);
        self.unused(&mut findings);
        self.impossible_values(&mut findings);
        findings
    }

    // ---------------------------------------------------------- conditions

    /// Rules whose condition can never hold, or always holds.
    fn conditions(&mut self, findings: &mut Vec<Finding>) {
        for rule in &self.rules {
            let purposes = &rule.sets[Dimension::Purpose];
            if !rule.conds.is_empty() && self.exists(&rule.conds, &[], purposes) == Some(false) {
                self.dead.insert(rule.index);
                let basis = rule
                    .compiled
                    .basis
                    .and_then(|b| self.policy.bases.get(b))
                    .filter(|b| b.requires.is_some());
                let mut finding = match rule.effect() {
                    Effect::Allow => {
                        let with_basis = basis
                            .map(|b| format!(" together with what its basis `{}` requires", b.name))
                            .unwrap_or_default();
                        Finding::new(
                            Level::Error,
                            NEVER_FIRES,
                            format!("this allow can never fire: its condition can never hold{with_basis}"),
                            rule.source,
                            rule.condition_span(),
                            "never true",
                        )
                        .with_help("no values of the facts make the condition true, so the rule allows nothing; correct the condition or remove the rule")
                    }
                    Effect::Deny => {
                        let mut facts = Vec::new();
                        for cond in &rule.conds {
                            cond.facts(&mut facts);
                        }
                        let unknowable: BTreeSet<&str> = facts
                            .iter()
                            .filter_map(|f| self.policy.facts.get(*f as usize))
                            .filter(|f| f.default.is_none())
                            .map(|f| &*f.name)
                            .collect();
                        let help = if unknowable.is_empty() {
                            "no values of the facts make the condition true, so the deny removes nothing; correct the condition or remove the rule".to_string()
                        } else {
                            format!(
                                "no values of the facts make the condition true; yet when {} is missing the condition is unknown and the deny fires (unknown facts fail closed), so it denies exactly when the fact is not given; correct the condition",
                                unknowable
                                    .iter()
                                    .map(|f| format!("`{f}`"))
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            )
                        };
                        Finding::new(
                            Level::Error,
                            NEVER_FIRES,
                            "this deny can never fire when its facts are given: its condition can never hold",
                            rule.source,
                            rule.condition_span(),
                            "never true",
                        )
                        .with_help(help)
                    }
                };
                finding.rules.push(rule.reference());
                finding.condition = rule.condition_text();
                findings.push(finding);
                continue;
            }
            if let Some(own) = &rule.compiled.condition {
                if self.exists(&[], &[own], purposes) == Some(false) {
                    let mut finding = Finding::new(
                        Level::Warning,
                        ALWAYS_TRUE,
                        format!(
                            "the condition of this {} always holds: the rule acts as if it had none",
                            rule.effect().as_str()
                        ),
                        rule.source,
                        rule.condition_span(),
                        "always true",
                    )
                    .with_help("whatever values the facts take, the condition is true; remove it, or write the condition that was meant");
                    finding.rules.push(rule.reference());
                    finding.condition = rule.condition_text();
                    findings.push(finding);
                }
            }
        }
    }

    // ---------------------------------------------------------- overrides

    /// Allows that denies override, and allows denies remove entirely.
    fn overrides(&self, findings: &mut Vec<Finding>) {
        for allow in self.rules.iter().filter(|r| r.effect() == Effect::Allow) {
            if self.dead.contains(&allow.index) {
                continue;
            }
            // Denies that remove part of the allow whenever the allow would fire.
            let mut removing: Vec<&RuleInfo> = Vec::new();
            let mut whole_by_one = false;
            for deny in self.rules.iter().filter(|r| r.effect() == Effect::Deny) {
                if self.dead.contains(&deny.index) {
                    continue;
                }
                let Some(inter) = intersect(&allow.sets, &deny.sets) else {
                    continue;
                };
                let purposes = &inter[Dimension::Purpose];
                let deny_cond = deny.compiled.condition.as_ref();
                if let Some(cond) = deny_cond {
                    // A deny whose condition excludes the allow's never meets it.
                    let mut both = allow.conds.clone();
                    both.push(cond);
                    if self.exists(&both, &[], purposes) == Some(false) {
                        continue;
                    }
                }
                let entailed = match deny_cond {
                    None => true,
                    Some(cond) => self.exists(&allow.conds, &[cond], purposes) == Some(false),
                };
                let relation = relation(&allow.sets, &deny.sets);
                let whole = matches!(relation, Relation::Same | Relation::Broader);
                if entailed {
                    removing.push(deny);
                }
                let region = self.region(&inter);
                let condition = deny.condition_text();
                let (level, message, label) = if whole && entailed {
                    whole_by_one = true;
                    (
                        Level::Warning,
                        format!(
                            "this allow can never fire: the deny at {} removes all of it{}",
                            deny.named(),
                            if deny_cond.is_some() {
                                " (its condition holds whenever the allow's does)"
                            } else {
                                ""
                            }
                        ),
                        "overridden entirely",
                    )
                } else {
                    let how = match (&condition, whole) {
                        (Some(c), true) => format!("all of this allow {c}"),
                        (Some(c), false) if !entailed => format!("part of this allow {c}"),
                        _ => "part of this allow, always".to_string(),
                    };
                    (
                        Level::Note,
                        format!("the deny at {} overrides {how}", deny.named()),
                        "overridden here",
                    )
                };
                let mut finding = Finding::new(
                    level,
                    OVERRIDDEN,
                    message,
                    allow.source,
                    allow.head(),
                    label,
                )
                .with_help(format!(
                    "it removes {region}{}; the deny's scope is {}: {}",
                    condition
                        .as_ref()
                        .map(|c| format!(" {c}"))
                        .unwrap_or_default(),
                    relation.as_str(),
                    relation_words(relation),
                ));
                finding.rules = vec![allow.reference(), deny.reference()];
                finding.related.push(Related {
                    source: deny.source.clone(),
                    span: deny.head(),
                    label: format!("the deny that overrides it{}", deny.cite_suffix()),
                });
                finding.relation = Some(relation);
                finding.region = Some(region);
                finding.condition = condition;
                findings.push(finding);
            }
            if removing.is_empty() {
                continue;
            }
            let boxes: Vec<&ByDimension<FixedBitSet>> = removing.iter().map(|d| &d.sets).collect();
            if subtract_all(&allow.sets, &boxes) == Some(true) {
                let names: Vec<String> = removing.iter().map(|d| d.named()).collect();
                let mut finding = Finding::new(
                    Level::Warning,
                    NEVER_FIRES,
                    if whole_by_one {
                        format!(
                            "this allow can never fire: denies remove everything it allows ({})",
                            names.join("; ")
                        )
                    } else {
                        format!(
                            "this allow can never fire: together, the denies at {} remove everything it allows",
                            names.join("; ")
                        )
                    },
                    allow.source,
                    allow.head(),
                    "never allows anything",
                )
                .with_help("deny overrides allow, and these denies cover every point of this allow whenever it would fire; narrow the denies or remove the allow");
                finding.rules.push(allow.reference());
                finding.rules.extend(removing.iter().map(|d| d.reference()));
                finding.related.extend(removing.iter().map(|d| Related {
                    source: d.source.clone(),
                    span: d.head(),
                    label: format!("a deny that removes part of it{}", d.cite_suffix()),
                }));
                findings.push(finding);
            }
        }
    }

    /// The broadest keys of a region.
    fn region(&self, sets: &ByDimension<FixedBitSet>) -> Region {
        let describe = |d: Dimension| {
            let taxonomy = self.policy.taxonomy(d);
            let set = &sets[d];
            if set.count_ones(..) == taxonomy.len() {
                return None;
            }
            Some(
                set.ones()
                    .map(key_id)
                    .filter(|&id| taxonomy.parents(id).all(|p| !set.contains(p as usize)))
                    .map(|id| taxonomy.key(id).to_string())
                    .collect(),
            )
        };
        Region {
            data: describe(Dimension::Data),
            purposes: describe(Dimension::Purpose),
            recipients: describe(Dimension::Recipient),
            actions: describe(Dimension::Action),
            subjects: describe(Dimension::Subject),
        }
    }

    // ---------------------------------------------------------- redundancy

    fn redundant(&self, findings: &mut Vec<Finding>) {
        for rule in &self.rules {
            if self.dead.contains(&rule.index) {
                continue;
            }
            let by = self.rules.iter().find(|other| {
                other.index != rule.index
                    && !self.dead.contains(&other.index)
                    && other.effect() == rule.effect()
                    && covers_all(&other.sets, &rule.sets)
                    && self.no_more_demanding(other, rule)
                    && (rule.effect() == Effect::Deny || same_terms(other.compiled, rule.compiled))
                    // Two rules that say the same thing: report the later one.
                    && !(covers_all(&rule.sets, &other.sets)
                        && self.no_more_demanding(rule, other)
                        && other.index > rule.index)
            });
            let Some(by) = by else { continue };
            let how = match &by.compiled.condition {
                None => "with no condition",
                Some(_) => "under the same condition",
            };
            let mut finding = Finding::new(
                Level::Warning,
                REDUNDANT,
                format!(
                    "this {} is redundant: the {} at {} covers everything it covers, {how}",
                    rule.effect().as_str(),
                    by.effect().as_str(),
                    by.named()
                ),
                rule.source,
                rule.head(),
                "redundant",
            )
            .with_help(if rule.effect() == Effect::Allow {
                "it allows nothing the other rule does not allow, on the same basis with the same obligations; remove it, or narrow the other rule"
            } else {
                "it denies nothing the other rule does not deny; remove it, or narrow the other rule"
            });
            finding.rules = vec![rule.reference(), by.reference()];
            finding.related.push(Related {
                source: by.source.clone(),
                span: by.head(),
                label: format!(
                    "the {} that covers it{}",
                    by.effect().as_str(),
                    by.cite_suffix()
                ),
            });
            findings.push(finding);
        }
    }

    /// `other` fires whenever `rule` does, by condition: it has none, or the
    /// same one (and for a deny, no condition at all fires always).
    fn no_more_demanding(&self, other: &RuleInfo, rule: &RuleInfo) -> bool {
        match (&other.compiled.condition, &rule.compiled.condition) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        }
    }

    // ---------------------------------------------------------- citations

    fn citations(&self, findings: &mut Vec<Finding>) {
        for rule in self.rules.iter().filter(|r| r.compiled.cite.is_none()) {
            let mut finding = Finding::new(
                Level::Warning,
                MISSING_CITE,
                format!(
                    "this {} cites no source text",
                    rule.effect().as_str()
                ),
                rule.source,
                rule.head(),
                "no `cite`",
            )
            .with_help("add `cite \"§…\"` naming the section of the policy the rule encodes: privet prints it with every decision the rule makes");
            finding.rules.push(rule.reference());
            findings.push(finding);
        }
    }

    // ---------------------------------------------------------- unused declarations

    fn unused(&self, findings: &mut Vec<Finding>) {
        let policy = self.policy;
        // Keys named anywhere, and every key above them.
        let mut named: ByDimension<FixedBitSet> =
            ByDimension::from_fn(|d| FixedBitSet::with_capacity(policy.taxonomy(d).len()));
        let mut facts_read = Vec::new();
        let mut purpose_keys = Vec::new();
        for rule in &policy.rules {
            for d in Dimension::ALL {
                for &id in &rule.written[d] {
                    named[d].union_with(policy.taxonomy(d).ancestors(id));
                }
            }
            if let Some(cond) = &rule.condition {
                cond.facts(&mut facts_read);
                purpose_members(cond, &mut purpose_keys);
            }
        }
        for basis in &policy.bases {
            if let Some(cond) = &basis.requires {
                cond.facts(&mut facts_read);
                purpose_members(cond, &mut purpose_keys);
            }
        }
        for id in purpose_keys {
            named[Dimension::Purpose].union_with(policy.taxonomy(Dimension::Purpose).ancestors(id));
        }
        let facts_read: HashSet<FactId> = facts_read.into_iter().collect();
        let obligations: HashSet<&str> = policy
            .rules
            .iter()
            .flat_map(|r| r.obligations.iter().map(|o| &**o))
            .collect();
        let bases: HashSet<usize> = policy.rules.iter().filter_map(|r| r.basis).collect();

        for (source, file) in self.files.iter().map(|f| (&f.0, &f.1)) {
            for item in &file.items {
                match item {
                    Item::Key(decl) => {
                        let d = decl.dimension;
                        let taxonomy = policy.taxonomy(d);
                        let Some(id) = taxonomy.id(&decl.key.node) else {
                            continue;
                        };
                        if named[d].contains(id as usize) {
                            continue;
                        }
                        // The rule that reaches it through a key above it, an allow if any.
                        let through = |effect: Effect| {
                            self.rules.iter().find_map(|r| {
                                if r.effect() != effect || r.compiled.scopes[d].is_none() {
                                    return None;
                                }
                                r.compiled.written[d]
                                    .iter()
                                    .find(|&&k| taxonomy.descendants(k).contains(id as usize))
                                    .map(|&k| (r, taxonomy.key(k)))
                            })
                        };
                        let through = through(Effect::Allow).or_else(|| through(Effect::Deny));
                        let covered = policy.rules.iter().any(|r| r.covers(d, id));
                        let (level, help) = match through {
                            Some((rule, above)) => (
                                Level::Note,
                                format!(
                                    "rules reach it only through `{above}` (as the {} at {} does); a request may still name it, but if none does, remove the declaration",
                                    rule.effect().as_str(),
                                    rule.named()
                                ),
                            ),
                            None if covered => (
                                Level::Note,
                                "rules reach it only because they do not restrict this dimension; a request may still name it, but if none does, remove the declaration".to_string(),
                            ),
                            None => (
                                Level::Warning,
                                "no rule covers it, so every request that names it is denied by default; name it in a rule, or remove the declaration".to_string(),
                            ),
                        };
                        findings.push(
                            Finding::new(
                                level,
                                UNUSED_KEY,
                                format!(
                                    "the {} `{}` is declared but no rule names it",
                                    d.noun(),
                                    decl.key.node
                                ),
                                source,
                                decl.key.span,
                                "declared here",
                            )
                            .with_help(help),
                        );
                    }
                    Item::Fact(decl) => {
                        let Some(id) = policy.fact(&decl.name.node) else {
                            continue;
                        };
                        if facts_read.contains(&id) {
                            continue;
                        }
                        findings.push(
                            Finding::new(
                                Level::Warning,
                                UNUSED_FACT,
                                format!("the fact `{}` is declared but no condition reads it", decl.name.node),
                                source,
                                decl.name.span,
                                "never read",
                            )
                            .with_help("a request may give it, but it changes no decision; use it in a `when` or `unless`, or remove the declaration"),
                        );
                    }
                    Item::Obligation(decl) => {
                        if obligations.contains(decl.name.node.as_str()) {
                            continue;
                        }
                        findings.push(
                            Finding::new(
                                Level::Warning,
                                UNUSED_OBLIGATION,
                                format!(
                                    "the obligation `{}` is declared but no rule attaches it",
                                    decl.name.node
                                ),
                                source,
                                decl.name.span,
                                "never attached",
                            )
                            .with_help(
                                "attach it to an allow with `oblige`, or remove the declaration",
                            ),
                        );
                    }
                    Item::Basis(decl) => {
                        let used = policy
                            .bases
                            .iter()
                            .position(|b| *b.name == *decl.name.node)
                            .is_some_and(|i| bases.contains(&i));
                        if used {
                            continue;
                        }
                        findings.push(
                            Finding::new(
                                Level::Warning,
                                UNUSED_BASIS,
                                format!(
                                    "the legal basis `{}` is declared but no rule relies on it",
                                    decl.name.node
                                ),
                                source,
                                decl.name.span,
                                "never relied on",
                            )
                            .with_help(
                                "name it in an allow with `basis`, or remove the declaration",
                            ),
                        );
                    }
                    Item::Use(_) | Item::Rule(_) => {}
                }
            }
        }
    }

    // ---------------------------------------------------------- impossible values

    fn impossible_values(&self, findings: &mut Vec<Finding>) {
        for (source, file) in self.files.iter().map(|f| (&f.0, &f.1)) {
            for item in &file.items {
                let conditions: Vec<&Condition> = match item {
                    Item::Rule(rule) => rule.when.iter().chain(rule.unless.iter()).collect(),
                    Item::Basis(decl) => decl.requires.iter().collect(),
                    _ => continue,
                };
                for condition in conditions {
                    self.impossible_in(condition, source, findings, 0);
                }
            }
        }
    }

    fn impossible_in(
        &self,
        condition: &Condition,
        source: &SourceFile,
        findings: &mut Vec<Finding>,
        depth: usize,
    ) {
        if depth > crate::limits::MAX_NESTING + 1 {
            return;
        }
        match &condition.kind {
            ConditionKind::And(parts) | ConditionKind::Or(parts) => {
                for part in parts {
                    self.impossible_in(part, source, findings, depth + 1);
                }
            }
            ConditionKind::Not(inner) => self.impossible_in(inner, source, findings, depth + 1),
            ConditionKind::Compare { fact, op, value } => {
                let Literal::Int(n) = value.node else { return };
                let Some(id) = self.policy.fact(&fact.node) else {
                    return;
                };
                let Some(&(lo, hi)) = self.domains.get(&id) else {
                    return;
                };
                let Some(always) = compare_constant(op.node, n, lo, hi) else {
                    return;
                };
                let range = if hi == i64::MAX {
                    format!("never below {lo}")
                } else {
                    format!("between {lo} and {hi}")
                };
                let text = one_line(source.text.get(condition.span.range()).unwrap_or(""));
                findings.push(
                    Finding::new(
                        Level::Warning,
                        IMPOSSIBLE_VALUE,
                        format!(
                            "`{text}` is always {}: `{}` is {range}",
                            if always { "true" } else { "false" },
                            fact.node
                        ),
                        source,
                        condition.span,
                        if always { "always true" } else { "never true" },
                    )
                    .with_help(format!(
                        "`{}` {}, so this comparison decides nothing; compare it with a value it can take",
                        fact.node,
                        if lo == 0 && hi == MAX_AGE {
                            format!("is an age in years, {range}")
                        } else {
                            format!("counts something, {range}")
                        }
                    )),
                );
            }
            ConditionKind::Test(_) | ConditionKind::Member { .. } => {}
        }
    }

    // ---------------------------------------------------------- the enumerator

    /// Is there a valuation of the facts (and a purpose in `purposes`)
    /// under which every `holds` condition is true and every `fails`
    /// condition is false? `None` when there are too many to try.
    fn exists(&self, holds: &[&Cond], fails: &[&Cond], purposes: &FixedBitSet) -> Option<bool> {
        let mut found = false;
        let decided =
            self.for_each_valuation(holds.iter().chain(fails), purposes, &mut |facts, p| {
                let ok = holds
                    .iter()
                    .all(|c| c.eval(facts, p, &mut |_| {}) == compile::Truth::True)
                    && fails
                        .iter()
                        .all(|c| c.eval(facts, p, &mut |_| {}) == compile::Truth::False);
                if ok {
                    found = true;
                }
                ok
            });
        decided.map(|()| found)
    }

    /// Call `visit` with representative complete valuations of the facts
    /// the conditions read, until it returns true.
    fn for_each_valuation<'c>(
        &self,
        conds: impl Iterator<Item = &'c &'c Cond> + Clone,
        purposes: &FixedBitSet,
        visit: &mut dyn FnMut(&[Option<FactValue>], KeyId) -> bool,
    ) -> Option<()> {
        let mut reads = Reads::default();
        for cond in conds {
            reads.collect(cond, 0);
        }
        let purpose_tax = self.policy.taxonomy(Dimension::Purpose);
        // Purposes that differ in how they relate to the mentioned ones.
        let mut representatives: Vec<KeyId> = Vec::new();
        if reads.request_purpose {
            let mentioned: BTreeSet<KeyId> = reads
                .purposes
                .values()
                .flat_map(|(keys, _)| keys.iter().copied())
                .collect();
            let mut seen = HashSet::new();
            for p in purposes.ones() {
                let p = key_id(p);
                let signature: Vec<(bool, bool)> = mentioned
                    .iter()
                    .map(|&m| {
                        (
                            purpose_tax.ancestors(p).contains(m as usize),
                            purpose_tax.descendants(p).contains(m as usize),
                        )
                    })
                    .collect();
                if seen.insert(signature) {
                    representatives.push(p);
                }
            }
        } else {
            representatives.extend(purposes.ones().next().map(key_id));
        }
        let mut budget = MAX_LINT_VALUATIONS;
        let mut facts: Vec<Option<FactValue>> = vec![None; self.policy.facts.len()];
        for p in representatives {
            let mut candidates: Vec<(FactId, Vec<FactValue>)> = Vec::new();
            for &fact in &reads.facts {
                let kind = &self.policy.facts.get(fact as usize)?.kind;
                let values = match kind {
                    FactKind::Bool => vec![FactValue::Bool(false), FactValue::Bool(true)],
                    FactKind::Int => {
                        let (lo, hi) = self
                            .domains
                            .get(&fact)
                            .copied()
                            .unwrap_or((i64::MIN, i64::MAX));
                        // One value in each region the conditions tell
                        // apart, kept within the values the fact can take.
                        let starts: Vec<i64> = reads
                            .starts
                            .get(&fact)
                            .into_iter()
                            .flatten()
                            .copied()
                            .collect();
                        let mut values: BTreeSet<i64> = BTreeSet::from([lo, hi]);
                        values.extend(
                            regions::region_representatives(&starts)
                                .into_iter()
                                .map(|v| v.clamp(lo, hi)),
                        );
                        values.into_iter().map(FactValue::Int).collect()
                    }
                    FactKind::PurposeSet => {
                        let (keys, with_purpose) =
                            reads.purposes.get(&fact).cloned().unwrap_or_default();
                        let mut members: Vec<KeyId> = keys.into_iter().collect();
                        if with_purpose && !members.contains(&p) {
                            members.push(p);
                        }
                        let covers = |listed: &KeyId, member: &KeyId| {
                            u8::from(purpose_tax.descendants(*listed).contains(*member as usize))
                        };
                        regions::purpose_listings(&members, covers, 1 << 12)?
                            .into_iter()
                            .map(|listed| {
                                let covered = purpose_tax.closure(&listed);
                                FactValue::Purposes { listed, covered }
                            })
                            .collect()
                    }
                    FactKind::EnumSet(_) => {
                        let masks: Vec<u64> = reads
                            .masks
                            .get(&fact)
                            .into_iter()
                            .flatten()
                            .copied()
                            .collect();
                        // One member of each group stands for the group.
                        regions::member_classes(&masks, 1 << 12)?
                            .into_iter()
                            .map(|groups| {
                                FactValue::Members(
                                    groups
                                        .iter()
                                        .fold(0, |held, g| held | (g & g.wrapping_neg())),
                                )
                            })
                            .collect()
                    }
                };
                candidates.push((fact, values));
            }
            let total = candidates
                .iter()
                .try_fold(1usize, |acc, (_, v)| acc.checked_mul(v.len().max(1)))?;
            budget = budget.checked_sub(total)?;
            // An odometer over the candidates.
            let mut digits = vec![0usize; candidates.len()];
            loop {
                for ((fact, values), &digit) in candidates.iter().zip(&digits) {
                    if let Some(slot) = facts.get_mut(*fact as usize) {
                        *slot = values.get(digit).cloned();
                    }
                }
                if visit(&facts, p) {
                    return Some(());
                }
                let mut carried = true;
                for ((_, values), digit) in candidates.iter().zip(digits.iter_mut()) {
                    *digit += 1;
                    if *digit < values.len() {
                        carried = false;
                        break;
                    }
                    *digit = 0;
                }
                if carried {
                    break;
                }
            }
        }
        Some(())
    }
}

/// What a set of conditions reads.
#[derive(Default)]
struct Reads {
    facts: BTreeSet<FactId>,
    /// Where each number's regions start: see [`Cond::region_starts`].
    starts: BTreeMap<FactId, BTreeSet<i64>>,
    purposes: BTreeMap<FactId, (BTreeSet<KeyId>, bool)>,
    /// The member sets each enumerated set is asked about.
    masks: BTreeMap<FactId, BTreeSet<u64>>,
    request_purpose: bool,
}

impl Reads {
    fn collect(&mut self, cond: &Cond, depth: usize) {
        if depth > crate::limits::MAX_NESTING + 1 {
            return;
        }
        match cond {
            Cond::Test(f) | Cond::BoolIs(f, _) => {
                self.facts.insert(*f);
            }
            Cond::Compare(f, _, _) => {
                self.facts.insert(*f);
                cond.region_starts(*f, self.starts.entry(*f).or_default());
            }
            Cond::PurposeMember {
                fact,
                keys,
                request_purpose,
            } => {
                self.facts.insert(*fact);
                let entry = self.purposes.entry(*fact).or_default();
                entry.0.extend(keys.iter().copied());
                entry.1 |= *request_purpose;
                self.request_purpose |= *request_purpose;
            }
            Cond::EnumMember { fact, mask } => {
                self.facts.insert(*fact);
                self.masks.entry(*fact).or_default().insert(*mask);
            }
            Cond::Not(inner) => self.collect(inner, depth + 1),
            Cond::And(parts) | Cond::Or(parts) => {
                for part in parts {
                    self.collect(part, depth + 1);
                }
            }
        }
    }
}

fn purpose_members(cond: &Cond, out: &mut Vec<KeyId>) {
    let mut reads = Reads::default();
    reads.collect(cond, 0);
    out.extend(
        reads
            .purposes
            .values()
            .flat_map(|(keys, _)| keys.iter().copied()),
    );
}

/// The oldest age a data subject is taken to have.
const MAX_AGE: i64 = 150;

/// The values an int fact can take, judged by its name: an age lies in
/// 0..=150, a count or a duration is never negative, anything else is any
/// whole number.
fn int_domain(name: &str) -> (i64, i64) {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_lowercase)
        .collect();
    let has = |options: &[&str]| words.iter().any(|w| options.contains(&w.as_str()));
    if has(&["age"]) {
        (0, MAX_AGE)
    } else if has(&[
        "count", "number", "num", "years", "months", "weeks", "days", "hours", "minutes",
        "seconds", "size", "length", "duration", "times",
    ]) {
        (0, i64::MAX)
    } else {
        (i64::MIN, i64::MAX)
    }
}

/// `Some(truth)` when `x op n` has the same truth for every `x` in `lo..=hi`.
fn compare_constant(op: CompareOp, n: i64, lo: i64, hi: i64) -> Option<bool> {
    let holds = |x: i64| op.holds(x, n);
    // The truth changes only at n: try both ends and the values around n.
    let mut samples = vec![lo, hi];
    for v in [n.saturating_sub(1), n, n.saturating_add(1)] {
        if (lo..=hi).contains(&v) {
            samples.push(v);
        }
    }
    let first = holds(lo);
    samples.iter().all(|&x| holds(x) == first).then_some(first)
}

fn intersect(
    a: &ByDimension<FixedBitSet>,
    b: &ByDimension<FixedBitSet>,
) -> Option<ByDimension<FixedBitSet>> {
    let mut out = a.clone();
    for d in Dimension::ALL {
        out[d].intersect_with(&b[d]);
        if out[d].is_clear() {
            return None;
        }
    }
    Some(out)
}

/// Does `outer` cover every point of `inner`?
fn covers_all(outer: &ByDimension<FixedBitSet>, inner: &ByDimension<FixedBitSet>) -> bool {
    Dimension::ALL
        .iter()
        .all(|&d| inner[d].is_subset(&outer[d]))
}

fn relation(allow: &ByDimension<FixedBitSet>, deny: &ByDimension<FixedBitSet>) -> Relation {
    match (covers_all(allow, deny), covers_all(deny, allow)) {
        (true, true) => Relation::Same,
        (true, false) => Relation::Narrower,
        (false, true) => Relation::Broader,
        (false, false) => Relation::Overlapping,
    }
}

fn relation_words(relation: Relation) -> &'static str {
    match relation {
        Relation::Same => "the deny covers exactly the allow",
        Relation::Narrower => "the deny covers part of the allow",
        Relation::Broader => "the deny covers all of the allow and more",
        Relation::Overlapping => "each covers points the other does not",
    }
}

/// Same basis, same obligations: an allow that could stand in for another.
fn same_terms(a: &CompiledRule, b: &CompiledRule) -> bool {
    let obligations = |r: &CompiledRule| r.obligations.iter().cloned().collect::<BTreeSet<_>>();
    a.basis == b.basis && obligations(a) == obligations(b)
}

/// Is nothing of `region` left once every box of `boxes` is taken out?
/// `None` when the pieces grow too many to follow.
fn subtract_all(
    region: &ByDimension<FixedBitSet>,
    boxes: &[&ByDimension<FixedBitSet>],
) -> Option<bool> {
    let mut pieces = vec![region.clone()];
    for cut in boxes {
        let mut next = Vec::new();
        for piece in pieces {
            // piece \ cut as disjoint boxes: along each dimension in turn,
            // the part outside the cut, then narrow to the inside.
            let mut rest = piece;
            for d in Dimension::ALL {
                let mut outside = rest[d].clone();
                outside.difference_with(&cut[d]);
                if !outside.is_clear() {
                    let mut part = rest.clone();
                    part[d] = outside;
                    next.push(part);
                }
                rest[d].intersect_with(&cut[d]);
                if rest[d].is_clear() {
                    break;
                }
            }
            if next.len() > MAX_LINT_BOXES {
                return None;
            }
        }
        pieces = next;
        if pieces.is_empty() {
            return Some(true);
        }
    }
    Some(pieces.is_empty())
}

// ------------------------------------------------------------------ SARIF

/// The findings (and the problems of policies that did not check) as a
/// SARIF 2.1.0 log, for code scanning.
pub fn sarif(findings: &[Finding], problems: &[Problem]) -> serde_sarif::sarif::Sarif {
    use serde_sarif::sarif as s;
    let region = |source: &SourceFile, span: Span| {
        let (start_line, start_column) = source.line_col(span.start);
        let (end_line, end_column) = source.line_col(span.end.max(span.start));
        s::Region::builder()
            .start_line(start_line as i64)
            .start_column(start_column as i64)
            .end_line(end_line as i64)
            .end_column(end_column as i64)
            .build()
    };
    let physical = |source: &SourceFile, span: Span| {
        s::PhysicalLocation::builder()
            .artifact_location(
                s::ArtifactLocation::builder()
                    .uri(file_uri(&source.name))
                    .build(),
            )
            .region(region(source, span))
            .build()
    };
    let level = |level: Level| match level {
        Level::Error => s::ResultLevel::Error,
        Level::Warning => s::ResultLevel::Warning,
        Level::Note => s::ResultLevel::Note,
    };
    let mut results = Vec::new();
    for finding in findings {
        let location = s::Location::builder()
            .physical_location(physical(&finding.source, finding.span))
            .build();
        let related: Vec<s::Location> = finding
            .related
            .iter()
            .enumerate()
            .map(|(i, r)| {
                s::Location::builder()
                    .id(i as i64 + 1)
                    .physical_location(physical(&r.source, r.span))
                    .message(s::Message::builder().text(r.label.clone()).build())
                    .build()
            })
            .collect();
        let mut text = finding.message.clone();
        if let Some(help) = &finding.help {
            text.push_str("\nhelp: ");
            text.push_str(help);
        }
        let mut properties = BTreeMap::new();
        properties.insert(
            "rules".to_string(),
            serde_json::to_value(&finding.rules).unwrap_or_default(),
        );
        if let Some(relation) = finding.relation {
            properties.insert("relation".into(), relation.as_str().into());
        }
        if let Some(region) = &finding.region {
            properties.insert("region".into(), region.to_string().into());
        }
        if let Some(condition) = &finding.condition {
            properties.insert("condition".into(), condition.clone().into());
        }
        // SARIF's own word for a finding accepted in the source.
        let suppressions = finding.accepted.as_ref().map(|accepted| {
            vec![
                s::Suppression::builder()
                    .kind(serde_json::Value::from("inSource"))
                    .status(serde_json::Value::from("accepted"))
                    .justification(accepted.reason.clone())
                    .location(
                        s::Location::builder()
                            .physical_location(physical(&finding.source, accepted.span))
                            .build(),
                    )
                    .build(),
            ]
        });
        let builder = s::Result::builder()
            .rule_id(finding.code)
            .level(level(finding.level))
            .message(s::Message::builder().text(text).build())
            .locations(vec![location])
            .properties(
                s::PropertyBag::builder()
                    .additional_properties(properties)
                    .build(),
            );
        let mut result = builder.build();
        if !related.is_empty() {
            result.related_locations = Some(related);
        }
        result.suppressions = suppressions;
        results.push(result);
    }
    // Problems with a place are results, on the line they are about; the
    // others (an unreadable path) are notifications of the invocation.
    let mut notifications = Vec::new();
    for problem in problems {
        let mut text = problem.message.clone();
        if let Some(help) = &problem.help {
            text.push_str("\nhelp: ");
            text.push_str(help);
        }
        let message = s::Message::builder().text(text).build();
        match (&problem.source, problem.span) {
            (Some(source), Some(span)) => results.push(
                s::Result::builder()
                    .rule_id(problem.code)
                    .level(if problem.is_error() {
                        s::ResultLevel::Error
                    } else {
                        s::ResultLevel::Warning
                    })
                    .message(message)
                    .locations(vec![
                        s::Location::builder()
                            .physical_location(physical(source, span))
                            .build(),
                    ])
                    .build(),
            ),
            _ => notifications.push(
                s::Notification::builder()
                    .message(message)
                    .level(serde_json::Value::from(if problem.is_error() {
                        "error"
                    } else {
                        "warning"
                    }))
                    .build(),
            ),
        }
    }
    let invocation = {
        let successful = !problems.iter().any(Problem::is_error);
        let builder = s::Invocation::builder().execution_successful(successful);
        if notifications.is_empty() {
            builder.build()
        } else {
            let mut invocation = builder.build();
            invocation.tool_execution_notifications = Some(notifications);
            invocation
        }
    };
    let mut codes: BTreeSet<&str> = findings.iter().map(|f| f.code).collect();
    codes.extend(CODES.iter().map(|(code, _)| *code));
    codes.extend(
        problems
            .iter()
            .filter(|p| p.source.is_some() && p.span.is_some())
            .map(|p| p.code),
    );
    let rules: Vec<s::ReportingDescriptor> = codes
        .into_iter()
        .map(|code| {
            let description = CODES.iter().find(|(c, _)| *c == code).map_or(
                "A problem that keeps the policy from checking (see `privet check`).",
                |(_, d)| d,
            );
            s::ReportingDescriptor::builder()
                .id(code)
                .name(code.rsplit("::").next().unwrap_or(code))
                .short_description(
                    s::MultiformatMessageString::builder()
                        .text(description)
                        .build(),
                )
                .build()
        })
        .collect();
    let driver = s::ToolComponent::builder()
        .name("privet")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run = s::Run::builder()
        .tool(s::Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .results(results)
        .build();
    s::Sarif::builder()
        .schema(s::SCHEMA_URL)
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build()
}

/// A file name as a URI reference: forward slashes, what a URI may not hold
/// percent-encoded, and `file://` before an absolute path (a relative one
/// stays relative, as code scanning wants it).
fn file_uri(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    if name.starts_with('/') {
        out.push_str("file://");
    }
    for byte in name.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_against_impossible_values() {
        assert_eq!(compare_constant(CompareOp::Lt, 0, 0, 150), Some(false));
        assert_eq!(compare_constant(CompareOp::Ge, 0, 0, 150), Some(true));
        assert_eq!(compare_constant(CompareOp::Lt, 13, 0, 150), None);
        assert_eq!(compare_constant(CompareOp::Gt, 200, 0, 150), Some(false));
        assert_eq!(
            compare_constant(CompareOp::Eq, -1, 0, i64::MAX),
            Some(false)
        );
        assert_eq!(
            compare_constant(CompareOp::Lt, 13, i64::MIN, i64::MAX),
            None
        );
    }

    #[test]
    fn domains_by_name() {
        assert_eq!(int_domain("subject_age"), (0, MAX_AGE));
        assert_eq!(int_domain("usage"), (i64::MIN, i64::MAX));
        assert_eq!(int_domain("retention_days"), (0, i64::MAX));
    }

    #[test]
    fn uris_are_escaped() {
        assert_eq!(file_uri("policies/a b.privet"), "policies/a%20b.privet");
        assert_eq!(file_uri("policies\\x.privet"), "policies/x.privet");
        assert_eq!(file_uri("/tmp/x.privet"), "file:///tmp/x.privet");
    }
}
