//! The rendered text of the main diagnostics, pinned: what a user reads when
//! a policy or a request is wrong. Rendered without colour at 80 columns.

use privet::diagnostics::render_plain;
use privet::{Policy, Request};

fn policy_problems(text: &str) -> String {
    match Policy::from_source("shop.privet", text) {
        Ok(_) => panic!("expected the policy to fail"),
        Err(error) => render_plain(&error.problems(), 80),
    }
}

fn request_problems(policy: &str, request: &str) -> String {
    let policy = Policy::from_source("shop.privet", policy).expect("policy loads");
    let error = policy
        .read_request("request.json", request)
        .resolved
        .expect_err("the request is invalid");
    render_plain(&error.problems(), 80)
}

const POLICY: &str =
    "use std\nallow user.contact.email for marketing basis consent cite \"§1(b)\"\n";

#[test]
fn misspelt_data_category() {
    insta::assert_snapshot!(policy_problems(
        "use std\nallow user.contact.emial for marketing cite \"§1(b)\"\n"
    ));
}

#[test]
fn key_of_another_dimension() {
    insta::assert_snapshot!(policy_problems(
        "use std\nallow user.contact for first_party\n"
    ));
}

#[test]
fn misspelt_fact_and_basis() {
    insta::assert_snapshot!(policy_problems(
        "use std\nallow user.name for marketing\n    basis consnt\n    unless opted_out(purpose)\n"
    ));
}

#[test]
fn fact_of_the_wrong_type() {
    insta::assert_snapshot!(policy_problems("use std\ndeny user when subject_age\n"));
}

#[test]
fn every_syntax_error_at_once() {
    insta::assert_snapshot!(policy_problems(
        "use std\nallow user.contact for\nallow user.name cite \"ok\"\ndeny user when subject_age < \"x\"\n"
    ));
}

#[test]
fn cycle_of_local_keys() {
    insta::assert_snapshot!(policy_problems(
        "use std\ndata user.a under user.b\ndata user.b under user.a\n"
    ));
}

#[test]
fn request_with_a_misspelt_key() {
    insta::assert_snapshot!(request_problems(
        POLICY,
        r#"{"data": ["user.contact.emial"], "purpose": "marketing"}"#
    ));
}

#[test]
fn request_with_an_unknown_field() {
    insta::assert_snapshot!(request_problems(
        POLICY,
        r#"{"data": ["user.name"], "purpse": "marketing"}"#
    ));
}

#[test]
fn request_with_a_fact_of_the_wrong_type() {
    insta::assert_snapshot!(request_problems(
        POLICY,
        r#"{"data": ["user.name"], "context": {"subject_age": "twelve"}}"#
    ));
}

#[test]
fn request_that_is_not_json() {
    insta::assert_snapshot!(request_problems(POLICY, "{\"data\": [\"user.name\",]}"));
}

#[test]
fn unterminated_string() {
    // Not "expected a quoted string, found `"`": the string is there, it
    // is just never closed, and the label is on its opening quote.
    insta::assert_snapshot!(policy_problems(
        "use std\nallow user.name for marketing\n    cite \"§1(b)\nallow user cite \"§2\"\n"
    ));
}

#[test]
fn unterminated_string_at_the_end_of_the_file() {
    let text = policy_problems("use std\nallow user cite \"§1");
    assert!(text.contains("this string is never closed"), "{text}");
    assert!(text.contains("shop.privet:2:17"), "{text}");
    assert!(text.contains("before the end of the file"), "{text}");
}

#[test]
fn unknown_key_with_nothing_close() {
    // The help names the standard data categories, in the plural.
    insta::assert_snapshot!(policy_problems(
        "use std\nallow user.zzqqxx for marketing cite \"§1\"\n"
    ));
}

#[test]
fn a_byte_order_mark_is_accepted() {
    // Windows editors save UTF-8 with a leading U+FEFF; it is no character
    // of the policy or of the request.
    let policy = Policy::from_source("shop.privet", &format!("\u{feff}{POLICY}"))
        .expect("a policy with a byte-order mark loads");
    let request = Request::from_json("\u{feff}{\"data\": [\"user.name\"]}")
        .expect("a request with a byte-order mark reads");
    assert!(policy.decide(&request).is_ok());
}

#[test]
fn request_with_every_kind_of_error() {
    // A misspelt field, an unknown key and a fact of the wrong type: all
    // three at once, in the order of the text, each with its suggestion.
    insta::assert_snapshot!(request_problems(
        POLICY,
        r#"{"data": ["user.contact.emial"], "purpse": "marketing", "context": {"subject_age": "twelve", "dnd": true}}"#
    ));
}

#[test]
fn request_with_fields_of_the_wrong_kind() {
    insta::assert_snapshot!(request_problems(
        POLICY,
        r#"{"id": [1], "data": ["user.name", 3], "recipient": 7, "context": [], "recipient": "x"}"#
    ));
}
