//! Hostile input: each gives a clear error, never a panic, a hang or a
//! stack overflow. The limits are stated in the README.

use privet::limits::{
    MAX_FACTS, MAX_FILE_BYTES, MAX_INDEX_CELLS, MAX_INDEX_ENTRIES, MAX_KEYS, MAX_NESTING,
};
use privet::{Policy, Request};

fn problems(text: &str) -> Vec<privet::Problem> {
    match Policy::from_source("hostile.privet", text) {
        Ok(_) => panic!("expected the policy to be rejected"),
        Err(error) => error.problems(),
    }
}

fn codes(text: &str) -> Vec<&'static str> {
    problems(text).iter().map(|p| p.code).collect()
}

#[test]
fn deeply_nested_parentheses_are_an_error() {
    let depth = 100_000;
    let text = format!(
        "use std\ndeny user when {}dnt{}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    assert_eq!(codes(&text), ["privet::too_deep"]);
}

#[test]
fn nesting_up_to_the_limit_is_fine() {
    let depth = MAX_NESTING - 1;
    let text = format!(
        "use std\ndeny user when {}dnt{}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    assert!(Policy::from_source("deep.privet", &text).is_ok());
}

#[test]
fn long_chains_of_not_are_an_error() {
    let text = format!("use std\ndeny user when {}dnt", "not ".repeat(100_000));
    assert_eq!(codes(&text), ["privet::too_deep"]);
}

#[test]
fn long_flat_conditions_are_fine() {
    // `and` chains do not nest, so they have no depth limit.
    let atoms = vec!["dnt"; 5_000].join(" and ");
    assert!(
        Policy::from_source("flat.privet", &format!("use std\ndeny user when {atoms}")).is_ok()
    );
}

#[test]
fn a_huge_identifier_is_an_unknown_key_quickly() {
    let key = format!("user.{}", "a".repeat(1_000_000));
    let found = problems(&format!("use std\nallow {key}"));
    assert_eq!(found[0].code, "privet::unknown_key");
    // No suggestion is computed for a name that long.
    assert!(
        !found[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("did you mean")
    );
}

#[test]
fn a_huge_file_is_refused() {
    let text = "// padding\n".repeat(MAX_FILE_BYTES / 10);
    assert_eq!(codes(&text), ["privet::too_large"]);
}

#[test]
fn a_large_policy_is_accepted() {
    let rules: String = (0..3_000)
        .map(|i| {
            format!("allow user.contact.email for marketing when subject_age > {i} cite \"r{i}\"\n")
        })
        .collect();
    let policy = Policy::from_source("large.privet", &format!("use std\n{rules}")).expect("loads");
    assert_eq!(policy.compiled().rules.len(), 3_000);
}

#[test]
fn nul_bytes_are_refused() {
    assert_eq!(
        codes("use std\nallow user\0.contact"),
        ["privet::forbidden_character"]
    );
}

#[test]
fn bidi_controls_in_keys_are_refused() {
    // U+202E RIGHT-TO-LEFT OVERRIDE could make `user.contact` display as another key.
    let found = problems("use std\nallow user.\u{202E}tcatnoc");
    assert_eq!(found[0].code, "privet::forbidden_character");
    assert!(found[0].message.contains("U+202E"));
}

#[test]
fn cyclic_declarations_are_an_error() {
    let found = problems(
        "use std\ndata user.a under user.c\ndata user.b under user.a\ndata user.c under user.b",
    );
    assert_eq!(found[0].code, "privet::cycle");
}

#[test]
fn a_key_below_itself_is_a_cycle() {
    assert_eq!(
        codes("use std\ndata user.loop under user.loop"),
        ["privet::cycle"]
    );
}

#[test]
fn deeply_nested_request_json_is_an_error() {
    let text = format!(
        "{{\"data\": {}\"user\"{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let problem = Request::from_json(&text).expect_err("too deep");
    assert_eq!(problem.code, "privet::invalid_request");
}

#[test]
fn deeply_nested_context_json_is_an_error() {
    let text = format!(
        "{{\"data\": \"user\", \"context\": {{\"consent\": {}{}}}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(Request::from_json(&text).is_err());
}

#[test]
fn a_huge_request_key_is_an_unknown_key_quickly() {
    let policy = Policy::from_source("p.privet", "use std\nallow user").expect("loads");
    let request = Request::new([format!("user.{}", "x".repeat(1_000_000))]);
    let error = policy.decide(&request).expect_err("unknown");
    assert!(error.to_string().contains("unknown data category"));
}

#[test]
fn numbers_beyond_64_bits_are_errors() {
    assert_eq!(
        codes("use std\ndeny user when subject_age < 99999999999999999999"),
        ["privet::number_too_large"]
    );
    let policy = Policy::from_source("p.privet", "use std\nallow user").expect("loads");
    let request =
        Request::from_json(r#"{"data": "user", "context": {"subject_age": 1e300}}"#).expect("json");
    assert!(policy.decide(&request).is_err());
}

/// A flat policy of 10,000 valid rules, each allowing the same email above
/// an age between 0 and 89.
fn ten_thousand_rules() -> String {
    let mut text = String::from("use std\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "allow user.contact.email for essential.service to first_party \
             basis contract when subject_age > {} cite \"r{i}\"\n",
            i % 90
        ));
    }
    text
}

#[test]
fn a_flat_file_of_ten_thousand_rules_loads() {
    // Size is not nesting: a long file of valid rules must not hit the
    // parser's guard against runaway parses.
    let text = ten_thousand_rules();
    let policy = Policy::from_source("big.privet", &text).expect("10,000 rules load");
    let request = Request::new(["user.contact.email"])
        .purpose("essential.service")
        .fact("subject_age", 40);
    assert!(policy.allowed(&request).allowed);
}

#[test]
fn a_flat_file_of_ten_thousand_rules_with_an_error_at_its_end_is_read_to_it() {
    // A well-formed file is read without pest; one with an error is parsed
    // by pest, under its budget of steps, which 10,000 rules must not use up
    // before the error is reached.
    let mut text = ten_thousand_rules();
    text.push_str("allow user.contact.email for\n");
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, "privet::syntax");
    assert!(
        found[0].message.starts_with("expected a key"),
        "{}",
        found[0].message
    );
}

/// `count` facts `f0`, `f1`, … and then `g`, with a rule allowing the email
/// when `f0` holds.
fn policy_of_facts(count: usize) -> String {
    let mut text = String::from("use std\n");
    for i in 0..count {
        text.push_str(&format!("fact f{i}: bool\n"));
    }
    text.push_str("fact g: bool\n");
    text.push_str("allow user.contact.email for essential.service when f0 cite \"f0 only\"\n");
    text
}

#[test]
fn a_fact_past_the_limit_is_refused_not_aliased_to_the_first() {
    // 65,536 facts and then `g`: with 16-bit ids unchecked, `g` took the id
    // of `f0`, and a request giving `g` alone was allowed by `when f0`.
    let text = policy_of_facts(65_536);
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, "privet::too_many_facts");
    assert!(found[0].message.contains(&MAX_FACTS.to_string()));
    assert!(
        found[0].location().is_some(),
        "points at the fact one too many"
    );
}

#[test]
fn facts_up_to_the_limit_each_keep_their_own_id() {
    // `std` declares some facts; fill the rest of the limit.
    let std_facts = Policy::from_source("std.privet", "use std")
        .expect("std loads")
        .compiled()
        .facts
        .len();
    let policy = Policy::from_source("many.privet", &policy_of_facts(MAX_FACTS - std_facts - 1))
        .expect("facts up to the limit load");
    let email = || Request::new(["user.contact.email"]).purpose("essential.service");
    assert!(!policy.allowed(&email().fact("g", true)).allowed);
    assert!(policy.allowed(&email().fact("f0", true)).allowed);
    assert_eq!(
        codes(&policy_of_facts(MAX_FACTS - std_facts)),
        ["privet::too_many_facts"]
    );
}

/// `data` local data categories under `user` and `purposes` purposes under
/// `marketing`, with one allow over all of them.
fn policy_of_keys(data: usize, purposes: usize) -> String {
    let mut text = String::from("use std\n");
    for i in 0..data {
        text.push_str(&format!("data user.d{i} under user\n"));
    }
    for i in 0..purposes {
        text.push_str(&format!("purpose p{i} under marketing\n"));
    }
    text.push_str("allow user for marketing basis consent cite \"all\"\n");
    text
}

#[test]
fn a_decision_index_past_its_limit_is_refused_before_it_is_built() {
    // 3,000 data categories times 3,000 purposes once took 18 s and 10.5 GB
    // to check; its index would have 9 million cells.
    let found = problems(&policy_of_keys(3_000, 3_000));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, "privet::index_too_large");
    assert!(found[0].message.contains(&MAX_INDEX_CELLS.to_string()));
}

#[test]
fn a_broad_rule_over_many_keys_is_refused_at_that_rule() {
    // 1,000 × 1,000 cells fit, but an allow over all of them for every
    // recipient files some 21 million entries.
    let text = policy_of_keys(1_000, 1_000);
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, "privet::index_too_large");
    assert!(found[0].message.contains(&MAX_INDEX_ENTRIES.to_string()));
    let (_, line, _) = found[0].location().expect("located");
    assert_eq!(line, text.lines().count(), "at the allow, the last line");
}

#[test]
fn too_many_keys_of_one_dimension_are_refused() {
    let mut text = String::from("use std\n");
    for i in 0..MAX_KEYS {
        text.push_str(&format!("recipient third_party.r{i}\n"));
    }
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, "privet::too_many_keys");
    assert!(found[0].message.contains("recipients"));
}
