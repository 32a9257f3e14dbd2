//! The rules filed by (data category, purpose): every decision and every
//! analysis looks only at the rules of the cells its points fall in. Each
//! cell lists those rules (for the explained path, diff and lint) and, for
//! the lean path, what is left to check of them.
//!
//! A rule's data and purpose scopes are used up by the cell it is filed in;
//! what remains is its condition (the basis's requirement and its own, as
//! one interned condition) and its recipient, action and subject scopes,
//! as 64-bit masks where the taxonomy fits. Allows are filed once more by
//! recipient, which uses up that scope too.
//!
//! What the lean path checks in a cell is then pruned: a deny that fires
//! only where a broader one fires, and an allow that applies only where a
//! broader one applies, are left out (see [`Cond::at_most`]), and the
//! broadest are put first. So a cell's size follows the variety of what
//! the policy says of it, not the number of its rules: a hundred allows of
//! `subject_age > N` for the same recipient cost one check, the least `N`.
//!
//! A deny with no condition over every recipient, action and subject makes
//! its cell *forbidden*: those are kept per data key apart from the cells,
//! so that the lean path can deny a request that meets one before walking
//! any of its points.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use fixedbitset::FixedBitSet;

use super::{BasisDef, CompiledRule, Cond, FactId, KeyId, Taxonomy, implies};
use crate::limits::{index_u32, key_id};
use crate::syntax::{ByDimension, Class, Dimension, Effect};

/// A condition's index in [`DecisionIndex::conditions`].
pub type CondId = u32;

/// The keys of one dimension that a rule covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyMask {
    /// The rule does not restrict the dimension.
    Any,
    /// A taxonomy of at most 64 keys: one bit a key (the standard
    /// recipients, actions and subjects all fit).
    Small(u64),
    /// A larger taxonomy; boxed, so that the common masks stay two words
    /// and a cell's checks stay close together in memory.
    Large(Box<FixedBitSet>),
}

impl KeyMask {
    fn of(scope: Option<&FixedBitSet>, keys: usize) -> KeyMask {
        match scope {
            None => KeyMask::Any,
            Some(scope) if keys <= 64 => {
                KeyMask::Small(scope.ones().fold(0, |mask, key| mask | (1 << key)))
            }
            Some(scope) => KeyMask::Large(Box::new(scope.clone())),
        }
    }

    #[inline]
    pub fn contains(&self, key: KeyId) -> bool {
        match self {
            KeyMask::Any => true,
            KeyMask::Small(mask) => key < 64 && mask & (1 << key) != 0,
            KeyMask::Large(set) => set.contains(key as usize),
        }
    }

    /// Whether the mask holds any key of `set`; `small` is the same set as
    /// one word, where the taxonomy fits in one.
    #[inline]
    pub fn meets(&self, small: Option<u64>, set: &FixedBitSet) -> bool {
        match (self, small) {
            (KeyMask::Any, _) => true,
            (KeyMask::Small(mask), Some(word)) => mask & word != 0,
            (KeyMask::Small(_), None) => set.ones().any(|key| self.contains(key_id(key))),
            (KeyMask::Large(mine), _) => !mine.is_disjoint(set),
        }
    }

    /// Whether every key of `self` is in `other`; `false` where that is
    /// not plain from the masks.
    fn within(&self, other: &KeyMask) -> bool {
        match (self, other) {
            (_, KeyMask::Any) => true,
            (KeyMask::Small(mine), KeyMask::Small(theirs)) => mine & !theirs == 0,
            (KeyMask::Large(mine), KeyMask::Large(theirs)) => mine.is_subset(theirs),
            _ => false,
        }
    }

    /// How many keys the mask holds, `Any` the most: broader first.
    fn breadth(&self) -> u32 {
        match self {
            KeyMask::Any => u32::MAX,
            KeyMask::Small(mask) => mask.count_ones(),
            KeyMask::Large(set) => index_u32(set.count_ones(..)),
        }
    }

    /// `set` as one word, where every key in it is below 64.
    pub fn word(set: &FixedBitSet) -> Option<u64> {
        set.ones()
            .try_fold(0u64, |word, key| (key < 64).then(|| word | (1 << key)))
    }
}

/// A deny filed in a cell: it fires at a point of the cell whose recipient,
/// action and subject it covers, unless its condition is false.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DenyCheck {
    pub condition: Option<CondId>,
    pub recipients: KeyMask,
    pub actions: KeyMask,
    pub subjects: KeyMask,
}

/// Where the lean path checks a deny filed in a cell.
enum DenyPlace {
    /// Unconditional, over every recipient, action and subject ("we never
    /// sell your data"): the cell is forbidden, which is checked for a
    /// whole request before any of its points.
    Forbidden,
    /// Over every recipient, action and subject under one of the first 64
    /// conditions: its bit in the cell's mask.
    Mask(u64),
    /// One by one.
    Listed,
}

impl DenyCheck {
    fn place(&self) -> DenyPlace {
        let everywhere = [&self.recipients, &self.actions, &self.subjects]
            .iter()
            .all(|mask| **mask == KeyMask::Any);
        match self.condition {
            None if everywhere => DenyPlace::Forbidden,
            Some(id) if everywhere && id < 64 => DenyPlace::Mask(1 << id),
            _ => DenyPlace::Listed,
        }
    }
}

/// An allow filed in a cell for one recipient: it applies at a point of
/// the cell for that recipient whose action and subject it covers, when its
/// condition is true.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowEntry {
    /// `None`: the allow needs nothing from the request's facts.
    pub condition: Option<CondId>,
    pub actions: KeyMask,
    pub subjects: KeyMask,
    /// The data of the cell is allowed only when evaluated at or below this
    /// class (combined personal data is personal data).
    pub clearance: Class,
}

/// No allow in the cell: [`Cell::allows`] points nowhere.
const NO_ALLOWS: u32 = u32::MAX;

/// A cell's checks are pruned against those kept so far; past this many
/// kept the rest are kept unchecked, so that a cell of many unrelated
/// rules compiles in time linear in them.
const PRUNED_AGAINST_AT_MOST: usize = 64;

#[derive(Debug, Clone)]
struct Cell {
    /// The denies checked one by one.
    denies: Range<u32>,
    /// The others: one bit for each condition under which a deny covers
    /// every recipient, action and subject of the cell. Any such condition
    /// not false at a point denies it.
    deny_mask: u64,
    /// Where the cell's bounds start in `allow_bounds`: one for each
    /// recipient and one more, delimiting its allows in `allows`; or
    /// `NO_ALLOWS`.
    allows: u32,
    /// The rules themselves, in rule order, for the explained path and
    /// analysis: ranges into `rule_ids`.
    deny_rules: Range<u32>,
    allow_rules: Range<u32>,
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            denies: 0..0,
            deny_mask: 0,
            allows: NO_ALLOWS,
            deny_rules: 0..0,
            allow_rules: 0..0,
        }
    }
}

/// The deny and the allow rules that cover one (data, purpose) cell, by
/// index into the policy's rules, in rule order.
#[derive(Debug, Clone, Copy, Default)]
pub struct CellRules<'a> {
    pub denies: &'a [u32],
    pub allows: &'a [u32],
}

/// A condition the index refers to, with whether it reads the point's
/// purpose (`consent(purpose)`): one that does not has the same truth at
/// every point of a request.
#[derive(Debug, Clone)]
pub struct IndexedCond {
    pub cond: Cond,
    pub reads_purpose: bool,
}

/// A rule's own condition and its basis's requirement, as interned
/// conditions, for the explained path (which evaluates them apart, to
/// tell which facts were missing).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleConditions {
    pub own: Option<CondId>,
    pub basis: Option<CondId>,
}

/// Rules filed by (data category, purpose); see the module comment.
#[derive(Debug, Clone, Default)]
pub struct DecisionIndex {
    purposes: usize,
    recipients: usize,
    cells: Vec<Cell>,
    denies: Vec<DenyCheck>,
    allow_bounds: Vec<u32>,
    allows: Vec<AllowEntry>,
    rule_ids: Vec<u32>,
    pub conditions: Vec<IndexedCond>,
    /// By rule index.
    pub rule_conditions: Vec<RuleConditions>,
    /// One bit for each of the first 256 conditions that reads the purpose.
    pub purpose_readers: [u64; 4],
    /// The data keys with a forbidden cell: an unconditional deny over
    /// every recipient, action and subject.
    forbidden_data: FixedBitSet,
    /// By data key, the purposes of its forbidden cells.
    forbidden_purposes: Vec<FixedBitSet>,
    /// The purpose sets that conditions test against the point's purpose
    /// (`consent(purpose)`): a condition that reads the purpose reads only
    /// which of them cover it.
    pub purpose_facts: Vec<FactId>,
}

impl DecisionIndex {
    /// The conditions (one bit each, below 64) under which a deny filed
    /// under `data` and `purpose` covers every recipient, action and
    /// subject: those are not among [`DecisionIndex::denies`].
    #[inline]
    pub fn deny_mask(&self, data: KeyId, purpose: KeyId) -> u64 {
        self.cell(data, purpose).map_or(0, |cell| cell.deny_mask)
    }

    /// Whether a cell of a data key in `data` and a purpose in `purposes`
    /// is forbidden: every request with a point there is denied, whatever
    /// else it asks. Those denies are not among [`DecisionIndex::denies`].
    #[inline]
    pub fn forbids(&self, data: &FixedBitSet, purposes: &FixedBitSet) -> bool {
        !data.is_disjoint(&self.forbidden_data)
            && data.intersection(&self.forbidden_data).any(|d| {
                self.forbidden_purposes
                    .get(d)
                    .is_some_and(|forbidden| !forbidden.is_disjoint(purposes))
            })
    }

    /// The other denies filed under `data` and `purpose`.
    #[inline]
    pub fn denies(&self, data: KeyId, purpose: KeyId) -> &[DenyCheck] {
        self.cell(data, purpose)
            .and_then(|cell| self.denies.get(range(&cell.denies)))
            .unwrap_or_default()
    }

    /// The allows filed under `data`, `purpose` and `recipient`, the
    /// broadest first.
    #[inline]
    pub fn allows(&self, data: KeyId, purpose: KeyId, recipient: KeyId) -> &[AllowEntry] {
        self.allows_of(data, purpose, recipient).unwrap_or_default()
    }

    fn allows_of(&self, data: KeyId, purpose: KeyId, recipient: KeyId) -> Option<&[AllowEntry]> {
        let cell = self.cell(data, purpose)?;
        if cell.allows == NO_ALLOWS || recipient as usize >= self.recipients {
            return None;
        }
        let at = cell.allows as usize + recipient as usize;
        let (start, end) = (*self.allow_bounds.get(at)?, *self.allow_bounds.get(at + 1)?);
        self.allows.get(start as usize..end as usize)
    }

    /// The rules filed under `data` and `purpose`.
    #[inline]
    pub fn rules(&self, data: KeyId, purpose: KeyId) -> CellRules<'_> {
        let Some(cell) = self.cell(data, purpose) else {
            return CellRules::default();
        };
        CellRules {
            denies: self
                .rule_ids
                .get(range(&cell.deny_rules))
                .unwrap_or_default(),
            allows: self
                .rule_ids
                .get(range(&cell.allow_rules))
                .unwrap_or_default(),
        }
    }

    #[inline]
    fn cell(&self, data: KeyId, purpose: KeyId) -> Option<&Cell> {
        if purpose as usize >= self.purposes {
            return None;
        }
        self.cells
            .get((data as usize).checked_mul(self.purposes)? + purpose as usize)
    }

    /// File every rule in the cells it covers.
    pub fn build(
        rules: &[CompiledRule],
        bases: &[BasisDef],
        taxonomies: &ByDimension<Taxonomy>,
    ) -> DecisionIndex {
        let data_keys = taxonomies[Dimension::Data].len();
        let purposes = taxonomies[Dimension::Purpose].len();
        let recipients = taxonomies[Dimension::Recipient].len();
        let mask = |rule: &CompiledRule, dimension: Dimension| {
            KeyMask::of(rule.scopes[dimension].as_ref(), taxonomies[dimension].len())
        };

        // Each rule reduced to what a cell keeps of it.
        let mut interned: HashMap<Cond, CondId> = HashMap::new();
        let mut conditions = Vec::new();
        let mut intern = |cond: Option<Cond>| -> Option<CondId> {
            let cond = cond?;
            let next = index_u32(conditions.len());
            Some(*interned.entry(cond.clone()).or_insert_with(|| {
                conditions.push(IndexedCond {
                    reads_purpose: reads_purpose(&cond),
                    cond,
                });
                next
            }))
        };
        let requirement = |rule: &CompiledRule| {
            rule.basis
                .and_then(|b| bases.get(b))
                .and_then(|b| b.requires.clone())
        };
        // The lean path's conditions are interned first, the denies' before
        // all: the first 256 are the ones it remembers, and a deny under one
        // of the first 64 that covers every recipient, action and subject
        // is checked with the others of its cell in one step.
        for rule in rules.iter().filter(|rule| rule.effect == Effect::Deny) {
            intern(rule.condition.clone());
        }
        let filed: Vec<Filed> = rules
            .iter()
            .map(|rule| match rule.effect {
                Effect::Deny => Filed::Deny(DenyCheck {
                    condition: intern(rule.condition.clone()),
                    recipients: mask(rule, Dimension::Recipient),
                    actions: mask(rule, Dimension::Action),
                    subjects: mask(rule, Dimension::Subject),
                }),
                Effect::Allow => {
                    // The allow needs both true: Kleene's `and` is true
                    // exactly then.
                    let condition = match (requirement(rule), rule.condition.clone()) {
                        (None, None) => None,
                        (Some(one), None) | (None, Some(one)) => Some(one),
                        (Some(basis), Some(own)) => Some(Cond::And(vec![basis, own])),
                    };
                    Filed::Allow {
                        recipients: rule.scopes[Dimension::Recipient].clone(),
                        entry: AllowEntry {
                            condition: intern(condition),
                            actions: mask(rule, Dimension::Action),
                            subjects: mask(rule, Dimension::Subject),
                            clearance: rule.clearance,
                        },
                    }
                }
            })
            .collect();
        let rule_conditions: Vec<RuleConditions> = rules
            .iter()
            .map(|rule| RuleConditions {
                own: intern(rule.condition.clone()),
                basis: intern(requirement(rule)),
            })
            .collect();

        // The rules of every cell, in rule order: a counting sort of the
        // (cell, rule) pairs, so the work follows the size of the index,
        // not cells times rules.
        let cell_count = data_keys * purposes;
        let mut starts = vec![0u32; cell_count + 1];
        each_cell(rules, data_keys, purposes, |cell, _| {
            if let Some(count) = starts.get_mut(cell + 1) {
                *count += 1;
            }
        });
        let mut total = 0;
        for start in &mut starts {
            total += *start;
            *start = total;
        }
        let mut in_cells = vec![0u32; total as usize];
        let mut next = starts.clone();
        each_cell(rules, data_keys, purposes, |cell, id| {
            if let Some(at) = next.get_mut(cell) {
                if let Some(slot) = in_cells.get_mut(*at as usize) {
                    *slot = id;
                }
                *at += 1;
            }
        });

        let mut index = DecisionIndex {
            purposes,
            recipients,
            cells: vec![Cell::default(); cell_count],
            forbidden_purposes: vec![FixedBitSet::new(); data_keys],
            ..DecisionIndex::default()
        };
        // The broadest first, in every cell: ranked once here, so that a
        // cell sorts its rules by a number.
        let mut broadest_first: Vec<u32> = (0..index_u32(filed.len())).collect();
        broadest_first.sort_by_cached_key(|&id| filed.get(id as usize).map(Filed::breadth));
        let mut rank = vec![0u32; filed.len()];
        for (place, &id) in broadest_first.iter().enumerate() {
            if let Some(rank) = rank.get_mut(id as usize) {
                *rank = index_u32(place);
            }
        }
        let mut ranked: Vec<u32> = Vec::new();
        let mut pruner = Pruner {
            conditions: &conditions,
            shown: foldhash::HashMap::default(),
        };
        let (mut cell_denies, mut kept_denies) = (Vec::new(), Vec::new());
        let mut by_recipient: Vec<Vec<&AllowEntry>> = vec![Vec::new(); recipients];
        let mut kept_allows = Vec::new();
        for purpose in 0..purposes {
            for data in 0..data_keys {
                let cell = data * purposes + purpose;
                let ids = match (starts.get(cell), starts.get(cell + 1)) {
                    (Some(&start), Some(&end)) => in_cells.get(start as usize..end as usize),
                    _ => None,
                }
                .unwrap_or_default();
                let is_deny = |id: &&u32| matches!(filed.get(**id as usize), Some(Filed::Deny(_)));
                let deny_rules_start = index_u32(index.rule_ids.len());
                index.rule_ids.extend(ids.iter().filter(is_deny));
                let allow_rules_start = index_u32(index.rule_ids.len());
                index.rule_ids.extend(ids.iter().filter(|id| !is_deny(id)));
                let rules_end = index_u32(index.rule_ids.len());

                cell_denies.clear();
                by_recipient.iter_mut().for_each(Vec::clear);
                ranked.clear();
                ranked.extend(ids);
                ranked.sort_unstable_by_key(|&id| rank.get(id as usize).copied());
                for &id in &ranked {
                    match filed.get(id as usize) {
                        Some(Filed::Deny(check)) => cell_denies.push(check),
                        Some(Filed::Allow {
                            recipients: to,
                            entry,
                        }) => {
                            for recipient in covered(to.as_ref(), recipients) {
                                if let Some(entries) = by_recipient.get_mut(recipient) {
                                    entries.push(entry);
                                }
                            }
                        }
                        None => {}
                    }
                }

                let denies_start = index_u32(index.denies.len());
                pruner.prune_denies(&mut cell_denies, &mut kept_denies);
                let mut deny_mask = 0;
                for &check in &cell_denies {
                    match check.place() {
                        DenyPlace::Forbidden => {
                            index.forbidden_data.grow(data + 1);
                            index.forbidden_data.insert(data);
                            if let Some(forbidden) = index.forbidden_purposes.get_mut(data) {
                                forbidden.grow(purpose + 1);
                                forbidden.insert(purpose);
                            }
                        }
                        DenyPlace::Mask(bit) => deny_mask |= bit,
                        DenyPlace::Listed => index.denies.push(check.clone()),
                    }
                }
                let allows = if by_recipient.iter().all(Vec::is_empty) {
                    NO_ALLOWS
                } else {
                    let at = index_u32(index.allow_bounds.len());
                    for entries in &mut by_recipient {
                        index.allow_bounds.push(index_u32(index.allows.len()));
                        pruner.prune_allows(entries, &mut kept_allows);
                        index
                            .allows
                            .extend(entries.iter().map(|&entry| entry.clone()));
                    }
                    index.allow_bounds.push(index_u32(index.allows.len()));
                    at
                };
                if let Some(cell) = index.cells.get_mut(cell) {
                    *cell = Cell {
                        denies: denies_start..index_u32(index.denies.len()),
                        deny_mask,
                        allows,
                        deny_rules: deny_rules_start..allow_rules_start,
                        allow_rules: allow_rules_start..rules_end,
                    };
                }
            }
        }
        let mut purpose_facts = BTreeSet::new();
        for (id, condition) in conditions.iter().enumerate() {
            if let Some(word) = index.purpose_readers.get_mut(id / 64) {
                if condition.reads_purpose {
                    *word |= 1 << (id % 64);
                }
            }
            purposes_tested(&condition.cond, &mut purpose_facts);
        }
        index.purpose_facts = purpose_facts.into_iter().collect();
        index.conditions = conditions;
        index.rule_conditions = rule_conditions;
        index
    }
}

/// What a rule leaves to check in the cells it covers.
enum Filed {
    Deny(DenyCheck),
    Allow {
        /// `None`: every recipient.
        recipients: Option<FixedBitSet>,
        entry: AllowEntry,
    },
}

/// Broader sorts first: unconditional, then over more keys (recipients
/// for a deny; an allow is filed by recipient), then (allows) over more
/// classes of data.
type Breadth = (
    bool,
    Reverse<u32>,
    Reverse<u32>,
    Reverse<u32>,
    Option<CondId>,
);

impl Filed {
    fn breadth(&self) -> Breadth {
        match self {
            Filed::Deny(check) => (
                check.condition.is_some(),
                Reverse(check.recipients.breadth()),
                Reverse(check.actions.breadth()),
                Reverse(check.subjects.breadth()),
                check.condition,
            ),
            Filed::Allow { entry, .. } => (
                entry.condition.is_some(),
                Reverse(entry.actions.breadth()),
                Reverse(entry.subjects.breadth()),
                Reverse(entry.clearance as u32),
                entry.condition,
            ),
        }
    }
}

/// Drops from a cell's checks those that another one kept makes needless,
/// remembering across cells which condition was shown at most which.
struct Pruner<'a> {
    conditions: &'a [IndexedCond],
    shown: foldhash::HashMap<(CondId, CondId), bool>,
}

impl Pruner<'_> {
    /// Whether `narrow` is at most `broad` (`None`: always true).
    fn at_most(&mut self, narrow: Option<CondId>, broad: Option<CondId>) -> bool {
        match (narrow, broad) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(narrow), Some(broad)) => {
                let conditions = self.conditions;
                *self.shown.entry((narrow, broad)).or_insert_with(|| {
                    match (
                        conditions.get(narrow as usize),
                        conditions.get(broad as usize),
                    ) {
                        (Some(n), Some(b)) => n.cond.at_most(&b.cond, &mut implies::STEPS.clone()),
                        _ => false,
                    }
                })
            }
        }
    }

    /// Keeps the denies (ranked broadest first) that no other fires
    /// wherever they fire: the lean path stops at the first that fires.
    fn prune_denies<'a>(&mut self, denies: &mut Vec<&'a DenyCheck>, kept: &mut Vec<&'a DenyCheck>) {
        prune(denies, kept, |broad, narrow| {
            narrow.recipients.within(&broad.recipients)
                && narrow.actions.within(&broad.actions)
                && narrow.subjects.within(&broad.subjects)
                && self.at_most(narrow.condition, broad.condition)
        });
    }

    /// Keeps the allows (ranked broadest first) that no other applies
    /// wherever they apply: the lean path stops at the first that applies.
    fn prune_allows<'a>(
        &mut self,
        allows: &mut Vec<&'a AllowEntry>,
        kept: &mut Vec<&'a AllowEntry>,
    ) {
        prune(allows, kept, |broad, narrow| {
            narrow.clearance <= broad.clearance
                && narrow.actions.within(&broad.actions)
                && narrow.subjects.within(&broad.subjects)
                && self.at_most(narrow.condition, broad.condition)
        });
    }
}

/// Leaves in `items`, in their order, those that no other covers
/// (`covers(broad, narrow)`); of equal ones, the first. `kept` is scratch.
fn prune<'a, T>(
    items: &mut Vec<&'a T>,
    kept: &mut Vec<&'a T>,
    mut covers: impl FnMut(&T, &T) -> bool,
) {
    kept.clear();
    for item in items.drain(..) {
        if kept.len() <= PRUNED_AGAINST_AT_MOST {
            if kept.iter().any(|broad| covers(broad, item)) {
                continue;
            }
            // A broader item met late still stands for those kept before.
            kept.retain(|narrow| !covers(item, narrow));
        }
        kept.push(item);
    }
    std::mem::swap(items, kept);
}

/// How many entries `rule` files in the index: one in each (data, purpose)
/// cell it covers, and an allow once more for each recipient it covers
/// there. Counted before the index is built, to refuse one that is too large.
pub(super) fn entries(rule: &CompiledRule, taxonomies: &ByDimension<Taxonomy>) -> u64 {
    let keys = |dimension: Dimension| {
        let count = rule.scopes[dimension]
            .as_ref()
            .map_or(taxonomies[dimension].len(), |scope| scope.count_ones(..));
        u64::try_from(count).unwrap_or(u64::MAX)
    };
    let cells = keys(Dimension::Data).saturating_mul(keys(Dimension::Purpose));
    match rule.effect {
        Effect::Deny => cells,
        Effect::Allow => cells.saturating_mul(keys(Dimension::Recipient).saturating_add(1)),
    }
}

/// Call `visit` with every cell (`data * purposes + purpose`) and rule that
/// covers it, rule by rule.
fn each_cell(
    rules: &[CompiledRule],
    data_keys: usize,
    purposes: usize,
    mut visit: impl FnMut(usize, u32),
) {
    let mut purpose_keys = Vec::new();
    for (id, rule) in rules.iter().enumerate() {
        purpose_keys.clear();
        purpose_keys.extend(covered(rule.scopes[Dimension::Purpose].as_ref(), purposes));
        for data in covered(rule.scopes[Dimension::Data].as_ref(), data_keys) {
            for &purpose in &purpose_keys {
                visit(data * purposes + purpose, index_u32(id));
            }
        }
    }
}

/// The keys of a taxonomy of `keys` keys that a scope covers: all of them
/// where the rule does not restrict the dimension.
fn covered(scope: Option<&FixedBitSet>, keys: usize) -> impl Iterator<Item = usize> + '_ {
    let all = scope.is_none().then_some(0..keys);
    let some = scope.map(|scope| scope.ones().filter(move |&key| key < keys));
    all.into_iter().flatten().chain(some.into_iter().flatten())
}

fn range(range: &Range<u32>) -> Range<usize> {
    range.start as usize..range.end as usize
}

/// Adds the purpose sets that `cond` tests against the point's purpose.
fn purposes_tested(cond: &Cond, out: &mut BTreeSet<FactId>) {
    match cond {
        Cond::PurposeMember {
            fact,
            request_purpose: true,
            ..
        } => {
            out.insert(*fact);
        }
        Cond::Not(inner) => purposes_tested(inner, out),
        Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| purposes_tested(p, out)),
        _ => {}
    }
}

/// Whether `cond` reads the point's purpose: it tests some purpose set
/// against it.
fn reads_purpose(cond: &Cond) -> bool {
    let mut tested = BTreeSet::new();
    purposes_tested(cond, &mut tested);
    !tested.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is left to check for `user.contact.email` for
    /// `essential.service` to `recipient`: the conditions of the denies (of
    /// the mask, then those listed), how many are listed, and the
    /// conditions of the allows.
    fn pruned(text: &str, recipient: &str) -> (Vec<String>, usize, Vec<String>) {
        let policy = crate::Policy::from_source("t.privet", &format!("use std\n{text}"))
            .unwrap_or_else(|e| panic!("{:?}", e.problems()));
        let compiled = policy.compiled();
        let id = |dimension, key| compiled.taxonomy(dimension).id(key).unwrap();
        let (d, p, r) = (
            id(Dimension::Data, "user.contact.email"),
            id(Dimension::Purpose, "essential.service"),
            id(Dimension::Recipient, recipient),
        );
        let index = &compiled.index;
        let shown = |condition: Option<CondId>| match condition {
            Some(c) => format!("{:?}", index.conditions[c as usize].cond),
            None => "always".to_string(),
        };
        let mask = index.deny_mask(d, p);
        let masked = (0..64).filter(|bit| mask & (1 << bit) != 0).map(Some);
        (
            masked
                .chain(index.denies(d, p).iter().map(|c| c.condition))
                .map(shown)
                .collect(),
            index.denies(d, p).len(),
            index
                .allows(d, p, r)
                .iter()
                .map(|a| shown(a.condition))
                .collect(),
        )
    }

    #[test]
    fn a_broader_rule_stands_for_a_narrower_one_written_before_it() {
        let text = r#"
deny user.contact.email for essential.service when subject_age < 10 and not parental_consent cite "a"
deny user.contact.email for essential.service when subject_age < 14 and not parental_consent cite "b"
deny user.contact.email, user.name for essential.service when opt_out(purpose) cite "c"
allow user.contact.email for essential.service to first_party basis contract when subject_age > 20 cite "d"
allow user.contact.email for essential.service to first_party basis contract when subject_age > 12 cite "e"
allow user.contact.email for essential.service to first_party, affiliate basis contract when subject_age > 30 cite "f"
allow user.contact.email for essential.service to affiliate about customer basis contract when subject_age > 12 cite "g"
"#;
        let (denies, listed, first_party) = pruned(text, "first_party");
        assert_eq!(denies.len(), 2, "{denies:?}");
        assert!(denies[0].contains("Lt, 14") && denies[1].contains("PurposeMember"));
        // Both cover every recipient, action and subject: checked as a mask.
        assert_eq!(listed, 0, "no deny is left to check one by one");
        assert_eq!(first_party.len(), 1, "{first_party:?}");
        assert!(first_party[0].contains("Gt, 12"));
        // For the affiliate neither covers the other: `> 30` reaches every
        // subject, `> 12` only customers.
        let (_, _, affiliate) = pruned(text, "affiliate");
        assert_eq!(affiliate.len(), 2, "{affiliate:?}");
    }

    #[test]
    fn masks_stay_two_words() {
        // Every deny check holds three masks and every allow two; a large
        // taxonomy's bitset must not make all of them bigger.
        assert!(std::mem::size_of::<KeyMask>() <= 16);
        assert!(std::mem::size_of::<AllowEntry>() <= 48);
    }
}
