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
