//! privet and Cedar side by side on the Huawei global policy (DESIGN.md §6:
//! "at least 10× faster than cedar-policy deciding the same requests on
//! the same rules, measured side by side in one criterion run").
//!
//! The policy is translated rule by rule (`src/lib.rs`); the requests are
//! the allow and deny cases of `tests/conformance/global-2016.json`.
//! Before anything is timed, every request is decided by both engines and
//! the bench panics on the first disagreement.
//!
//! The Cedar side runs with two layouts of the same translation (see
//! `Layout`): `cedar`, one Cedar policy per rule with lists in `when`, and
//! `cedar_split`, one Cedar policy per data category × recipient with
//! everything in the scope (about 4x slower in Cedar, so only timed on the
//! single-point requests); both must agree with privet.
//!
//! privet is timed twice: `privet`, the lean `is_allowed`, and
//! `privet_explained`, `decide_resolved` with reasons, obligations and
//! hints, closer to what Cedar's `is_authorized` returns (the policies
//! that decided, and errors).
//!
//! Both sides are pre-built outside the timed loops: privet's
//! `ResolvedRequest`s, Cedar's `Request`s (with their `Context`s), the
//! `PolicySet` and the `Entities`. What is timed is the decision alone.
//!
//! - `vs_cedar/single_point`: the requests that are one point (one data
//!   category with nothing below it, a purpose with nothing below it, a
//!   recipient with nothing below it). Here one Cedar request *is* the
//!   privet request: the like-for-like comparison.
//! - `vs_cedar/all_points`: every request. privet expands a request into
//!   points itself; Cedar cannot (its `in` looks up, not down), so the
//!   Cedar side is asked once per point, from a list built beforehand,
//!   and stops at the first point not allowed, as privet does.
//!
//! Run (from this directory):
//! `cargo bench --bench cedar -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use cedar_policy::{Authorizer, Decision, Entities, PolicySet};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use privet::conformance::Suite;
use privet::{Policy, Request, ResolvedRequest};
use privet_cedar_bench::{Layout, entities, is_single_point, points, policy_set};

const POLICY: &str = "../../policies/huawei/global-2016.privet";
const CASES: &str = "../../tests/conformance/global-2016.json";

struct Case {
    name: String,
    resolved: ResolvedRequest,
    cedar: Vec<cedar_policy::Request>,
    allow: bool,
}

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cedar_allows(
    authorizer: &Authorizer,
    points: &[cedar_policy::Request],
    policies: &PolicySet,
    entities: &Entities,
) -> bool {
    points.iter().all(|point| {
        authorizer
            .is_authorized(point, policies, entities)
            .decision()
            == Decision::Allow
    })
}

fn load(policy: &Policy) -> Vec<Case> {
    let suite = Suite::read(&here().join(CASES)).expect("the conformance file reads");
    let mut cases = Vec::new();
    for case in suite.cases {
        let Some(allow) = case.expect.answer() else {
            continue;
        };
        let request = Request::from_json(&case.request.to_string()).expect("a valid request");
        let resolved = policy.resolve(&request).expect("a request that resolves");
        let cedar = points(policy, &resolved);
        cases.push(Case {
            name: case.name,
            resolved,
            cedar,
            allow,
        });
    }
    cases
}

/// Per-request medians of both engines on the single-point requests, and
/// the median of the per-request ratios.
fn per_request(
    policy: &Policy,
    authorizer: &Authorizer,
    layout: &str,
    policies: &PolicySet,
    entities: &Entities,
    cases: &[&Case],
) {
    const ROUNDS: usize = 11;
    const ITERATIONS: u32 = 500;
    let median = |f: &dyn Fn()| {
        let mut rounds: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..ITERATIONS {
                    f();
                }
                start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        rounds[ROUNDS / 2]
    };
    let mut privet_ns = Vec::new();
    let mut cedar_ns = Vec::new();
    let mut ratios = Vec::new();
    for case in cases {
        let p = median(&|| {
            black_box(policy.is_allowed(black_box(&case.resolved)));
        });
        let c = median(&|| {
            black_box(cedar_allows(authorizer, &case.cedar, policies, entities));
        });
        privet_ns.push(p);
        cedar_ns.push(c);
        ratios.push(c / p);
    }
    let mid = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "single-point requests, per request: privet median {:.0} ns, Cedar ({layout}) median \
         {:.0} ns, median of per-request ratios {:.1}x (lowest {:.1}x)",
        mid(&mut privet_ns),
        mid(&mut cedar_ns),
        mid(&mut ratios),
        ratios[0],
    );
}

fn bench(c: &mut Criterion) {
    let policy = Policy::from_path(here().join(POLICY)).expect("the global policy loads");
    let layouts = [
        ("cedar", policy_set(&policy, Layout::Compact)),
        ("cedar_split", policy_set(&policy, Layout::Split)),
    ];
    let entities = entities(&policy);
    let authorizer = Authorizer::new();
    let cases = load(&policy);

    // Both engines must agree with each other and with the conformance file
    // on every request before anything is timed.
    for case in &cases {
        let privet = policy.is_allowed(&case.resolved);
        assert_eq!(
            privet, case.allow,
            "privet disagrees with the case {:?}",
            case.name
        );
        for (layout, policies) in &layouts {
            let cedar = cedar_allows(&authorizer, &case.cedar, policies, &entities);
            assert_eq!(
                cedar,
                privet,
                "Cedar ({layout}) and privet disagree on {:?} ({} Cedar point(s))",
                case.name,
                case.cedar.len()
            );
        }
    }
    let single: Vec<&Case> = cases
        .iter()
        .filter(|c| is_single_point(&policy, &c.resolved))
        .collect();
    let all: Vec<&Case> = cases.iter().collect();
    let points_total: usize = cases.iter().map(|c| c.cedar.len()).sum();
    println!(
        "agreement: {} requests ({} allow, {} deny), {} Cedar points in all; \
         {} single-point requests ({} allow, {} deny); Cedar policies: {} compact, {} split",
        cases.len(),
        cases.iter().filter(|c| c.allow).count(),
        cases.iter().filter(|c| !c.allow).count(),
        points_total,
        single.len(),
        single.iter().filter(|c| c.allow).count(),
        single.iter().filter(|c| !c.allow).count(),
        layouts[0].1.policies().count(),
        layouts[1].1.policies().count(),
    );
    for (layout, policies) in &layouts {
        per_request(&policy, &authorizer, layout, policies, &entities, &single);
    }

    for (name, set) in [("single_point", &single), ("all_points", &all)] {
        let mut group = c.benchmark_group(format!("vs_cedar/{name}"));
        group.throughput(Throughput::Elements(set.len() as u64));
        group.bench_function("privet", |b| {
            b.iter(|| {
                for case in set.iter() {
                    black_box(policy.is_allowed(black_box(&case.resolved)));
                }
            })
        });
        // Cedar's answer carries the policies that decided it; privet's
        // explained decision is the closer match to that.
        group.bench_function("privet_explained", |b| {
            b.iter(|| {
                for case in set.iter() {
                    black_box(policy.decide_resolved(black_box(&case.resolved)));
                }
            })
        });
        for (layout, policies) in &layouts {
            if *layout == "cedar_split" && name == "all_points" {
                // About 0.2 s a pass: too slow to sample here, and the
                // single-point group already shows how it compares.
                continue;
            }
            group.bench_function(*layout, |b| {
                b.iter(|| {
                    for case in set.iter() {
                        black_box(cedar_allows(
                            &authorizer,
                            black_box(&case.cedar),
                            policies,
                            &entities,
                        ));
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
