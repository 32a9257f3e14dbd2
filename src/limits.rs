//! Every limit privet enforces, in one place, each with the error code a
//! policy or request past it gets. The README's "Limits" table lists them.
//!
//! The limits keep every id and count within the integer type that holds
//! it, so that no conversion can wrap and make one key or fact stand for
//! another (a fact past 65,535 once aliased the first, and a rule on that
//! fact allowed a request about the other). They also bound what a policy
//! under the file-size limit can cost to load: `privet serve` compiles
//! every revision it is given, and no file may take the machine down.
//!
//! Ids are converted with [`key_id`], [`fact_id`] and [`index_u32`]. Past a
//! limit those saturate at the type's largest value, which names no key,
//! fact or entry: a look-up with it finds nothing, and nothing found is a
//! deny. The compiler refuses a policy before that can happen, so the
//! saturation is a second wall, not the first.

use crate::compile::{FactId, KeyId};

/// The largest policy file accepted (`privet::too_large`): far beyond any
/// real policy, small enough that parsing it stays quick.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Conditions nested deeper than this are refused (`privet::too_deep`):
/// building the syntax tree recurses once per level.
pub const MAX_NESTING: usize = 64;

/// pest's call limit counts every rule call of a whole parse, not the depth
/// of nesting (bounded before parsing, by [`MAX_NESTING`]). It guards
/// against a parse that never ends, so it grows with the text: a valid
/// policy takes about 3 calls a byte, and a flat file of 10,000 rules must
/// load as well as ten files of 1,000. Past it: `privet::syntax`.
pub const PARSE_CALLS_PER_BYTE: usize = 64;
pub const MIN_PARSE_CALLS: usize = 1_000_000;

/// The most facts a policy may declare, `std`'s included
/// (`privet::too_many_facts`). Fact ids are 16 bits wide.
pub const MAX_FACTS: usize = 4096;

/// The most keys one dimension (data categories, purposes, recipients,
/// actions, subjects) may hold, `std`'s included (`privet::too_many_keys`).
/// Each key keeps the set of keys above and below it, so a taxonomy costs
/// its size squared in bits: 2 × 10,000² bits is 25 MB.
pub const MAX_KEYS: usize = 10_000;

/// The most members an enumerated set fact may have
/// (`privet::too_many_members`): a value is one 64-bit word.
pub const MAX_SET_MEMBERS: usize = 64;

/// The most rules one policy may hold (`privet::too_many_rules`).
pub const MAX_RULES: usize = 1 << 20;

/// The most (data category, purpose) cells the decision index may have:
/// the data categories times the purposes (`privet::index_too_large`).
pub const MAX_INDEX_CELLS: usize = 1 << 21;

/// The most entries the decision index may file: each rule once in every
/// cell it covers, an allow once more for every recipient it names there
/// (`privet::index_too_large`). At the limit the index takes about 200 MB.
pub const MAX_INDEX_ENTRIES: u64 = 1 << 22;

/// The most fact valuations `privet diff` tries at one point of the request
/// space, and the most values it enumerates of one fact, before it stops
/// and says that the diff is incomplete (exit 2) rather than under-report.
pub const MAX_DIFF_VALUATIONS: usize = 1 << 20;
pub const MAX_DIFF_VALUES: usize = 4096;

/// How many bytes of decisions, keys and lines `privet eval --requests`
/// keeps for reuse. Past that, requests are still decided, just not kept,
/// so memory stays bounded whatever the input. On the global policy it
/// held 18,000 decisions of random questions, or 3,400 decisions and
/// 88,000 lines of an audit; a larger budget only slowed a stream of ever
/// new questions (BENCHMARKS.md §3).
pub const MAX_BATCH_KEPT_BYTES: usize = 16 << 20;

/// The most fact valuations one lint question enumerates, and the most
/// boxes a subtraction of deny scopes keeps, before lint leaves the
/// question undecided: no finding, rather than a guess.
pub const MAX_LINT_VALUATIONS: usize = 1 << 18;
pub const MAX_LINT_BOXES: usize = 4096;

/// The longest name a "did you mean" suggestion is computed for: the edit
/// distance costs the product of the two lengths.
pub const MAX_SUGGESTION_INPUT: usize = 200;

/// A key's id. Every taxonomy holds at most [`MAX_KEYS`] keys, so this
/// never saturates for a key of a compiled policy; `KeyId::MAX` names none.
#[inline]
pub fn key_id(index: usize) -> KeyId {
    KeyId::try_from(index).unwrap_or(KeyId::MAX)
}

/// A fact's id. A policy declares at most [`MAX_FACTS`] facts, so this
/// never saturates for a fact of a compiled policy; `FactId::MAX` names none.
#[inline]
pub fn fact_id(index: usize) -> FactId {
    FactId::try_from(index).unwrap_or(FactId::MAX)
}

/// A position or count in the decision index, which files at most
/// [`MAX_INDEX_ENTRIES`] entries; `u32::MAX` is past every table.
#[inline]
pub fn index_u32(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_fit_the_types_that_hold_them() {
        assert!(MAX_FACTS < usize::from(FactId::MAX));
        assert!(u64::try_from(MAX_KEYS).is_ok_and(|n| n < u64::from(KeyId::MAX)));
        assert!(MAX_INDEX_ENTRIES < u64::from(u32::MAX));
        assert!(u32::try_from(MAX_INDEX_CELLS).is_ok());
        assert!(u32::try_from(MAX_RULES).is_ok());
    }

    #[test]
    fn conversions_past_the_type_name_nothing_instead_of_wrapping() {
        assert_eq!(fact_id(65_536), FactId::MAX);
        assert_eq!(fact_id(65_537), FactId::MAX);
        assert_eq!(fact_id(3), 3);
        assert_eq!(key_id(usize::MAX), KeyId::MAX);
        assert_eq!(index_u32(1 << 40), u32::MAX);
    }
}
