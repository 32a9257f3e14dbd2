//! `privet diff`: exactly the requests two policies decide differently.

use std::process::Command;

use privet::Policy;
use privet::diff::diff;

fn policy(name: &str, text: &str) -> Policy {
    Policy::from_source(name, text).unwrap_or_else(|e| panic!("{:?}", e.problems()))
}

const BEFORE: &str = r#"use std
allow user.behavior, user.contact.email for personalize.content basis legitimate_interest cite "§1(d)"
allow user.contact.email for marketing basis consent cite "§1(b)"
"#;

#[test]
fn a_policy_diffed_with_itself_is_empty() {
    for file in [
        "global-2016",
        "website-2016",
        "consumer-cookies",
        "enterprise-community-2018",
        "device-2016",
    ] {
        let p = Policy::from_path(format!("policies/huawei/{file}.privet")).expect("loads");
        let result = diff(p.compiled(), p.compiled());
        assert!(result.is_empty(), "{file}: {:?}", result.changes.first());
        assert!(result.vocabulary.is_empty());
    }
}

#[test]
fn a_new_conditional_deny_is_one_change_with_its_condition_and_rules() {
    let old = policy("old.privet", BEFORE);
    let new = policy(
        "new.privet",
        &format!(
            "{BEFORE}deny user.behavior for personalize when dnt cite \"§2.3 Do Not Track\"\n"
        ),
    );
    let result = diff(old.compiled(), new.compiled());
    assert_eq!(result.changes.len(), 1, "{:#?}", result.changes);
    let change = &result.changes[0];
    assert_eq!((change.old, change.new), ("allow", "deny"));
    assert_eq!(change.data, ["user.behavior"]);
    assert_eq!(change.purposes, ["personalize.content"]);
    assert_eq!(change.when, ["dnt = true"]);
    assert_eq!(change.old_rules[0].cite.as_deref(), Some("§1(d)"));
    assert_eq!(
        change.new_rules[0].cite.as_deref(),
        Some("§2.3 Do Not Track")
    );
    assert_eq!(change.new_rules[0].rule, "new.privet:4:1");
    assert!(change.covers([
        "user.behavior.browsing_history",
        "personalize.content.limited",
        "first_party",
        "use",
        "customer"
    ]));
    assert!(!change.covers([
        "user.contact.email",
        "personalize.content",
        "first_party",
        "use",
        "customer"
    ]));
}

#[test]
fn a_removed_consent_requirement_shows_under_which_facts() {
    let old = policy("old.privet", BEFORE);
    let new = policy(
        "new.privet",
        &BEFORE.replace(
            "for marketing basis consent",
            "for marketing basis legitimate_interest",
        ),
    );
    let result = diff(old.compiled(), new.compiled());
    assert!(!result.is_empty());
    for change in &result.changes {
        assert_eq!((change.old, change.new), ("deny", "allow"));
        assert_eq!(change.data, ["user.contact.email"]);
        // Consent or explicit consent satisfied the old basis.
        assert_eq!(change.when, ["no consent", "no explicit_consent"]);
    }
}

#[test]
fn global_2016_to_community_2018_shows_do_not_track_and_no_sale() {
    let old = Policy::from_path("policies/huawei/global-2016.privet").expect("loads");
    let new = Policy::from_path("policies/huawei/enterprise-community-2018.privet").expect("loads");
    let result = diff(old.compiled(), new.compiled());
    let caused_by = |needle: &str| {
        result
            .changes
            .iter()
            .filter(|c| {
                c.new_rules
                    .iter()
                    .any(|r| r.cite.as_deref().is_some_and(|cite| cite.contains(needle)))
            })
            .collect::<Vec<_>>()
    };
    let dnt = caused_by("Do Not Track");
    assert!(!dnt.is_empty());
    assert!(
        dnt.iter()
            .all(|c| c.new == "deny" && c.when.iter().any(|w| w == "dnt = true"))
    );
    let sale = caused_by("will not sell");
    assert!(!sale.is_empty());
    assert!(
        sale.iter()
            .all(|c| c.new == "deny" && c.actions == ["share.sell"])
    );
    assert!(sale.iter().any(|c| {
        c.old_rules
            .iter()
            .any(|r| r.cite.as_deref() == Some("§3 ¶2 transactions"))
    }));
}

fn privet(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_privet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn the_cli_exits_0_without_changes_1_with_and_2_on_trouble() {
    let global = "policies/huawei/global-2016.privet";
    let (code, out) = privet(&["diff", global, global]);
    assert_eq!(code, 0);
    assert!(out.starts_with("no request is decided differently"));
    let (code, out) = privet(&[
        "diff",
        global,
        "policies/huawei/enterprise-community-2018.privet",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("now denied by policies/huawei/enterprise-community-2018.privet:"),
        "{out}"
    );
    assert!(out.contains("[§3 we will not sell]"));
    let (code, out) = privet(&[
        "diff",
        global,
        "policies/huawei/device-2016.privet",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(json["changes"].as_array().is_some_and(|c| !c.is_empty()));
    assert!(json["changes"][0]["old_rules"].is_array());
    let (code, _) = privet(&["diff", global, "no/such.privet"]);
    assert_eq!(code, 2);
}

/// Four allows of statistics for the service, each on consent to one
/// purpose.
fn consent_to_each(purposes: [&str; 4]) -> String {
    let mut text = String::from("use std\n");
    for (i, purpose) in purposes.iter().enumerate() {
        text.push_str(&format!(
            "allow non_personal.statistics for essential.service when consent({purpose}) cite \"r{i}\"\n"
        ));
    }
    text
}

#[test]
fn every_purpose_a_condition_names_is_tried() {
    // With three named purposes tried at most, the diff saw finance stop
    // allowing but not sales start to: `{"consent": ["sales"]}` went from
    // deny to allow unreported.
    let old = policy(
        "old.privet",
        &consent_to_each(["analytics", "marketing", "functional", "finance"]),
    );
    let new = policy(
        "new.privet",
        &consent_to_each(["analytics", "marketing", "functional", "sales"]),
    );
    let result = diff(old.compiled(), new.compiled());
    assert!(result.is_complete(), "{:?}", result.incomplete);
    let now_allowed: Vec<_> = result
        .changes
        .iter()
        .filter(|c| (c.old, c.new) == ("deny", "allow"))
        .collect();
    assert!(
        now_allowed
            .iter()
            .any(|c| c.when.iter().any(|w| w.contains("sales"))),
        "{:#?}",
        result.changes
    );
    let now_denied = result.changes.iter().filter(|c| c.new == "deny").count();
    assert!(now_denied > 0, "finance no longer allows");
    // Each change holds exactly: a request in it is decided as it says.
    for change in &result.changes {
        for (policy, expect) in [(&old, change.old), (&new, change.new)] {
            let consent: Vec<&str> = ["sales", "finance"]
                .into_iter()
                .filter(|p| change.when.iter().any(|w| w == &format!("consent to {p}")))
                .collect();
            if consent.is_empty() {
                continue;
            }
            let request = privet::Request::new(["non_personal.statistics"])
                .purpose("essential.service")
                .fact("consent", consent.clone());
            let decided = policy.allowed(&request);
            assert_eq!(
                decided.allowed,
                expect == "allow",
                "{consent:?}: {change:?}"
            );
        }
    }
}

#[test]
fn thresholds_past_any_old_bound_are_each_tried() {
    // 80 thresholds of one number: the last ones were once cut off.
    let rules = |shift: i64| -> String {
        let mut text = String::from("use std\n");
        for i in 0..80 {
            let age = i * 2 + if i == 79 { shift } else { 0 };
            text.push_str(&format!(
                "allow user.contact.email for essential.service basis contract when subject_age > {age} and subject_age < {} cite \"r{i}\"\n",
                age + 2
            ));
        }
        text
    };
    let result = diff(
        policy("old.privet", &rules(0)).compiled(),
        policy("new.privet", &rules(1)).compiled(),
    );
    assert!(result.is_complete(), "{:?}", result.incomplete);
    // r79 allowed 159 and now allows 160: both ends changed.
    let when: Vec<&String> = result.changes.iter().flat_map(|c| &c.when).collect();
    assert!(when.iter().any(|w| w.contains("159")), "{when:?}");
    assert!(when.iter().any(|w| w.contains("160")), "{when:?}");
}

#[test]
fn a_diff_past_its_bounds_says_it_is_incomplete_and_exits_2() {
    // Thirteen purposes named for one purpose set, beside the request's:
    // more listings than the diff tries.
    let named: Vec<String> = (0..13).map(|i| format!("p{i}")).collect();
    let declarations: String = named
        .iter()
        .map(|p| format!("purpose marketing.{p}\n"))
        .collect();
    let consent: Vec<String> = named.iter().map(|p| format!("marketing.{p}")).collect();
    let old = format!(
        "use std\n{declarations}allow user.contact.email for essential.service basis contract when consent({}) cite \"a\"\n",
        consent.join(", ")
    );
    let new = old.replace("cite \"a\"", "and subject_age > 20 cite \"a\"");
    let result = diff(
        policy("old.privet", &old).compiled(),
        policy("new.privet", &new).compiled(),
    );
    assert!(
        result
            .incomplete
            .iter()
            .any(|why| why.contains("`consent`")),
        "{:?}",
        result.incomplete
    );

    let dir = std::env::temp_dir().join(format!("privet-diff-bound-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    std::fs::write(dir.join("old.privet"), &old).expect("write");
    std::fs::write(dir.join("new.privet"), &new).expect("write");
    for format in ["text", "json"] {
        let output = Command::new(env!("CARGO_BIN_EXE_privet"))
            .args(["diff", "--format", format])
            .arg(dir.join("old.privet"))
            .arg(dir.join("new.privet"))
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{format}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        if format == "json" {
            let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
            let reasons = json["incomplete"].as_array().expect("a list");
            assert!(
                reasons
                    .iter()
                    .any(|w| w.as_str().is_some_and(|w| w.contains("`consent`")))
            );
        } else {
            assert!(stdout.starts_with("INCOMPLETE"), "{stdout}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
