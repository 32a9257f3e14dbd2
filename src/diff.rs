//! `privet diff`: exactly which requests two policies decide differently.
//!
//! The request space is finite: keys of five taxonomies, and facts whose
//! values matter only relative to the constants the conditions compare them
//! with. The diff walks it without sampling, but not key by key: keys that
//! every rule of both policies treats alike (same coverage, same class, same
//! relation to the purposes conditions name) form one *atom*, and one
//! representative decides for all. Facts are enumerated over representative
//! values — each boolean both ways, each number on both sides of every
//! threshold, each set over the members the conditions name, and *unknown*
//! where a fact has no default — only for the facts the rules at a point
//! read. Differences are then merged back into regions described by the
//! broadest keys they cover, and fact conditions by the values that change.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use fixedbitset::FixedBitSet;
use serde::Serialize;

use crate::compile::{self, CompiledPolicy, Cond, FactKind, FactValue, KeyId, Taxonomy, regions};
use crate::eval::{Point, covers, point_outcome_partial};
use crate::limits::{MAX_DIFF_VALUATIONS, MAX_DIFF_VALUES};
use crate::limits::{fact_id, key_id};
use crate::syntax::{ByDimension, Class, Dimension};

/// A region of requests decided differently, and why on each side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// `"allow"` or `"deny"` under the old policy.
    pub old: &'static str,
    /// `"allow"` or `"deny"` under the new policy.
    pub new: &'static str,
    /// The broadest keys of each dimension the change covers; a dimension
    /// whose every key is covered holds `["any"]`.
    pub data: Vec<String>,
    pub purposes: Vec<String>,
    pub recipients: Vec<String>,
    pub actions: Vec<String>,
    pub subjects: Vec<String>,
    /// Set when the change holds only while the data is combined with data
    /// of a higher class (`"personal"`: combined with personal data).
    pub combined_with: Option<&'static str>,
    /// The fact values under which the decision changes; empty: always.
    pub when: Vec<String>,
    pub old_rules: Vec<RuleRef>,
    pub new_rules: Vec<RuleRef>,
    /// Every key of each dimension the change covers, not just the broadest
    /// (for tools that check a request against the change).
    #[serde(skip)]
    pub keys: ByDimension<BTreeSet<String>>,
}

impl Change {
    /// Whether a point (one key per dimension) lies in this change's region,
    /// whatever the facts.
    pub fn covers(&self, point: [&str; 5]) -> bool {
        Dimension::ALL
            .iter()
            .zip(point)
            .all(|(d, key)| self.keys[*d].contains(key))
    }
}

/// A rule that decided, on one side.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RuleRef {
    pub rule: String,
    pub effect: &'static str,
    pub cite: Option<String>,
}

/// Everything that differs between two policies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDiff {
    pub changes: Vec<Change>,
    /// Keys and facts only one of the policies knows; requests naming them
    /// are errors under the other, and are not compared.
    pub vocabulary: Vec<String>,
    /// Why the changes may not be all of them: each a bound of the search
    /// that was reached. Empty: the changes are exactly every request the
    /// two policies decide differently.
    pub incomplete: Vec<String>,
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether the changes are every difference there is.
    pub fn is_complete(&self) -> bool {
        self.incomplete.is_empty()
    }
}

/// One atom: keys every rule treats alike, with ids in both policies.
#[derive(Debug, Clone)]
struct Atom {
    keys: Vec<String>,
    old: KeyId,
    new: KeyId,
}

/// The shared keys of one dimension, split into atoms.
struct Dim {
    atoms: Vec<Atom>,
    /// Every shared key, for "any".
    universe: BTreeSet<String>,
}

/// Every purpose key a condition of the policy names, by name.
fn named_purposes(policy: &CompiledPolicy) -> BTreeSet<String> {
    let taxonomy = policy.taxonomy(Dimension::Purpose);
    policy
        .regions
        .iter()
        .flat_map(|regions| &regions.purposes)
        .map(|&id| taxonomy.key(id).to_string())
        .collect()
}

/// The purposes conditions name for one purpose-set fact, by name.
fn named_for_fact(policy: &CompiledPolicy, fact: compile::FactId) -> BTreeSet<String> {
    let taxonomy = policy.taxonomy(Dimension::Purpose);
    policy
        .regions
        .get(usize::from(fact))
        .into_iter()
        .flat_map(|regions| &regions.purposes)
        .map(|&id| taxonomy.key(id).to_string())
        .collect()
}

fn atoms(
    dimension: Dimension,
    old: &CompiledPolicy,
    new: &CompiledPolicy,
    vocabulary: &mut Vec<String>,
) -> Dim {
    let (to, tn) = (old.taxonomy(dimension), new.taxonomy(dimension));
    for key in to.keys().filter(|k| tn.id(k).is_none()) {
        vocabulary.push(format!(
            "{} `{key}` only in the old policy",
            dimension.noun()
        ));
    }
    for key in tn.keys().filter(|k| to.id(k).is_none()) {
        vocabulary.push(format!(
            "{} `{key}` only in the new policy",
            dimension.noun()
        ));
    }
    let named: Vec<(KeyId, KeyId)> = if dimension == Dimension::Purpose {
        named_purposes(old)
            .union(&named_purposes(new))
            .filter_map(|k| Some((to.id(k)?, tn.id(k)?)))
            .collect()
    } else {
        Vec::new()
    };
    let mut by_signature: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut result: Vec<Atom> = Vec::new();
    let mut universe = BTreeSet::new();
    for key in to.keys() {
        let (Some(o), Some(n)) = (to.id(key), tn.id(key)) else {
            continue;
        };
        universe.insert(key.to_string());
        let mut signature: Vec<u8> = Vec::new();
        signature.extend(old.rules.iter().map(|r| u8::from(r.covers(dimension, o))));
        signature.extend(new.rules.iter().map(|r| u8::from(r.covers(dimension, n))));
        if dimension == Dimension::Data {
            signature.push(to.class(o) as u8);
            signature.push(tn.class(n) as u8);
        }
        for &(ko, _) in &named {
            // Whether consent to the named purpose covers this one, and
            // whether consent to this one covers the named purpose.
            signature.push(u8::from(to.descendants(ko).contains(o as usize)));
            signature.push(u8::from(to.descendants(o).contains(ko as usize)));
        }
        match by_signature.get(&signature) {
            Some(&index) => {
                if let Some(atom) = result.get_mut(index) {
                    atom.keys.push(key.to_string());
                }
            }
            None => {
                by_signature.insert(signature, result.len());
                result.push(Atom {
                    keys: vec![key.to_string()],
                    old: o,
                    new: n,
                });
            }
        }
    }
    Dim {
        atoms: result,
        universe,
    }
}

/// One representative value of a fact, as each policy reads it.
#[derive(Debug, Clone)]
struct Value {
    text: String,
    old: Option<FactValue>,
    new: Option<FactValue>,
}

/// The facts, by name, that both policies know.
struct SharedFact {
    name: Arc<str>,
    old: compile::FactId,
    new: compile::FactId,
    kind: FactKind,
}

/// Representative values of a fact at a point whose purpose is `purpose`
/// (the name of the atom's representative): one for each set of values
/// that the conditions of both policies tell apart, and *unknown* where
/// the fact has no default. `Err` says why they are too many to try.
fn domain(
    fact: &SharedFact,
    old: &CompiledPolicy,
    new: &CompiledPolicy,
    purpose: &str,
) -> Result<Vec<Value>, String> {
    let old_def = old.facts.get(usize::from(fact.old));
    let new_def = new.facts.get(usize::from(fact.new));
    let has_default = old_def.is_some_and(|d| d.default.is_some())
        && new_def.is_some_and(|d| d.default.is_some());
    let regions = |policy: &CompiledPolicy, id: compile::FactId| {
        policy
            .regions
            .get(usize::from(id))
            .cloned()
            .unwrap_or_default()
    };
    let (old_regions, new_regions) = (regions(old, fact.old), regions(new, fact.new));
    let too_many = |what: String| {
        format!(
            "`{}` has {what}; the diff tries at most {MAX_DIFF_VALUES} values of one fact",
            fact.name
        )
    };
    let mut values = Vec::new();
    let both = |text: String, value: FactValue| Value {
        text,
        old: Some(value.clone()),
        new: Some(value),
    };
    let name = &fact.name;
    match &fact.kind {
        FactKind::Bool => {
            values.push(both(format!("{name} = false"), FactValue::Bool(false)));
            values.push(both(format!("{name} = true"), FactValue::Bool(true)));
        }
        FactKind::Int => {
            let bounds = union(&old_regions.starts, &new_regions.starts);
            if bounds.len() >= MAX_DIFF_VALUES {
                return Err(too_many(format!("{} thresholds", bounds.len())));
            }
            // Region `i` runs from its representative up to the next start.
            for (i, low) in regions::region_representatives(&bounds)
                .into_iter()
                .enumerate()
            {
                let text = match (i, bounds.get(i)) {
                    (_, None) if bounds.is_empty() => format!("any {name}"),
                    (0, _) => format!("{name} <= {low}"),
                    (_, Some(&next)) if next.saturating_sub(1) == low => format!("{name} = {low}"),
                    (_, Some(&next)) => format!("{low} <= {name} <= {}", next.saturating_sub(1)),
                    (_, None) => format!("{name} >= {low}"),
                };
                values.push(both(text, FactValue::Int(low)));
            }
        }
        FactKind::PurposeSet => {
            // The request's purpose and the purposes conditions name, in
            // every way a listing can cover them.
            let mut candidates = vec![purpose.to_string()];
            candidates.extend(
                named_for_fact(old, fact.old)
                    .union(&named_for_fact(new, fact.new))
                    .filter(|k| *k != purpose)
                    .cloned(),
            );
            let covers = |listed: &String, candidate: &String| {
                let in_policy = |policy: &CompiledPolicy| {
                    let taxonomy = policy.taxonomy(Dimension::Purpose);
                    match (taxonomy.id(listed), taxonomy.id(candidate)) {
                        (Some(l), Some(c)) => taxonomy.descendants(l).contains(c as usize),
                        _ => false,
                    }
                };
                u8::from(in_policy(old)) | (u8::from(in_policy(new)) << 1)
            };
            let listings = regions::purpose_listings(&candidates, covers, MAX_DIFF_VALUES)
                .ok_or_else(|| {
                    format!(
                        "`{name}` is tested for more purposes than the diff tries every listing of (at most {} with the request's own; 2 to the power of that many listings)",
                        MAX_DIFF_VALUES.ilog2()
                    )
                })?;
            for listed in listings {
                let text = if listed.is_empty() {
                    format!("no {name}")
                } else {
                    let shown: Vec<&str> = listed
                        .iter()
                        .map(|k| if k == purpose { "the purpose" } else { k })
                        .collect();
                    format!("{name} to {}", shown.join(", "))
                };
                let resolve = |policy: &CompiledPolicy| {
                    compile::purpose_set(
                        listed.iter().map(String::as_str),
                        policy.taxonomy(Dimension::Purpose),
                    )
                    .ok()
                };
                values.push(Value {
                    text,
                    old: resolve(old),
                    new: resolve(new),
                });
            }
        }
        FactKind::EnumSet(members) => {
            let masks = union(&old_regions.masks, &new_regions.masks);
            let classes = regions::member_classes(&masks, MAX_DIFF_VALUES)
                .ok_or_else(|| too_many(format!("{} sets of members asked about", masks.len())))?;
            let member_names = |group: u64| -> Vec<&str> {
                members
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| group & (1u64 << bit) != 0)
                    .map(|(_, m)| &**m)
                    .collect()
            };
            for groups in classes {
                let text = if groups.is_empty() {
                    format!("no {name}")
                } else {
                    let shown: Vec<String> = groups
                        .iter()
                        .map(|&group| match member_names(group).as_slice() {
                            [one] => (*one).to_string(),
                            several => format!("one of ({})", several.join(", ")),
                        })
                        .collect();
                    format!("{name} include {}", shown.join(", "))
                };
                // One member of each group stands for the group.
                let held = groups
                    .iter()
                    .fold(0u64, |held, group| held | (group & group.wrapping_neg()));
                values.push(both(text, FactValue::Members(held)));
            }
        }
    }
    if !has_default {
        values.push(Value {
            text: format!("{name} unknown"),
            old: None,
            new: None,
        });
    }
    Ok(values)
}

/// What either policy tells apart, ascending, each once.
fn union<T: Ord + Copy>(old: &[T], new: &[T]) -> Vec<T> {
    let both: BTreeSet<T> = old.iter().chain(new).copied().collect();
    both.into_iter().collect()
}

fn read_facts(cond: &Cond, out: &mut BTreeSet<compile::FactId>) {
    let mut facts = Vec::new();
    cond.facts(&mut facts);
    out.extend(facts);
}

trait BoxIndex {
    fn index_in_box(self) -> usize;
}

impl BoxIndex for Dimension {
    /// Where a dimension sits in a point's atoms: data, purpose, recipient,
    /// action, subject.
    fn index_in_box(self) -> usize {
        match self {
            Dimension::Data => 0,
            Dimension::Purpose => 1,
            Dimension::Recipient => 2,
            Dimension::Action => 3,
            Dimension::Subject => 4,
        }
    }
}

/// Whether any allow rule covers `point` (at some class).
fn any_allow_covers(policy: &CompiledPolicy, point: Point) -> bool {
    let candidates = policy.index.rules(point.data, point.purpose);
    candidates.allows.iter().any(|&index| {
        policy
            .rules
            .get(index as usize)
            .is_some_and(|rule| covers(rule, point))
    })
}

/// Whether an allow covering `point` reaches `low` but not `high`.
fn clearance_between(policy: &CompiledPolicy, point: Point, low: Class, high: Class) -> bool {
    let candidates = policy.index.rules(point.data, point.purpose);
    candidates.allows.iter().any(|&index| {
        policy.rules.get(index as usize).is_some_and(|rule| {
            rule.clearance >= low && rule.clearance < high && covers(rule, point)
        })
    })
}

/// The facts the rules covering a point read, on one side.
fn facts_at(policy: &CompiledPolicy, point: Point) -> BTreeSet<compile::FactId> {
    let mut facts = BTreeSet::new();
    let candidates = policy.index.rules(point.data, point.purpose);
    for &index in candidates.denies.iter().chain(candidates.allows) {
        let Some(rule) = policy.rules.get(index as usize) else {
            continue;
        };
        if !covers(rule, point) {
            continue;
        }
        if let Some(c) = &rule.condition {
            read_facts(c, &mut facts);
        }
        if let Some(c) = rule
            .basis
            .and_then(|b| policy.bases.get(b))
            .and_then(|b| b.requires.as_ref())
        {
            read_facts(c, &mut facts);
        }
    }
    facts
}

/// What one side decided at a point: allowed, and by which rules.
type Outcome = (bool, Vec<usize>);

/// A difference at one point, before merging: the atoms, the class the data
/// was evaluated at beyond its own, the fact values, both outcomes.
struct Difference {
    atoms: [usize; 5],
    combined_with: Option<Class>,
    /// The values of each read fact under which the outcomes differ.
    valuation: Cube,
    facts: Vec<usize>,
    old: Outcome,
    new: Outcome,
}

/// Compare two policies over every request both can read.
pub fn diff(old: &CompiledPolicy, new: &CompiledPolicy) -> PolicyDiff {
    let mut vocabulary = Vec::new();
    let dims: ByDimension<Dim> = ByDimension::from_fn(|d| atoms(d, old, new, &mut vocabulary));
    let shared: Vec<SharedFact> = old
        .facts
        .iter()
        .enumerate()
        .filter_map(|(o, def)| {
            let n = new.fact(&def.name)?;
            let new_kind = &new.facts.get(n as usize)?.kind;
            (*new_kind == def.kind).then(|| SharedFact {
                name: def.name.clone(),
                old: fact_id(o),
                new: n,
                kind: def.kind.clone(),
            })
        })
        .collect();
    for def in &old.facts {
        if !shared.iter().any(|f| f.name == def.name) {
            vocabulary.push(format!(
                "fact `{}` only in the old policy (or of another type)",
                def.name
            ));
        }
    }
    for def in &new.facts {
        if !shared.iter().any(|f| f.name == def.name) {
            vocabulary.push(format!(
                "fact `{}` only in the new policy (or of another type)",
                def.name
            ));
        }
    }
    let defaults = |policy: &CompiledPolicy| -> Vec<Option<FactValue>> {
        policy.facts.iter().map(|f| f.default.clone()).collect()
    };
    let (old_defaults, new_defaults) = (defaults(old), defaults(new));

    let [data, purposes, recipients, actions, subjects] = &dims.0;
    // The representative values of each fact depend only on the purpose.
    let mut domains: HashMap<(usize, usize), Vec<Value>> = HashMap::new();
    let mut incomplete = BTreeSet::new();
    for (pi, p) in purposes.atoms.iter().enumerate() {
        let purpose_name = p.keys.first().map_or("", String::as_str);
        for (fact, f) in shared.iter().enumerate() {
            match domain(f, old, new, purpose_name) {
                Ok(values) => {
                    domains.insert((fact, pi), values);
                }
                // A point that reads the fact is then not compared; the
                // diff says so instead of reporting fewer changes.
                Err(why) => {
                    incomplete.insert(why);
                }
            }
        }
    }
    let domains = &domains;
    let visit = |di: usize, d: &Atom, part: &mut Part| {
        let own_class = old
            .taxonomy(Dimension::Data)
            .class(d.old)
            .max(new.taxonomy(Dimension::Data).class(d.new));
        let classes: Vec<Class> = [Class::NonPersonal, Class::Personal, Class::Sensitive]
            .into_iter()
            .filter(|c| *c >= own_class)
            .collect();
        for (pi, p) in purposes.atoms.iter().enumerate() {
            for (ri, r) in recipients.atoms.iter().enumerate() {
                for (ai, a) in actions.atoms.iter().enumerate() {
                    for (si, s) in subjects.atoms.iter().enumerate() {
                        let old_point = Point {
                            data: d.old,
                            purpose: p.old,
                            recipient: r.old,
                            action: a.old,
                            subject: s.old,
                        };
                        let new_point = Point {
                            data: d.new,
                            purpose: p.new,
                            recipient: r.new,
                            action: a.new,
                            subject: s.new,
                        };
                        // With no allow covering the point on either side,
                        // both deny whatever the facts: nothing to compare.
                        if !any_allow_covers(old, old_point) && !any_allow_covers(new, new_point) {
                            continue;
                        }
                        let mut read: BTreeSet<usize> = BTreeSet::new();
                        let old_read = facts_at(old, old_point);
                        let new_read = facts_at(new, new_point);
                        for (index, fact) in shared.iter().enumerate() {
                            if old_read.contains(&fact.old) || new_read.contains(&fact.new) {
                                read.insert(index);
                            }
                        }
                        let read: Vec<usize> = read.into_iter().collect();
                        if read.iter().any(|fact| !domains.contains_key(&(*fact, pi))) {
                            part.uncompared += 1;
                            continue;
                        }
                        let mut here: Vec<Difference> = Vec::new();
                        for &class in &classes {
                            // Combined with higher-class data, a point decides
                            // differently only if an allow covering it stops
                            // reaching the class; otherwise the change found at
                            // the data's own class already covers it.
                            if class > own_class
                                && !clearance_between(old, old_point, own_class, class)
                                && !clearance_between(new, new_point, own_class, class)
                            {
                                continue;
                            }
                            let search = Search {
                                old,
                                new,
                                shared: &shared,
                                read: &read,
                                domains,
                                purpose_atom: pi,
                                old_point,
                                new_point,
                                class,
                                old_defaults: &old_defaults,
                                new_defaults: &new_defaults,
                            };
                            let mut assignment = vec![None; read.len()];
                            let mut state = search.start();
                            let mut budget = MAX_DIFF_VALUATIONS;
                            search.run(
                                &mut state,
                                &mut assignment,
                                &mut budget,
                                &mut |cube, o, n| {
                                    here.push(Difference {
                                        atoms: [di, pi, ri, ai, si],
                                        combined_with: (class > own_class).then_some(class),
                                        valuation: cube,
                                        facts: read.clone(),
                                        old: o,
                                        new: n,
                                    });
                                },
                            );
                            if budget == 0 {
                                part.exhausted += 1;
                            }
                        }
                        if !here.is_empty() {
                            group_point(here, domains, &mut part.groups);
                        }
                    }
                }
            }
        }
    };
    // Data atoms are independent: split them over the cores.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let indexed: Vec<(usize, &Atom)> = data.atoms.iter().enumerate().collect();
    let chunk = indexed.len().div_ceil(threads).max(1);
    let parts: Vec<Option<Part>> = std::thread::scope(|scope| {
        let handles: Vec<_> = indexed
            .chunks(chunk)
            .map(|atoms| {
                let visit = &visit;
                scope.spawn(move || {
                    let mut part = Part::default();
                    for &(di, d) in atoms {
                        visit(di, d, &mut part);
                    }
                    part
                })
            })
            .collect();
        // A worker that panicked leaves its atoms uncompared: said below.
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let mut groups: BTreeMap<GroupKey, BTreeSet<[usize; 5]>> = BTreeMap::new();
    let (mut uncompared, mut exhausted) = (0, 0);
    for part in parts {
        let Some(part) = part else {
            incomplete.insert(
                "a worker of the diff failed; its data categories were not compared".into(),
            );
            continue;
        };
        uncompared += part.uncompared;
        exhausted += part.exhausted;
        for (key, points) in part.groups {
            groups.entry(key).or_default().extend(points);
        }
    }
    if uncompared > 0 {
        incomplete.insert(format!(
            "{uncompared} regions of requests read a fact with too many values and were not compared"
        ));
    }
    if exhausted > 0 {
        incomplete.insert(format!(
            "{exhausted} regions of requests met more than {MAX_DIFF_VALUATIONS} combinations of fact values, and were compared only that far"
        ));
    }
    let changes = finish(old, new, &dims, groups);
    PolicyDiff {
        changes,
        vocabulary,
        incomplete: incomplete.into_iter().collect(),
    }
}

/// What one worker of the diff found over its data categories.
#[derive(Default)]
struct Part {
    groups: BTreeMap<GroupKey, BTreeSet<[usize; 5]>>,
    /// Points not compared: a fact they read has too many values.
    uncompared: usize,
    /// Points whose search ran out of valuations.
    exhausted: usize,
}

/// A search over the fact values at one point: facts are fixed one at a
/// time, and a branch stops as soon as both decisions no longer depend on
/// the facts still open. Equal decisions prune the branch; different ones
/// are a difference for every value of the open facts.
struct Search<'a> {
    old: &'a CompiledPolicy,
    new: &'a CompiledPolicy,
    shared: &'a [SharedFact],
    read: &'a [usize],
    domains: &'a HashMap<(usize, usize), Vec<Value>>,
    purpose_atom: usize,
    old_point: Point,
    new_point: Point,
    class: Class,
    old_defaults: &'a [Option<FactValue>],
    new_defaults: &'a [Option<FactValue>],
}

impl Search<'_> {
    fn values(&self, position: usize) -> &[Value] {
        self.read
            .get(position)
            .and_then(|fact| self.domains.get(&(*fact, self.purpose_atom)))
            .map_or(&[][..], Vec::as_slice)
    }

    /// Fix (or with `None`, reopen) the fact at `position` in both policies' views.
    fn set(&self, state: &mut State, position: usize, value: Option<usize>) {
        let Some(f) = self
            .read
            .get(position)
            .and_then(|fact| self.shared.get(*fact))
        else {
            return;
        };
        let chosen = value.and_then(|v| self.values(position).get(v));
        let (old_value, new_value) = match chosen {
            Some(v) => (v.old.clone(), v.new.clone()),
            None => (
                self.old_defaults.get(f.old as usize).cloned().flatten(),
                self.new_defaults.get(f.new as usize).cloned().flatten(),
            ),
        };
        if let Some(slot) = state.old_facts.get_mut(f.old as usize) {
            *slot = old_value;
        }
        if let Some(slot) = state.new_facts.get_mut(f.new as usize) {
            *slot = new_value;
        }
        if let Some(open) = state.old_open.get_mut(f.old as usize) {
            *open = chosen.is_none();
        }
        if let Some(open) = state.new_open.get_mut(f.new as usize) {
            *open = chosen.is_none();
        }
    }

    fn start(&self) -> State {
        let mut state = State {
            old_facts: self.old_defaults.to_vec(),
            new_facts: self.new_defaults.to_vec(),
            old_open: vec![false; self.old_defaults.len()],
            new_open: vec![false; self.new_defaults.len()],
        };
        for position in 0..self.read.len() {
            self.set(&mut state, position, None);
        }
        state
    }

    /// Decides the point under the fixed facts, then fixes one more in
    /// each of its values; `budget` counts down the valuations decided.
    fn run(
        &self,
        state: &mut State,
        assignment: &mut Vec<Option<usize>>,
        budget: &mut usize,
        found: &mut dyn FnMut(Cube, Outcome, Outcome),
    ) {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let old_facts = &state.old_facts;
        let new_facts = &state.new_facts;
        let old_open = &state.old_open;
        let new_open = &state.new_open;
        let mut old_pending = Vec::new();
        let mut new_pending = Vec::new();
        let o = point_outcome_partial(
            self.old,
            old_facts,
            &|f| old_open.get(f as usize).copied().unwrap_or(false),
            self.old_point,
            self.class,
            &mut old_pending,
        );
        let n = point_outcome_partial(
            self.new,
            new_facts,
            &|f| new_open.get(f as usize).copied().unwrap_or(false),
            self.new_point,
            self.class,
            &mut new_pending,
        );
        if let (Some(o), Some(n)) = (&o, &n) {
            if o.0 != n.0 {
                let cube = assignment
                    .iter()
                    .enumerate()
                    .map(|(position, value)| {
                        let size = self.values(position).len();
                        match value {
                            Some(v) => one_value(size, *v),
                            None => all_values(size),
                        }
                    })
                    .collect();
                found(cube, o.clone(), n.clone());
            }
            return;
        }
        // Fix next a fact that an undecided condition reads: facts that only
        // decided conditions read cannot change either decision.
        let next = self.read.iter().enumerate().position(|(position, fact)| {
            assignment.get(position).is_some_and(Option::is_none)
                && self.shared.get(*fact).is_some_and(|f| {
                    (o.is_none() && old_pending.contains(&f.old))
                        || (n.is_none() && new_pending.contains(&f.new))
                })
        });
        let Some(position) = next else {
            // A side depends on a fact outside the shared ones: not comparable.
            return;
        };
        for v in 0..self.values(position).len() {
            if let Some(slot) = assignment.get_mut(position) {
                *slot = Some(v);
            }
            self.set(state, position, Some(v));
            self.run(state, assignment, budget, found);
        }
        if let Some(slot) = assignment.get_mut(position) {
            *slot = None;
        }
        self.set(state, position, None);
    }
}

/// The facts as each policy sees them during a search, and which are open.
struct State {
    old_facts: Vec<Option<FactValue>>,
    new_facts: Vec<Option<FactValue>>,
    old_open: Vec<bool>,
    new_open: Vec<bool>,
}

/// Key of a group of differences that read as one change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    old_allowed: bool,
    new_allowed: bool,
    old_rules: Vec<usize>,
    new_rules: Vec<usize>,
    combined_with: Option<Class>,
    when: Vec<String>,
}

/// Merge one point's differences (per outcome, the fact valuations into
/// cubes) and add them to the groups that become changes.
fn group_point(
    differences: Vec<Difference>,
    domains: &HashMap<(usize, usize), Vec<Value>>,
    groups: &mut BTreeMap<GroupKey, BTreeSet<[usize; 5]>>,
) {
    type OutcomeKey = (
        Option<Class>,
        bool,
        bool,
        Vec<usize>,
        Vec<usize>,
        Vec<usize>,
        [usize; 5],
    );
    let mut by_outcome: BTreeMap<OutcomeKey, Vec<Cube>> = BTreeMap::new();
    for d in differences {
        by_outcome
            .entry((
                d.combined_with,
                d.old.0,
                d.new.0,
                sorted(d.old.1),
                sorted(d.new.1),
                d.facts,
                d.atoms,
            ))
            .or_default()
            .push(d.valuation);
    }
    for (
        (combined_with, old_allowed, new_allowed, old_rules, new_rules, facts, atoms),
        valuations,
    ) in by_outcome
    {
        let purpose_atom = atoms[1];
        let sizes: Vec<usize> = facts
            .iter()
            .map(|f| domains.get(&(*f, purpose_atom)).map_or(1, Vec::len))
            .collect();
        for cube in cubes(valuations, &sizes) {
            let mut when = Vec::new();
            for (position, values) in cube.iter().enumerate() {
                let size = sizes.get(position).copied().unwrap_or(1);
                if values.count_ones(..) == size {
                    continue; // any value: not a condition of the change
                }
                let Some(fact) = facts.get(position) else {
                    continue;
                };
                let Some(domain) = domains.get(&(*fact, purpose_atom)) else {
                    continue;
                };
                let texts: Vec<&str> = domain
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| values.contains(*i))
                    .map(|(_, v)| v.text.as_str())
                    .collect();
                when.push(texts.join(" or "));
            }
            groups
                .entry(GroupKey {
                    old_allowed,
                    new_allowed,
                    old_rules: old_rules.clone(),
                    new_rules: new_rules.clone(),
                    combined_with,
                    when,
                })
                .or_default()
                .insert(atoms);
        }
    }
}

fn finish(
    old: &CompiledPolicy,
    new: &CompiledPolicy,
    dims: &ByDimension<Dim>,
    groups: BTreeMap<GroupKey, BTreeSet<[usize; 5]>>,
) -> Vec<Change> {
    // 2. Per group, split the points into boxes of key sets, dimension by dimension.
    let mut changes = Vec::new();
    for (key, points) in groups {
        for region in boxes(points) {
            let keys_of = |d: Dimension| -> BTreeSet<String> {
                region
                    .get(d.index_in_box())
                    .into_iter()
                    .flatten()
                    .filter_map(|a| dims[d].atoms.get(*a))
                    .flat_map(|a| a.keys.iter().cloned())
                    .collect()
            };
            let keys = ByDimension::from_fn(keys_of);
            let describe = |d: Dimension| -> Vec<String> {
                broadest(&keys[d], &dims[d].universe, old.taxonomy(d))
            };
            let refs = |policy: &CompiledPolicy, rules: &[usize]| -> Vec<RuleRef> {
                rules
                    .iter()
                    .filter_map(|i| policy.rules.get(*i))
                    .map(|r| RuleRef {
                        rule: r.location.to_string(),
                        effect: r.effect.as_str(),
                        cite: r.cite.as_deref().map(str::to_string),
                    })
                    .collect()
            };
            changes.push(Change {
                old: if key.old_allowed { "allow" } else { "deny" },
                new: if key.new_allowed { "allow" } else { "deny" },
                data: describe(Dimension::Data),
                purposes: describe(Dimension::Purpose),
                recipients: describe(Dimension::Recipient),
                actions: describe(Dimension::Action),
                subjects: describe(Dimension::Subject),
                combined_with: key.combined_with.map(Class::as_str),
                when: key.when.clone(),
                old_rules: refs(old, &key.old_rules),
                new_rules: refs(new, &key.new_rules),
                keys,
            });
        }
    }
    changes
}

/// Every value of a domain of `size` values.
fn all_values(size: usize) -> FixedBitSet {
    let mut all = FixedBitSet::with_capacity(size);
    all.insert_range(..);
    all
}

/// The `value`th value alone, of a domain of `size` values.
fn one_value(size: usize, value: usize) -> FixedBitSet {
    let mut one = FixedBitSet::with_capacity(size);
    one.insert(value);
    one
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Per fact read at a point, the set of its values (bit `i`: the `i`th
/// representative value).
type Cube = Vec<FixedBitSet>;

/// Merge cubes exactly: two cubes merge only when they differ in one fact.
fn cubes(valuations: Vec<Cube>, sizes: &[usize]) -> Vec<Cube> {
    let mut current: Vec<Cube> = valuations;
    current.sort_unstable();
    current.dedup();
    loop {
        let before = current.len();
        for position in 0..sizes.len() {
            let mut grouped: HashMap<Cube, FixedBitSet> = HashMap::with_capacity(current.len());
            for mut cube in current.drain(..) {
                let values = cube
                    .get_mut(position)
                    .map(std::mem::take)
                    .unwrap_or_default();
                grouped.entry(cube).or_default().union_with(&values);
            }
            current = grouped
                .into_iter()
                .map(|(mut rest, values)| {
                    if let Some(slot) = rest.get_mut(position) {
                        *slot = values;
                    }
                    rest
                })
                .collect();
        }
        if current.len() == before {
            current.sort_unstable();
            return current;
        }
    }
}

/// Split a set of points into boxes: products of atom sets, one per dimension.
fn boxes(points: BTreeSet<[usize; 5]>) -> Vec<[BTreeSet<usize>; 5]> {
    let mut regions: Vec<[BTreeSet<usize>; 5]> = points
        .into_iter()
        .map(|p| p.map(|a| BTreeSet::from([a])))
        .collect();
    for dimension in 0..5 {
        let mut grouped: BTreeMap<Vec<BTreeSet<usize>>, BTreeSet<usize>> = BTreeMap::new();
        for region in regions {
            let mut rest: Vec<BTreeSet<usize>> = region.to_vec();
            let values = rest.remove(dimension);
            grouped.entry(rest).or_default().extend(values);
        }
        regions = grouped
            .into_iter()
            .filter_map(|(mut rest, values)| {
                rest.insert(dimension, values);
                <[BTreeSet<usize>; 5]>::try_from(rest).ok()
            })
            .collect();
    }
    regions
}

/// The keys of `keys`, described by the broadest keys they hold, each with
/// the keys below it that are missing: `user.behavior except
/// user.behavior.email_engagement`. `["any"]` for every shared key, and
/// `["any except ..."]` when naming what is missing is shorter.
fn broadest(
    keys: &BTreeSet<String>,
    universe: &BTreeSet<String>,
    taxonomy: &Taxonomy,
) -> Vec<String> {
    if keys.len() == universe.len() {
        return vec!["any".into()];
    }
    let in_set = |id: KeyId| keys.contains(taxonomy.key(id));
    let in_universe = |id: KeyId| universe.contains(taxonomy.key(id));
    // The maximal keys below `top` (in the shared keys) that are not in the set.
    let missing_below = |top: KeyId| -> Vec<String> {
        let mut missing = Vec::new();
        for d in taxonomy.descendants(top).ones() {
            let id = key_id(d);
            if id == top || !in_universe(id) || in_set(id) {
                continue;
            }
            let parent_missing = taxonomy.ancestors(id).ones().any(|a| {
                key_id(a) != id
                    && key_id(a) != top
                    && taxonomy.descendants(top).contains(a)
                    && in_universe(key_id(a))
                    && !in_set(key_id(a))
            });
            if !parent_missing {
                missing.push(taxonomy.key(id).to_string());
            }
        }
        missing
    };
    let mut tops = Vec::new();
    for key in keys {
        let Some(id) = taxonomy.id(key) else { continue };
        let under_another = taxonomy
            .ancestors(id)
            .ones()
            .any(|a| key_id(a) != id && in_set(key_id(a)));
        if !under_another {
            let missing = missing_below(id);
            tops.push(if missing.is_empty() {
                key.clone()
            } else {
                format!("{key} except {}", missing.join(", "))
            });
        }
    }
    // The complement, by its own broadest keys.
    let complement: BTreeSet<String> = universe.difference(keys).cloned().collect();
    let mut missing_tops = Vec::new();
    for key in &complement {
        let Some(id) = taxonomy.id(key) else { continue };
        let under_another = taxonomy
            .ancestors(id)
            .ones()
            .any(|a| key_id(a) != id && complement.contains(taxonomy.key(key_id(a))));
        if !under_another {
            missing_tops.push(key.clone());
        }
    }
    if missing_tops.len() < tops.len()
        && missing_tops.iter().all(|k| {
            // Only when every missing key's subtree is wholly missing, so that
            // "any except k" is exact.
            taxonomy.id(k).is_some_and(|id| {
                taxonomy.descendants(id).ones().all(|d| {
                    !in_universe(key_id(d)) || complement.contains(taxonomy.key(key_id(d)))
                })
            })
        })
    {
        return vec![format!("any except {}", missing_tops.join(", "))];
    }
    tops
}
