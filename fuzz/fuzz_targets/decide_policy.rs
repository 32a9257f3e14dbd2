//! Any text as a policy; when it compiles, the point each rule was written
//! for is asked under several contexts, and the lean path (`is_allowed`,
//! which reads the pruned decision index) must answer as the explained
//! path (`decide`, which reads the rules themselves) does, and both as the
//! rules decided point by point with nothing remembered
//! (`allowed_point_by_point`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use privet::compile::{FactKind, KeyId};
use privet::eval::disagreement;
use privet::syntax::Dimension;
use privet::{Policy, Request};

/// Rules asked about, and contexts for each, at most: a large policy is
/// not made slow to fuzz.
const RULES_ASKED: usize = 16;
const CONTEXTS_AT_MOST: usize = 16;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(policy) = Policy::from_source("fuzz.privet", &text) else {
        return;
    };
    let compiled = policy.compiled();
    let key = |dimension: Dimension, ids: &[KeyId]| {
        ids.first()
            .map(|&id| compiled.taxonomy(dimension).key(id).to_string())
    };
    let rules = &compiled.rules;
    // For each whole-number fact, a number in every region of its values
    // (where some comparison changes its truth), and one context more for
    // it unknown.
    let numbers: Vec<Vec<i64>> = compiled
        .regions
        .iter()
        .map(|regions| {
            let mut numbers = vec![i64::MIN];
            numbers.extend(&regions.starts);
            numbers
        })
        .collect();
    let contexts = numbers
        .iter()
        .map(|n| n.len() + 1)
        .max()
        .unwrap_or(0)
        .clamp(6, CONTEXTS_AT_MOST);
    for (at, rule) in rules.iter().enumerate().take(RULES_ASKED) {
        let written = |dimension| key(dimension, &rule.written[dimension]);
        let Some(item) = written(Dimension::Data) else {
            continue;
        };
        for context in 0..contexts {
            let mut items = vec![item.clone()];
            // Once, with the next rule's data too: combined data is
            // evaluated at the higher class.
            if context == contexts - 1 {
                let next = rules.get(at + 1).unwrap_or(rule);
                items.extend(key(Dimension::Data, &next.written[Dimension::Data]));
            }
            let mut request = Request::new(items);
            let purpose = written(Dimension::Purpose);
            if let Some(purpose) = &purpose {
                request = request.purpose(purpose.clone());
            }
            if let Some(recipient) = written(Dimension::Recipient) {
                request = request.recipient(recipient);
            }
            if let Some(action) = written(Dimension::Action) {
                request = request.action(action);
            }
            if let Some(subject) = written(Dimension::Subject) {
                request = request.subject(subject);
            }
            for (index, fact) in compiled.facts.iter().enumerate() {
                let name = fact.name.to_string();
                let choice = (context + index) % 3;
                request = match &fact.kind {
                    // Each region in turn, then unknown.
                    FactKind::Int => {
                        let number = numbers
                            .get(index)
                            .and_then(|numbers| numbers.get(context % (numbers.len() + 1)));
                        match number {
                            Some(&number) => request.fact(name, number),
                            None => request,
                        }
                    }
                    // Left out one time in three: unknown, or the default.
                    _ if choice == 0 => request,
                    FactKind::Bool => request.fact(name, choice == 1),
                    FactKind::PurposeSet if choice == 1 => request.fact(
                        name,
                        vec![purpose.clone().unwrap_or_else(|| "marketing".into())],
                    ),
                    FactKind::PurposeSet => request.fact(name, Vec::<String>::new()),
                    FactKind::EnumSet(members) => request.fact(
                        name,
                        members
                            .iter()
                            .skip(choice - 1)
                            .step_by(2)
                            .map(|member| member.to_string())
                            .collect::<Vec<_>>(),
                    ),
                };
            }
            let Ok(resolved) = policy.resolve(&request) else {
                continue;
            };
            let decision = policy.decide_resolved(&resolved);
            if let Some(wrong) = disagreement(policy.compiled(), &resolved, &decision) {
                panic!("{wrong} on {request:?}: {decision:?}");
            }
        }
    }
});
