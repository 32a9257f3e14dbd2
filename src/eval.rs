//! Decisions, with exactly the semantics of DESIGN.md §1.
//!
//! A request stands for a set of *points*: every data category at or below
//! each item, every purpose at or below the requested one (all purposes when
//! none is given), every recipient at or below the requested one, and the
//! one action and subject. It is allowed only when every point is: no deny
//! rule fires there (a deny fires when its condition is true *or unknown*)
//! and some allow rule covers it with a condition that is true. Items are
//! evaluated at the request's combined class, so an allow only applies when
//! the data it covers reaches that class.

use std::collections::BTreeSet;
use std::sync::Arc;

use fixedbitset::FixedBitSet;

use serde::Serialize;

use crate::compile::{
    CompiledPolicy, CompiledRule, Cond, CondId, DecisionIndex, FactId, FactKind, FactValue, KeyId,
    KeyMask, RuleConditions, Truth,
};
use crate::limits::key_id;
use crate::request::ResolvedRequest;
use crate::syntax::{Class, Dimension};

/// The answer to a request, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// `"allow"` or `"deny"`.
    pub decision: &'static str,
    /// The request's combined class; `null` when the request was invalid.
    pub class: Option<&'static str>,
    pub reasons: Vec<Reason>,
    /// The legal basis the allowing rules rely on; several are sorted and
    /// joined by ", ".
    pub basis: Option<String>,
    pub obligations: Vec<String>,
    pub missing_facts: Vec<String>,
    pub hints: Vec<String>,
}

/// One rule that decided, or the default deny.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Reason {
    /// `file:line:col` of the rule; `"default"` when no rule allowed;
    /// `"error"` when the request was invalid.
    pub rule: String,
    pub effect: &'static str,
    pub cite: Option<String>,
    /// What the rule decided, in words.
    pub detail: String,
}

impl Decision {
    /// The decision for a request that could not be evaluated: deny, and say why.
    pub fn error(message: &str) -> Decision {
        Decision {
            allowed: false,
            decision: "deny",
            class: None,
            reasons: vec![Reason {
                rule: "error".into(),
                effect: "deny",
                cite: None,
                detail: message.to_string(),
            }],
            basis: None,
            obligations: Vec::new(),
            missing_facts: Vec::new(),
            hints: Vec::new(),
        }
    }
}

/// One point of the request space: a single key of each dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Point {
    pub data: KeyId,
    pub purpose: KeyId,
    pub recipient: KeyId,
    pub action: KeyId,
    pub subject: KeyId,
}

/// As [`point_outcome`], with the facts for which `open` holds left open:
/// `None` when the decision depends on them.
pub fn point_outcome_partial(
    policy: &CompiledPolicy,
    facts: &[Option<FactValue>],
    open: &dyn Fn(FactId) -> bool,
    point: Point,
    class: Class,
    pending: &mut Vec<FactId>,
) -> Option<(bool, Vec<usize>)> {
    // The open facts of a condition that could not be decided: what to fix next.
    let mut note = |cond: &Cond| {
        let mut read = Vec::new();
        cond.facts(&mut read);
        pending.extend(read.into_iter().filter(|f| open(*f)));
    };
    let candidates = policy.index.rules(point.data, point.purpose);
    let mut fired = Vec::new();
    let mut deny_pending = false;
    for &index in candidates.denies {
        let Some(rule) = policy.rules.get(index as usize) else {
            continue;
        };
        if !covers(rule, point) {
            continue;
        }
        match rule.condition.as_ref().map_or(Some(Truth::True), |c| {
            c.eval_partial(facts, open, point.purpose)
        }) {
            Some(Truth::False) => {}
            Some(_) => fired.push(index as usize),
            None => {
                deny_pending = true;
                if let Some(c) = &rule.condition {
                    note(c);
                }
            }
        }
    }
    if !fired.is_empty() {
        return Some((false, fired));
    }
    let mut allowing = Vec::new();
    let mut allow_pending = false;
    for &index in candidates.allows {
        let Some(rule) = policy.rules.get(index as usize) else {
            continue;
        };
        if rule.clearance < class || !covers(rule, point) {
            continue;
        }
        let requires = rule
            .basis
            .and_then(|b| policy.bases.get(b))
            .and_then(|b| b.requires.as_ref());
        let basis = requires.map_or(Some(Truth::True), |c| {
            c.eval_partial(facts, open, point.purpose)
        });
        let own = rule.condition.as_ref().map_or(Some(Truth::True), |c| {
            c.eval_partial(facts, open, point.purpose)
        });
        match (basis, own) {
            (Some(Truth::True), Some(Truth::True)) => allowing.push(index as usize),
            (Some(Truth::False | Truth::Unknown), _) | (_, Some(Truth::False | Truth::Unknown)) => {
            }
            _ => {
                allow_pending = true;
                if let (None, Some(c)) = (basis, requires) {
                    note(c);
                }
                if let (None, Some(c)) = (own, &rule.condition) {
                    note(c);
                }
            }
        }
    }
    match (deny_pending, allowing.is_empty(), allow_pending) {
        // Nothing can allow: denied whatever the open facts are.
        (_, true, false) => Some((false, Vec::new())),
        (false, false, _) => Some((true, allowing)),
        _ => None,
    }
}

/// The purposes and the recipients a request covers: those at or below
/// the ones it names, every purpose when it names none.
pub struct Covered<'a> {
    pub purposes: &'a FixedBitSet,
    pub recipients: &'a FixedBitSet,
}

impl<'a> Covered<'a> {
    pub fn by(policy: &'a CompiledPolicy, request: &ResolvedRequest) -> Self {
        let purposes = policy.taxonomy(Dimension::Purpose);
        Covered {
            purposes: match request.purpose {
                Some(p) => purposes.descendants(p),
                None => purposes.everything(),
            },
            recipients: policy
                .taxonomy(Dimension::Recipient)
                .descendants(request.recipient),
        }
    }
}

/// DESIGN.md §1 read literally, to check the two decision paths against:
/// allowed when every point of the request is, each point decided from its
/// rules with every condition evaluated afresh. Both paths remember
/// condition truths within a request; this remembers nothing, so a truth
/// kept where it should have been forgotten shows as a disagreement. Slow.
pub fn allowed_point_by_point(policy: &CompiledPolicy, request: &ResolvedRequest) -> bool {
    points(policy, request).all(|(point, class)| {
        let outcome = point_outcome_partial(
            policy,
            &request.facts,
            &|_| false,
            point,
            class,
            &mut Vec::new(),
        );
        matches!(outcome, Some((true, _)))
    })
}

/// What is wrong when the three readings of the semantics differ on a
/// request: the lean path ([`is_allowed`]) and the rules point by point
/// ([`allowed_point_by_point`]) must both answer as `decision`, the
/// explained path's. `None` when they agree. Conformance suites, the
/// property tests and the fuzz targets all check this.
pub fn disagreement(
    policy: &CompiledPolicy,
    request: &ResolvedRequest,
    decision: &Decision,
) -> Option<String> {
    let word = |allowed: bool| if allowed { "allow" } else { "deny" };
    let lean = is_allowed(policy, request);
    if lean != decision.allowed {
        return Some(format!(
            "the lean path (`is_allowed`) says {}, the explained path {}",
            word(lean),
            decision.decision
        ));
    }
    let literal = allowed_point_by_point(policy, request);
    (literal != decision.allowed).then(|| {
        format!(
            "the rules point by point say {}, the explained path {}",
            word(literal),
            decision.decision
        )
    })
}

/// Every point of a request, data category by data category, with the
/// class its data is evaluated at.
fn points<'a>(
    policy: &'a CompiledPolicy,
    request: &'a ResolvedRequest,
) -> impl Iterator<Item = (Point, Class)> + 'a {
    let data = policy.taxonomy(Dimension::Data);
    let covered = Covered::by(policy, request);
    request.data.iter().flat_map(move |&item| {
        data.descendants(item).ones().flat_map(move |d| {
            let d = key_id(d);
            let class = request.class.max(data.class(d));
            covered.purposes.ones().flat_map(move |p| {
                covered.recipients.ones().map(move |r| {
                    let point = Point {
                        data: d,
                        purpose: key_id(p),
                        recipient: key_id(r),
                        action: request.action,
                        subject: request.subject,
                    };
                    (point, class)
                })
            })
        })
    })
}

/// The decision at one point, with the data evaluated at `class`, for
/// analysis: allowed or not, and the rules that decided (the denies that
/// fired, or the allows that allowed; none for a default deny).
pub fn point_outcome(
    policy: &CompiledPolicy,
    facts: &[Option<FactValue>],
    point: Point,
    class: Class,
) -> (bool, Vec<usize>) {
    let mut trace = Trace::default();
    let mut truths = Truths::new(&policy.index, facts);
    let allowed = point_allowed(policy, point, class, &mut trace, &mut truths);
    let rules = if allowed {
        trace.allows.iter().map(|(i, _)| *i).collect()
    } else {
        trace.denies.iter().map(|(i, _, _)| *i).collect()
    };
    (allowed, rules)
}

/// What a full evaluation records for the explanation.
#[derive(Default)]
struct Trace {
    /// Deny rules that fired, with the first point and whether on unknown.
    denies: Vec<(usize, Point, bool)>,
    /// Allow rules that allowed some point, with the first.
    allows: Vec<(usize, Point)>,
    /// Points no rule allowed (the first few), each with the allows that
    /// covered it but whose basis or condition was not met.
    uncovered: Vec<(Point, Vec<usize>)>,
    /// Allow rules that covered an uncovered point but whose condition failed.
    failed_allows: BTreeSet<usize>,
    missing: BTreeSet<FactId>,
    uncovered_count: usize,
    /// Scratch: the allows that failed at the point being decided.
    failed_here: Vec<usize>,
}

const MAX_UNCOVERED_SHOWN: usize = 3;
/// Points no rule allowed kept to choose the shown from: those at the keys
/// the request named come first.
const MAX_UNCOVERED_KEPT: usize = 64;

/// Evaluate without explanation: the lean path. It reads the policy's
/// [`DecisionIndex`] instead of its rules: first whether the request
/// meets a forbidden cell (an unconditional deny of everything there),
/// then per (data, purpose) cell, the denies that cover everything as one
/// mask of conditions and the others one by one, then per recipient the
/// allows left after pruning, broadest first. It evaluates each condition
/// at most once per request; one that reads the purpose again only when
/// the purpose moves to one of another signature (which of the purpose
/// sets it tests cover the purpose). It stops at the first point that is
/// not allowed, and allocates nothing.
pub fn is_allowed(policy: &CompiledPolicy, request: &ResolvedRequest) -> bool {
    let index = &policy.index;
    let data = policy.taxonomy(Dimension::Data);
    let Covered {
        purposes: purpose_set,
        recipients,
    } = Covered::by(policy, request);
    // What is never allowed first: a request with any point in a
    // forbidden cell is denied, so the points are not walked to find it.
    if request
        .data
        .iter()
        .any(|&item| index.forbids(data.descendants(item), purpose_set))
    {
        return false;
    }
    let recipient_word = KeyMask::word(recipients);
    let mut truths = Truths::new(index, &request.facts);
    // Purpose by purpose, so that what a condition says of the purpose is
    // worked out once for all the data.
    for p in purpose_set.ones() {
        let p = key_id(p);
        truths.at(p);
        for &item in &request.data {
            for d in data.descendants(item).ones() {
                let d = key_id(d);
                let class = request.class.max(data.class(d));
                if truths.any_not_false(index.deny_mask(d, p)) {
                    return false;
                }
                for check in index.denies(d, p) {
                    if check.actions.contains(request.action)
                        && check.subjects.contains(request.subject)
                        && check.recipients.meets(recipient_word, recipients)
                        && truths.get(check.condition) != Truth::False
                    {
                        return false;
                    }
                }
                for r in Keys::of(recipient_word, recipients) {
                    // The masks first: the truth of a condition, even
                    // remembered, costs more.
                    let allowed = index.allows(d, p, r).iter().any(|entry| {
                        entry.clearance >= class
                            && entry.actions.contains(request.action)
                            && entry.subjects.contains(request.subject)
                            && truths.get(entry.condition) == Truth::True
                    });
                    if !allowed {
                        return false;
                    }
                }
            }
        }
    }
    true
}

/// The keys of a set, lowest first: a word's bits where the set fits in
/// one (the standard recipients do), which is cheaper to walk for every
/// cell a request reads than the set itself.
enum Keys<'a> {
    Word(u64),
    Set(fixedbitset::Ones<'a>),
}

impl<'a> Keys<'a> {
    /// `set`, or `word` where it holds the same keys.
    #[inline]
    fn of(word: Option<u64>, set: &'a FixedBitSet) -> Self {
        match word {
            Some(word) => Keys::Word(word),
            None => Keys::Set(set.ones()),
        }
    }
}

impl Iterator for Keys<'_> {
    type Item = KeyId;

    #[inline]
    fn next(&mut self) -> Option<KeyId> {
        match self {
            Keys::Word(0) => None,
            Keys::Word(word) => {
                let key = word.trailing_zeros();
                *word &= *word - 1;
                Some(key)
            }
            Keys::Set(ones) => ones.next().map(key_id),
        }
    }
}

/// The truth of the index's conditions for one request, at the purpose
/// of the point being decided ([`Truths::at`]). The first 256 conditions
/// are remembered in bitsets on the stack; those that read the purpose are
/// forgotten when the purpose changes to one they can tell apart from the
/// last (of another signature).
struct Truths<'a> {
    index: &'a DecisionIndex,
    facts: &'a [Option<FactValue>],
    purpose: KeyId,
    /// What of `purpose` the conditions can see: see [`Truths::signature`].
    signature: u64,
    /// The request's values of the purpose sets that conditions test
    /// against the point's purpose, looked up once.
    purpose_sets: [Option<&'a FixedBitSet>; PURPOSE_SETS],
    known: [u64; 4],
    not_false: [u64; 4],
    true_: [u64; 4],
}

/// How many purpose sets [`Truths`] tells purposes apart by; a policy that
/// tests more against the point's purpose has its conditions that read the
/// purpose evaluated again at every purpose.
const PURPOSE_SETS: usize = 8;

/// The signature of every purpose when the policy tests more purpose sets
/// than [`PURPOSE_SETS`] against the point's purpose: the purpose itself,
/// marked.
const BY_PURPOSE: u64 = 1 << 63;

/// No purpose's signature: no condition that reads the purpose is known.
const UNKNOWN_SIGNATURE: u64 = u64::MAX;

impl<'a> Truths<'a> {
    fn new(index: &'a DecisionIndex, facts: &'a [Option<FactValue>]) -> Self {
        let mut purpose_sets = [None; PURPOSE_SETS];
        for (set, &fact) in purpose_sets.iter_mut().zip(&index.purpose_facts) {
            if let Some(Some(FactValue::Purposes { covered, .. })) = facts.get(fact as usize) {
                *set = Some(covered);
            }
        }
        Truths {
            index,
            facts,
            // No purpose yet: nothing is known, so the first purpose
            // forgets nothing.
            purpose: KeyId::MAX,
            signature: UNKNOWN_SIGNATURE,
            purpose_sets,
            known: [0; 4],
            not_false: [0; 4],
            true_: [0; 4],
        }
    }

    /// One bit for each purpose set tested against the point's purpose
    /// that covers `purpose`. Those sets are all a condition reads of the
    /// purpose, so at two purposes of equal signature every condition has
    /// the same truth, and what was learnt at one holds at the other.
    #[inline]
    fn signature(&self, purpose: KeyId) -> u64 {
        if self.index.purpose_facts.len() > PURPOSE_SETS {
            return BY_PURPOSE | u64::from(purpose);
        }
        let tested = self.index.purpose_facts.len();
        let mut signature = 0;
        for (bit, set) in self.purpose_sets.iter().take(tested).enumerate() {
            if set.is_some_and(|set| set.contains(purpose as usize)) {
                signature |= 1 << bit;
            }
        }
        signature
    }

    /// Decide at `purpose` from now on: forget what the conditions that
    /// read the purpose were found to be at a purpose they can tell apart
    /// from it. The signatures are compared only when there is something
    /// to forget; until a condition that reads the purpose is learnt, the
    /// purpose's signature stays unknown.
    #[inline]
    fn at(&mut self, purpose: KeyId) {
        if purpose == self.purpose {
            return;
        }
        self.purpose = purpose;
        let readers_known = self
            .known
            .iter()
            .zip(self.index.purpose_readers)
            .any(|(known, readers)| known & readers != 0);
        if !readers_known {
            self.signature = UNKNOWN_SIGNATURE;
            return;
        }
        let signature = self.signature(purpose);
        if signature != self.signature {
            self.signature = signature;
            for (known, readers) in self.known.iter_mut().zip(self.index.purpose_readers) {
                *known &= !readers;
            }
        }
    }

    /// Whether any condition of `mask` (one bit each, the first 64) is not
    /// false: a deny under it fires.
    #[inline]
    fn any_not_false(&mut self, mask: u64) -> bool {
        if mask & self.known[0] & self.not_false[0] != 0 {
            return true;
        }
        let mut unknown = mask & !self.known[0];
        while unknown != 0 {
            let id = unknown.trailing_zeros();
            unknown &= unknown - 1;
            if self.learn(id, None) != Truth::False {
                return true;
            }
        }
        false
    }

    /// The truth learnt before of condition `id`, if it was.
    #[inline]
    fn remembered(&self, id: CondId) -> Option<Truth> {
        let slot = (id / 64) as usize;
        let bit = 1u64 << (id % 64);
        let (known, not_false, true_) = (
            self.known.get(slot)?,
            self.not_false.get(slot)?,
            self.true_.get(slot)?,
        );
        (known & bit != 0).then(|| match (not_false & bit != 0, true_ & bit != 0) {
            (false, _) => Truth::False,
            (true, false) => Truth::Unknown,
            (true, true) => Truth::True,
        })
    }

    /// The truth of `condition` (`None` needs nothing: true).
    #[inline]
    fn get(&mut self, condition: Option<CondId>) -> Truth {
        let Some(id) = condition else {
            return Truth::True;
        };
        match self.remembered(id) {
            Some(truth) => truth,
            None => self.learn(id, None),
        }
    }

    /// The truth of `condition`; when it is unknown, the facts that were
    /// missing are added to `missing`.
    fn noting(&mut self, condition: Option<CondId>, missing: &mut BTreeSet<FactId>) -> Truth {
        let Some(id) = condition else {
            return Truth::True;
        };
        match self.remembered(id) {
            // Unknown is the rare case; what was missing is looked up
            // again rather than remembered, so that a truth first learnt
            // without noting still notes here.
            Some(truth) if truth != Truth::Unknown => truth,
            _ => self.learn(id, Some(missing)),
        }
    }

    /// Evaluate condition `id` and remember its truth.
    #[inline(never)]
    fn learn(&mut self, id: CondId, missing: Option<&mut BTreeSet<FactId>>) -> Truth {
        let Some(indexed) = self.index.conditions.get(id as usize) else {
            // Not in the index: unknown, which allows nothing and lets
            // every deny fire.
            return Truth::Unknown;
        };
        if indexed.reads_purpose && self.signature == UNKNOWN_SIGNATURE {
            // What is learnt now holds at the purposes of this signature.
            self.signature = self.signature(self.purpose);
        }
        let truth = indexed.cond.eval(self.facts, self.purpose, &mut |_| {});
        if let (Truth::Unknown, Some(missing)) = (truth, missing) {
            // Again, to learn which facts were read and missing: unknown
            // is the rarer outcome, and this keeps the common one free of
            // any bookkeeping.
            indexed.cond.eval(self.facts, self.purpose, &mut |fact| {
                missing.insert(fact);
            });
        }
        let slot = (id / 64) as usize;
        let bit = 1u64 << (id % 64);
        if let (Some(known), Some(not_false), Some(true_)) = (
            self.known.get_mut(slot),
            self.not_false.get_mut(slot),
            self.true_.get_mut(slot),
        ) {
            *known |= bit;
            if truth != Truth::False {
                *not_false |= bit;
            } else {
                *not_false &= !bit;
            }
            if truth == Truth::True {
                *true_ |= bit;
            } else {
                *true_ &= !bit;
            }
        }
        truth
    }
}

/// Evaluate and explain.
pub fn decide(policy: &CompiledPolicy, request: &ResolvedRequest) -> Decision {
    let mut trace = Trace::default();
    let allowed = walk(policy, request, &mut trace);
    explain(policy, request, allowed, &trace)
}

/// Visit every point, recording everything the explanation needs, and
/// keep going after a point that is not allowed.
fn walk(policy: &CompiledPolicy, request: &ResolvedRequest, trace: &mut Trace) -> bool {
    let mut truths = Truths::new(&policy.index, &request.facts);
    let mut allowed = true;
    for (point, class) in points(policy, request) {
        allowed &= point_allowed(policy, point, class, trace, &mut truths);
    }
    allowed
}

/// Whether a rule filed in the point's cell covers the point: the cell
/// already holds only rules on its data category and purpose.
pub(crate) fn covers(rule: &CompiledRule, point: Point) -> bool {
    rule.covers(Dimension::Recipient, point.recipient)
        && rule.covers(Dimension::Action, point.action)
        && rule.covers(Dimension::Subject, point.subject)
}

/// The condition an allow needs: its basis's requirement and its own.
fn allow_truth(conditions: RuleConditions, trace: &mut Trace, truths: &mut Truths) -> Truth {
    let basis = truths.noting(conditions.basis, &mut trace.missing);
    if basis == Truth::False {
        return Truth::False;
    }
    let own = truths.noting(conditions.own, &mut trace.missing);
    match (basis, own) {
        (Truth::True, Truth::True) => Truth::True,
        (_, Truth::False) => Truth::False,
        _ => Truth::Unknown,
    }
}

fn point_allowed(
    policy: &CompiledPolicy,
    point: Point,
    class: Class,
    trace: &mut Trace,
    truths: &mut Truths,
) -> bool {
    truths.at(point.purpose);
    let candidates = policy.index.rules(point.data, point.purpose);
    let mut denied = false;
    for &index in candidates.denies {
        let index = index as usize;
        let (Some(rule), Some(conditions)) = (
            policy.rules.get(index),
            policy.index.rule_conditions.get(index),
        ) else {
            continue;
        };
        if !covers(rule, point) {
            continue;
        }
        let fired = truths.noting(conditions.own, &mut trace.missing);
        if fired != Truth::False {
            denied = true;
            if !trace.denies.iter().any(|(i, _, _)| *i == index) {
                trace.denies.push((index, point, fired == Truth::Unknown));
            }
        }
    }
    if denied {
        // For hints: which allows would have applied, and failed.
        for &index in candidates.allows {
            let Some(rule) = policy.rules.get(index as usize) else {
                continue;
            };
            if rule.clearance >= class && covers(rule, point) {
                trace.failed_allows.insert(index as usize);
            }
        }
        return false;
    }
    let mut allowed = false;
    trace.failed_here.clear();
    for &index in candidates.allows {
        let index = index as usize;
        let (Some(rule), Some(&conditions)) = (
            policy.rules.get(index),
            policy.index.rule_conditions.get(index),
        ) else {
            continue;
        };
        // An allow applies only to data evaluated at a class it reaches:
        // combined personal data is personal data.
        if rule.clearance < class || !covers(rule, point) {
            continue;
        }
        if allow_truth(conditions, trace, truths) == Truth::True {
            allowed = true;
            if !trace.allows.iter().any(|(i, _)| *i == index) {
                trace.allows.push((index, point));
            }
        } else {
            trace.failed_here.push(index);
        }
    }
    if !allowed {
        trace.uncovered_count += 1;
        if trace.uncovered.len() < MAX_UNCOVERED_KEPT {
            trace.uncovered.push((point, trace.failed_here.clone()));
        }
        trace.failed_allows.extend(trace.failed_here.drain(..));
    }
    allowed
}

fn describe_point(policy: &CompiledPolicy, point: Point) -> String {
    format!(
        "{} for {} to {} ({}, {})",
        policy.taxonomy(Dimension::Data).key(point.data),
        policy.taxonomy(Dimension::Purpose).key(point.purpose),
        policy.taxonomy(Dimension::Recipient).key(point.recipient),
        policy.taxonomy(Dimension::Action).key(point.action),
        policy.taxonomy(Dimension::Subject).key(point.subject),
    )
}

fn explain(
    policy: &CompiledPolicy,
    request: &ResolvedRequest,
    allowed: bool,
    trace: &Trace,
) -> Decision {
    let rule_reason = |index: usize, detail: String| -> Option<Reason> {
        let rule = policy.rules.get(index)?;
        Some(Reason {
            rule: rule.location.to_string(),
            effect: rule.effect.as_str(),
            cite: rule.cite.as_deref().map(str::to_string),
            detail,
        })
    };
    let mut reasons: Vec<Reason> = Vec::new();
    let mut basis = None;
    let mut obligations = Vec::new();
    let mut hints = Vec::new();
    if allowed {
        let mut bases: Vec<&str> = Vec::new();
        let mut allows = trace.allows.clone();
        allows.sort_by_key(|(i, _)| *i);
        for (index, point) in allows {
            reasons.extend(rule_reason(
                index,
                format!("allows {}", describe_point(policy, point)),
            ));
            if let Some(rule) = policy.rules.get(index) {
                if let Some(b) = rule.basis.and_then(|b| policy.bases.get(b)) {
                    if !bases.contains(&&*b.name) {
                        bases.push(&b.name);
                    }
                }
                obligations.extend(rule.obligations.iter().map(|o| o.to_string()));
            }
        }
        // Sorted, so that the order of rules never shows in a decision.
        bases.sort_unstable();
        basis = (!bases.is_empty()).then(|| bases.join(", "));
        obligations.sort();
        obligations.dedup();
    } else {
        for (index, point, on_unknown) in &trace.denies {
            let unknown = if *on_unknown {
                " (its condition could not be ruled out)"
            } else {
                ""
            };
            reasons.extend(rule_reason(
                *index,
                format!("forbids {}{unknown}", describe_point(policy, *point)),
            ));
        }
        if trace.denies.is_empty() {
            // The points at the keys the caller named first: a sub-key it
            // never asked about is shown only where nothing else is wrong.
            let named = |point: &Point| {
                request.data.contains(&point.data)
                    && request.purpose.is_none_or(|p| p == point.purpose)
            };
            let mut shown: Vec<&(Point, Vec<usize>)> =
                trace.uncovered.iter().filter(|(p, _)| named(p)).collect();
            if shown.is_empty() {
                shown.extend(&trace.uncovered);
            }
            shown.truncate(MAX_UNCOVERED_SHOWN);
            for (point, failed) in &shown {
                reasons.push(Reason {
                    rule: "default".into(),
                    effect: "deny",
                    cite: None,
                    detail: why_not(policy, request, *point, failed),
                });
            }
            if trace.uncovered_count > shown.len() {
                if let Some(last) = reasons.last_mut() {
                    let more = trace.uncovered_count - shown.len();
                    let noun = if more == 1 {
                        "combination"
                    } else {
                        "combinations"
                    };
                    last.detail.push_str(&format!(" (and {more} more {noun})"));
                }
            }
        }
        hints = find_hints(policy, request, trace);
    }
    reasons.sort_by_key(|r| natural_location(&r.rule));
    Decision {
        allowed,
        decision: if allowed { "allow" } else { "deny" },
        class: Some(request.class.as_str()),
        reasons,
        basis,
        obligations,
        missing_facts: trace
            .missing
            .iter()
            .filter_map(|f| policy.facts.get(*f as usize))
            .map(|f| f.name.to_string())
            .collect(),
        hints,
    }
}

/// Why no rule allowed `point`: "no rule allows" only where none covers
/// it; otherwise which allow would, and what of its basis or condition the
/// request did not meet.
fn why_not(
    policy: &CompiledPolicy,
    request: &ResolvedRequest,
    point: Point,
    failed: &[usize],
) -> String {
    let described = describe_point(policy, point);
    let Some((first, rule)) = failed
        .iter()
        .find_map(|&index| Some((index, policy.rules.get(index)?)))
    else {
        return format!("no rule allows {described}");
    };
    let mut lacks: Vec<String> = Vec::new();
    let truth = |cond: &Cond, missing: &mut Vec<FactId>| {
        cond.eval(&request.facts, point.purpose, &mut |f| missing.push(f))
    };
    if let Some(basis) = rule.basis.and_then(|b| policy.bases.get(b)) {
        if let Some(requires) = &basis.requires {
            if truth(requires, &mut Vec::new()) != Truth::True {
                let mut changes = Vec::new();
                positive_changes(requires, &[point.purpose], true, &mut changes);
                let wanted: Vec<String> = changes
                    .into_iter()
                    .filter_map(|change| still_needed(request, change))
                    .map(|change| describe_change(policy, &change))
                    .collect();
                lacks.push(match wanted.first() {
                    Some(wanted) => format!("{wanted} (basis {})", basis.name),
                    None => format!(
                        "basis {} (`{}`)",
                        basis.name,
                        crate::graph::condition_text(policy, requires, 0)
                    ),
                });
            }
        }
    }
    if let Some(condition) = &rule.condition {
        let mut missing = Vec::new();
        let text = crate::graph::condition_text(policy, condition, 0);
        match truth(condition, &mut missing) {
            Truth::True => {}
            Truth::False => lacks.push(format!("`{text}`, which is false here")),
            Truth::Unknown => {
                let names: Vec<&str> = missing
                    .iter()
                    .filter_map(|f| policy.facts.get(usize::from(*f)))
                    .map(|f| &*f.name)
                    .collect();
                lacks.push(format!(
                    "`{text}`, which the request leaves open (no {})",
                    names.join(", ")
                ))
            }
        }
    }
    let cite = rule
        .cite
        .as_deref()
        .map_or(String::new(), |c| format!(" [{c}]"));
    let others = failed.iter().filter(|&&i| i != first).count();
    let also = match others {
        0 => String::new(),
        1 => " (and 1 other rule would, under its own terms)".to_string(),
        n => format!(" (and {n} other rules would, under their own terms)"),
    };
    format!(
        "{}{cite} allows {described} only with {}; the request does not meet it{also}",
        rule.location,
        lacks.join(" and ")
    )
}

/// Sort `file:10:1` after `file:9:1`.
fn natural_location(location: &str) -> (String, usize, usize) {
    let mut parts = location.rsplitn(3, ':');
    let column = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    (parts.next().unwrap_or(location).to_string(), line, column)
}

/// A change to a request's context that a hint proposes.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    AddPurposes(FactId, Vec<KeyId>),
    AddMembers(FactId, u64),
    SetBool(FactId, bool),
}

/// Changes to the context that would let the failed allows apply. Each is
/// tried, and only those that really turn the decision into an allow are
/// offered, so every hint is sound.
fn find_hints(policy: &CompiledPolicy, request: &ResolvedRequest, trace: &Trace) -> Vec<String> {
    let purposes_of = |rule: &CompiledRule| -> Vec<KeyId> {
        match request.purpose {
            Some(p) => vec![p],
            None => rule.written[Dimension::Purpose].clone(),
        }
    };
    // What would let each failed allow apply...
    let mut enabling: Vec<Vec<Change>> = Vec::new();
    for &index in &trace.failed_allows {
        let Some(rule) = policy.rules.get(index) else {
            continue;
        };
        let purposes = purposes_of(rule);
        let mut changes = Vec::new();
        // Of a basis that several facts satisfy (consent, or explicit
        // consent), the first and weakest is proposed.
        if let Some(basis) = rule
            .basis
            .and_then(|b| policy.bases.get(b))
            .and_then(|b| b.requires.as_ref())
        {
            positive_changes(basis, &purposes, true, &mut changes);
        }
        if let Some(condition) = &rule.condition {
            positive_changes(condition, &purposes, true, &mut changes);
        }
        enabling.push(changes);
    }
    // ... and the ways to stop every deny that fired: one way for each,
    // so a deny of "A and not B" is stopped by granting B alone.
    let mut stopping: Vec<Vec<Change>> = vec![Vec::new()];
    for (index, _, _) in &trace.denies {
        let Some(rule) = policy.rules.get(*index) else {
            continue;
        };
        // An unconditional deny cannot be lifted by the request, nor one
        // that only facts nobody grants (an age) could stop.
        let Some(condition) = &rule.condition else {
            return Vec::new();
        };
        let ways = ways_to_make(condition, &purposes_of(rule), false);
        if ways.is_empty() {
            return Vec::new();
        }
        stopping = each_with_each(&stopping, &ways, MAX_WAYS);
    }
    let proposals: Vec<Vec<Change>> = if trace.denies.is_empty() {
        enabling
    } else if enabling.is_empty() {
        stopping
    } else {
        each_with_each(&enabling, &stopping, MAX_WAYS * MAX_WAYS)
    };
    let mut hints = Vec::new();
    for proposal in proposals {
        let mut changes: Vec<Change> = Vec::new();
        for change in proposal {
            if let Some(change) = still_needed(request, change) {
                if !changes.contains(&change) {
                    changes.push(change);
                }
            }
        }
        if changes.is_empty() {
            continue;
        }
        let mut changed = request.clone();
        for change in &changes {
            apply(policy, &mut changed, change);
        }
        if changed != *request && is_allowed(policy, &changed) {
            let text = format!(
                "allowed with {}",
                changes
                    .iter()
                    .map(|c| describe_change(policy, c))
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
            if !hints.contains(&text) {
                hints.push(text);
            }
        }
    }
    hints.sort();
    hints
}

/// Every change set of `firsts` joined with every one of `seconds`, the
/// first `most` of them: each way of doing one thing and then another.
fn each_with_each(
    firsts: &[Vec<Change>],
    seconds: &[Vec<Change>],
    most: usize,
) -> Vec<Vec<Change>> {
    firsts
        .iter()
        .flat_map(|first| {
            seconds.iter().map(move |second| {
                let mut both = first.clone();
                both.extend(second.iter().cloned());
                both
            })
        })
        .take(most)
        .collect()
}

/// The most ways of stopping the fired denies that hints try.
const MAX_WAYS: usize = 16;

/// Ways of changing the context, each enough on its own to make `cond`
/// read with `polarity` (true: hold; false: fail), among the facts a
/// subject or a service can grant: consents, members, flags. No way: the
/// request cannot change it (an age, say). Each way is tried before it is
/// offered as a hint.
fn ways_to_make(cond: &Cond, purposes: &[KeyId], polarity: bool) -> Vec<Vec<Change>> {
    let mut ways = match cond {
        Cond::Not(inner) => ways_to_make(inner, purposes, !polarity),
        // Either part failing, or (for `or`) either holding, is enough.
        Cond::And(parts) if !polarity => parts
            .iter()
            .flat_map(|p| ways_to_make(p, purposes, polarity))
            .collect(),
        Cond::Or(parts) if polarity => parts
            .iter()
            .flat_map(|p| ways_to_make(p, purposes, polarity))
            .collect(),
        _ => {
            let mut changes = Vec::new();
            positive_changes(cond, purposes, polarity, &mut changes);
            if changes.is_empty() {
                Vec::new()
            } else {
                vec![changes]
            }
        }
    };
    ways.truncate(MAX_WAYS);
    ways
}

/// Changes that make `cond` (read with `polarity`) more true. Only facts
/// a subject or a service can grant are proposed: consents, members, flags.
fn positive_changes(cond: &Cond, purposes: &[KeyId], polarity: bool, out: &mut Vec<Change>) {
    match cond {
        Cond::Test(fact) => out.push(Change::SetBool(*fact, polarity)),
        Cond::BoolIs(fact, value) => out.push(Change::SetBool(*fact, *value == polarity)),
        Cond::PurposeMember {
            fact,
            keys,
            request_purpose,
        } if polarity => {
            let mut wanted = keys.clone();
            if *request_purpose {
                wanted.extend_from_slice(purposes);
            }
            if !wanted.is_empty() {
                out.push(Change::AddPurposes(*fact, wanted));
            }
        }
        Cond::EnumMember { fact, mask } if polarity => {
            // The lowest member is enough for "any of".
            out.push(Change::AddMembers(*fact, mask & mask.wrapping_neg()));
        }
        Cond::Not(inner) => positive_changes(inner, purposes, !polarity, out),
        Cond::And(parts) if polarity => parts
            .iter()
            .for_each(|p| positive_changes(p, purposes, polarity, out)),
        Cond::Or(parts) if !polarity => parts
            .iter()
            .for_each(|p| positive_changes(p, purposes, polarity, out)),
        Cond::Or(parts) if polarity => {
            if let Some(first) = parts.first() {
                positive_changes(first, purposes, polarity, out);
            }
        }
        _ => {}
    }
}

/// The part of a change the request does not already have: no hint asks
/// for a consent that was given, or a flag that is already set.
fn still_needed(request: &ResolvedRequest, change: Change) -> Option<Change> {
    let current = |fact: FactId| request.facts.get(fact as usize).and_then(Option::as_ref);
    match change {
        Change::SetBool(fact, value) => {
            (current(fact) != Some(&FactValue::Bool(value))).then_some(Change::SetBool(fact, value))
        }
        Change::AddPurposes(fact, keys) => {
            let missing: Vec<KeyId> = match current(fact) {
                Some(FactValue::Purposes { covered, .. }) => keys
                    .into_iter()
                    .filter(|k| !covered.contains(*k as usize))
                    .collect(),
                _ => keys,
            };
            (!missing.is_empty()).then_some(Change::AddPurposes(fact, missing))
        }
        Change::AddMembers(fact, mask) => {
            let held = match current(fact) {
                Some(FactValue::Members(held)) => *held,
                _ => 0,
            };
            (mask & !held != 0).then_some(Change::AddMembers(fact, mask & !held))
        }
    }
}

fn apply(policy: &CompiledPolicy, request: &mut ResolvedRequest, change: &Change) {
    match change {
        Change::SetBool(fact, value) => {
            if let Some(slot) = request.facts.get_mut(*fact as usize) {
                *slot = Some(FactValue::Bool(*value));
            }
        }
        Change::AddPurposes(fact, keys) => {
            let purposes = policy.taxonomy(Dimension::Purpose);
            if let Some(slot) = request.facts.get_mut(*fact as usize) {
                let (mut listed, mut covered) = match slot.take() {
                    Some(FactValue::Purposes { listed, covered }) => (listed, covered),
                    _ => (
                        Vec::new(),
                        fixedbitset::FixedBitSet::with_capacity(purposes.len()),
                    ),
                };
                for &key in keys {
                    if !listed.contains(&key) {
                        listed.push(key);
                        covered.union_with(purposes.descendants(key));
                    }
                }
                *slot = Some(FactValue::Purposes { listed, covered });
            }
        }
        Change::AddMembers(fact, mask) => {
            if let Some(slot) = request.facts.get_mut(*fact as usize) {
                let held = match slot {
                    Some(FactValue::Members(held)) => *held,
                    _ => 0,
                };
                *slot = Some(FactValue::Members(held | mask));
            }
        }
    }
}

fn describe_change(policy: &CompiledPolicy, change: &Change) -> String {
    let name = |fact: &FactId| policy.facts.get(*fact as usize).map_or("?", |f| &*f.name);
    match change {
        Change::SetBool(fact, value) => format!("{} = {value}", name(fact)),
        Change::AddPurposes(fact, keys) => format!(
            "{} to {}",
            name(fact),
            keys.iter()
                .map(|k| policy.taxonomy(Dimension::Purpose).key(*k))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Change::AddMembers(fact, mask) => {
            let members: Vec<Arc<str>> = match policy.facts.get(*fact as usize).map(|f| &f.kind) {
                Some(FactKind::EnumSet(members)) => members.clone(),
                _ => Vec::new(),
            };
            let chosen: Vec<&str> = members
                .iter()
                .enumerate()
                .filter(|(bit, _)| mask & (1 << bit) != 0)
                .map(|(_, m)| &**m)
                .collect();
            format!("{} including {}", name(fact), chosen.join(", "))
        }
    }
}
