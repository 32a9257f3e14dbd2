//! policies/std/std.privet holds exactly the fideslang keys and hierarchy
//! (from ../shared/vocab/fideslang) plus the additions of VOCABULARY.md.

use std::collections::BTreeMap;
use std::path::PathBuf;

use privet::Policy;
use privet::compile::STD_SOURCE;
use privet::syntax::{Class, Dimension};

fn fideslang(file: &str) -> BTreeMap<String, Option<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vocab/fideslang")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let key_at = header
        .iter()
        .position(|h| *h == "fides_key")
        .expect("fides_key column");
    let parent_at = header
        .iter()
        .position(|h| *h == "parent_key")
        .expect("parent_key column");
    let mut keys = BTreeMap::new();
    for line in lines {
        let fields = split_csv(line);
        let key = fields[key_at].clone();
        let parent = fields[parent_at].clone();
        if parent.is_empty() {
            continue; // the root row (data_category, data_use, data_subject) is not a key
        }
        let parent = (!matches!(
            parent.as_str(),
            "data_category" | "data_use" | "data_subject"
        ))
        .then_some(parent);
        keys.insert(key, parent);
    }
    keys
}

/// Split one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().expect("a field").push(c),
        }
    }
    fields
}

fn std_policy() -> Policy {
    Policy::from_source("policies/std/std.privet", STD_SOURCE).expect("std loads")
}

fn hierarchy(policy: &Policy, dimension: Dimension) -> BTreeMap<String, Option<String>> {
    let taxonomy = policy.compiled().taxonomy(dimension);
    (0..taxonomy.len() as u32)
        .map(|id| {
            let parents: Vec<&str> = taxonomy.parents(id).map(|p| taxonomy.key(p)).collect();
            assert!(
                parents.len() <= 1,
                "{} has several parents",
                taxonomy.key(id)
            );
            (
                taxonomy.key(id).to_string(),
                parents.first().map(|p| p.to_string()),
            )
        })
        .collect()
}

#[test]
fn std_has_every_fideslang_data_category_and_its_parent() {
    let expected = fideslang("data_categories.csv");
    assert_eq!(expected.len(), 85);
    let actual = hierarchy(&std_policy(), Dimension::Data);
    for (key, parent) in &expected {
        assert_eq!(actual.get(key), Some(parent), "{key}");
    }
    let additions: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert_eq!(
        additions,
        [
            "non_personal",
            "non_personal.anonymized",
            "non_personal.statistics",
            "user.behavior.email_engagement",
            "user.behavior.usage_log",
            "user.demographic.nationality",
            "user.device.configuration",
            "user.device.network",
            "user.social.account",
            "user.social.contacts",
            "user.telemetry.error_report",
        ]
    );
}

#[test]
fn std_has_every_fideslang_purpose_and_subject() {
    let policy = std_policy();
    let purposes = fideslang("data_uses.csv");
    assert_eq!(purposes.len(), 54);
    assert_eq!(hierarchy(&policy, Dimension::Purpose), purposes);
    let subjects = fideslang("data_subjects.csv");
    assert_eq!(subjects.len(), 15);
    assert_eq!(hierarchy(&policy, Dimension::Subject), subjects);
}

#[test]
fn std_recipients_and_actions_follow_the_vocabulary() {
    let policy = std_policy();
    let recipients = hierarchy(&policy, Dimension::Recipient);
    assert_eq!(recipients.len(), 21);
    assert_eq!(
        recipients["third_party.data_broker"].as_deref(),
        Some("third_party")
    );
    let actions = hierarchy(&policy, Dimension::Action);
    assert_eq!(
        actions.keys().collect::<Vec<_>>(),
        ["collect", "share", "share.sell", "store", "use"]
    );
}

#[test]
fn identifiability_classes_are_inherited() {
    let policy = std_policy();
    let data = policy.compiled().taxonomy(Dimension::Data);
    let class = |key: &str| data.class(data.id(key).unwrap_or_else(|| panic!("{key}")));
    assert_eq!(class("non_personal.statistics"), Class::NonPersonal);
    assert_eq!(class("system.operations"), Class::NonPersonal);
    assert_eq!(class("user.contact.email"), Class::Personal);
    assert_eq!(class("user.biometric.fingerprint"), Class::Sensitive);
    assert_eq!(class("user.demographic.religious_belief"), Class::Sensitive);
    assert_eq!(class("user.authorization.biometric"), Class::Sensitive);
    assert_eq!(class("user.authorization.password"), Class::Personal);
}

#[test]
fn std_facts_have_the_documented_defaults() {
    let policy = std_policy();
    let compiled = policy.compiled();
    let default = |name: &str| {
        let id = compiled.fact(name).unwrap_or_else(|| panic!("{name}"));
        compiled.facts[id as usize].default.clone()
    };
    assert!(
        default("subject_age").is_none(),
        "subject_age is unknown when absent"
    );
    for flag in [
        "parental_consent",
        "dnt",
        "location_services",
        "user_initiated",
        "cross_border",
    ] {
        assert_eq!(
            default(flag),
            Some(privet::compile::FactValue::Bool(false)),
            "{flag}"
        );
    }
    let names: Vec<&str> = compiled.bases.iter().map(|b| &*b.name).collect();
    assert_eq!(
        names,
        [
            "consent",
            "explicit_consent",
            "parental_consent",
            "contract",
            "legal_obligation",
            "legitimate_interest",
            "vital_interest",
            "public_interest"
        ]
    );
}
