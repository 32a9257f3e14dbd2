//! What of a fact's value a policy can tell apart.
//!
//! A policy reads a whole number only through comparisons with constants,
//! and an enumerated set only through the members its conditions name. So
//! the values of a fact fall into regions that every condition decides
//! alike: `subject_age` under `< 13` and `>= 16` has three (below 13, 13 to
//! 15, 16 and above). Two requests whose facts lie in the same regions get
//! the same decision, which makes the regions part of a key under which a
//! decision can be kept and reused (`privet eval --requests`), and gives
//! `diff` the values it must try.

use std::collections::BTreeSet;

use super::{CompiledPolicy, Cond, FactId, FactKind, FactValue, KeyId};
use crate::limits::fact_id;
use crate::syntax::CompareOp;

/// The regions of one fact's values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactRegions {
    /// A whole-number fact: where each region starts, ascending. Values
    /// below the first start form one more region.
    pub starts: Vec<i64>,
    /// An enumerated set: the members some condition names; no condition
    /// can see the others.
    pub named: u64,
    /// An enumerated set: each distinct set of members a condition asks
    /// about (`fact(a, b)` holds when the value holds any of them).
    pub masks: Vec<u64>,
    /// A purpose set: the purposes its conditions name (beside the
    /// request's purpose, which `fact(purpose)` reads).
    pub purposes: Vec<KeyId>,
}

impl FactRegions {
    /// The start of the region `n` lies in; below every start, the smallest
    /// number stands for that region.
    pub fn region_of(&self, n: i64) -> i64 {
        let at_or_below = self.starts.partition_point(|start| *start <= n);
        at_or_below
            .checked_sub(1)
            .and_then(|i| self.starts.get(i))
            .copied()
            .unwrap_or(i64::MIN)
    }

    /// Appends to `key` what of `value` the policy can see, one tag word
    /// first so that values of different kinds never meet: a number's
    /// region, the named members held, the purposes covered (conditions
    /// read what the listed purposes cover, not the list).
    pub fn push_key(&self, value: Option<&FactValue>, key: &mut Vec<u64>) {
        match value {
            None => key.push(0),
            Some(FactValue::Bool(b)) => key.push(1 + u64::from(*b)),
            Some(FactValue::Int(n)) => key.extend([3, self.region_of(*n) as u64]),
            Some(FactValue::Members(held)) => key.extend([4, held & self.named]),
            Some(FactValue::Purposes { covered, .. }) => {
                let blocks = covered.as_slice();
                key.extend([5, blocks.len() as u64]);
                key.extend(blocks.iter().map(|&block| block as u64));
            }
        }
    }
}

impl Cond {
    /// Adds where a new region of `fact`'s values starts for each comparison
    /// in this condition: every comparison is constant between two starts.
    pub fn region_starts(&self, fact: FactId, out: &mut BTreeSet<i64>) {
        match self {
            Cond::Compare(f, op, n) if *f == fact => match op {
                CompareOp::Lt | CompareOp::Ge => {
                    out.insert(*n);
                }
                CompareOp::Le | CompareOp::Gt => {
                    out.insert(n.saturating_add(1));
                }
                CompareOp::Eq | CompareOp::Ne => {
                    out.insert(*n);
                    out.insert(n.saturating_add(1));
                }
            },
            Cond::Not(inner) => inner.region_starts(fact, out),
            Cond::And(parts) | Cond::Or(parts) => {
                parts.iter().for_each(|p| p.region_starts(fact, out))
            }
            _ => {}
        }
    }

    /// Adds each set of members of the enumerated set `fact` that this
    /// condition asks about.
    pub fn member_masks(&self, fact: FactId, out: &mut BTreeSet<u64>) {
        match self {
            Cond::EnumMember { fact: f, mask } if *f == fact => {
                out.insert(*mask);
            }
            Cond::Not(inner) => inner.member_masks(fact, out),
            Cond::And(parts) | Cond::Or(parts) => {
                parts.iter().for_each(|p| p.member_masks(fact, out))
            }
            _ => {}
        }
    }

    /// Adds the purposes this condition tests the purpose set `fact` for.
    pub fn purposes_named(&self, fact: FactId, out: &mut BTreeSet<KeyId>) {
        match self {
            Cond::PurposeMember { fact: f, keys, .. } if *f == fact => {
                out.extend(keys.iter().copied())
            }
            Cond::Not(inner) => inner.purposes_named(fact, out),
            Cond::And(parts) | Cond::Or(parts) => {
                parts.iter().for_each(|p| p.purposes_named(fact, out))
            }
            _ => {}
        }
    }
}

/// One number in each region that comparisons starting regions at `starts`
/// (ascending, as [`Cond::region_starts`] gives them) tell apart: the one
/// below the first start, then each start. No start: any one number.
pub fn region_representatives(starts: &[i64]) -> Vec<i64> {
    match starts.first() {
        None => vec![0],
        Some(first) => std::iter::once(first.saturating_sub(1))
            .chain(starts.iter().copied())
            .collect(),
    }
}

/// The classes of member sets that conditions asking about `masks` tell
/// apart, one representative set each: members that every mask holds or
/// lacks alike are one group, and a class is which groups a set meets.
/// Each class is given as its groups' members, lowest first. `None` when
/// there are more than `most` classes.
pub fn member_classes(masks: &[u64], most: usize) -> Option<Vec<Vec<u64>>> {
    let named = masks.iter().fold(0u64, |all, mask| all | mask);
    // Members by signature (which masks hold them): a group of members
    // no condition can tell apart, as one mask.
    let mut groups: Vec<(Vec<bool>, u64)> = Vec::new();
    for bit in (0..64).filter(|bit| named & (1u64 << bit) != 0) {
        let signature: Vec<bool> = masks.iter().map(|m| m & (1u64 << bit) != 0).collect();
        match groups.iter_mut().find(|(s, _)| *s == signature) {
            Some((_, members)) => *members |= 1u64 << bit,
            None => groups.push((signature, 1u64 << bit)),
        }
    }
    let classes = 1usize.checked_shl(u32::try_from(groups.len()).ok()?)?;
    if classes > most {
        return None;
    }
    Some(
        (0..classes)
            .map(|class| {
                groups
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| class & (1 << i) != 0)
                    .map(|(_, (_, members))| *members)
                    .collect()
            })
            .collect(),
    )
}

/// The ways a listed purpose set can cover `candidates`, one listing each.
/// A condition reads a purpose set only through which of the purposes it
/// names (and the request's purpose) the listed purposes cover, so the
/// subsets of the candidates reach every way; the smallest listing of each
/// stands for it. `covers(listed, candidate)` says, one bit per taxonomy the
/// listing is read in, whether listing one covers the other. `None` when
/// there are more than `most` subsets to try.
pub fn purpose_listings<T: Clone>(
    candidates: &[T],
    covers: impl Fn(&T, &T) -> u8,
    most: usize,
) -> Option<Vec<Vec<T>>> {
    let subsets = 1usize.checked_shl(u32::try_from(candidates.len()).ok()?)?;
    if subsets > most {
        return None;
    }
    // Smallest listings first, so that each way is shown by its least.
    let mut order: Vec<usize> = (0..subsets).collect();
    order.sort_by_key(|subset| (subset.count_ones(), *subset));
    let mut seen = std::collections::HashSet::new();
    let mut listings = Vec::new();
    for subset in order {
        let listed: Vec<&T> = candidates
            .iter()
            .enumerate()
            .filter(|(i, _)| subset & (1 << i) != 0)
            .map(|(_, c)| c)
            .collect();
        let way: Vec<u8> = candidates
            .iter()
            .map(|candidate| listed.iter().fold(0, |any, l| any | covers(l, candidate)))
            .collect();
        if seen.insert(way) {
            listings.push(listed.into_iter().cloned().collect());
        }
    }
    Some(listings)
}

impl CompiledPolicy {
    /// Every condition the policy evaluates: the rules' own and what their
    /// legal bases require.
    pub fn conditions(&self) -> impl Iterator<Item = &Cond> {
        self.rules
            .iter()
            .filter_map(|r| r.condition.as_ref())
            .chain(self.bases.iter().filter_map(|b| b.requires.as_ref()))
    }
}

/// The regions of every fact of `policy`, by fact id.
pub(super) fn fact_regions(policy: &CompiledPolicy) -> Vec<FactRegions> {
    (0..policy.facts.len())
        .map(|id| {
            let fact = fact_id(id);
            let mut regions = FactRegions::default();
            match policy.facts.get(id).map(|f| &f.kind) {
                Some(FactKind::Int) => {
                    let mut starts = BTreeSet::new();
                    policy
                        .conditions()
                        .for_each(|c| c.region_starts(fact, &mut starts));
                    regions.starts = starts.into_iter().collect();
                }
                Some(FactKind::EnumSet(_)) => {
                    let mut masks = BTreeSet::new();
                    policy
                        .conditions()
                        .for_each(|c| c.member_masks(fact, &mut masks));
                    regions.named = masks.iter().fold(0, |all, mask| all | mask);
                    regions.masks = masks.into_iter().collect();
                }
                Some(FactKind::PurposeSet) => {
                    let mut purposes = BTreeSet::new();
                    policy
                        .conditions()
                        .for_each(|c| c.purposes_named(fact, &mut purposes));
                    regions.purposes = purposes.into_iter().collect();
                }
                _ => {}
            }
            regions
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(starts: &[i64]) -> FactRegions {
        FactRegions {
            starts: starts.to_vec(),
            ..FactRegions::default()
        }
    }

    fn rep(regions: &FactRegions, n: i64) -> i64 {
        regions.region_of(n)
    }

    #[test]
    fn a_number_stands_for_the_start_of_its_region() {
        // `< 13` and `>= 16`: below 13, 13..=15, 16 and above.
        let age = regions(&[13, 16]);
        assert_eq!(rep(&age, 12), i64::MIN);
        assert_eq!(rep(&age, i64::MIN), i64::MIN);
        assert_eq!(rep(&age, 13), 13);
        assert_eq!(rep(&age, 15), 13);
        assert_eq!(rep(&age, 16), 16);
        assert_eq!(rep(&age, i64::MAX), 16);
        // No comparison at all: one region.
        assert_eq!(rep(&regions(&[]), 40), i64::MIN);
    }

    #[test]
    fn comparisons_start_regions_where_their_truth_changes() {
        let mut starts = BTreeSet::new();
        for (op, n) in [
            (CompareOp::Lt, 13),
            (CompareOp::Le, 20),
            (CompareOp::Gt, 30),
            (CompareOp::Eq, 40),
            (CompareOp::Ne, i64::MAX),
        ] {
            Cond::Compare(0, op, n).region_starts(0, &mut starts);
        }
        Cond::Compare(1, CompareOp::Lt, 99).region_starts(0, &mut starts);
        assert_eq!(
            starts.into_iter().collect::<Vec<_>>(),
            [13, 21, 31, 40, 41, i64::MAX]
        );
    }

    #[test]
    fn members_no_condition_names_leave_the_key_alone() {
        let named = FactRegions {
            named: 0b0110,
            ..FactRegions::default()
        };
        let key = |held: u64| {
            let mut key = Vec::new();
            named.push_key(Some(&FactValue::Members(held)), &mut key);
            key
        };
        assert_eq!(key(0b1011), key(0b0010));
        assert_ne!(key(0b0010), key(0b0100));
    }

    #[test]
    fn kinds_and_unknown_never_share_a_key() {
        let none = FactRegions::default();
        let key = |value: Option<FactValue>| {
            let mut key = Vec::new();
            none.push_key(value.as_ref(), &mut key);
            key
        };
        let keys = [
            key(None),
            key(Some(FactValue::Bool(false))),
            key(Some(FactValue::Bool(true))),
            key(Some(FactValue::Int(0))),
            key(Some(FactValue::Members(0))),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in keys.iter().skip(i + 1) {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn a_region_is_represented_by_its_start() {
        assert_eq!(region_representatives(&[]), [0]);
        assert_eq!(region_representatives(&[13, 16]), [12, 13, 16]);
        assert_eq!(region_representatives(&[i64::MIN]), [i64::MIN, i64::MIN]);
    }

    #[test]
    fn members_every_condition_treats_alike_are_one_group() {
        // `f(a, b)` alone cannot tell a from b: two classes, none or either.
        assert_eq!(
            member_classes(&[0b011], 64),
            Some(vec![vec![], vec![0b011]])
        );
        // `f(a, b)` and `f(b, c)`: a, b and c are told apart, eight classes.
        let classes = member_classes(&[0b011, 0b110], 64).expect("few");
        assert_eq!(classes.len(), 8);
        assert!(classes.contains(&vec![0b001, 0b010, 0b100]));
        assert_eq!(member_classes(&[0b011, 0b110], 7), None, "past the bound");
    }

    #[test]
    fn listings_that_cover_alike_are_one_way() {
        // Listing `x` covers `y` too: {x} and {x, y} are one way.
        let covers = |l: &&str, c: &&str| u8::from(l == c || (*l == "x" && *c == "y"));
        let ways = purpose_listings(&["x", "y"], covers, 64).expect("few");
        assert_eq!(ways, [vec![], vec!["x"], vec!["y"]]);
        assert_eq!(purpose_listings(&["x", "y", "z"], covers, 7), None);
    }
}
