//! A translation of a compiled privet policy into Cedar, for a side-by-side
//! benchmark (see `benches/cedar.rs` and `BENCHMARKS.md`).
//!
//! The model:
//!
//! | privet             | Cedar                                                     |
//! |--------------------|-----------------------------------------------------------|
//! | data category      | `resource`, an entity of type `Data`                      |
//! | purpose            | `action`, an entity of type `Action`                      |
//! | recipient          | `principal`, an entity of type `Recipient`                |
//! | action (use/share) | `context.verb`, an entity of type `Verb`                  |
//! | subject            | `context.subject`, an entity of type `Subject`            |
//! | taxonomy (DAG)     | the entities' parents: a scope on a key is `in` that key  |
//! | facts              | `context` attributes; purpose sets are sets of `Action`s  |
//! | point class        | `context.class` (0 non-personal, 1 personal, 2 sensitive) |
//! | allow / deny       | `permit` / `forbid` (Cedar also has default deny and      |
//! |                    | forbid overriding permit)                                 |
//!
//! Conditions are three-valued in privet: an allow needs its condition (and
//! its basis's) to be *true*, a deny fires when its condition is true *or
//! unknown*. Cedar has no unknown: a missing attribute is an error, and a
//! policy whose condition errors is skipped, which would make a `forbid`
//! fail open. So each condition is translated twice, as "certainly true"
//! (for permits) and "possibly true" (for forbids), with `context has f`
//! guards on every fact that has no default (Kleene's logic, spelled out).
//! Facts with a default are always put in the context.
//!
//! What does not translate: a privet request is a *set* of points — every
//! data category at or below each item, every purpose at or below the
//! requested one (all purposes when none is given), every recipient at or
//! below — and it is allowed only if every point is. Cedar's `in` looks
//! up from the request's entity, never down, so a Cedar request on
//! `Data::"user.contact"` is not the privet request on `user.contact`. A
//! Cedar caller must expand the request into points and ask once per point:
//! [`points`] does that, outside any timed loop.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::{Context, Entities, Entity, EntityUid, PolicySet, RestrictedExpression};
use privet::compile::{CompiledPolicy, Cond, FactKind, FactValue, KeyId};
use privet::syntax::{Class, Dimension, Effect};
use privet::{Policy, ResolvedRequest};

/// The Cedar entity type of each privet dimension.
pub fn entity_type(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Data => "Data",
        Dimension::Purpose => "Action",
        Dimension::Recipient => "Recipient",
        Dimension::Action => "Verb",
        Dimension::Subject => "Subject",
    }
}

fn class_number(class: Class) -> i64 {
    match class {
        Class::NonPersonal => 0,
        Class::Personal => 1,
        Class::Sensitive => 2,
    }
}

fn uid_text(policy: &CompiledPolicy, dimension: Dimension, key: KeyId) -> String {
    format!(
        "{}::\"{}\"",
        entity_type(dimension),
        policy.taxonomy(dimension).key(key)
    )
}

/// The entity of a key.
pub fn uid(policy: &CompiledPolicy, dimension: Dimension, key: KeyId) -> EntityUid {
    EntityUid::from_str(&uid_text(policy, dimension, key)).expect("a valid entity uid")
}

/// Every taxonomy key as an entity whose parents are the key's parents.
pub fn entities(policy: &Policy) -> Entities {
    let compiled = policy.compiled();
    let mut all = Vec::new();
    for dimension in Dimension::ALL {
        let taxonomy = compiled.taxonomy(dimension);
        for id in 0..taxonomy.len() as KeyId {
            let parents: HashSet<EntityUid> = taxonomy
                .parents(id)
                .map(|p| uid(compiled, dimension, p))
                .collect();
            all.push(Entity::new_no_attrs(uid(compiled, dimension, id), parents));
        }
    }
    Entities::from_entities(all, None).expect("the taxonomies are valid entities")
}

/// A condition as two Cedar expressions: certainly true, possibly true.
fn condition(policy: &CompiledPolicy, cond: &Cond) -> (String, String) {
    let fact = |id: u16| {
        let def = &policy.facts[id as usize];
        (def.name.to_string(), def.default.is_none())
    };
    // An atom over one fact: when the fact may be missing, "certainly" needs
    // it present and "possibly" accepts it absent.
    let atom = |id: u16, expression: String| {
        let (name, may_be_missing) = fact(id);
        if may_be_missing {
            (
                format!("(context has {name} && {expression})"),
                format!("(!(context has {name}) || {expression})"),
            )
        } else {
            (expression.clone(), expression)
        }
    };
    let join = |parts: &[Cond], op: &str, empty: &str| {
        if parts.is_empty() {
            return (empty.to_string(), empty.to_string());
        }
        let (certain, possible): (Vec<String>, Vec<String>) =
            parts.iter().map(|p| condition(policy, p)).unzip();
        (
            format!("({})", certain.join(op)),
            format!("({})", possible.join(op)),
        )
    };
    match cond {
        Cond::Test(f) => atom(*f, format!("context.{}", fact(*f).0)),
        Cond::BoolIs(f, value) => atom(*f, format!("context.{} == {value}", fact(*f).0)),
        Cond::Compare(f, op, value) => atom(
            *f,
            format!("context.{} {} {value}", fact(*f).0, op.as_str()),
        ),
        Cond::PurposeMember {
            fact: f,
            keys,
            request_purpose,
        } => {
            let name = fact(*f).0;
            let mut tests = Vec::new();
            if *request_purpose {
                tests.push(format!("action in context.{name}"));
            }
            for &key in keys {
                tests.push(format!(
                    "{} in context.{name}",
                    uid_text(policy, Dimension::Purpose, key)
                ));
            }
            let expression = if tests.is_empty() {
                "false".to_string()
            } else {
                format!("({})", tests.join(" || "))
            };
            atom(*f, expression)
        }
        Cond::EnumMember { fact: f, mask } => {
            let members = match &policy.facts[*f as usize].kind {
                FactKind::EnumSet(members) => members.clone(),
                _ => Vec::new(),
            };
            let chosen: Vec<String> = members
                .iter()
                .enumerate()
                .filter(|(bit, _)| mask & (1u64 << bit) != 0)
                .map(|(_, m)| format!("\"{m}\""))
                .collect();
            atom(
                *f,
                format!(
                    "context.{}.containsAny([{}])",
                    fact(*f).0,
                    chosen.join(", ")
                ),
            )
        }
        Cond::Not(inner) => {
            let (certain, possible) = condition(policy, inner);
            (format!("!{possible}"), format!("!{certain}"))
        }
        Cond::And(parts) => join(parts, " && ", "true"),
        Cond::Or(parts) => join(parts, " || ", "false"),
    }
}

/// `var in X` for one key, `var in [X, Y]` for several; `None` for no scope.
fn scope(policy: &CompiledPolicy, dimension: Dimension, keys: &[KeyId]) -> Option<String> {
    match keys {
        [] => None,
        [one] => Some(uid_text(policy, dimension, *one)),
        many => Some(format!(
            "[{}]",
            many.iter()
                .map(|k| uid_text(policy, dimension, *k))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// How rules with several data categories or recipients are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One Cedar policy per rule; several keys become `resource in [..]`
    /// and `principal in [..]` in the `when` clause (Cedar's scope takes a
    /// single entity there).
    Compact,
    /// One Cedar policy per data category × recipient of the rule, each in
    /// the scope: more policies, no set literals.
    Split,
}

/// The policy's rules as Cedar policies, in rule order.
pub fn translate(policy: &Policy, layout: Layout) -> String {
    let compiled = policy.compiled();
    let mut text = String::new();
    for rule in &compiled.rules {
        let written = |d: Dimension| scope(compiled, d, &rule.written[d]);
        // The scopes of principal and resource, one Cedar policy each.
        let scopes = |d: Dimension, var: &str| -> Vec<(String, Option<String>)> {
            let keys = &rule.written[d];
            let one = |k: &KeyId| format!("{var} in {}", uid_text(compiled, d, *k));
            match (keys.as_slice(), layout) {
                ([], _) => vec![(var.to_string(), None)],
                ([key], _) => vec![(one(key), None)],
                (_, Layout::Compact) => vec![(
                    var.to_string(),
                    written(d).map(|list| format!("{var} in {list}")),
                )],
                (many, Layout::Split) => many.iter().map(|k| (one(k), None)).collect(),
            }
        };
        let action = match written(Dimension::Purpose) {
            Some(s) => format!("action in {s}"),
            None => "action".into(),
        };
        let mut when = Vec::new();
        if let Some(s) = written(Dimension::Action) {
            when.push(format!("context.verb in {s}"));
        }
        if let Some(s) = written(Dimension::Subject) {
            when.push(format!("context.subject in {s}"));
        }
        match rule.effect {
            Effect::Allow => {
                // An allow applies only to points of a class it reaches.
                if rule.clearance < Class::Sensitive {
                    when.push(format!("context.class <= {}", class_number(rule.clearance)));
                }
                let basis = rule
                    .basis
                    .and_then(|b| compiled.bases.get(b))
                    .and_then(|b| b.requires.as_ref());
                if let Some(requires) = basis {
                    when.push(condition(compiled, requires).0);
                }
                if let Some(cond) = &rule.condition {
                    when.push(condition(compiled, cond).0);
                }
            }
            Effect::Deny => {
                if let Some(cond) = &rule.condition {
                    when.push(condition(compiled, cond).1);
                }
            }
        }
        let effect = match rule.effect {
            Effect::Allow => "permit",
            Effect::Deny => "forbid",
        };
        let _ = writeln!(
            text,
            "// {} {}",
            rule.location,
            rule.cite.as_deref().unwrap_or("")
        );
        for (principal, principal_when) in scopes(Dimension::Recipient, "principal") {
            for (resource, resource_when) in scopes(Dimension::Data, "resource") {
                let conditions: Vec<&str> = principal_when
                    .iter()
                    .chain(&resource_when)
                    .chain(&when)
                    .map(String::as_str)
                    .collect();
                let _ = write!(text, "{effect} ({principal}, {action}, {resource})");
                if !conditions.is_empty() {
                    let _ = write!(text, "\nwhen {{ {} }}", conditions.join("\n    && "));
                }
                text.push_str(";\n");
            }
        }
        text.push('\n');
    }
    text
}

/// The translated policy, parsed.
pub fn policy_set(policy: &Policy, layout: Layout) -> PolicySet {
    PolicySet::from_str(&translate(policy, layout)).expect("the translation is valid Cedar")
}

/// The request's context facts, as Cedar values; unknown facts are left out.
fn facts(
    policy: &CompiledPolicy,
    request: &ResolvedRequest,
) -> Vec<(String, RestrictedExpression)> {
    let mut pairs = Vec::new();
    for (def, value) in policy.facts.iter().zip(&request.facts) {
        let value = match value {
            None => continue,
            Some(FactValue::Bool(b)) => RestrictedExpression::new_bool(*b),
            Some(FactValue::Int(i)) => RestrictedExpression::new_long(*i),
            Some(FactValue::Purposes { listed, .. }) => {
                RestrictedExpression::new_set(listed.iter().map(|&k| {
                    RestrictedExpression::new_entity_uid(uid(policy, Dimension::Purpose, k))
                }))
            }
            Some(FactValue::Members(mask)) => {
                let members = match &def.kind {
                    FactKind::EnumSet(members) => members.clone(),
                    _ => Vec::new(),
                };
                RestrictedExpression::new_set(
                    members
                        .iter()
                        .enumerate()
                        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
                        .map(|(_, m)| RestrictedExpression::new_string(m.to_string())),
                )
            }
        };
        pairs.push((def.name.to_string(), value));
    }
    pairs
}

/// The request as Cedar requests, one per point, in the order privet walks
/// them: a faithful Cedar caller allows only if every one is allowed.
pub fn points(policy: &Policy, request: &ResolvedRequest) -> Vec<cedar_policy::Request> {
    let compiled = policy.compiled();
    let data = compiled.taxonomy(Dimension::Data);
    let purposes = compiled.taxonomy(Dimension::Purpose);
    let recipients = compiled.taxonomy(Dimension::Recipient);
    let purpose_set = match request.purpose {
        Some(p) => purposes.descendants(p).clone(),
        None => purposes.everything().clone(),
    };
    let base = facts(compiled, request);
    let mut contexts: HashMap<Class, Context> = HashMap::new();
    let mut out = Vec::new();
    for &item in &request.data {
        for d in data.descendants(item).ones() {
            let class = request.class.max(data.class(d as KeyId));
            let context = contexts
                .entry(class)
                .or_insert_with(|| {
                    let mut pairs = base.clone();
                    pairs.push((
                        "verb".into(),
                        RestrictedExpression::new_entity_uid(uid(
                            compiled,
                            Dimension::Action,
                            request.action,
                        )),
                    ));
                    pairs.push((
                        "subject".into(),
                        RestrictedExpression::new_entity_uid(uid(
                            compiled,
                            Dimension::Subject,
                            request.subject,
                        )),
                    ));
                    pairs.push((
                        "class".into(),
                        RestrictedExpression::new_long(class_number(class)),
                    ));
                    Context::from_pairs(pairs).expect("a valid context")
                })
                .clone();
            for p in purpose_set.ones() {
                for r in recipients.descendants(request.recipient).ones() {
                    out.push(
                        cedar_policy::Request::new(
                            uid(compiled, Dimension::Recipient, r as KeyId),
                            uid(compiled, Dimension::Purpose, p as KeyId),
                            uid(compiled, Dimension::Data, d as KeyId),
                            context.clone(),
                            None,
                        )
                        .expect("a valid request"),
                    );
                }
            }
        }
    }
    out
}

/// Whether the request is a single point: one data item with nothing below
/// it, a purpose with nothing below it, a recipient with nothing below it.
/// For these, one Cedar request is the whole privet request.
pub fn is_single_point(policy: &Policy, request: &ResolvedRequest) -> bool {
    let compiled = policy.compiled();
    let leaf = |dimension: Dimension, key: KeyId| {
        compiled.taxonomy(dimension).descendants(key).count_ones(..) == 1
    };
    matches!(request.data.as_slice(), [item] if leaf(Dimension::Data, *item))
        && request.purpose.is_some_and(|p| leaf(Dimension::Purpose, p))
        && leaf(Dimension::Recipient, request.recipient)
}
