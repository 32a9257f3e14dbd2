//! Each shipped Huawei policy has a review beside it (`policies/huawei/NAME.md`)
//! that walks its seed sentence by sentence and names, for each promise, the
//! rule that encodes it as `NAME.privet:LINE`, or says why it stays prose.
//! These tests keep the reviews true to the policies as the policies change:
//! every reference points at a rule or a declaration, and every rule is
//! accounted for.

use std::collections::BTreeSet;
use std::path::Path;

const POLICIES: [&str; 5] = [
    "website-2016",
    "global-2016",
    "consumer-cookies",
    "enterprise-community-2018",
    "device-2016",
];

/// The words a rule, a declaration or the header starts its first line with.
const STARTS: [&str; 12] = [
    "policy ",
    "use ",
    "allow ",
    "deny ",
    "data ",
    "purpose ",
    "recipient ",
    "action ",
    "subject ",
    "fact ",
    "legal_basis ",
    "obligation ",
];

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The line numbers a review references as `NAME.privet:LINE`.
fn references(review: &str, name: &str) -> Vec<usize> {
    let marker = format!("{name}.privet:");
    review
        .match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = review.get(at + marker.len()..)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn every_reference_of_a_review_points_at_a_rule_or_a_declaration() {
    for name in POLICIES {
        let policy = read(&format!("policies/huawei/{name}.privet"));
        let review = read(&format!("policies/huawei/{name}.md"));
        let lines: Vec<&str> = policy.lines().collect();
        let found = references(&review, name);
        assert!(
            found.len() >= 10,
            "{name}.md references {} lines",
            found.len()
        );
        for line in found {
            let text = lines.get(line.wrapping_sub(1)).copied().unwrap_or_default();
            assert!(
                STARTS.iter().any(|start| text.starts_with(start)),
                "{name}.md references {name}.privet:{line}, which is `{text}`"
            );
        }
    }
}

#[test]
fn every_rule_of_a_policy_is_in_its_review() {
    for name in POLICIES {
        let policy = read(&format!("policies/huawei/{name}.privet"));
        let review = read(&format!("policies/huawei/{name}.md"));
        let referenced: BTreeSet<usize> = references(&review, name).into_iter().collect();
        let unreviewed: Vec<usize> = policy
            .lines()
            .enumerate()
            .filter(|(_, line)| line.starts_with("allow ") || line.starts_with("deny "))
            .map(|(i, _)| i + 1)
            .filter(|line| !referenced.contains(line))
            .collect();
        assert!(
            unreviewed.is_empty(),
            "{name}.md does not mention the rules at lines {unreviewed:?}"
        );
    }
}

#[test]
fn every_review_says_what_stays_prose() {
    for name in POLICIES {
        let review = read(&format!("policies/huawei/{name}.md"));
        assert!(review.contains("stays prose"), "{name}.md");
        assert!(review.contains("prose:"), "{name}.md gives no prose row");
    }
}
