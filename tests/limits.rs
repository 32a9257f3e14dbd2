//! Hostile input: each gives a clear error, never a panic, a hang or a
//! stack overflow. The limits are stated in the README.

use privet::syntax::{MAX_FILE_BYTES, MAX_NESTING};
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
