//! The invariants of DESIGN.md §5, as properties over generated policies and
//! requests. Each test is named after the promise it checks.
//!
//! Case counts are kept small for CI; run longer with
//! `PROPTEST_CASES=5000 cargo test --release --test properties`.

use std::collections::BTreeSet;

use privet::diagnostics::SourceFile;
use privet::diff::diff;
use privet::eval::disagreement;
use privet::format::format_source;
use privet::syntax::{ByDimension, Dimension};
use privet::syntax::{ClearSpans, parse};
use privet::{Decision, Policy, Request};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::json;

// ---------------------------------------------------------------- pools

const PERSONAL_DATA: &[&str] = &[
    "user",
    "user.contact",
    "user.contact.email",
    "user.contact.phone_number",
    "user.name",
    "user.location.precise",
    "user.device.gadget",
    "user.biometric",
    "user.biometric.fingerprint",
];
const NON_PERSONAL_DATA: &[&str] = &[
    "non_personal",
    "non_personal.statistics",
    "system.operations",
];
const PURPOSES: &[&str] = &[
    "marketing",
    "marketing.communications",
    "marketing.communications.email",
    "analytics",
    "analytics.reporting",
    "essential.service",
    "essential.service.notifications",
    "personalize",
];
const RECIPIENTS: &[&str] = &[
    "first_party",
    "processor",
    "processor.logistics",
    "affiliate",
    "third_party.advertiser",
];
const ACTIONS: &[&str] = &["collect", "use", "store", "share", "share.sell"];
const SUBJECTS: &[&str] = &["customer", "visitor"];
const BASES: &[&str] = &[
    "consent",
    "explicit_consent",
    "contract",
    "parental_consent",
];
const OBLIGATIONS: &[&str] = &["minimize", "purpose_bound", "delete_when_done"];
const ATOMS: &[&str] = &[
    "subject_age < 13",
    "subject_age >= 16",
    "subject_age <= 14",
    "subject_age != 15",
    "dnt",
    "parental_consent",
    "consent(purpose)",
    "consent(marketing)",
    "opt_out(purpose)",
    "safeguards(scc, bcr)",
    "cross_border",
    "location_services",
    "beta",
];

/// Ages on both sides of every comparison of `ATOMS`, and several within
/// one region (16, 17, 40).
const AGES: &[i64] = &[12, 13, 14, 15, 16, 17, 40];

/// Declarations every generated policy has: a local key and a fact with no
/// default, which is unknown whenever a request leaves it out.
const PRELUDE: &str = "use std\ndata user.device.gadget \"a local key\"\nfact beta: bool\n";

fn all_data() -> Vec<&'static str> {
    PERSONAL_DATA
        .iter()
        .chain(NON_PERSONAL_DATA)
        .copied()
        .collect()
}

// ---------------------------------------------------------------- generators

#[derive(Debug, Clone)]
struct RuleSpec {
    allow: bool,
    actions: Option<Vec<&'static str>>,
    data: Vec<&'static str>,
    purposes: Option<Vec<&'static str>>,
    recipients: Option<Vec<&'static str>>,
    subjects: Option<Vec<&'static str>>,
    basis: Option<&'static str>,
    when: Option<String>,
    unless: Option<String>,
    obligations: Vec<&'static str>,
}

impl RuleSpec {
    fn text(&self, index: usize) -> String {
        let mut text = String::from(if self.allow { "allow" } else { "deny" });
        if let Some(actions) = &self.actions {
            text.push_str(&format!(" {} of", actions.join(", ")));
        }
        text.push_str(&format!(" {}", self.data.join(", ")));
        if let Some(purposes) = &self.purposes {
            text.push_str(&format!(" for {}", purposes.join(", ")));
        }
        if let Some(recipients) = &self.recipients {
            text.push_str(&format!(" to {}", recipients.join(", ")));
        }
        if let Some(subjects) = &self.subjects {
            text.push_str(&format!(" about {}", subjects.join(", ")));
        }
        if self.allow {
            if let Some(basis) = self.basis {
                text.push_str(&format!(" basis {basis}"));
            }
        }
        if let Some(when) = &self.when {
            text.push_str(&format!(" when {when}"));
        }
        if let Some(unless) = &self.unless {
            text.push_str(&format!(" unless {unless}"));
        }
        if self.allow && !self.obligations.is_empty() {
            text.push_str(&format!(" oblige {}", self.obligations.join(", ")));
        }
        text.push_str(&format!(" cite \"r{index}\""));
        text
    }
}

fn keys(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<&'static str>> {
    subsequence(pool, 1..=2)
}

fn maybe_keys(pool: &'static [&'static str]) -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop_oneof![1 => Just(None), 2 => keys(pool).prop_map(Some)]
}

fn condition() -> impl Strategy<Value = String> {
    let atom = select(ATOMS).prop_map(str::to_string);
    atom.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    })
}

fn data_scope() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        3 => subsequence(PERSONAL_DATA, 1..=2),
        1 => subsequence(NON_PERSONAL_DATA, 1..=2),
        1 => (select(PERSONAL_DATA), select(NON_PERSONAL_DATA)).prop_map(|(a, b)| vec![a, b]),
    ]
}

fn rule() -> impl Strategy<Value = RuleSpec> {
    (
        prop::bool::weighted(0.7),
        prop_oneof![3 => Just(None), 1 => keys(ACTIONS).prop_map(Some)],
        data_scope(),
        maybe_keys(PURPOSES),
        maybe_keys(RECIPIENTS),
        prop_oneof![4 => Just(None), 1 => keys(SUBJECTS).prop_map(Some)],
        prop::option::weighted(0.5, select(BASES)),
        prop::option::weighted(0.4, condition()),
        prop::option::weighted(0.2, condition()),
        subsequence(OBLIGATIONS, 0..=2),
    )
        .prop_map(
            |(
                allow,
                actions,
                data,
                purposes,
                recipients,
                subjects,
                basis,
                when,
                unless,
                obligations,
            )| RuleSpec {
                allow,
                actions,
                data,
                purposes,
                recipients,
                subjects,
                basis,
                when,
                unless,
                obligations,
            },
        )
}

fn rules() -> impl Strategy<Value = Vec<RuleSpec>> {
    prop::collection::vec(rule(), 1..8)
}

fn policy_text(rules: &[RuleSpec]) -> String {
    let body: Vec<String> = rules.iter().enumerate().map(|(i, r)| r.text(i)).collect();
    format!("{PRELUDE}{}\n", body.join("\n"))
}

fn load(rules: &[RuleSpec]) -> Policy {
    let text = policy_text(rules);
    Policy::from_source("generated.privet", &text)
        .unwrap_or_else(|e| panic!("generated policy does not load: {:?}\n{text}", e.problems()))
}

#[derive(Debug, Clone)]
struct Context {
    age: Option<i64>,
    dnt: Option<bool>,
    parental_consent: Option<bool>,
    consent: Vec<&'static str>,
    opt_out: Vec<&'static str>,
    safeguards: Vec<&'static str>,
    cross_border: Option<bool>,
    location_services: Option<bool>,
    beta: Option<bool>,
}

fn context() -> impl Strategy<Value = Context> {
    (
        prop::option::weighted(0.7, select(AGES)),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        subsequence(PURPOSES, 0..=2),
        subsequence(PURPOSES, 0..=1),
        subsequence(&["scc", "bcr", "consent"][..], 0..=2),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::weighted(0.5, any::<bool>()),
    )
        .prop_map(
            |(
                age,
                dnt,
                parental_consent,
                consent,
                opt_out,
                safeguards,
                cross_border,
                location_services,
                beta,
            )| {
                Context {
                    age,
                    dnt,
                    parental_consent,
                    consent,
                    opt_out,
                    safeguards,
                    cross_border,
                    location_services,
                    beta,
                }
            },
        )
}

fn request_with(
    data: Vec<&'static str>,
    purpose: Option<&str>,
    recipient: Option<&str>,
    action: Option<&str>,
    c: &Context,
) -> Request {
    let mut request = Request::new(data);
    if let Some(p) = purpose {
        request = request.purpose(p);
    }
    if let Some(r) = recipient {
        request = request.recipient(r);
    }
    if let Some(a) = action {
        request = request.action(a);
    }
    if let Some(age) = c.age {
        request = request.fact("subject_age", age);
    }
    for (name, value) in [
        ("dnt", c.dnt),
        ("parental_consent", c.parental_consent),
        ("cross_border", c.cross_border),
        ("location_services", c.location_services),
        ("beta", c.beta),
    ] {
        if let Some(value) = value {
            request = request.fact(name, value);
        }
    }
    if !c.consent.is_empty() {
        request = request.fact("consent", c.consent.clone());
    }
    if !c.opt_out.is_empty() {
        request = request.fact("opt_out", c.opt_out.clone());
    }
    if !c.safeguards.is_empty() {
        request = request.fact("safeguards", c.safeguards.clone());
    }
    request
}

#[derive(Debug, Clone)]
struct RequestSpec {
    data: Vec<&'static str>,
    purpose: Option<&'static str>,
    recipient: Option<&'static str>,
    action: Option<&'static str>,
    context: Context,
}

impl RequestSpec {
    fn request(&self) -> Request {
        request_with(
            self.data.clone(),
            self.purpose,
            self.recipient,
            self.action,
            &self.context,
        )
    }
}

fn request() -> impl Strategy<Value = RequestSpec> {
    (
        subsequence(all_data(), 1..=2),
        prop::option::weighted(0.85, select(PURPOSES)),
        prop::option::weighted(0.6, select(RECIPIENTS)),
        prop::option::weighted(0.3, select(ACTIONS)),
        context(),
    )
        .prop_map(|(data, purpose, recipient, action, context)| RequestSpec {
            data,
            purpose,
            recipient,
            action,
            context,
        })
}

/// A request aimed at one of the rules: its data, purpose, recipient and
/// action drawn from the rule's scopes, so that allows are common enough
/// for the properties to say something.
fn aimed_request(rules: &[RuleSpec]) -> impl Strategy<Value = RequestSpec> + use<> {
    let rules = rules.to_vec();
    (
        0..rules.len(),
        request(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(which, mut spec, a, b, c)| {
            let rule = &rules[which];
            spec.data = rule.data.clone();
            if let Some(purposes) = &rule.purposes {
                spec.purpose = Some(purposes[a.index(purposes.len())]);
            }
            if let Some(recipients) = &rule.recipients {
                spec.recipient = Some(recipients[b.index(recipients.len())]);
            }
            if let Some(actions) = &rule.actions {
                spec.action = Some(actions[c.index(actions.len())]);
            }
            spec
        })
}

/// Many rules over the same few cells, so that the decision index has
/// allows and denies to prune (one narrower than another, for the same
/// recipient), and a request aimed at one of them.
fn crowded_case() -> impl Strategy<Value = (Vec<RuleSpec>, RequestSpec)> {
    let crowded = (
        rule(),
        subsequence(CROWDED_DATA, 1..=2),
        prop::option::weighted(0.8, select(CROWDED_PURPOSES)),
    )
        .prop_map(|(mut rule, data, purpose)| {
            rule.data = data;
            rule.purposes = purpose.map(|p| vec![p]);
            rule
        });
    prop::collection::vec(crowded, 8..24).prop_flat_map(|rules| {
        let aimed = aimed_request(&rules);
        (Just(rules), aimed)
    })
}

/// Statistics alone and with personal data: allows of either clearance
/// in one cell.
const CROWDED_DATA: &[&str] = &["user.contact.email", "user.name", "non_personal.statistics"];
const CROWDED_PURPOSES: &[&str] = &["marketing.communications.email", "analytics"];

/// How many (data, purpose, recipient) points of the crowded pools the
/// decision index holds fewer allows for than there are allow rules.
fn pruned_points(policy: &Policy) -> usize {
    let compiled = policy.compiled();
    let id = |dimension: Dimension, key: &str| {
        compiled
            .taxonomy(dimension)
            .id(key)
            .unwrap_or_else(|| panic!("{key}"))
    };
    let mut pruned = 0;
    for data in CROWDED_DATA {
        for purpose in CROWDED_PURPOSES {
            let (d, p) = (id(Dimension::Data, data), id(Dimension::Purpose, purpose));
            for recipient in RECIPIENTS {
                let r = id(Dimension::Recipient, recipient);
                let rules = compiled.index.rules(d, p).allows;
                let covering = rules
                    .iter()
                    .filter(|&&i| compiled.rules[i as usize].covers(Dimension::Recipient, r))
                    .count();
                if compiled.index.allows(d, p, r).len() < covering {
                    pruned += 1;
                }
            }
        }
    }
    pruned
}

/// Rules and a request: aimed at a rule two times in three, random otherwise.
fn case() -> impl Strategy<Value = (Vec<RuleSpec>, RequestSpec)> {
    rules().prop_flat_map(|rules| {
        let aimed = aimed_request(&rules);
        (Just(rules), prop_oneof![2 => aimed, 1 => request()])
    })
}

/// The explained decision; every property also checks that the lean path
/// (`is_allowed`, which reads the decision index instead of the rules)
/// gives the same answer, and that both give the answer of the rules
/// evaluated point by point, each condition afresh.
fn decide(policy: &Policy, request: &Request) -> Decision {
    let decision = policy
        .decide(request)
        .unwrap_or_else(|e| panic!("generated request is invalid: {e}"));
    let resolved = policy.resolve(request).expect("it resolved once");
    if let Some(wrong) = disagreement(policy.compiled(), &resolved, &decision) {
        panic!("{wrong} on {request:?}: {decision:?}");
    }
    decision
}

/// Keys at or below `key` among a pool (by dotted prefix, which is how the
/// pools' keys nest).
fn below<'a>(key: &str, pool: &[&'a str]) -> Vec<&'a str> {
    pool.iter()
        .copied()
        .filter(|k| *k == key || k.starts_with(&format!("{key}.")))
        .collect()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(96),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config())]

    /// A batch keeps decisions under their decision keys, so equal keys
    /// must mean equal decisions, to the last reason and hint. The second
    /// request differs in its age, in how its consent is listed, and in
    /// safeguards no generated condition names; about its other facts it
    /// may differ or not.
    #[test]
    fn equal_decision_keys_mean_equal_decisions(
        (rules, spec) in case(),
        age in prop::option::weighted(0.8, select(AGES)),
        reorder in any::<bool>(),
        adequacy in any::<bool>(),
        beta in prop::option::of(any::<bool>()),
    ) {
        let policy = load(&rules);
        let mut other = spec.clone();
        other.context.age = age;
        if reorder {
            other.context.consent.reverse();
            // Listed twice covers nothing more.
            if let Some(&first) = spec.context.consent.first() {
                other.context.consent.push(first);
            }
        }
        if adequacy && !other.context.safeguards.contains(&"adequacy") {
            other.context.safeguards.push("adequacy");
        }
        other.context.beta = beta;
        let key = |request: &Request| {
            let resolved = policy.resolve(request).expect("generated requests resolve");
            let mut key = Vec::new();
            policy.decision_key(&resolved, &mut key);
            key
        };
        let (first, second) = (spec.request(), other.request());
        if key(&first) == key(&second) {
            prop_assert_eq!(decide(&policy, &first), decide(&policy, &second));
        } else {
            // Unequal keys are allowed to decide alike; but a change the
            // policy cannot see must not split a key.
            prop_assert!(
                spec.context.age.is_some() != other.context.age.is_some()
                    || spec.context.age != other.context.age
                    || spec.context.beta != other.context.beta,
                "only invisible changes, yet the keys differ"
            );
        }
    }

    /// §5.1: adding a non-personal item never makes a request more allowed.
    #[test]
    fn combined_pii_is_treated_as_pii((rules, spec) in case(), extra in select(NON_PERSONAL_DATA)) {
        let policy = load(&rules);
        let mut with_extra = spec.clone();
        if !with_extra.data.contains(&extra) {
            with_extra.data.push(extra);
        }
        if decide(&policy, &with_extra.request()).allowed {
            prop_assert!(decide(&policy, &spec.request()).allowed);
        }
    }

    /// §5.1: rules that reach only non-personal data never allow a
    /// non-personal item that travels with personal data.
    #[test]
    fn non_personal_rules_never_allow_combined_data(
        np_rules in prop::collection::vec(rule(), 1..5),
        personal_rules in prop::collection::vec(rule(), 0..4),
        personal in select(PERSONAL_DATA),
        extra in select(NON_PERSONAL_DATA),
        spec in request(),
    ) {
        let mut rules = Vec::new();
        for mut r in np_rules {
            r.data.retain(|d| NON_PERSONAL_DATA.contains(d));
            if r.data.is_empty() {
                r.data = vec![extra];
            }
            rules.push(r);
        }
        for mut r in personal_rules {
            r.data.retain(|d| PERSONAL_DATA.contains(d));
            if r.data.is_empty() {
                r.data = vec![personal];
            }
            rules.push(r);
        }
        let policy = load(&rules);
        let mut combined = spec;
        combined.data = vec![personal, extra];
        prop_assert!(!decide(&policy, &combined.request()).allowed);
    }

    /// §5.2: adding a deny never turns a deny into an allow, and adding an
    /// allow never turns an allow into a deny.
    #[test]
    fn deny_overrides_allow((rules, spec) in case(), mut extra in rule()) {
        let policy = load(&rules);
        let before = decide(&policy, &spec.request()).allowed;
        let mut more = rules.clone();
        extra.allow = false;
        more.push(extra.clone());
        let after_deny = decide(&load(&more), &spec.request()).allowed;
        prop_assert!(!after_deny || before, "a deny made a request allowed");
        let mut more = rules;
        extra.allow = true;
        more.push(extra);
        let after_allow = decide(&load(&more), &spec.request()).allowed;
        prop_assert!(after_allow || !before, "an allow made a request denied");
    }

    /// §5.2: nothing is allowed without an allow rule.
    #[test]
    fn default_deny(mut rules in rules(), spec in request()) {
        for r in &mut rules {
            r.allow = false;
        }
        prop_assert!(!decide(&load(&rules), &spec.request()).allowed);
    }

    /// §5.3: allowed for a key ⇒ allowed for every key below it, for data,
    /// purpose and recipient.
    #[test]
    fn allowed_for_a_key_is_allowed_below_it((rules, spec) in case()) {
        let policy = load(&rules);
        if !decide(&policy, &spec.request()).allowed {
            return Ok(());
        }
        for (i, item) in spec.data.iter().enumerate() {
            for narrower in below(item, &all_data()) {
                let mut s = spec.clone();
                s.data[i] = narrower;
                prop_assert!(decide(&policy, &s.request()).allowed, "data {narrower} below {item}");
            }
        }
        let purposes: Vec<&str> = match spec.purpose {
            Some(p) => below(p, PURPOSES),
            None => PURPOSES.to_vec(),
        };
        for narrower in purposes {
            let mut s = spec.clone();
            s.purpose = Some(narrower);
            prop_assert!(decide(&policy, &s.request()).allowed, "purpose {narrower}");
        }
        if let Some(recipient) = spec.recipient {
            for narrower in below(recipient, RECIPIENTS) {
                let mut s = spec.clone();
                s.recipient = Some(narrower);
                prop_assert!(decide(&policy, &s.request()).allowed, "recipient {narrower}");
            }
        }
    }

    /// §5.4: shuffling rules (or splitting them over files) changes no decision.
    #[test]
    fn rule_order_does_not_matter((rules, spec) in case(), order in any::<u64>()) {
        let policy = load(&rules);
        let mut shuffled: Vec<(usize, RuleSpec)> = rules.iter().cloned().enumerate().collect();
        // A deterministic shuffle from the generated seed.
        let mut seed = order;
        for i in (1..shuffled.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let body: Vec<String> = shuffled.iter().map(|(i, r)| r.text(*i)).collect();
        let split = shuffled.len() / 2;
        let files = vec![
            SourceFile::new("b.privet", body[split..].join("\n")),
            SourceFile::new("a.privet", format!("{PRELUDE}{}", body[..split].join("\n"))),
        ];
        let other = Policy::from_sources(files).expect("shuffled policy loads");
        let a = decide(&policy, &spec.request());
        let b = decide(&other, &spec.request());
        prop_assert_eq!(a.allowed, b.allowed);
        prop_assert_eq!(&a.basis, &b.basis);
        prop_assert_eq!(&a.obligations, &b.obligations);
        prop_assert_eq!(&a.missing_facts, &b.missing_facts);
        prop_assert_eq!(&a.hints, &b.hints);
        let cites = |d: &Decision| d.reasons.iter().map(|r| r.cite.clone()).collect::<BTreeSet<_>>();
        prop_assert_eq!(cites(&a), cites(&b));
    }

    /// §5.5: an allow with unknown facts stays an allow whatever values they take.
    #[test]
    fn unknown_facts_fail_closed((rules, mut spec) in case()) {
        spec.context.age = None;
        spec.context.beta = None;
        let policy = load(&rules);
        let decision = decide(&policy, &spec.request());
        if !decision.allowed {
            return Ok(());
        }
        for age in [0, 12, 13, 15, 16, 17, 40] {
            for beta in [false, true] {
                let mut s = spec.clone();
                s.context.age = Some(age);
                s.context.beta = Some(beta);
                prop_assert!(decide(&policy, &s.request()).allowed, "age {age}, beta {beta}");
            }
        }
    }

    /// §5.6: applying a hint's change yields an allow.
    #[test]
    fn hints_are_sound((rules, spec) in case()) {
        let policy = load(&rules);
        let decision = decide(&policy, &spec.request());
        for hint in &decision.hints {
            let changed = apply_hint(spec.request(), hint);
            prop_assert!(decide(&policy, &changed).allowed, "hint {hint:?} did not allow");
        }
    }

    /// §5.7: `parse(fmt(p))` equals `p`, spans aside, and `fmt` is idempotent.
    #[test]
    fn formatting_keeps_meaning_and_is_idempotent(rules in rules(), comment_every in 1usize..4) {
        let mut text = String::from("policy gen.p { title \"generated\" updated 2016-12 }\n");
        text.push_str(PRELUDE);
        for (i, r) in rules.iter().enumerate() {
            if i % comment_every == 0 {
                text.push_str(&format!("// rule {i}\n"));
            }
            text.push_str(&r.text(i));
            text.push_str(if i % 2 == 0 { " // trailing\n" } else { "\n\n" });
        }
        let source = SourceFile::new("gen.privet", text.as_str());
        let formatted = format_source(&source).expect("generated text parses");
        let (mut original, _) = parse(&source);
        let (mut reparsed, problems) = parse(&SourceFile::new("gen.privet", formatted.as_str()));
        prop_assert!(problems.is_empty(), "{problems:?}");
        original.clear_spans();
        reparsed.clear_spans();
        prop_assert_eq!(original, reparsed);
        let again = format_source(&SourceFile::new("gen.privet", formatted.as_str())).expect("parses");
        prop_assert_eq!(&again, &formatted);
        prop_assert_eq!(formatted.matches("//").count(), text.matches("//").count(), "every comment kept");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: config().cases / 3, ..config() })]

    /// Issue 6: `diff` is exhaustive — every request the two policies decide
    /// differently lies inside a reported change — and reports nothing empty
    /// or spurious: a policy diffed with itself has no change.
    #[test]
    fn diff_reports_every_request_decided_differently(
        (rules, spec) in case(),
        extra in rule(),
        add in any::<bool>(),
        which in any::<prop::sample::Index>(),
    ) {
        let old = load(&rules);
        let mut changed = rules.clone();
        if add || changed.len() < 2 {
            changed.push(extra);
        } else {
            changed.remove(which.index(changed.len()));
        }
        let new = load(&changed);
        prop_assert!(diff(old.compiled(), old.compiled()).is_empty());
        let result = diff(old.compiled(), new.compiled());
        for change in &result.changes {
            prop_assert!(change.old != change.new);
            prop_assert!(Dimension::ALL.iter().all(|d| !change.keys[*d].is_empty()));
        }
        let request = spec.request();
        let before = decide(&old, &request).allowed;
        let after = decide(&new, &request).allowed;
        if before != after {
            prop_assert!(
                covered_by_a_change(&old, &result, &request, before, after),
                "decided {before} then {after}, but no change covers {request:?}"
            );
        }
    }

    /// The diff tries every purpose a purpose set is tested for and every
    /// threshold of a number, beyond the three purposes and sixty
    /// thresholds it once cut off at: a request whose consent or age is
    /// the only thing that changed its decision lies in a change of that
    /// direction.
    #[test]
    fn diff_is_exact_over_many_purposes_and_thresholds(
        consents in subsequence(CONSENT_POOL, 4..=6),
        thresholds in prop::collection::btree_set(0i64..200, 61..=70),
        swap_to in select(CONSENT_POOL),
        shift in 1i64..3,
        listed in subsequence(CONSENT_POOL, 0..=3),
        near_the_moved_threshold in prop::bool::weighted(0.8),
        offset in -2i64..5,
        any_age in 0i64..210,
    ) {
        let thresholds: Vec<i64> = thresholds.into_iter().collect();
        // The generator reaches past the old bounds every time.
        prop_assert!(consents.len() > 3 && thresholds.len() > 60);
        let text = |consents: &[&str], thresholds: &[i64]| {
            let mut text = String::from("use std\n");
            for (i, purpose) in consents.iter().enumerate() {
                text.push_str(&format!(
                    "allow non_personal.statistics for essential.service when consent({purpose}) cite \"c{i}\"\n"
                ));
            }
            for (i, low) in thresholds.iter().enumerate() {
                text.push_str(&format!(
                    "allow user.contact.email for essential.service basis contract when subject_age > {low} and subject_age < {} cite \"t{i}\"\n",
                    low + 2
                ));
            }
            text
        };
        let mut new_consents = consents.clone();
        let last = new_consents.len() - 1;
        new_consents[last] = swap_to;
        let mut new_thresholds = thresholds.clone();
        new_thresholds[thresholds.len() - 1] += shift;
        // Most ages near the threshold that moved, where decisions change.
        let age = if near_the_moved_threshold {
            thresholds[thresholds.len() - 1] + offset
        } else {
            any_age
        };
        let old = Policy::from_source("old.privet", &text(&consents, &thresholds)).expect("loads");
        let new = Policy::from_source("new.privet", &text(&new_consents, &new_thresholds)).expect("loads");
        let result = diff(old.compiled(), new.compiled());
        prop_assert!(result.is_complete(), "{:?}", result.incomplete);
        let mut statistics = Request::new(["non_personal.statistics"]).purpose("essential.service");
        if !listed.is_empty() {
            statistics = statistics.fact("consent", listed.clone());
        }
        let email = Request::new(["user.contact.email"])
            .purpose("essential.service")
            .fact("subject_age", age);
        for request in [statistics, email] {
            let before = decide(&old, &request).allowed;
            let after = decide(&new, &request).allowed;
            if before != after {
                prop_assert!(
                    covered_by_a_change(&old, &result, &request, before, after),
                    "decided {before} then {after}, but no change of that direction covers {request:?}"
                );
            }
        }
    }
}

/// Purposes a purpose set is tested for in the exact-diff property.
const CONSENT_POOL: &[&str] = &[
    "analytics",
    "marketing",
    "functional",
    "finance",
    "sales",
    "personalize",
    "operations",
    "employment",
];

/// Whether a change of the diff, going from `before` to `after`, covers the
/// keys `request` asks about.
fn covered_by_a_change(
    policy: &Policy,
    result: &privet::diff::PolicyDiff,
    request: &Request,
    before: bool,
    after: bool,
) -> bool {
    let word = |allowed: bool| if allowed { "allow" } else { "deny" };
    let keys = request_keys(policy, request);
    result.changes.iter().any(|c| {
        (c.old, c.new) == (word(before), word(after))
            && Dimension::ALL
                .iter()
                .all(|d| keys[*d].iter().any(|k| c.keys[*d].contains(k)))
    })
}

proptest! {
    // Cheap, and the one property aimed at the index itself: more cases.
    #![proptest_config(ProptestConfig { cases: config().cases * 6, ..config() })]

    /// The lean path reads the decision index (rules filed by data and
    /// purpose, conditions interned and remembered per request), the
    /// explained path the rules themselves: `decide` asserts that they give
    /// the same answer, here and in every other property.
    #[test]
    fn lean_and_explained_paths_agree((rules, spec) in case()) {
        let policy = load(&rules);
        decide(&policy, &spec.request());
        let mut broad = spec.clone();
        broad.purpose = None;
        decide(&policy, &broad.request());
    }

    /// The lean path reads a pruned index: an allow or a deny left out
    /// because a broader one stands for it must never change an answer,
    /// at any age on either side of the rules' comparisons, nor for the
    /// statistics asked alone or with personal data.
    #[test]
    fn pruned_cells_decide_as_their_rules_do((rules, spec) in crowded_case()) {
        let policy = load(&rules);
        for age in AGES.iter().copied().map(Some).chain([None]) {
            let mut at_age = spec.clone();
            at_age.context.age = age;
            decide(&policy, &at_age.request());
            at_age.data = CROWDED_DATA.to_vec();
            decide(&policy, &at_age.request());
        }
    }
}

/// Every key a request asks about, per dimension.
fn request_keys(policy: &Policy, request: &Request) -> ByDimension<BTreeSet<String>> {
    let compiled = policy.compiled();
    let below = |d: Dimension, key: &str| -> Vec<String> {
        let taxonomy = compiled.taxonomy(d);
        let id = taxonomy.id(key).unwrap_or_else(|| panic!("{key}"));
        taxonomy
            .descendants(id)
            .ones()
            .map(|k| taxonomy.key(k as u32).to_string())
            .collect()
    };
    let recipient = request
        .recipient
        .clone()
        .unwrap_or_else(|| "first_party".into());
    let default_action = if recipient == "first_party" {
        "use"
    } else {
        "share"
    };
    ByDimension([
        request
            .data
            .iter()
            .flat_map(|k| below(Dimension::Data, k))
            .collect(),
        match &request.purpose {
            Some(p) => below(Dimension::Purpose, p).into_iter().collect(),
            None => compiled
                .taxonomy(Dimension::Purpose)
                .keys()
                .map(str::to_string)
                .collect(),
        },
        below(Dimension::Recipient, &recipient)
            .into_iter()
            .collect(),
        BTreeSet::from([request
            .action
            .clone()
            .unwrap_or_else(|| default_action.into())]),
        BTreeSet::from([request.subject.clone().unwrap_or_else(|| "customer".into())]),
    ])
}

/// Turn "allowed with consent to a, b and dnt = false" back into context.
fn apply_hint(mut request: Request, hint: &str) -> Request {
    let changes = hint.strip_prefix("allowed with ").expect("hint wording");
    for change in changes.split(" and ") {
        if let Some((fact, value)) = change.split_once(" = ") {
            request = request.fact(fact, value == "true");
        } else if let Some((fact, purposes)) = change.split_once(" to ") {
            let mut list: Vec<serde_json::Value> = request
                .context
                .get(fact)
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            list.extend(purposes.split(", ").map(|p| json!(p)));
            request = request.fact(fact, list);
        } else if let Some((fact, members)) = change.split_once(" including ") {
            let mut list: Vec<serde_json::Value> = request
                .context
                .get(fact)
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            list.extend(members.split(", ").map(|m| json!(m)));
            request = request.fact(fact, list);
        } else {
            panic!("unreadable hint {hint:?}");
        }
    }
    request
}

/// The generators must reach what the properties are about: allows and
/// denies, unknown facts, hints, combined requests. A property over
/// generated cases that are all denied would prove nothing.
#[test]
fn generators_reach_the_interesting_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut allows, mut denies, mut missing, mut hinted, mut combined_allows) = (0, 0, 0, 0, 0);
    for _ in 0..400 {
        let (rules, spec) = case().new_tree(&mut runner).expect("case").current();
        let decision = decide(&load(&rules), &spec.request());
        if decision.allowed {
            allows += 1;
            if spec.data.iter().any(|d| NON_PERSONAL_DATA.contains(d))
                && spec.data.iter().any(|d| PERSONAL_DATA.contains(d))
            {
                combined_allows += 1;
            }
        } else {
            denies += 1;
        }
        if !decision.missing_facts.is_empty() {
            missing += 1;
        }
        if !decision.hints.is_empty() {
            hinted += 1;
        }
    }
    eprintln!(
        "allows {allows}, denies {denies}, missing facts {missing}, hints {hinted}, combined allows {combined_allows}"
    );
    assert!(
        allows >= 20,
        "only {allows} of 400 generated requests were allowed"
    );
    assert!(denies >= 100, "only {denies} denies");
    assert!(missing >= 10, "only {missing} decisions had missing facts");
    assert!(hinted >= 5, "only {hinted} decisions had hints");
    assert!(combined_allows >= 1, "no combined request was ever allowed");
}

/// The crowded cases must make the index prune, and their requests must
/// meet both answers, or `pruned_cells_decide_as_their_rules_do` says
/// nothing about pruning.
#[test]
fn crowded_cases_reach_pruned_cells() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut pruned, mut allows, mut denies) = (0, 0, 0);
    for _ in 0..200 {
        let (rules, spec) = crowded_case()
            .new_tree(&mut runner)
            .expect("case")
            .current();
        let policy = load(&rules);
        if pruned_points(&policy) > 0 {
            pruned += 1;
            if decide(&policy, &spec.request()).allowed {
                allows += 1;
            } else {
                denies += 1;
            }
        }
    }
    eprintln!("pruned {pruned} of 200, then allowed {allows}, denied {denies}");
    assert!(
        pruned >= 100,
        "only {pruned} of 200 crowded policies were pruned"
    );
    assert!(
        allows >= 20 && denies >= 20,
        "{allows} allowed, {denies} denied"
    );
}
