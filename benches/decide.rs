//! Latency of one decision on the Huawei global policy (DESIGN.md §6).
//!
//! The requests are the allow and deny cases of
//! `tests/conformance/global-2016.json` (the error cases are left out): a
//! realistic mix of what a service asks. Every request is checked against
//! its expected answer before anything is timed.
//!
//! - `decide/is_allowed/*`: the lean path on a pre-resolved request, the
//!   figure the "under 200 ns" target is about;
//! - `decide/decide_resolved/*`: the same with the explanation built;
//! - `decide/allowed_json/*`: everything a caller with JSON text pays:
//!   parse, resolve, decide, explain.
//!
//! Criterion reports the time of one pass over a whole set; the throughput
//! line divides it by the number of requests. Before the timed runs the
//! bench prints the distribution of per-request latencies (median, p90,
//! slowest) of the lean path, each request timed on its own.
//!
//! Run: `cargo bench --bench decide -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use privet::conformance::Suite;
use privet::{Policy, Request, ResolvedRequest};

const POLICY: &str = "policies/huawei/global-2016.privet";
const CASES: &str = "tests/conformance/global-2016.json";

/// One conformance case that expects an answer.
struct Case {
    name: String,
    json: String,
    resolved: ResolvedRequest,
    allow: bool,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load() -> (Policy, Vec<Case>) {
    let policy = Policy::from_path(root().join(POLICY)).expect("the global policy loads");
    let suite = Suite::read(&root().join(CASES)).expect("the conformance file reads");
    let mut cases = Vec::new();
    for case in suite.cases {
        let Some(allow) = case.expect.answer() else {
            continue;
        };
        let json = case.request.to_string();
        let request = Request::from_json(&json).expect("a valid request");
        let resolved = policy.resolve(&request).expect("a request that resolves");
        let name = case.name;
        assert_eq!(
            policy.is_allowed(&resolved),
            allow,
            "is_allowed disagrees with the conformance case {name:?}"
        );
        assert_eq!(
            policy.allowed(&request).allowed,
            allow,
            "allowed disagrees with the conformance case {name:?}"
        );
        cases.push(Case {
            name,
            json,
            resolved,
            allow,
        });
    }
    (policy, cases)
}

/// Time each request on its own, many times, and print the distribution of
/// the per-request medians: the figure criterion's per-set mean hides.
fn per_request_distribution(policy: &Policy, cases: &[Case]) {
    const ROUNDS: usize = 21;
    const ITERATIONS: u32 = 2_000;
    let mut medians: Vec<(f64, &Case)> = cases
        .iter()
        .map(|case| {
            let mut rounds: Vec<f64> = (0..ROUNDS)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..ITERATIONS {
                        black_box(policy.is_allowed(black_box(&case.resolved)));
                    }
                    start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
                })
                .collect();
            rounds.sort_by(f64::total_cmp);
            (rounds[ROUNDS / 2], case)
        })
        .collect();
    medians.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |q: f64| medians[((medians.len() - 1) as f64 * q).round() as usize].0;
    println!(
        "is_allowed per request over {} requests ({} allow, {} deny): \
         min {:.0} ns, median {:.0} ns, p90 {:.0} ns, max {:.0} ns",
        medians.len(),
        cases.iter().filter(|c| c.allow).count(),
        cases.iter().filter(|c| !c.allow).count(),
        at(0.0),
        at(0.5),
        at(0.9),
        at(1.0),
    );
    for (ns, case) in medians.iter().rev().take(3) {
        println!("  slowest: {ns:.0} ns  {}  {}", case.name, case.json);
    }
}

fn bench(c: &mut Criterion) {
    let (policy, cases) = load();
    per_request_distribution(&policy, &cases);

    let sets: [(&str, Vec<&Case>); 3] = [
        ("mix", cases.iter().collect()),
        ("allow", cases.iter().filter(|c| c.allow).collect()),
        ("deny", cases.iter().filter(|c| !c.allow).collect()),
    ];
    let mut group = c.benchmark_group("decide");
    for (set, cases) in &sets {
        let resolved: Vec<&ResolvedRequest> = cases.iter().map(|c| &c.resolved).collect();
        let json: Vec<&str> = cases.iter().map(|c| c.json.as_str()).collect();
        group.throughput(Throughput::Elements(cases.len() as u64));
        group.bench_function(format!("is_allowed/{set}"), |b| {
            b.iter(|| {
                for request in &resolved {
                    black_box(policy.is_allowed(black_box(request)));
                }
            })
        });
        group.bench_function(format!("decide_resolved/{set}"), |b| {
            b.iter(|| {
                for request in &resolved {
                    black_box(policy.decide_resolved(black_box(request)));
                }
            })
        });
        group.bench_function(format!("allowed_json/{set}"), |b| {
            b.iter(|| {
                for text in &json {
                    // A caller with JSON text: parse, then decide (deny on error).
                    let decision = match Request::from_json(black_box(text)) {
                        Ok(request) => policy.allowed(&request),
                        Err(problem) => privet::Decision::error(&problem.message),
                    };
                    black_box(decision);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
