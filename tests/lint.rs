//! `privet lint`: what it finds, where it says it is, and the formats it
//! writes (text, JSON, SARIF 2.1.0 checked against the schema).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use privet::SourceFile;
use privet::lint::{self, Finding, Level, Relation};

fn lint_text(name: &str, text: &str) -> Vec<Finding> {
    lint::lint(&[SourceFile::new(name, text)]).unwrap_or_else(|problems| {
        panic!(
            "the policy should check: {:?}",
            problems.iter().map(|p| &p.message).collect::<Vec<_>>()
        )
    })
}

fn with_code<'a>(findings: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.code == code).collect()
}

fn cites(finding: &Finding) -> Vec<&str> {
    finding
        .rules
        .iter()
        .filter_map(|r| r.cite.as_deref())
        .collect()
}

fn privet(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_privet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("privet runs");
    drop(child.stdin.take());
    child.wait_with_output().expect("privet finishes")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A scratch policy file that removes itself.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, text: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("privet-lint-{}-{name}.privet", std::process::id()));
        let mut file = std::fs::File::create(&path).expect("create scratch file");
        file.write_all(text.as_bytes()).expect("write scratch file");
        Scratch(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

const GLOBAL: &str = "policies/huawei/global-2016.privet";

#[test]
fn a_deny_planted_under_an_allow_is_reported_with_both_rules_and_cites() {
    let original = std::fs::read_to_string(GLOBAL).expect("global policy");
    let planted = format!(
        "{original}\n// planted: the whole of §1(b)\ndeny user.name, user.contact, non_personal\n    for marketing.communications\n    cite \"planted\"\n"
    );
    let findings = lint_text(GLOBAL, &planted);
    // §1(b) is the allow at line 73.
    let at_1b: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.start().0 == 73 && cites(f).contains(&"planted"))
        .collect();
    let overridden = at_1b
        .iter()
        .find(|f| f.code == lint::OVERRIDDEN)
        .expect("the override is reported on the allow");
    assert_eq!(overridden.level, Level::Warning);
    assert_eq!(cites(overridden), ["§1(b)", "planted"]);
    assert_eq!(overridden.rules[0].effect, "allow");
    assert_eq!(overridden.rules[1].effect, "deny");
    assert!(
        overridden.rules[0]
            .rule
            .ends_with("global-2016.privet:73:1")
    );
    assert_eq!(overridden.relation, Some(Relation::Broader));
    assert!(overridden.message.contains("can never fire"));
    assert_eq!(overridden.related.len(), 1, "the deny is the related place");
    let never = at_1b
        .iter()
        .find(|f| f.code == lint::NEVER_FIRES)
        .expect("and the allow can never fire");
    assert_eq!(never.level, Level::Warning);
    // Without the plant, §1(b) is overridden only under conditions or in part.
    let clean = lint_text(GLOBAL, &original);
    assert!(
        clean
            .iter()
            .filter(|f| f.start().0 == 73)
            .all(|f| f.level == Level::Note),
        "§1(b) is only narrowed by the opt-out, the children and the transfer rules"
    );
}

#[test]
fn overrides_name_the_exact_region_and_the_condition() {
    let findings = lint_text(
        "shop.privet",
        r#"use std
allow user.contact, user.name for marketing to first_party, affiliate
    basis consent
    cite "§1"
deny user.contact.email for marketing.communications to first_party
    when subject_age < 16
    cite "§2"
"#,
    );
    let overrides = with_code(&findings, lint::OVERRIDDEN);
    assert_eq!(overrides.len(), 1, "{findings:#?}");
    let finding = overrides[0];
    assert_eq!(finding.level, Level::Note);
    assert_eq!(finding.relation, Some(Relation::Narrower));
    let region = finding.region.as_ref().expect("a region");
    assert_eq!(
        region.data.as_deref(),
        Some(&["user.contact.email".to_string()][..])
    );
    assert_eq!(
        region.purposes.as_deref(),
        Some(&["marketing.communications".to_string()][..])
    );
    assert_eq!(
        region.recipients.as_deref(),
        Some(&["first_party".to_string()][..])
    );
    assert_eq!(region.actions, None, "every action");
    assert_eq!(
        region.to_string(),
        "user.contact.email for marketing.communications to first_party"
    );
    assert_eq!(finding.condition.as_deref(), Some("when subject_age < 16"));
    assert_eq!(cites(finding), ["§1", "§2"]);
    assert_eq!(finding.start(), (2, 1));
}

#[test]
fn an_unconditional_deny_over_the_whole_allow_is_a_warning() {
    let findings = lint_text(
        "shop.privet",
        r#"use std
allow user.contact.email for marketing cite "§1"
deny user.contact cite "§2"
"#,
    );
    let overrides = with_code(&findings, lint::OVERRIDDEN);
    assert_eq!(overrides.len(), 1);
    assert_eq!(overrides[0].level, Level::Warning);
    assert_eq!(overrides[0].relation, Some(Relation::Broader));
    assert_eq!(overrides[0].condition, None);
    assert_eq!(with_code(&findings, lint::NEVER_FIRES).len(), 1);
}

#[test]
fn denies_that_together_remove_an_allow_make_it_never_fire() {
    let findings = lint_text(
        "shop.privet",
        r#"use std
allow user.name for marketing cite "§1"
deny user.name to first_party, affiliate cite "§2"
deny user.name to processor, third_party, authority, transaction_party, public cite "§3"
"#,
    );
    let never = with_code(&findings, lint::NEVER_FIRES);
    assert_eq!(never.len(), 1, "{findings:#?}");
    assert_eq!(never[0].level, Level::Warning);
    assert_eq!(cites(never[0]), ["§1", "§2", "§3"]);
    assert!(never[0].message.contains("together"));
    // Each deny alone removes only part of it.
    assert!(
        with_code(&findings, lint::OVERRIDDEN)
            .iter()
            .all(|f| f.level == Level::Note)
    );
}

#[test]
fn a_deny_whose_condition_excludes_the_allow_does_not_override_it() {
    let findings = lint_text(
        "reports.privet",
        r#"use std
allow user.telemetry.error_report for essential.service when user_initiated cite "§1(g)"
deny user.telemetry.error_report unless user_initiated cite "§1(g) only when sent"
"#,
    );
    assert!(
        with_code(&findings, lint::OVERRIDDEN).is_empty(),
        "{findings:#?}"
    );
}

#[test]
fn an_unsatisfiable_condition_is_an_error() {
    let findings = lint_text(
        "kids.privet",
        r#"use std
allow user.contact for marketing
    when subject_age < 13 and subject_age > 20
    cite "§6"
deny user.name when subject_age < 13 and subject_age > 20 cite "§7"
allow user.name for essential when subject_age < 13 or subject_age > 20 cite "§8"
"#,
    );
    let never = with_code(&findings, lint::NEVER_FIRES);
    assert_eq!(never.len(), 2, "{findings:#?}");
    assert!(never.iter().all(|f| f.level == Level::Error));
    assert_eq!(never[0].start(), (3, 10), "points at the condition");
    assert_eq!(
        never[0].condition.as_deref(),
        Some("when subject_age < 13 and subject_age > 20")
    );
    assert!(never[1].message.contains("deny"));
    assert!(
        never[1]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("subject_age")),
        "a deny over an unknown fact still fires when the fact is missing"
    );
}

#[test]
fn a_basis_that_contradicts_the_condition_makes_an_allow_never_fire() {
    let findings = lint_text(
        "consent.privet",
        r#"use std
allow user.contact for marketing
    basis consent
    unless consent(purpose) or explicit_consent(purpose)
    cite "§1"
allow user.name for marketing
    basis consent
    unless consent(marketing) or explicit_consent(marketing)
    cite "§2: consent to marketing.communications alone will do"
"#,
    );
    let never = with_code(&findings, lint::NEVER_FIRES);
    assert_eq!(never.len(), 1, "{findings:#?}");
    assert!(never[0].message.contains("basis `consent`"));
    assert_eq!(cites(never[0]), ["§1"]);
}

#[test]
fn conditions_over_the_purpose_are_satisfiable_when_a_purpose_allows_it() {
    // opt_out(purpose) and consent(marketing): consent to marketing, opt out
    // of nothing — fine; the rule can fire.
    let findings = lint_text(
        "optout.privet",
        r#"use std
allow user.contact for marketing
    basis consent
    when consent(marketing) and not opt_out(purpose)
    cite "§1"
"#,
    );
    assert!(
        with_code(&findings, lint::NEVER_FIRES).is_empty(),
        "{findings:#?}"
    );
}

#[test]
fn a_condition_that_always_holds_is_a_warning() {
    let findings = lint_text(
        "always.privet",
        r#"use std
allow user.contact for marketing when dnt or not dnt cite "§1"
"#,
    );
    let always = with_code(&findings, lint::ALWAYS_TRUE);
    assert_eq!(always.len(), 1, "{findings:#?}");
    assert_eq!(always[0].level, Level::Warning);
}

#[test]
fn a_rule_without_a_cite_is_reported() {
    let findings = lint_text(
        "nocite.privet",
        "use std\nallow user.contact for marketing\nallow user.name for marketing cite \"§1\"\n",
    );
    let missing = with_code(&findings, lint::MISSING_CITE);
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].level, Level::Warning);
    assert_eq!(missing[0].start(), (2, 1));
    assert_eq!(missing[0].rules[0].cite, None);
}

#[test]
fn unused_local_declarations_are_reported() {
    let findings = lint_text(
        "unused.privet",
        r#"use std
fact loyalty_member: bool default false "the customer is in the loyalty programme"
fact vip: bool default false
obligation notify_dpo
obligation log_access
data user.telemetry.crash_dump under user.telemetry
purpose marketing.loyalty
allow user.contact for marketing.loyalty when vip oblige log_access cite "§1"
"#,
    );
    let facts = with_code(&findings, lint::UNUSED_FACT);
    assert_eq!(facts.len(), 1, "{findings:#?}");
    assert!(facts[0].message.contains("`loyalty_member`"));
    assert_eq!(facts[0].start(), (2, 6));
    let obligations = with_code(&findings, lint::UNUSED_OBLIGATION);
    assert_eq!(obligations.len(), 1);
    assert!(obligations[0].message.contains("`notify_dpo`"));
    let keys = with_code(&findings, lint::UNUSED_KEY);
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert!(keys[0].message.contains("user.telemetry.crash_dump"));
    // Nothing reaches it: every request naming it is denied by default.
    assert_eq!(keys[0].level, Level::Warning);
    // The standard vocabulary's own facts and keys are never reported.
    assert!(
        !findings
            .iter()
            .any(|f| f.message.contains("`subject_age`") || f.file() != "unused.privet")
    );
}

#[test]
fn a_fact_compared_with_a_value_it_can_never_take_is_reported() {
    let findings = lint_text(
        "ages.privet",
        r#"use std
deny user when subject_age < 0 cite "§1"
deny user.name when subject_age > 200 or dnt cite "§2"
deny user.contact when subject_age < 13 cite "§3"
"#,
    );
    let impossible = with_code(&findings, lint::IMPOSSIBLE_VALUE);
    assert_eq!(impossible.len(), 2, "{findings:#?}");
    assert!(impossible[0].message.contains("subject_age < 0"));
    assert!(impossible[0].message.contains("always false"));
    assert_eq!(impossible[0].start(), (2, 16));
    assert!(impossible[1].message.contains("subject_age > 200"));
    // `subject_age < 0` alone makes the first deny unable to fire.
    let never = with_code(&findings, lint::NEVER_FIRES);
    assert_eq!(never.len(), 1);
    assert_eq!(never[0].start().0, 2);
}

#[test]
fn a_rule_another_covers_is_redundant() {
    let findings = lint_text(
        "twice.privet",
        r#"use std
allow user.contact for marketing basis consent oblige offer_opt_out cite "§1"
allow user.contact.email for marketing.communications basis consent oblige offer_opt_out cite "§1 again"
allow user.contact.phone_number for marketing.communications basis contract cite "§2"
deny user.name when dnt cite "§3"
deny user.name.first when dnt cite "§3 again"
"#,
    );
    let redundant = with_code(&findings, lint::REDUNDANT);
    assert_eq!(redundant.len(), 2, "{redundant:#?}");
    assert_eq!(cites(redundant[0]), ["§1 again", "§1"]);
    assert_eq!(cites(redundant[1]), ["§3 again", "§3"]);
    // Another basis is another reason to allow: not redundant.
    assert!(!redundant.iter().any(|f| cites(f).contains(&"§2")));
}

#[test]
fn the_vocabulary_itself_is_only_checked() {
    let text = std::fs::read_to_string("policies/std/std.privet").expect("std");
    let findings = lint_text("policies/std/std.privet", &text);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_shipped_policies_have_no_errors() {
    let output = privet(&["lint", "policies", "--min-level", "error"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert!(stdout(&output).contains("0 errors"));
}

#[test]
fn exit_codes_follow_the_level_of_findings() {
    let error = Scratch::new(
        "error",
        "use std\nallow user for marketing when subject_age < 13 and subject_age > 20 cite \"x\"\n",
    );
    let output = privet(&["lint", error.path()]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("privet::lint::never_fires"), "{text}");
    assert!(text.contains("FAIL"));

    let warning = Scratch::new("warning", "use std\nallow user for marketing\n");
    let output = privet(&["lint", warning.path()]);
    assert_eq!(code(&output), 0);
    assert!(stdout(&output).contains("cites no source text"));

    let broken = Scratch::new("broken", "use std\nallow user.contact.emial\n");
    let output = privet(&["lint", broken.path()]);
    assert_eq!(code(&output), 2);

    let output = privet(&["lint", "no/such/policy.privet"]);
    assert_eq!(code(&output), 2);

    // An unreadable path in SARIF: a notification of the invocation, not a result.
    let output = privet(&["lint", "no/such/policy.privet", "--format", "sarif"]);
    assert_eq!(code(&output), 2);
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_valid_sarif(&log);
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert!(
        invocation["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("no/such/policy.privet"))
    );
}

#[test]
fn text_output_names_the_other_rule_and_its_cite() {
    let policy = Scratch::new(
        "text",
        "use std\nallow user.contact for marketing basis consent cite \"§1(b)\"\ndeny user.contact for marketing when opt_out(purpose) cite \"§1(b) opt-out\"\n",
    );
    let output = privet(&[
        "lint",
        policy.path(),
        "--color",
        "never",
        "--min-level",
        "note",
    ]);
    assert_eq!(code(&output), 0);
    let text = stdout(&output);
    assert!(text.contains("privet::lint::overridden"), "{text}");
    assert!(text.contains("[§1(b) opt-out]"), "{text}");
    assert!(text.contains("when opt_out(purpose)"), "{text}");
    assert!(text.contains("help:"), "{text}");
    assert!(text.contains("0 errors, 0 warnings, 1 note"), "{text}");
}

#[test]
fn text_shows_warnings_and_errors_and_counts_the_notes_it_leaves_out() {
    // An opt-out carve-out (a note) and a rule without a cite (a warning).
    let policy = Scratch::new(
        "quiet",
        "use std\nallow user.contact for marketing basis consent cite \"§1(b)\"\ndeny user.contact for marketing when opt_out(purpose) cite \"§1(b) opt-out\"\nallow non_personal\n",
    );
    let output = privet(&["lint", policy.path()]);
    assert_eq!(code(&output), 0);
    let text = stdout(&output);
    assert!(text.contains("privet::lint::missing_cite"), "{text}");
    assert!(!text.contains("privet::lint::overridden"), "{text}");
    assert!(
        text.ends_with("1 note not shown; --min-level note shows it\n"),
        "{text}"
    );
    // Machines get every finding.
    for format in ["json", "sarif"] {
        let output = privet(&["lint", policy.path(), "--format", format]);
        assert!(
            stdout(&output).contains("privet::lint::overridden"),
            "{format}"
        );
    }
    let output = privet(&["lint", policy.path(), "--min-level", "note"]);
    assert!(stdout(&output).contains("privet::lint::overridden"));
    assert!(!stdout(&output).contains("not shown"));
}

#[test]
fn json_output_lists_findings_with_rules_and_regions() {
    let output = privet(&["lint", GLOBAL, "--format", "json"]);
    assert_eq!(code(&output), 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["ok"], true);
    let findings = json["files"][0]["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    let override_ = findings
        .iter()
        .find(|f| f["code"] == lint::OVERRIDDEN)
        .expect("an override");
    assert!(override_["line"].as_u64().is_some());
    assert_eq!(override_["rules"].as_array().map(Vec::len), Some(2));
    assert!(override_["region"]["data"].is_array());
    assert!(override_["region_text"].is_string());
    assert!(
        ["same", "narrower", "broader", "overlapping"]
            .contains(&override_["relation"].as_str().unwrap_or(""))
    );
}

/// The SARIF 2.1.0 schema, as shipped in serde-sarif's sources (a verbatim
/// copy of the OASIS schema).
fn sarif_validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string("tests/data/sarif-schema-2.1.0.json").expect("the SARIF schema");
    // The published schema's pattern for `run.language` has a stray `]` that
    // is not a valid regular expression, so the schema fails its own
    // meta-schema; use the pattern it means (a language tag such as `en-US`).
    // privet never writes `run.language`.
    let text = text.replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#,
    );
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

fn assert_valid_sarif(log: &serde_json::Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}");
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let output = privet(&["lint", "policies", "--format", "sarif"]);
    assert_eq!(code(&output), 0);
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_valid_sarif(&log);
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "privet");
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    let result = results
        .iter()
        .find(|r| r["ruleId"] == lint::OVERRIDDEN)
        .expect("an override");
    assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap_or("")));
    let physical = &result["locations"][0]["physicalLocation"];
    assert!(
        physical["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("policies/huawei/"))
    );
    assert!(
        physical["region"]["startLine"]
            .as_u64()
            .is_some_and(|l| l > 0)
    );
    assert!(
        physical["region"]["startColumn"]
            .as_u64()
            .is_some_and(|c| c > 0)
    );
    let related = &result["relatedLocations"][0]["physicalLocation"];
    assert!(related["region"]["startLine"].as_u64().is_some());
    // Every ruleId is described among the driver's rules.
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(
        results
            .iter()
            .all(|r| rules.contains(&r["ruleId"].as_str().unwrap_or("")))
    );
}

#[test]
fn sarif_with_errors_and_broken_policies_still_validates() {
    let error = Scratch::new(
        "sarif error",
        "use std\nallow user for marketing when subject_age < 13 and subject_age > 20\n",
    );
    let broken = Scratch::new("sarif-broken", "use std\nallow user.contact.emial\n");
    let output = privet(&["lint", error.path(), broken.path(), "--format", "sarif"]);
    assert_eq!(code(&output), 2, "a policy that does not check wins");
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == lint::NEVER_FIRES && r["level"] == "error")
    );
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "privet::unknown_key" && r["level"] == "error")
    );
    let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(rules.contains(&"privet::unknown_key"));
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    // A space in the file name is percent-encoded in the URI.
    assert!(results.iter().any(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| u.contains("sarif%20error"))
    }));
}

/// A rule that can never fire, accepted by a reviewer with a reason.
const ACCEPTED: &str = "use std
// §4 is read narrowly for now.
// privet:accept privet::lint::never_fires because kept until §4 is redrafted for adults
allow user for marketing when subject_age < 13 and subject_age > 20 cite \"§4\"
";

#[test]
fn an_accepted_finding_no_longer_fails_and_keeps_its_reason() {
    let findings = lint_text("accepted.privet", ACCEPTED);
    let never = with_code(&findings, lint::NEVER_FIRES);
    assert_eq!(never.len(), 1, "{findings:#?}");
    assert_eq!(
        never[0].accepted.as_ref().map(|a| a.reason.as_str()),
        Some("kept until §4 is redrafted for adults")
    );
    assert_eq!(never[0].accepted.as_ref().map(|a| a.line), Some(3));
    assert!(
        findings.iter().all(|f| f.code == lint::NEVER_FIRES),
        "{findings:#?}"
    );

    let policy = Scratch::new("accepted", ACCEPTED);
    let output = privet(&["lint", policy.path()]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let text = stdout(&output);
    assert!(!text.contains("never_fires"), "{text}");
    assert!(
        text.contains("0 errors, 0 warnings, 0 notes, 1 accepted"),
        "{text}"
    );
    assert!(text.contains("1 accepted finding not shown"), "{text}");

    let output = privet(&["lint", policy.path(), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["ok"], true);
    assert_eq!(json["summary"]["errors"], 0);
    assert_eq!(json["summary"]["accepted"], 1);
    let finding = &json["files"][0]["findings"][0];
    assert_eq!(finding["code"], lint::NEVER_FIRES);
    assert_eq!(finding["level"], "error");
    assert_eq!(
        finding["accepted"]["reason"],
        "kept until §4 is redrafted for adults"
    );
    assert_eq!(finding["accepted"]["line"], 3);

    let output = privet(&["lint", policy.path(), "--format", "sarif"]);
    assert_eq!(code(&output), 0);
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_valid_sarif(&log);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], lint::NEVER_FIRES);
    let suppression = &result["suppressions"][0];
    assert_eq!(suppression["kind"], "inSource");
    assert_eq!(suppression["status"], "accepted");
    assert_eq!(
        suppression["justification"],
        "kept until §4 is redrafted for adults"
    );
    assert_eq!(
        suppression["location"]["physicalLocation"]["region"]["startLine"],
        3
    );
}

#[test]
fn an_accept_without_a_reason_accepts_nothing_and_is_reported() {
    let text = ACCEPTED.replace(" because kept until §4 is redrafted for adults", "");
    let findings = lint_text("unjustified.privet", &text);
    let never = with_code(&findings, lint::NEVER_FIRES);
    assert_eq!(never.len(), 1);
    assert!(never[0].accepted.is_none(), "the finding stands");
    let unjustified = with_code(&findings, lint::ACCEPT_WITHOUT_REASON);
    assert_eq!(unjustified.len(), 1, "{findings:#?}");
    assert_eq!(unjustified[0].start(), (3, 1));
    assert_eq!(unjustified[0].level, Level::Warning);
    assert!(
        unjustified[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("because")),
        "{:?}",
        unjustified[0].help
    );
    let policy = Scratch::new("unjustified", &text);
    assert_eq!(code(&privet(&["lint", policy.path()])), 1);
}

#[test]
fn an_accept_that_matches_no_finding_is_stale() {
    let cases = [
        // The rule below has no redundant finding.
        (
            ACCEPTED.replace(
                "privet::lint::never_fires because",
                "privet::lint::redundant because",
            ),
            "no `privet::lint::redundant` finding",
        ),
        // A misspelt code.
        (
            ACCEPTED.replace("privet::lint::never_fires", "privet::lint::never_fire"),
            "did you mean `privet::lint::never_fires`?",
        ),
        // A blank line parts the accept from the rule.
        (
            ACCEPTED.replace("adults\nallow", "adults\n\nallow"),
            "directly above",
        ),
    ];
    for (text, says) in cases {
        let findings = lint_text("stale.privet", &text);
        let stale = with_code(&findings, lint::STALE_ACCEPT);
        assert_eq!(stale.len(), 1, "{text}: {findings:#?}");
        assert_eq!(stale[0].start().0, 3, "{text}");
        let words = format!(
            "{} {}",
            stale[0].message,
            stale[0].help.as_deref().unwrap_or("")
        );
        assert!(words.contains(says), "{text}: {words}");
        // Nothing was accepted, so the error still fails the lint.
        assert!(
            with_code(&findings, lint::NEVER_FIRES)
                .iter()
                .all(|f| f.accepted.is_none())
        );
    }
}

#[test]
fn an_accept_stays_on_its_rule_through_fmt() {
    let formatted =
        privet::format::format_source(&SourceFile::new("fmt.privet", ACCEPTED)).expect("formats");
    let findings = lint_text("fmt.privet", &formatted);
    assert!(
        findings.iter().all(|f| f.accepted.is_some()),
        "{formatted}\n{findings:#?}"
    );
}
