//! When one condition is weaker than another, whatever the request says.
//!
//! The decision index uses this to drop what the lean path need not check:
//! an allow whose condition is never true without a broader allow's being
//! true too, or a deny that never fires without a broader deny firing.
//! Only what is shown is used; a pair that cannot be shown cheaply is
//! treated as unrelated, which costs speed, never an answer.

use super::{Cond, FactId};
use crate::syntax::CompareOp;

/// How many steps one comparison of two conditions may take: conditions
/// are written by people and small, and a pathological pair must not make
/// compiling slow.
pub const STEPS: u32 = 256;

impl Cond {
    /// Whether `self` is at most `other` in the order false < unknown <
    /// true, for every request and at every purpose: when `self` is true so
    /// is `other` (an allow under `self` adds nothing to one under
    /// `other`), and when `self` is not false neither is `other` (a deny
    /// under `self` fires only where one under `other` fires). `false` when
    /// that is not shown within `steps`.
    pub fn at_most(&self, other: &Cond, steps: &mut u32) -> bool {
        if *steps == 0 {
            return false;
        }
        *steps -= 1;
        if self == other {
            return true;
        }
        // Kleene's `and` is the least of its parts and `or` the greatest,
        // so these follow from the order alone.
        match other {
            Cond::And(parts) if parts.iter().all(|p| self.at_most(p, steps)) => return true,
            Cond::Or(parts) if parts.iter().any(|p| self.at_most(p, steps)) => return true,
            _ => {}
        }
        match self {
            Cond::And(parts) if parts.iter().any(|p| p.at_most(other, steps)) => return true,
            Cond::Or(parts) if parts.iter().all(|p| p.at_most(other, steps)) => return true,
            _ => {}
        }
        match (self, other) {
            // Negation turns the order round.
            (Cond::Not(mine), Cond::Not(theirs)) if theirs.at_most(mine, steps) => true,
            (Cond::EnumMember { fact, mask }, Cond::EnumMember { fact: f, mask: m }) => {
                fact == f && mask & !m == 0
            }
            (
                Cond::PurposeMember {
                    fact,
                    keys,
                    request_purpose,
                },
                Cond::PurposeMember {
                    fact: f,
                    keys: k,
                    request_purpose: r,
                },
            ) => fact == f && (!request_purpose || *r) && keys.iter().all(|key| k.contains(key)),
            _ => match (self.as_bool_is(), other.as_bool_is()) {
                (Some(mine), Some(theirs)) => mine == theirs,
                _ => match (self.as_values(), other.as_values()) {
                    (Some((fact, mine)), Some((f, theirs))) => fact == f && mine.within(theirs),
                    _ => false,
                },
            },
        }
    }

    /// `flag` and `flag is true` are one test: both unknown unless the
    /// fact is a known boolean.
    fn as_bool_is(&self) -> Option<(FactId, bool)> {
        match self {
            Cond::Test(fact) => Some((*fact, true)),
            Cond::BoolIs(fact, expected) => Some((*fact, *expected)),
            _ => None,
        }
    }

    /// A comparison, or the negation of one, as the numbers it holds for;
    /// both are unknown exactly when the fact is not a known number.
    fn as_values(&self) -> Option<(FactId, Values)> {
        match self {
            Cond::Compare(fact, op, n) => Some((*fact, Values::of(*op, *n))),
            Cond::Not(inner) => match inner.as_ref() {
                Cond::Compare(fact, op, n) => Some((*fact, Values::of(*op, *n).complement())),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The numbers a comparison holds for: those inside `low..=high`, or those
/// outside it. Bounds are wide enough that `n - 1` and `n + 1` never wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Values {
    low: i128,
    high: i128,
    inside: bool,
}

const LEAST: i128 = i64::MIN as i128;
const MOST: i128 = i64::MAX as i128;

impl Values {
    fn of(op: CompareOp, n: i64) -> Values {
        let n = i128::from(n);
        let (low, high, inside) = match op {
            CompareOp::Lt => (LEAST, n - 1, true),
            CompareOp::Le => (LEAST, n, true),
            CompareOp::Gt => (n + 1, MOST, true),
            CompareOp::Ge => (n, MOST, true),
            CompareOp::Eq => (n, n, true),
            CompareOp::Ne => (n, n, false),
        };
        Values { low, high, inside }
    }

    fn complement(self) -> Values {
        Values {
            inside: !self.inside,
            ..self
        }
    }

    fn is_empty_range(self) -> bool {
        self.low > self.high
    }

    /// Whether every number `self` holds for, `other` holds for too.
    fn within(self, other: Values) -> bool {
        let holds = |v: Values, n: i128| (v.low <= n && n <= v.high) == v.inside;
        match (self.inside, other.inside) {
            (true, true) => {
                self.is_empty_range() || (other.low <= self.low && self.high <= other.high)
            }
            (true, false) => {
                self.is_empty_range()
                    || other.is_empty_range()
                    || self.high < other.low
                    || self.low > other.high
            }
            // Outside a range: up to `low - 1` and from `high + 1`, each
            // part where it holds any number at all.
            (false, true) => {
                if self.is_empty_range() {
                    return other.low <= LEAST && other.high >= MOST;
                }
                let below = self.low > LEAST;
                let above = self.high < MOST;
                (!below || (other.low <= LEAST && holds(other, self.low - 1)))
                    && (!above || (other.high >= MOST && holds(other, self.high + 1)))
            }
            // The complements the other way round.
            (false, false) => {
                other.is_empty_range() || (self.low <= other.low && other.high <= self.high)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use fixedbitset::FixedBitSet;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    use super::*;
    use crate::compile::{FactValue, KeyId, Truth};

    const AGE: FactId = 0;
    const FLAG: FactId = 1;
    const REGION: FactId = 2;
    const CONSENT: FactId = 3;
    const PURPOSES: usize = 4;

    fn rank(truth: Truth) -> u8 {
        match truth {
            Truth::False => 0,
            Truth::Unknown => 1,
            Truth::True => 2,
        }
    }

    fn atom() -> impl Strategy<Value = Cond> {
        let ops = prop_oneof![
            Just(CompareOp::Lt),
            Just(CompareOp::Le),
            Just(CompareOp::Gt),
            Just(CompareOp::Ge),
            Just(CompareOp::Eq),
            Just(CompareOp::Ne),
        ];
        // Constants near each other, and the ends of the range, where an
        // off-by-one or an overflow would show.
        let numbers = prop_oneof![
            12i64..=17,
            Just(i64::MIN),
            Just(i64::MIN + 1),
            Just(i64::MAX - 1),
            Just(i64::MAX),
        ];
        prop_oneof![
            (ops, numbers).prop_map(|(op, n)| Cond::Compare(AGE, op, n)),
            Just(Cond::Test(FLAG)),
            any::<bool>().prop_map(|b| Cond::BoolIs(FLAG, b)),
            (1u64..8).prop_map(|mask| Cond::EnumMember { fact: REGION, mask }),
            (
                proptest::sample::subsequence(vec![0 as KeyId, 1, 2, 3], 0..=2),
                any::<bool>()
            )
                .prop_map(|(keys, request_purpose)| Cond::PurposeMember {
                    fact: CONSENT,
                    keys,
                    request_purpose,
                }),
        ]
    }

    fn cond() -> impl Strategy<Value = Cond> {
        atom().prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Cond::And),
                proptest::collection::vec(inner, 0..3).prop_map(Cond::Or),
            ]
        })
    }

    /// Every request the atoms above can tell apart, with facts unknown,
    /// of the wrong kind, and at both ends of the numbers.
    fn requests() -> Vec<Vec<Option<FactValue>>> {
        let ages = [None, Some(FactValue::Bool(true))]
            .into_iter()
            .chain(
                [i64::MIN, i64::MIN + 1, 0, 11, 12, 13, 14, 15, 16, 17, 18]
                    .into_iter()
                    .chain([i64::MAX - 1, i64::MAX])
                    .map(|n| Some(FactValue::Int(n))),
            )
            .collect::<Vec<_>>();
        let flags = [
            None,
            Some(FactValue::Bool(false)),
            Some(FactValue::Bool(true)),
        ];
        let regions = [
            None,
            Some(FactValue::Members(0b001)),
            Some(FactValue::Members(0b110)),
        ];
        let consents = [None, Some(&[][..]), Some(&[1][..]), Some(&[0, 2][..])].map(|keys| {
            keys.map(|keys: &[usize]| {
                let mut covered = FixedBitSet::with_capacity(PURPOSES);
                keys.iter().for_each(|&k| covered.insert(k));
                FactValue::Purposes {
                    listed: keys.iter().map(|&k| k as KeyId).collect(),
                    covered,
                }
            })
        });
        let mut all = Vec::new();
        for age in &ages {
            for flag in &flags {
                for region in &regions {
                    for consent in &consents {
                        all.push(vec![
                            age.clone(),
                            flag.clone(),
                            region.clone(),
                            consent.clone(),
                        ]);
                    }
                }
            }
        }
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Soundness: whenever `a` is shown at most `b`, no request and no
        /// purpose gives `a` a higher truth than `b`. The pairs are mostly
        /// a part and its whole, so that the shown case is common.
        #[test]
        fn at_most_holds_at_every_request(
            a in cond(),
            b in cond(),
            wrap in 0..4u8,
        ) {
            let (a, b) = match wrap {
                0 => (a, b),
                1 => (Cond::And(vec![a.clone(), b]), a),
                2 => (a.clone(), Cond::Or(vec![b, a])),
                _ => (Cond::Not(Box::new(b.clone())), Cond::Not(Box::new(Cond::And(vec![b, a])))),
            };
            let mut steps = STEPS;
            if a.at_most(&b, &mut steps) {
                for facts in requests() {
                    for purpose in 0..PURPOSES as KeyId {
                        let low = a.eval(&facts, purpose, &mut |_| {});
                        let high = b.eval(&facts, purpose, &mut |_| {});
                        prop_assert!(
                            rank(low) <= rank(high),
                            "{a:?} is {low:?} but {b:?} is {high:?} at {facts:?}, purpose {purpose}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn generated_pairs_reach_every_rule_of_the_order() {
        // The property above proves nothing of a rule it never sees shown:
        // count, over pairs of distinct atoms, how often each kind is.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut numbers, mut members, mut purposes, mut negated) = (0, 0, 0, 0);
        for _ in 0..4_000 {
            let a = atom().new_tree(&mut runner).unwrap().current();
            let b = atom().new_tree(&mut runner).unwrap().current();
            let mut steps = STEPS;
            if a == b || !a.at_most(&b, &mut steps) {
                continue;
            }
            match a {
                Cond::Compare(..) => numbers += 1,
                Cond::EnumMember { .. } => members += 1,
                Cond::PurposeMember { .. } => purposes += 1,
                _ => {}
            }
            let (not_b, not_a) = (Cond::Not(Box::new(b)), Cond::Not(Box::new(a)));
            let mut steps = STEPS;
            if not_b.at_most(&not_a, &mut steps) {
                negated += 1;
            }
        }
        assert!(
            numbers > 20 && members > 20 && purposes > 20 && negated > 100,
            "{numbers} {members} {purposes} {negated}"
        );
    }

    #[test]
    fn number_ranges_compare_at_their_edges() {
        let shown = |a: Cond, b: Cond| a.at_most(&b, &mut STEPS.clone());
        let age = |op, n| Cond::Compare(AGE, op, n);
        assert!(shown(age(CompareOp::Gt, 20), age(CompareOp::Gt, 12)));
        assert!(!shown(age(CompareOp::Gt, 12), age(CompareOp::Gt, 20)));
        assert!(shown(age(CompareOp::Lt, 13), age(CompareOp::Le, 12)));
        assert!(shown(age(CompareOp::Eq, 15), age(CompareOp::Ne, 14)));
        assert!(!shown(age(CompareOp::Ne, 14), age(CompareOp::Eq, 15)));
        // `not (age < 16)` is `age >= 16`: both unknown without an age.
        assert!(shown(
            Cond::Not(Box::new(age(CompareOp::Lt, 16))),
            age(CompareOp::Ge, 16)
        ));
        // `< i64::MIN` holds for no number, so for none that `> 3` misses.
        assert!(shown(age(CompareOp::Lt, i64::MIN), age(CompareOp::Gt, 3)));
        // A different fact is never compared.
        assert!(!shown(
            age(CompareOp::Gt, 20),
            Cond::Compare(FLAG, CompareOp::Gt, 12)
        ));
    }

    #[test]
    fn a_pathological_pair_stops_at_its_step_budget() {
        let wide = |n: i64| {
            Cond::Or(
                (0..n)
                    .map(|k| Cond::Compare(AGE, CompareOp::Eq, k))
                    .collect(),
            )
        };
        // True, but only after a thousand tries of the parts: given up.
        let mut steps = STEPS;
        assert!(!Cond::And(vec![wide(1_000)]).at_most(&wide(1_000), &mut steps));
        assert_eq!(steps, 0);
    }
}
