//! The semantics of DESIGN.md §1, one promise per test, over small policies.

use std::sync::Arc;

use privet::{Decision, Policy, Request};

fn policy(text: &str) -> Policy {
    match Policy::from_source("test.privet", text) {
        Ok(policy) => policy,
        Err(error) => panic!("policy does not load: {:?}", error.problems()),
    }
}

fn decide(policy: &Policy, request: Request) -> Decision {
    match policy.decide(&request) {
        Ok(decision) => decision,
        Err(error) => panic!("request failed: {error}"),
    }
}

fn adult(data: &[&str]) -> Request {
    Request::new(data.iter().copied()).fact("subject_age", 30)
}

const SHOP: &str = r#"
use std
allow user.contact.email, user.name for marketing to first_party
    basis consent unless opt_out(purpose) oblige offer_opt_out cite "§1(b)"
allow user.contact, user.name for essential.service to first_party, processor.logistics
    basis contract oblige minimize cite "§1(a)"
allow non_personal cite "§1 non-PII"
deny user when subject_age < 13 and not parental_consent cite "§6"
deny share.sell of user cite "no sale"
"#;

#[test]
fn nothing_is_allowed_without_a_rule() {
    let p = policy("use std");
    let d = decide(&p, adult(&["user.contact.email"]).purpose("marketing"));
    assert!(!d.allowed);
    assert_eq!(d.reasons[0].rule, "default");
}

#[test]
fn an_allowing_rule_allows_and_says_why() {
    let p = policy(SHOP);
    let d = decide(
        &p,
        adult(&["user.contact.email"]).purpose("essential.service.notifications"),
    );
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.decision, "allow");
    assert_eq!(d.basis.as_deref(), Some("contract"));
    assert_eq!(d.obligations, ["minimize"]);
    assert_eq!(d.reasons[0].cite.as_deref(), Some("§1(a)"));
    assert_eq!(d.reasons[0].rule, "test.privet:5:1");
}

#[test]
fn deny_overrides_allow() {
    let p = policy(SHOP);
    let child = Request::new(["user.contact.email"])
        .purpose("essential.service")
        .fact("subject_age", 12);
    let d = decide(&p, child);
    assert!(!d.allowed);
    assert_eq!(d.reasons.len(), 1);
    assert_eq!(d.reasons[0].effect, "deny");
    assert_eq!(d.reasons[0].cite.as_deref(), Some("§6"));
}

#[test]
fn parental_consent_lifts_the_children_rule() {
    let p = policy(SHOP);
    let child = Request::new(["user.contact.email"])
        .purpose("essential.service")
        .fact("subject_age", 12)
        .fact("parental_consent", true);
    assert!(decide(&p, child).allowed);
    let thirteen = Request::new(["user.contact.email"])
        .purpose("essential.service")
        .fact("subject_age", 13);
    assert!(decide(&p, thirteen).allowed);
}

#[test]
fn a_missing_age_fails_closed_and_is_named() {
    let p = policy(SHOP);
    let d = decide(
        &p,
        Request::new(["user.contact.email"]).purpose("essential.service"),
    );
    assert!(!d.allowed);
    assert_eq!(d.missing_facts, ["subject_age"]);
    assert!(d.reasons[0].detail.contains("could not be ruled out"));
}

#[test]
fn an_allow_needs_its_condition_known_true() {
    let p = policy("use std\nallow user for analytics when subject_age >= 18");
    let d = decide(&p, Request::new(["user.name"]).purpose("analytics"));
    assert!(!d.allowed);
    assert_eq!(d.missing_facts, ["subject_age"]);
    let d = decide(&p, adult(&["user.name"]).purpose("analytics"));
    assert!(d.allowed);
}

#[test]
fn consent_basis_needs_consent_to_the_purpose_or_above() {
    let p = policy(SHOP);
    let email = |consent: &[&str]| {
        adult(&["user.contact.email"])
            .purpose("marketing.communications.email")
            .fact("consent", consent.to_vec())
    };
    assert!(!decide(&p, email(&[])).allowed);
    assert!(decide(&p, email(&["marketing"])).allowed);
    assert!(decide(&p, email(&["marketing.communications.email"])).allowed);
    assert!(!decide(&p, email(&["marketing.communications.sms"])).allowed);
    // Explicit consent is consent too.
    let explicit = adult(&["user.contact.email"])
        .purpose("marketing.communications.email")
        .fact("explicit_consent", ["marketing"]);
    assert!(decide(&p, explicit).allowed);
}

#[test]
fn opting_out_stops_marketing() {
    let p = policy(SHOP);
    let request = adult(&["user.contact.email"])
        .purpose("marketing.communications.email")
        .fact("consent", ["marketing"])
        .fact("opt_out", ["marketing.communications"]);
    assert!(!decide(&p, request).allowed);
    // Opting out of SMS leaves email alone.
    let request = adult(&["user.contact.email"])
        .purpose("marketing.communications.email")
        .fact("consent", ["marketing"])
        .fact("opt_out", ["marketing.communications.sms"]);
    assert!(decide(&p, request).allowed);
}

#[test]
fn a_broad_data_key_needs_everything_below_it() {
    let p = policy(SHOP);
    // user.contact.email and user.name are allowed for marketing; the rest of user.contact is not.
    let d = decide(
        &p,
        adult(&["user.contact"])
            .purpose("marketing")
            .fact("consent", ["marketing"]),
    );
    assert!(!d.allowed);
    assert!(d.reasons.iter().all(|r| r.rule == "default"));
    let d = decide(
        &p,
        adult(&["user.name"])
            .purpose("marketing")
            .fact("consent", ["marketing"]),
    );
    assert!(d.allowed, "user.name and everything below it is allowed");
}

#[test]
fn an_absent_purpose_means_every_purpose() {
    let p = policy(SHOP);
    assert!(!decide(&p, adult(&["user.contact.email"])).allowed);
    // non_personal is allowed for any purpose.
    assert!(decide(&p, Request::new(["non_personal.statistics"])).allowed);
}

#[test]
fn a_broad_purpose_needs_every_purpose_below_it() {
    let p = policy("use std\nallow user.name for essential.service.security");
    assert!(!decide(&p, adult(&["user.name"]).purpose("essential.service")).allowed);
    assert!(
        decide(
            &p,
            adult(&["user.name"]).purpose("essential.service.security")
        )
        .allowed
    );
}

#[test]
fn combined_personal_data_is_personal_data() {
    let p = policy(SHOP);
    // Statistics alone: any purpose, any recipient.
    let stats = Request::new(["non_personal.statistics"])
        .purpose("analytics")
        .recipient("third_party");
    assert!(decide(&p, stats).allowed);
    // Combined with an email address, the statistics are personal data, and
    // the non-PII rule no longer covers them.
    let combined = adult(&["non_personal.statistics", "user.contact.email"])
        .purpose("essential.service")
        .recipient("processor.logistics");
    let d = decide(&p, combined);
    assert!(!d.allowed);
    assert_eq!(d.class, Some("personal"));
    assert!(
        d.reasons
            .iter()
            .any(|r| r.detail.contains("non_personal.statistics"))
    );
}

#[test]
fn sensitive_data_needs_a_rule_that_reaches_it() {
    let p = policy("use std\nallow user.contact for analytics\nallow user for essential");
    // user.contact reaches only personal data, so combined with biometrics it does not apply.
    let d = decide(
        &p,
        adult(&["user.contact.email", "user.biometric.fingerprint"]).purpose("analytics"),
    );
    assert!(!d.allowed);
    assert_eq!(d.class, Some("sensitive"));
    // A rule on all of `user` reaches sensitive data.
    let d = decide(
        &p,
        adult(&["user.contact.email", "user.biometric.fingerprint"]).purpose("essential"),
    );
    assert!(d.allowed);
}

#[test]
fn a_request_action_is_exact_but_rule_actions_cover_below() {
    let p = policy(SHOP);
    let share = adult(&["user.contact.email"])
        .purpose("essential.service")
        .recipient("processor.logistics");
    assert!(
        decide(&p, share.clone()).allowed,
        "plain sharing is not selling"
    );
    let sell = share.action("share.sell");
    let d = decide(&p, sell);
    assert!(!d.allowed);
    assert_eq!(d.reasons[0].cite.as_deref(), Some("no sale"));
}

#[test]
fn defaults_are_first_party_use_customer() {
    let p = policy("use std\nallow use of user.name to first_party about customer");
    assert!(decide(&p, adult(&["user.name"])).allowed);
    assert!(!decide(&p, adult(&["user.name"]).subject("employee")).allowed);
    // Another recipient makes the default action `share`.
    assert!(!decide(&p, adult(&["user.name"]).recipient("affiliate")).allowed);
}

#[test]
fn a_broad_recipient_needs_every_recipient_below_it() {
    let p = policy("use std\nallow user.name to processor.logistics");
    assert!(!decide(&p, adult(&["user.name"]).recipient("processor")).allowed);
    assert!(decide(&p, adult(&["user.name"]).recipient("processor.logistics")).allowed);
}

#[test]
fn every_data_item_must_be_allowed() {
    let p = policy(SHOP);
    let d = decide(
        &p,
        adult(&["user.contact.email", "user.location.precise"]).purpose("essential.service"),
    );
    assert!(!d.allowed);
    assert!(d.reasons[0].detail.contains("user.location.precise"));
}

#[test]
fn hints_say_what_would_allow_and_are_sound() {
    let p = policy(SHOP);
    let request = adult(&["user.contact.email"]).purpose("marketing.communications.email");
    let d = decide(&p, request.clone());
    assert_eq!(
        d.hints,
        ["allowed with consent to marketing.communications.email"]
    );
    let with_consent = request.fact("consent", ["marketing.communications.email"]);
    assert!(decide(&p, with_consent).allowed);
}

#[test]
fn hints_cover_flags_and_safeguards() {
    let p = policy(
        "use std\nallow user.location for personalize when location_services\n\
         allow user.name for essential when not cross_border or safeguards(scc, bcr)",
    );
    let d = decide(&p, adult(&["user.location.precise"]).purpose("personalize"));
    assert_eq!(d.hints, ["allowed with location_services = true"]);
    let d = decide(
        &p,
        adult(&["user.name"])
            .purpose("essential")
            .fact("cross_border", true),
    );
    assert!(!d.allowed);
    assert_eq!(d.hints, ["allowed with cross_border = false"]);
}

#[test]
fn no_hint_is_offered_when_none_would_work() {
    let p = policy(SHOP);
    let d = decide(&p, adult(&["user.location.precise"]).purpose("marketing"));
    assert!(!d.allowed);
    assert!(d.hints.is_empty(), "{:?}", d.hints);
}

#[test]
fn rule_order_does_not_change_decisions() {
    let rules: Vec<&str> = SHOP
        .lines()
        .filter(|l| !l.trim().is_empty() && *l != "use std")
        .collect();
    // SHOP's rules span lines; join continuation lines to whole rules first.
    let mut whole: Vec<String> = Vec::new();
    for line in rules {
        if line.starts_with(' ') {
            if let Some(last) = whole.last_mut() {
                last.push_str(line);
            }
        } else {
            whole.push(line.to_string());
        }
    }
    let forward = policy(&format!("use std\n{}", whole.join("\n")));
    whole.reverse();
    let backward = policy(&format!("{}\nuse std", whole.join("\n")));
    let requests = [
        adult(&["user.contact.email"])
            .purpose("marketing")
            .fact("consent", ["marketing"]),
        adult(&["user.contact.email"]).purpose("essential.service"),
        Request::new(["user.contact.email"]).purpose("essential.service"),
        adult(&["non_personal.statistics", "user.name"]).purpose("analytics"),
        adult(&["user.name"])
            .recipient("processor.logistics")
            .action("share.sell"),
    ];
    for request in requests {
        let a = decide(&forward, request.clone());
        let b = decide(&backward, request);
        assert_eq!(a.allowed, b.allowed);
        assert_eq!(a.missing_facts, b.missing_facts);
        assert_eq!(a.hints, b.hints);
    }
}

#[test]
fn local_keys_and_facts_extend_the_vocabulary() {
    let p = policy(
        r#"use std
        data user.telemetry.crash_dump under user.telemetry "a crash dump"
        fact beta_tester: bool default false
        allow user.telemetry.crash_dump for functional.service.improve when beta_tester"#,
    );
    let request = adult(&["user.telemetry.crash_dump"]).purpose("functional.service.improve");
    assert!(!decide(&p, request.clone()).allowed);
    assert!(decide(&p, request.fact("beta_tester", true)).allowed);
}

#[test]
fn allowed_denies_an_invalid_request_and_says_why() {
    let p = policy(SHOP);
    let d = p.allowed(&Request::new(["user.contact.emial"]));
    assert!(!d.allowed);
    assert_eq!(d.reasons[0].rule, "error");
    assert!(
        d.reasons[0].detail.contains("did you mean") || d.reasons[0].detail.contains("unknown")
    );
    assert_eq!(d.class, None);
}

#[test]
fn invalid_requests_are_errors_with_suggestions() {
    let p = policy(SHOP);
    let cases = [
        (
            Request::new(["user.contact.emial"]),
            "did you mean `user.contact.email`?",
        ),
        (
            adult(&["user.name"]).purpose("marketting"),
            "did you mean `marketing`?",
        ),
        (
            adult(&["user.name"]).recipient("processor.logistic"),
            "did you mean `processor.logistics`?",
        ),
        (
            adult(&["user.name"]).fact("consnt", ["marketing"]),
            "did you mean `consent`?",
        ),
        (
            adult(&["user.name"]).purpose("first_party"),
            "is a recipient, not a purpose",
        ),
    ];
    for (request, help) in cases {
        let error = p.decide(&request).expect_err("invalid");
        let problems = error.problems();
        let text = problems[0].help.clone().unwrap_or_default();
        assert!(text.contains(help), "{text:?} should contain {help:?}");
    }
    let error = p
        .decide(&adult(&["user.name"]).fact("subject_age", "twelve"))
        .expect_err("wrong type");
    assert!(error.to_string().contains("must be a whole number"));
    let error = p
        .decide(&Request::new(Vec::<String>::new()))
        .expect_err("empty");
    assert!(error.to_string().contains("empty"));
}

#[test]
fn a_policy_can_span_files_in_any_order() {
    let dir = std::env::temp_dir().join(format!("privet-multi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("a.privet"),
        "use std\nallow user.name for analytics",
    )
    .expect("write");
    std::fs::write(
        dir.join("b.privet"),
        "deny user.name for analytics.reporting.ad_performance",
    )
    .expect("write");
    let p = Policy::from_path(&dir).expect("loads");
    // The allow comes from a.privet, the deny from b.privet.
    assert!(
        decide(
            &p,
            adult(&["user.name"]).purpose("analytics.reporting.system")
        )
        .allowed
    );
    let d = decide(
        &p,
        adult(&["user.name"]).purpose("analytics.reporting.ad_performance"),
    );
    assert!(!d.allowed);
    assert!(
        d.reasons[0].rule.ends_with("b.privet:1:1"),
        "{:?}",
        d.reasons
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_policy_is_shared_across_threads() {
    let p = Arc::new(policy(SHOP));
    let handles: Vec<_> = (0..4)
        .map(|age| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                let request = Request::new(["user.name"])
                    .purpose("essential.service")
                    .fact("subject_age", 10 + age);
                p.allowed(&request).allowed
            })
        })
        .collect();
    let results: Vec<bool> = handles
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .collect();
    assert_eq!(results, [false, false, false, true]);
}

#[test]
fn resolved_requests_decide_like_plain_ones() {
    let p = policy(SHOP);
    let request = adult(&["user.contact.email"])
        .purpose("marketing")
        .fact("consent", ["marketing"]);
    let resolved = p.resolve(&request).expect("valid");
    assert_eq!(p.is_allowed(&resolved), decide(&p, request).allowed);
    assert!(p.is_allowed(&resolved));
}

fn problems_of(text: &str) -> Vec<privet::Problem> {
    match Policy::from_source("bad.privet", text) {
        Ok(_) => panic!("expected problems"),
        Err(error) => error.problems(),
    }
}

#[test]
fn a_cycle_of_keys_is_an_error() {
    let problems = problems_of("use std\ndata user.x under user.y\ndata user.y under user.x");
    assert_eq!(problems[0].code, "privet::cycle");
}

#[test]
fn std_keys_cannot_be_redeclared() {
    let problems = problems_of("use std\ndata user.contact.email");
    assert_eq!(problems[0].code, "privet::duplicate");
    assert!(
        problems[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("policies/std/std.privet")
    );
}

#[test]
fn a_class_cannot_be_lowered() {
    let problems = problems_of("use std\ndata user.biometric.gait class personal");
    assert_eq!(problems[0].code, "privet::class_lowered");
}

#[test]
fn a_deny_has_no_basis_or_obligations() {
    let problems = problems_of("use std\ndeny user basis consent oblige minimize");
    let codes: Vec<&str> = problems.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        ["privet::basis_on_deny", "privet::obligation_on_deny"]
    );
}

#[test]
fn conditions_are_type_checked() {
    let cases = [
        ("deny user when subject_age", "privet::fact_type"),
        ("deny user when dnt < 3", "privet::fact_type"),
        ("deny user when consent", "privet::fact_type"),
        ("deny user when subject_age(marketing)", "privet::fact_type"),
        ("deny user when safeguards(sccs)", "privet::unknown_member"),
        ("deny user when consent(marketting)", "privet::unknown_key"),
        ("deny user when dnd", "privet::unknown_fact"),
    ];
    for (rule, code) in cases {
        let problems = problems_of(&format!("use std\n{rule}"));
        assert_eq!(problems[0].code, code, "{rule}");
        assert!(problems[0].span.is_some(), "{rule} is located");
    }
}

#[test]
fn a_policy_without_use_std_is_told_to_add_it() {
    let problems = problems_of("allow user.contact for marketing");
    assert!(
        problems[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("add `use std`")
    );
}

#[test]
fn hints_can_lift_a_conditional_deny() {
    let p = policy(
        "use std\nallow user.contact for marketing to third_party\n\
         deny user to third_party when not consent(purpose) cite \"only with consent\"",
    );
    let request = adult(&["user.contact.email"])
        .purpose("marketing.communications")
        .recipient("third_party");
    let d = decide(&p, request.clone());
    assert!(!d.allowed);
    assert_eq!(d.reasons[0].cite.as_deref(), Some("only with consent"));
    assert_eq!(
        d.hints,
        ["allowed with consent to marketing.communications"]
    );
    assert!(decide(&p, request.fact("consent", ["marketing.communications"])).allowed);
}

#[test]
fn no_hint_lifts_an_unconditional_deny() {
    let p = policy("use std\nallow user for marketing basis consent\ndeny share.sell of user");
    let d = decide(
        &p,
        adult(&["user.name"])
            .purpose("marketing")
            .recipient("third_party")
            .action("share.sell"),
    );
    assert!(!d.allowed);
    assert!(d.hints.is_empty(), "{:?}", d.hints);
}

#[test]
fn hints_never_ask_for_what_the_request_already_has() {
    let p = policy(
        "use std\nfact eligible: bool default false\n\
         allow user.contact for marketing basis consent when eligible",
    );
    let request = adult(&["user.contact.email"])
        .purpose("marketing.communications.email")
        .fact("consent", ["marketing"]);
    let d = decide(&p, request);
    assert_eq!(d.hints, ["allowed with eligible = true"]);
}

#[test]
fn a_taxonomy_too_large_for_a_word_decides_the_same_on_both_paths() {
    // More than 64 recipients: the decision index keeps their scopes as
    // bitsets instead of 64-bit masks. Both paths must still agree.
    let mut text = String::from("use std\n");
    for i in 0..80 {
        text.push_str(&format!("recipient partner_{i} under processor\n"));
    }
    text.push_str(
        "allow user.contact.email for essential.service to processor basis contract\n\
         deny user.contact.email for essential.service to partner_70 when not safeguards(scc)\n\
         allow user.name for marketing to partner_3, partner_75 basis consent\n",
    );
    let policy = policy(&text);
    let cases = [
        (
            "user.contact.email",
            "essential.service",
            "partner_5",
            Some(&["scc"][..]),
            true,
        ),
        (
            "user.contact.email",
            "essential.service",
            "partner_70",
            Some(&["scc"][..]),
            true,
        ),
        (
            "user.contact.email",
            "essential.service",
            "partner_70",
            None,
            false,
        ),
        // A broad recipient covers partner_70, whose deny fires.
        (
            "user.contact.email",
            "essential.service",
            "processor",
            Some(&[][..]),
            false,
        ),
        ("user.name", "marketing", "partner_75", None, false),
        (
            "user.name",
            "marketing.communications",
            "partner_75",
            None,
            false,
        ),
        ("user.name", "essential.service", "partner_3", None, false),
    ];
    for (data, purpose, recipient, safeguards, expected) in cases {
        let mut request = adult(&[data]).purpose(purpose).recipient(recipient);
        if let Some(list) = safeguards {
            request = request.fact("safeguards", list.to_vec());
        }
        let decision = decide(&policy, request.clone());
        let resolved = policy.resolve(&request).expect("resolves");
        assert_eq!(
            decision.allowed, expected,
            "{data} for {purpose} to {recipient}"
        );
        assert_eq!(
            policy.is_allowed(&resolved),
            expected,
            "lean: {data} to {recipient}"
        );
    }
    // With consent, the marketing rule on recipients past the 64th allows.
    let request = adult(&["user.name"])
        .purpose("marketing")
        .recipient("partner_75")
        .fact("consent", ["marketing"]);
    let resolved = policy.resolve(&request).expect("resolves");
    assert!(decide(&policy, request.clone()).allowed);
    assert!(policy.is_allowed(&resolved));
}

#[test]
fn more_purpose_sets_than_signatures_hold_still_decide_each_purpose() {
    // Nine purpose sets tested against the point's purpose: more than the
    // lean path tells purposes apart by, so it must evaluate a condition
    // that reads the purpose again at every purpose.
    let mut text = String::from("use std\n");
    for i in 0..9 {
        text.push_str(&format!("fact list_{i}: set of purpose default []\n"));
    }
    text.push_str(
        "allow user.contact.email for marketing basis contract unless list_8(purpose)\n\
         deny user.contact.email for marketing when list_0(purpose) and list_1(purpose) \
         and list_2(purpose) and list_3(purpose) and list_4(purpose) and list_5(purpose) \
         and list_6(purpose) and list_7(purpose)\n",
    );
    let policy = policy(&text);
    let ask = |listed: &[&str]| {
        let request = adult(&["user.contact.email"])
            .purpose("marketing")
            .fact("list_8", listed);
        let decision = decide(&policy, request.clone());
        let resolved = policy.resolve(&request).expect("it resolves");
        let wrong = privet::eval::disagreement(policy.compiled(), &resolved, &decision);
        assert_eq!(wrong, None, "{listed:?}");
        decision.allowed
    };
    // Nothing listed: allowed at every purpose below marketing.
    assert!(ask(&[]));
    // `marketing` itself, decided first, is not listed, but a purpose
    // below it is: what was learnt at `marketing` must not stand for it.
    assert!(!ask(&["marketing.communications"]));
    assert!(!ask(&["marketing.advertising"]));
    assert!(!ask(&["marketing"]));
}

// ---------------------------------------------------------------- why not, and hints

#[test]
fn a_deny_names_the_allow_that_would_apply_and_what_it_lacked() {
    // Once "no rule allows", although §1(b) does, with consent.
    let p = policy(SHOP);
    let d = decide(
        &p,
        adult(&["user.contact.email", "user.name"]).purpose("marketing.communications.email"),
    );
    assert!(!d.allowed);
    assert!(!d.reasons.is_empty());
    for reason in &d.reasons {
        assert!(
            !reason.detail.starts_with("no rule allows"),
            "{}",
            reason.detail
        );
        assert!(
            reason.detail.contains("test.privet:3:1 [§1(b)]"),
            "{}",
            reason.detail
        );
        assert!(
            reason
                .detail
                .contains("only with consent to marketing.communications.email"),
            "{}",
            reason.detail
        );
    }
}

#[test]
fn a_deny_shows_only_the_keys_asked_about_when_they_are_the_trouble() {
    // `user.name` has keys below it; the caller asked about `user.name`.
    let p = policy(SHOP);
    let d = decide(
        &p,
        adult(&["user.name"]).purpose("marketing.communications.email"),
    );
    assert!(!d.allowed);
    assert!(
        d.reasons.iter().all(|r| !r.detail.contains("user.name.")),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons
            .iter()
            .any(|r| r.detail.contains("more combination")),
        "the rest is counted: {:?}",
        d.reasons
    );
}

#[test]
fn a_deny_no_rule_covers_still_says_so() {
    let p = policy(SHOP);
    let d = decide(&p, adult(&["user.contact.email"]).purpose("analytics"));
    assert!(
        d.reasons[0].detail.starts_with("no rule allows"),
        "{:?}",
        d.reasons
    );
}

#[test]
fn a_condition_that_fails_is_named_with_the_allow() {
    let p = policy(
        "use std\nallow user.contact.email for essential.service basis contract when subject_age >= 16 cite \"§2\"",
    );
    let d = decide(
        &p,
        adult(&["user.contact.email"])
            .purpose("essential.service")
            .fact("subject_age", 14),
    );
    assert!(!d.allowed);
    assert!(
        d.reasons[0]
            .detail
            .contains("`subject_age >= 16`, which is false here"),
        "{}",
        d.reasons[0].detail
    );
}

#[test]
fn a_child_without_parental_consent_is_told_what_would_allow_it() {
    let p = policy(SHOP);
    let request = Request::new(["user.contact.email"])
        .purpose("essential.service")
        .fact("subject_age", 9);
    let d = decide(&p, request.clone());
    assert!(!d.allowed);
    assert_eq!(d.hints, ["allowed with parental_consent = true"]);
    assert!(decide(&p, request.fact("parental_consent", true)).allowed);
}

#[test]
fn a_transfer_without_a_safeguard_is_told_which_would_do() {
    let p = policy(
        r#"use std
allow user.contact.email for essential.service to first_party, affiliate basis contract cite "§3"
deny user when cross_border and not safeguards(scc, bcr) cite "§8"
"#,
    );
    let request = adult(&["user.contact.email"])
        .purpose("essential.service")
        .recipient("affiliate")
        .fact("cross_border", true);
    let d = decide(&p, request.clone());
    assert!(!d.allowed);
    assert!(
        d.hints
            .contains(&"allowed with safeguards including scc".to_string()),
        "{:?}",
        d.hints
    );
    assert!(decide(&p, request.fact("safeguards", ["scc"])).allowed);
}

#[test]
fn a_deny_of_a_and_not_b_is_lifted_by_b_alone() {
    let p = policy(
        r#"use std
fact beta: bool
fact verified: bool default false
allow user.contact.email for essential.service basis contract cite "a"
deny user.contact.email when beta and not verified cite "b"
"#,
    );
    let request = adult(&["user.contact.email"])
        .purpose("essential.service")
        .fact("beta", true);
    let d = decide(&p, request.clone());
    assert!(
        d.hints
            .contains(&"allowed with verified = true".to_string()),
        "{:?}",
        d.hints
    );
    assert!(decide(&p, request.fact("verified", true)).allowed);
}
