//! The rules filed by (data category, purpose): every decision and every
//! analysis looks only at the rules of the cells its points fall in. Each
//! cell lists those rules (for the explained path, diff and lint) and, for
//! the lean path, what is left to check of them.
//!
//! A rule's data and purpose scopes are used up by the cell it is filed in;
//! what remains is its condition (the basis's requirement and its own, as
//! one interned condition) and its recipient, action and subject scopes,
//! as 64-bit masks where the taxonomy fits. Identical remainders are filed
//! once, and allows with the same condition are grouped, so a cell's size
//! follows the variety of a policy's conditions and scopes, not the number
//! of its rules: ten rules that say the same thing cost one check.

use std::collections::HashMap;
use std::ops::Range;

use fixedbitset::FixedBitSet;

use super::{BasisDef, CompiledRule, Cond, KeyId, Taxonomy};
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
            (KeyMask::Small(_), None) => set.ones().any(|key| self.contains(key as KeyId)),
            (KeyMask::Large(mine), _) => !mine.is_disjoint(set),
        }
    }

    /// `set` as one word, where every key in it is below 64.
    pub fn word(set: &FixedBitSet) -> Option<u64> {
        set.ones()
            .try_fold(0u64, |word, key| (key < 64).then(|| word | (1 << key)))
    }

    fn union(&self, other: &KeyMask) -> KeyMask {
        match (self, other) {
            (KeyMask::Any, _) | (_, KeyMask::Any) => KeyMask::Any,
            (KeyMask::Small(a), KeyMask::Small(b)) => KeyMask::Small(a | b),
            (KeyMask::Large(a), KeyMask::Large(b)) => {
                let mut both = a.clone();
                both.union_with(b);
                KeyMask::Large(both)
            }
            // One taxonomy is either small or large; keep the larger set
            // rather than lose keys.
            (KeyMask::Large(a), KeyMask::Small(_)) | (KeyMask::Small(_), KeyMask::Large(a)) => {
                KeyMask::Large(a.clone())
            }
        }
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

/// Where the allows of one group reach within a cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reach {
    pub recipients: KeyMask,
    pub actions: KeyMask,
    pub subjects: KeyMask,
    /// The data of the cell is allowed only when evaluated at or below this
    /// class (combined personal data is personal data).
    pub clearance: Class,
}

/// The allows of a cell that share one condition.
#[derive(Debug, Clone)]
pub struct AllowGroup {
    /// `None`: the allows need nothing from the request's facts.
    pub condition: Option<CondId>,
    reaches: Range<u32>,
}

#[derive(Debug, Clone, Default)]
struct Cell {
    denies: Range<u32>,
    allows: Range<u32>,
    /// The rules themselves, in rule order, for the explained path and
    /// analysis: ranges into `rule_ids`.
    deny_rules: Range<u32>,
    allow_rules: Range<u32>,
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
    cells: Vec<Cell>,
    denies: Vec<DenyCheck>,
    groups: Vec<AllowGroup>,
    reaches: Vec<Reach>,
    rule_ids: Vec<u32>,
    pub conditions: Vec<IndexedCond>,
    /// By rule index.
    pub rule_conditions: Vec<RuleConditions>,
    /// One bit for each of the first 256 conditions that reads the purpose.
    pub purpose_readers: [u64; 4],
}

impl DecisionIndex {
    /// The denies filed under `data` and `purpose`.
    #[inline]
    pub fn denies(&self, data: KeyId, purpose: KeyId) -> &[DenyCheck] {
        self.cell(data, purpose)
            .and_then(|cell| self.denies.get(range(&cell.denies)))
            .unwrap_or_default()
    }

    /// The allow groups filed under `data` and `purpose`, the groups that
    /// need no fact first.
    #[inline]
    pub fn allows(&self, data: KeyId, purpose: KeyId) -> &[AllowGroup] {
        self.cell(data, purpose)
            .and_then(|cell| self.groups.get(range(&cell.allows)))
            .unwrap_or_default()
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
    pub fn reaches(&self, group: &AllowGroup) -> &[Reach] {
        self.reaches.get(range(&group.reaches)).unwrap_or_default()
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
        let mask = |rule: &CompiledRule, dimension: Dimension| {
            KeyMask::of(rule.scopes[dimension].as_ref(), taxonomies[dimension].len())
        };

        // Each rule reduced to what a cell keeps of it.
        let mut interned: HashMap<Cond, CondId> = HashMap::new();
        let mut conditions = Vec::new();
        let mut intern = |cond: Option<Cond>| -> Option<CondId> {
            let cond = cond?;
            let next = conditions.len() as CondId;
            Some(*interned.entry(cond.clone()).or_insert_with(|| {
                conditions.push(IndexedCond {
                    reads_purpose: reads_purpose(&cond),
                    cond,
                });
                next
            }))
        };
        enum Filed {
            Deny(DenyCheck),
            Allow(Option<CondId>, Reach),
        }
        let rule_conditions: Vec<RuleConditions> = rules
            .iter()
            .map(|rule| RuleConditions {
                own: intern(rule.condition.clone()),
                basis: intern(
                    rule.basis
                        .and_then(|b| bases.get(b))
                        .and_then(|b| b.requires.clone()),
                ),
            })
            .collect();
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
                    let requires = rule
                        .basis
                        .and_then(|b| bases.get(b))
                        .and_then(|b| b.requires.clone());
                    // The allow needs both true: Kleene's `and` is true
                    // exactly then.
                    let condition = match (requires, rule.condition.clone()) {
                        (None, None) => None,
                        (Some(one), None) | (None, Some(one)) => Some(one),
                        (Some(basis), Some(own)) => Some(Cond::And(vec![basis, own])),
                    };
                    Filed::Allow(
                        intern(condition),
                        Reach {
                            recipients: mask(rule, Dimension::Recipient),
                            actions: mask(rule, Dimension::Action),
                            subjects: mask(rule, Dimension::Subject),
                            clearance: rule.clearance,
                        },
                    )
                }
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

        // Equal deny checks share a number, so that a cell keeps one of
        // each without hashing them again; `seen` marks, by that number (or
        // by condition, for allow groups), the last cell that took it.
        let mut deny_numbers: HashMap<&DenyCheck, u32> = HashMap::new();
        let deny_number: Vec<u32> = filed
            .iter()
            .map(|filed| match filed {
                Filed::Deny(check) => {
                    let next = deny_numbers.len() as u32;
                    *deny_numbers.entry(check).or_insert(next)
                }
                Filed::Allow(..) => 0,
            })
            .collect();
        let mut deny_seen = vec![u32::MAX; deny_numbers.len()];
        // By condition + 1 (0: none): the cell that last grouped allows
        // under it, and the group's place in `groups`.
        let mut group_seen = vec![(u32::MAX, 0usize); conditions.len() + 1];

        let mut index = DecisionIndex {
            purposes,
            cells: vec![Cell::default(); cell_count],
            ..DecisionIndex::default()
        };
        let mut groups: Vec<(Option<CondId>, Vec<Reach>)> = Vec::new();
        for purpose in 0..purposes {
            for data in 0..data_keys {
                let cell = data * purposes + purpose;
                let stamp = cell as u32;
                let ids = match (starts.get(cell), starts.get(cell + 1)) {
                    (Some(&start), Some(&end)) => in_cells.get(start as usize..end as usize),
                    _ => None,
                }
                .unwrap_or_default();
                let is_deny = |id: &&u32| matches!(filed.get(**id as usize), Some(Filed::Deny(_)));
                let denies_start = index.denies.len() as u32;
                let deny_rules_start = index.rule_ids.len() as u32;
                index.rule_ids.extend(ids.iter().filter(is_deny));
                let allow_rules_start = index.rule_ids.len() as u32;
                index.rule_ids.extend(ids.iter().filter(|id| !is_deny(id)));
                let rules_end = index.rule_ids.len() as u32;
                for &id in ids {
                    match filed.get(id as usize) {
                        Some(Filed::Deny(check)) => {
                            let seen = deny_number
                                .get(id as usize)
                                .and_then(|&number| deny_seen.get_mut(number as usize));
                            if let Some(seen) = seen.filter(|seen| **seen != stamp) {
                                *seen = stamp;
                                index.denies.push(check.clone());
                            }
                        }
                        Some(Filed::Allow(condition, reach)) => {
                            let slot = condition.map_or(0, |c| c as usize + 1);
                            let Some(seen) = group_seen.get_mut(slot) else {
                                continue;
                            };
                            match *seen {
                                (cell, at) if cell == stamp => {
                                    if let Some((_, reaches)) = groups.get_mut(at) {
                                        add_reach(reaches, reach);
                                    }
                                }
                                _ => {
                                    *seen = (stamp, groups.len());
                                    groups.push((*condition, vec![reach.clone()]));
                                }
                            }
                        }
                        None => {}
                    }
                }
                // Allows that need no fact first: the lean path stops at
                // the first allow that applies.
                groups.sort_by_key(|(condition, _)| condition.map_or(0, |c| u64::from(c) + 1));
                let groups_start = index.groups.len() as u32;
                for (condition, reaches) in groups.drain(..) {
                    let start = index.reaches.len() as u32;
                    index.reaches.extend(reaches);
                    index.groups.push(AllowGroup {
                        condition,
                        reaches: start..index.reaches.len() as u32,
                    });
                }
                if let Some(cell) = index.cells.get_mut(cell) {
                    *cell = Cell {
                        denies: denies_start..index.denies.len() as u32,
                        allows: groups_start..index.groups.len() as u32,
                        deny_rules: deny_rules_start..allow_rules_start,
                        allow_rules: allow_rules_start..rules_end,
                    };
                }
            }
        }
        for (id, condition) in conditions.iter().enumerate() {
            if let Some(word) = index.purpose_readers.get_mut(id / 64) {
                if condition.reads_purpose {
                    *word |= 1 << (id % 64);
                }
            }
        }
        index.conditions = conditions;
        index.rule_conditions = rule_conditions;
        index
    }
}

/// Add a reach to a group's, merging it with one that differs only in its
/// recipients (the union of two such products is again one). A group holds
/// at most one reach for each actions, subjects and clearance, so a reach
/// equal to the new one would be that one, and merging with it is a no-op.
fn add_reach(reaches: &mut Vec<Reach>, reach: &Reach) {
    match reaches.iter_mut().find(|r| {
        r.actions == reach.actions && r.subjects == reach.subjects && r.clearance == reach.clearance
    }) {
        Some(same) => same.recipients = same.recipients.union(&reach.recipients),
        None => reaches.push(reach.clone()),
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
                visit(data * purposes + purpose, id as u32);
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

fn reads_purpose(cond: &Cond) -> bool {
    match cond {
        Cond::PurposeMember {
            request_purpose, ..
        } => *request_purpose,
        Cond::Not(inner) => reads_purpose(inner),
        Cond::And(parts) | Cond::Or(parts) => parts.iter().any(reads_purpose),
        Cond::Test(_) | Cond::BoolIs(..) | Cond::Compare(..) | Cond::EnumMember { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_stay_two_words() {
        // Every deny check and reach holds three masks; a large taxonomy's
        // bitset must not make all of them bigger.
        assert!(std::mem::size_of::<KeyMask>() <= 16);
        assert!(std::mem::size_of::<Reach>() <= 56);
    }
}
