//! `privet diff OLD NEW`: what the change of policy changes in decisions.

use std::path::Path;

use privet::diff::{Change, PolicyDiff, RuleRef, diff};

use crate::{BAD_INPUT, FAILED, Format, OK, load_policy};

pub fn run(old_path: &Path, new_path: &Path, format: Format, colour: bool) -> u8 {
    let (Some(old), Some(new)) = (load_policy(old_path, colour), load_policy(new_path, colour))
    else {
        return BAD_INPUT;
    };
    let result = diff(old.compiled(), new.compiled());
    match format {
        Format::Json => {
            let json = serde_json::json!({
                "old": old_path.display().to_string(),
                "new": new_path.display().to_string(),
                "changes": result.changes,
                "vocabulary": result.vocabulary,
                "incomplete": result.incomplete,
            });
            outln!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        Format::Text => out!("{}", text(old_path, new_path, &result)),
    }
    // A diff that may have missed a change is trouble, not an answer.
    if !result.is_complete() {
        BAD_INPUT
    } else if result.is_empty() {
        OK
    } else {
        FAILED
    }
}

/// Regions shown per cause in text; `--format json` lists every one.
const REGIONS_SHOWN: usize = 3;

fn text(old: &Path, new: &Path, result: &PolicyDiff) -> String {
    let mut out = String::new();
    if !result.is_complete() {
        out.push_str("INCOMPLETE: the changes below may not be all of them:\n");
        for why in &result.incomplete {
            out.push_str(&format!("  {why}\n"));
        }
        out.push('\n');
    }
    if result.changes.is_empty() && result.is_complete() {
        out.push_str(&format!(
            "no request is decided differently by {} and {}\n",
            old.display(),
            new.display()
        ));
    }
    // Group by what causes the change: the new rules that now decide, or,
    // when nothing in the new policy allows any more, the old rules lost.
    let mut causes: Vec<(String, Vec<&Change>)> = Vec::new();
    for change in &result.changes {
        let cause = if change.new_rules.is_empty() {
            format!(
                "now denied: no rule of the new policy allows what {} allowed",
                named(&change.old_rules)
            )
        } else if change.new == "allow" {
            format!("now allowed by {}", named(&change.new_rules))
        } else {
            format!("now denied by {}", named(&change.new_rules))
        };
        match causes.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, changes)) => changes.push(change),
            None => causes.push((cause, vec![change])),
        }
    }
    // The causes that change the most first; within a cause, the regions
    // with the simplest conditions first.
    causes.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    for (_, changes) in &mut causes {
        changes.sort_by_key(|c| (c.when.len(), c.when.iter().map(String::len).sum::<usize>()));
    }
    if !causes.is_empty() {
        out.push_str(&format!(
            "{} {} from {} to {}, from {} {}\n",
            result.changes.len(),
            if result.changes.len() == 1 {
                "change"
            } else {
                "changes"
            },
            old.display(),
            new.display(),
            causes.len(),
            if causes.len() == 1 { "cause" } else { "causes" },
        ));
    }
    for (index, (cause, changes)) in causes.iter().enumerate() {
        out.push_str(&format!("\n{}. {cause}\n", index + 1));
        for change in changes.iter().take(REGIONS_SHOWN) {
            out.push_str(&format!("   - {}\n", region(change)));
            if let Some(class) = change.combined_with {
                out.push_str(&format!("     only when combined with {class} data\n"));
            }
            for condition in &change.when {
                out.push_str(&format!("     when {condition}\n"));
            }
            let before = if change.old == "allow" {
                "allowed"
            } else {
                "denied"
            };
            if change.old_rules.is_empty() {
                out.push_str(&format!("     before: {before}, no rule allowed it\n"));
            } else {
                out.push_str(&format!(
                    "     before: {before} by {}\n",
                    named(&change.old_rules)
                ));
            }
        }
        if changes.len() > REGIONS_SHOWN {
            out.push_str(&format!(
                "   ... and {} more regions (--format json lists them all)\n",
                changes.len() - REGIONS_SHOWN
            ));
        }
    }
    if !result.vocabulary.is_empty() {
        out.push_str(&format!(
            "\nnot compared: {} keys or facts only one policy knows (--format json lists them)\n",
            result.vocabulary.len()
        ));
    }
    out
}

fn named(rules: &[RuleRef]) -> String {
    rules
        .iter()
        .map(|r| match &r.cite {
            Some(cite) => format!("{} [{cite}]", r.rule),
            None => r.rule.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// "user.behavior for personalize.content to first_party (use) about customer"
fn region(change: &Change) -> String {
    let list = |keys: &[String], any: &str| -> String {
        if keys.len() == 1 && keys[0] == "any" {
            any.to_string()
        } else {
            keys.join(", ")
        }
    };
    format!(
        "{} for {} to {} ({}) about {}",
        list(&change.data, "any data"),
        list(&change.purposes, "any purpose"),
        list(&change.recipients, "anyone"),
        list(&change.actions, "any action"),
        list(&change.subjects, "anyone"),
    )
}
