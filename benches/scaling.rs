//! How decision cost, compile time and memory grow with the number of rules
//! (DESIGN.md §6: "flat (not linear) as a policy grows to 10,000 rules").
//!
//! The bench writes policy *text* of 10, 100, 1,000 and 10,000 rules over
//! the standard vocabulary: eight core rules that settle the requests below
//! (seven allowed, one denied, at every size), then a fixed pseudo-random
//! mix (allows with a basis and `when subject_age > N` or
//! `unless opt_out(purpose)`, one rule in four on `user.contact.email`, and
//! about one deny in ten with a condition the requests do not meet). It
//! compiles each with `Policy::from_source` (one file, as a legal engineer
//! would write it) and asks every policy the same requests, which get the
//! same answers: what grows is only what else the policy says of the
//! points they ask about.
//!
//! Two families of policies:
//!
//! - `scaling/is_allowed/N`: the core and the random rules. Larger policies
//!   say more *kinds* of thing about the requested points as well as more
//!   rules: at 10 rules they hold no conditional deny, from about 10,000
//!   rules every kind the generator writes;
//! - `scaling/is_allowed_every_kind/N`: a ninth core rule, a deny under
//!   every kind of condition the random denies carry, which none of the
//!   requests meets; so every size says every kind of thing about the
//!   requested points, and what grows is the number of rules alone.
//!
//! Each is one pass over the requests, pre-resolved; `scaling/compile/N`
//! compiles the first family's text (1,000 and 10,000 rules).
//!
//! Memory is measured with a counting global allocator (below): the bytes
//! still allocated while the compiled policy is alive, less those before
//! compiling (the text excluded), and the peak during compilation. These
//! figures are printed before the timed runs.
//!
//! Run: `cargo bench --bench scaling -- --warm-up-time 1 --measurement-time 3`
//!
//! `SCALING_SIZES=1000,80000` asks other sizes (a file holds at most 16 MiB,
//! about 80,000 of these rules), `SCALING_FAMILIES=is_allowed_every_kind`
//! one family; one size and family at a time lets a profiler such as
//! callgrind see one policy's decisions alone.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use privet::eval::Covered;
use privet::syntax::Dimension;
use privet::{Policy, Request, ResolvedRequest};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            let now = IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                + (new_size - layout.size());
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// `SIZES`, or the sizes `SCALING_SIZES` lists.
fn sizes() -> Vec<usize> {
    match std::env::var("SCALING_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("SCALING_SIZES: `{n}` is not a number of rules"))
            })
            .collect(),
        Err(_) => SIZES.to_vec(),
    }
}

/// xorshift64*: a fixed sequence, so every run benches the same policies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// One to `most` distinct items.
    fn some<'a>(&mut self, items: &[&'a str], most: usize) -> Vec<&'a str> {
        let count = 1 + self.below(most);
        let mut chosen: Vec<&str> = Vec::with_capacity(count);
        while chosen.len() < count {
            let item = self.pick(items);
            if !chosen.contains(&item) {
                chosen.push(item);
            }
        }
        chosen
    }
}

const DATA: &[&str] = &[
    "user.contact.email",
    "user.contact.phone_number",
    "user.contact.address",
    "user.contact",
    "user.name",
    "user.account",
    "user.account.username",
    "user.authorization.credentials",
    "user.behavior.purchase_history",
    "user.behavior.browsing_history",
    "user.behavior.usage_log",
    "user.device.device_id",
    "user.device.ip_address",
    "user.device.cookie_id",
    "user.device.configuration",
    "user.location.imprecise",
    "user.location.precise",
    "user.demographic.age_range",
    "user.demographic.language",
    "user.content.private",
    "user.payment",
    "user.telemetry.error_report",
    "non_personal",
    "non_personal.statistics",
];

const PURPOSES: &[&str] = &[
    "marketing",
    "marketing.communications",
    "marketing.communications.email",
    "marketing.advertising.first_party.targeted",
    "marketing.advertising.third_party",
    "essential.service",
    "essential.service.notifications",
    "essential.service.operations.support",
    "essential.fraud_detection",
    "essential.legal_obligation",
    "functional.storage",
    "functional.service.improve",
    "analytics",
    "analytics.reporting",
    "personalize",
    "personalize.content.profiling",
    "train_ai_system",
    "sales",
];

const RECIPIENTS: &[&str] = &[
    "first_party",
    "affiliate",
    "processor",
    "processor.cloud",
    "processor.marketing",
    "third_party.advertiser",
    "third_party.business_partner",
    "authority.law_enforcement",
];

const SUBJECTS: &[&str] = &["customer", "prospect", "visitor", "employee", "patient"];

const BASES: &[&str] = &[
    "consent",
    "contract",
    "legitimate_interest",
    "legal_obligation",
];

/// The first rules of every policy: they allow what seven of the requests
/// below ask and leave the eighth denied, so that every size gives the same
/// answers and a larger policy differs only in what else it says of the
/// same points (the random rules allow no less, and their denies do not
/// fire for these requests).
const CORE: &str = "\
allow user.contact.email for marketing.communications.email basis consent cite \"core 1\"
allow user.contact.email for essential.service basis contract cite \"core 2\"
allow user.device.device_id for analytics.reporting to affiliate basis legitimate_interest cite \"core 3\"
allow user.contact for essential.service.notifications basis contract cite \"core 4\"
allow user.name for marketing.advertising.third_party to third_party.advertiser basis legitimate_interest cite \"core 5\"
allow user.behavior.purchase_history, user.device.ip_address for functional.service.improve basis legitimate_interest cite \"core 6\"
allow user.account.username for essential.fraud_detection to processor.cloud about prospect basis legitimate_interest cite \"core 7\"
deny non_personal.statistics for sales cite \"core 8\"
";

/// One more core rule, for the second family of policies: a deny under
/// every kind of condition the random denies below attach to the points
/// the requests ask about, none of which the requests meet. With it the
/// smallest policy already says of those points every kind of thing the
/// largest says, so that what grows from one size to the next is only the
/// number of rules.
const EVERY_KIND: &str = "\
deny user, non_personal when (subject_age < 16 and not parental_consent) or (cross_border and not safeguards(scc, consent)) or opt_out(purpose) cite \"core 9\"
";

/// The two families of generated policies: the core alone, so that larger
/// policies also attach kinds of condition to the requested points that
/// the smallest lacks; and the core with [`EVERY_KIND`].
const FAMILIES: [(&str, &str); 2] = [("is_allowed", ""), ("is_allowed_every_kind", EVERY_KIND)];

/// Policy text of `rules` rules: the core (and `extra`), then random ones.
fn generate(rules: usize, extra: &str) -> String {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut text = format!(
        "policy bench.generated_{rules} {{\n    title \"generated: {rules} rules\"\n}}\nuse std\n\n"
    );
    text.push_str(CORE);
    text.push_str(extra);
    // The same random rules in both families, one fewer with `extra`.
    let first = CORE.lines().count();
    let random = rules.saturating_sub(first + extra.lines().count());
    for i in first..first + random {
        let data = if i % 4 == 0 {
            vec!["user.contact.email"]
        } else {
            rng.some(DATA, 3)
        };
        let purposes = rng.some(PURPOSES, 2);
        if i % 10 == 9 {
            // A deny whose condition the requests below do not meet (all
            // give an age over 16, none is cross-border): it must be
            // checked and then let pass.
            let condition = match rng.below(3) {
                0 => format!(
                    "subject_age < {} and not parental_consent",
                    8 + rng.below(9)
                ),
                1 => "cross_border and not safeguards(scc, consent)".to_string(),
                _ => "opt_out(purpose)".to_string(),
            };
            text.push_str(&format!(
                "deny {} for {} when {condition} cite \"gen {i}\"\n",
                data.join(", "),
                purposes.join(", ")
            ));
            continue;
        }
        let recipients = rng.some(RECIPIENTS, 2);
        let mut rule = format!(
            "allow {} for {} to {}",
            data.join(", "),
            purposes.join(", "),
            recipients.join(", ")
        );
        if rng.below(3) == 0 {
            rule.push_str(&format!(" about {}", rng.some(SUBJECTS, 3).join(", ")));
        }
        rule.push_str(&format!(" basis {}", rng.pick(BASES)));
        match rng.below(3) {
            0 => rule.push_str(&format!(" when subject_age > {}", 12 + rng.below(60))),
            1 => rule.push_str(" unless opt_out(purpose)"),
            _ => {}
        }
        rule.push_str(&format!(" cite \"gen {i}\"\n"));
        text.push_str(&rule);
    }
    text
}

fn load(n: usize, text: &str) -> Policy {
    Policy::from_source(&format!("generated-{n}.privet"), text)
        .expect("the generated policy compiles")
}

/// The same requests against every size: allows and denies, narrow and
/// broad keys, with and without a purpose.
const REQUESTS: &[&str] = &[
    r#"{"data": "user.contact.email", "purpose": "marketing.communications.email", "context": {"subject_age": 30, "consent": ["marketing"]}}"#,
    r#"{"data": "user.contact.email", "purpose": "essential.service", "context": {"subject_age": 30}}"#,
    r#"{"data": "user.device.device_id", "purpose": "analytics.reporting", "recipient": "affiliate", "context": {"subject_age": 40}}"#,
    r#"{"data": "user.contact", "purpose": "essential.service.notifications", "context": {"subject_age": 25}}"#,
    r#"{"data": "non_personal.statistics", "context": {"subject_age": 25}}"#,
    r#"{"data": "user.name", "purpose": "marketing.advertising.third_party", "recipient": "third_party.advertiser", "context": {"subject_age": 30}}"#,
    r#"{"data": ["user.behavior.purchase_history", "user.device.ip_address"], "purpose": "functional.service.improve", "context": {"subject_age": 50, "opt_out": ["analytics"]}}"#,
    r#"{"data": "user.account.username", "purpose": "essential.fraud_detection", "recipient": "processor.cloud", "subject": "prospect", "context": {"subject_age": 19, "consent": ["essential"]}}"#,
];

fn resolve_all(policy: &Policy) -> Vec<ResolvedRequest> {
    REQUESTS
        .iter()
        .map(|json| {
            let request = Request::from_json(json).expect("a valid request");
            policy.resolve(&request).expect("a request that resolves")
        })
        .collect()
}

/// Each request's median latency and answer at each size: the answers
/// change as rules are added, and an answer found early costs less, so the
/// per-set mean alone can mislead.
fn per_request(policies: &[(usize, Policy, Vec<ResolvedRequest>)]) {
    const ROUNDS: usize = 11;
    const ITERATIONS: u32 = 1_000;
    println!(
        "per request, median ns (A allow, D deny) and what the index holds where it reads \
         (deny conditions in masks + denies checked one by one / allows, summed over its points) \
         at {:?} rules:",
        policies.iter().map(|(n, _, _)| n).collect::<Vec<_>>()
    );
    for (index, json) in REQUESTS.iter().enumerate() {
        let cells: Vec<String> = policies
            .iter()
            .map(|(_, policy, requests)| {
                let request = &requests[index];
                let mut rounds: Vec<f64> = (0..ROUNDS)
                    .map(|_| {
                        let start = Instant::now();
                        for _ in 0..ITERATIONS {
                            black_box(policy.is_allowed(black_box(request)));
                        }
                        start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
                    })
                    .collect();
                rounds.sort_by(f64::total_cmp);
                let answer = if policy.is_allowed(request) { 'A' } else { 'D' };
                let (masked, denies, allows) = cell_load(policy, request);
                format!(
                    "{:>7.0} {answer} {masked:>3}+{denies:<3}/{allows:>4}",
                    rounds[ROUNDS / 2]
                )
            })
            .collect();
        println!("  {}  {json}", cells.join(" "));
    }
}

/// What the decision index holds at every (data, purpose, recipient) point
/// a request covers: the work a decision could do, whatever it stops at.
fn cell_load(policy: &Policy, request: &ResolvedRequest) -> (u32, usize, usize) {
    let compiled = policy.compiled();
    let data = compiled.taxonomy(Dimension::Data);
    let Covered {
        purposes: purpose_set,
        recipients,
    } = Covered::by(compiled, request);
    let (mut masked, mut denies, mut allows) = (0, 0, 0);
    let index = &compiled.index;
    for &item in &request.data {
        for d in data.descendants(item).ones() {
            for p in purpose_set.ones() {
                masked += index.deny_mask(d as u32, p as u32).count_ones();
                denies += index.denies(d as u32, p as u32).len();
                for r in recipients.ones() {
                    allows += index.allows(d as u32, p as u32, r as u32).len();
                }
            }
        }
    }
    (masked, denies, allows)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `FAMILIES`, or those `SCALING_FAMILIES` names.
fn families() -> Vec<(&'static str, &'static str)> {
    match std::env::var("SCALING_FAMILIES") {
        Ok(names) => names
            .split(',')
            .map(|name| {
                FAMILIES
                    .into_iter()
                    .find(|(family, _)| *family == name.trim())
                    .unwrap_or_else(|| panic!("SCALING_FAMILIES: no family `{name}`"))
            })
            .collect(),
        Err(_) => FAMILIES.to_vec(),
    }
}

fn bench(c: &mut Criterion) {
    for (family, extra) in families() {
        let texts: Vec<(usize, String)> = sizes()
            .into_iter()
            .map(|n| (n, generate(n, extra)))
            .collect();
        println!("scaling/{family}:");

        // Memory and a first compile time, before criterion runs anything.
        let mut policies = Vec::new();
        for (n, text) in &texts {
            let before = IN_USE.load(Ordering::Relaxed);
            PEAK.store(before, Ordering::Relaxed);
            let start = Instant::now();
            let policy = load(*n, text);
            let elapsed = start.elapsed();
            let retained = IN_USE.load(Ordering::Relaxed) - before;
            let peak = PEAK.load(Ordering::Relaxed) - before;
            let requests = resolve_all(&policy);
            let allowed = requests.iter().filter(|r| policy.is_allowed(r)).count();
            println!(
                "{n:>6} rules: text {:.2} MiB, compiled in {:.1} ms (one cold run), \
                 retained {:.2} MiB, peak during compile {:.2} MiB, \
                 {} rules compiled, {allowed}/{} requests allowed",
                mib(text.len()),
                elapsed.as_secs_f64() * 1e3,
                mib(retained),
                mib(peak),
                policy.compiled().rules.len(),
                requests.len(),
            );
            policies.push((*n, policy, requests));
        }

        // The bench compares sizes on the same answers: a generator change
        // that made one size answer differently would compare other work.
        let answers = |(_, policy, requests): &(usize, Policy, Vec<ResolvedRequest>)| {
            requests
                .iter()
                .map(|r| policy.is_allowed(r))
                .collect::<Vec<_>>()
        };
        if let Some(first) = policies.first().map(answers) {
            for sized in &policies {
                assert_eq!(answers(sized), first, "{family}/{}: other answers", sized.0);
            }
        }

        per_request(&policies);

        let mut group = c.benchmark_group(format!("scaling/{family}"));
        for (n, policy, requests) in &policies {
            group.throughput(Throughput::Elements(requests.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), requests, |b, requests| {
                b.iter(|| {
                    for request in requests {
                        black_box(policy.is_allowed(black_box(request)));
                    }
                })
            });
        }
        group.finish();

        if extra.is_empty() {
            let mut group = c.benchmark_group("scaling/compile");
            group.sample_size(10);
            for (n, text) in texts.iter().filter(|(n, _)| *n >= 1_000) {
                group.bench_with_input(BenchmarkId::from_parameter(n), text, |b, text| {
                    b.iter(|| load(*n, black_box(text)))
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
