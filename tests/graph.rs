//! `privet graph`: DOT that draws the keys a policy mentions, its rules in
//! colour with their cites, and SVG through Graphviz when it is there.

use std::process::{Command, Output, Stdio};

use privet::Policy;
use privet::graph::{self, Edge, GraphOptions, Node};
use privet::syntax::Dimension;

mod common;

use common::{code, stderr, stdout};

fn privet(args: &[&str], env: &[(&str, &str)]) -> Output {
    common::run(args, "", env)
}

const GLOBAL: &str = "policies/huawei/global-2016.privet";

/// The statements of a DOT graph, checked for the shape `privet graph` writes.
fn check_dot(dot: &str) {
    assert!(dot.starts_with("digraph privet {\n"), "{dot}");
    assert!(dot.ends_with("}\n"));
    assert_eq!(
        dot.matches('{').count(),
        dot.matches('}').count(),
        "braces balance"
    );
    for line in dot.lines() {
        // Every quoted string is closed on its line (escaped quotes aside).
        let unescaped = line.replace("\\\\", "").replace("\\\"", "");
        assert_eq!(
            unescaped.matches('"').count() % 2,
            0,
            "unclosed string: {line}"
        );
    }
}

/// Edge lines (`a -> b [ ... ]`) whose attributes contain all of `needles`.
fn edges_with<'a>(dot: &'a str, needles: &[&str]) -> Vec<&'a str> {
    dot.lines()
        .filter(|l| l.contains(" -> "))
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .collect()
}

#[test]
fn dot_draws_the_mentioned_keys_and_the_rules_with_their_cites() {
    let output = privet(&["graph", GLOBAL], &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let dot = stdout(&output);
    check_dot(&dot);
    // Keys the rules name, a local purpose, and an ancestor drawn for context.
    for key in [
        "label=\"user.contact\"",
        "label=\"user.telemetry.error_report\"",
        "label=\"marketing.communications\"",
        "label=\"essential.harm_prevention\"",
        "label=\"non_personal\"",
        "label=\"user.telemetry\"",
    ] {
        assert!(dot.contains(key), "missing {key}");
    }
    // Not the whole vocabulary.
    assert!(!dot.contains("user.biometric.retinal"));
    assert!(!dot.contains("user.criminal_history"));
    // Allows green, denies red, each labelled with its cite.
    assert!(!edges_with(&dot, &["#2e7d32", "label=\"§1(b)\""]).is_empty());
    assert!(!edges_with(&dot, &["#c62828", "label=\"§3 no sale\""]).is_empty());
    // Conditional rules are dashed, unconditional ones solid.
    assert!(
        !edges_with(
            &dot,
            &["#c62828", "style=dashed", "label=\"§6 parental consent\""]
        )
        .is_empty()
    );
    assert!(!edges_with(&dot, &["#2e7d32", "style=solid", "label=\"§1(a)\""]).is_empty());
    // Rule nodes carry the cite, too.
    assert!(dot.contains("allow [§1(b)]"));
    assert!(dot.contains("deny [§6 parental consent]"));
    // Data nodes are coloured by class: personal and non-personal here.
    assert!(dot.contains(
        "label=\"user.contact\", shape=box, style=\"rounded,filled\", fillcolor=\"#fff3c4\""
    ));
    assert!(dot.contains(
        "label=\"non_personal\", shape=box, style=\"rounded,filled\", fillcolor=\"#dcefdc\""
    ));
}

#[test]
fn every_shipped_policy_draws() {
    let mut drawn = 0;
    for entry in std::fs::read_dir("policies/huawei").expect("policies") {
        let path = entry.expect("entry").path();
        // The reviews beside the policies are markdown.
        if path.extension().is_none_or(|e| e != "privet") {
            continue;
        }
        drawn += 1;
        let output = privet(&["graph", path.to_str().expect("utf-8")], &[]);
        assert_eq!(code(&output), 0, "{}: {}", path.display(), stderr(&output));
        check_dot(&stdout(&output));
    }
    assert_eq!(drawn, 5, "the five Huawei policies");
}

#[test]
fn filters_keep_the_rules_about_a_key() {
    let output = privet(
        &["graph", GLOBAL, "--data", "user.telemetry.error_report"],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let dot = stdout(&output);
    check_dot(&dot);
    assert!(dot.contains("§1(g) only when you choose to send"));
    assert!(
        dot.contains("§6 parental consent"),
        "rules on `user` reach it"
    );
    assert!(
        !dot.contains("§1(b)]"),
        "marketing does not touch error reports"
    );
    assert!(!dot.contains("label=\"user.contact\""));

    let output = privet(
        &["graph", GLOBAL, "--purpose", "marketing.communications"],
        &[],
    );
    assert_eq!(code(&output), 0);
    let dot = stdout(&output);
    assert!(dot.contains("§1(b)"));
    assert!(!dot.contains("§1(a)]"));

    let output = privet(&["graph", GLOBAL, "--data", "user.contact.emial"], &[]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("did you mean `user.contact.email`?"));
}

#[test]
fn a_broken_policy_is_exit_2() {
    let output = privet(&["graph", "no/such/policy.privet"], &[]);
    assert_eq!(code(&output), 2);
}

#[test]
fn svg_needs_graphviz_and_says_so() {
    let output = privet(
        &["graph", GLOBAL, "--format", "svg"],
        &[("PRIVET_DOT", "privet-no-such-graphviz")],
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains(
            "Graphviz is not installed; install it (apt-get install graphviz) or use --format dot"
        ),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn svg_through_graphviz_when_it_is_installed() {
    let installed = Command::new("dot")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let output = privet(&["graph", GLOBAL, "--format", "svg"], &[]);
    if installed {
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let svg = stdout(&output);
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.contains("user.contact"));
        assert!(svg.contains("§1(b)"));
    } else {
        assert_eq!(code(&output), 2);
        assert!(stderr(&output).contains("Graphviz is not installed"));
    }
}

#[test]
fn the_graph_is_a_petgraph_of_keys_and_rules() {
    let policy = Policy::from_source(
        "shop.privet",
        r#"use std
allow user.contact.email for marketing.communications basis consent cite "§1"
deny user.contact when dnt cite "§2"
allow user.name cite "§3"
"#,
    )
    .expect("policy");
    let graph = graph::build(policy.compiled(), &GraphOptions::default()).expect("graph");
    let rules = graph
        .node_weights()
        .filter(|n| matches!(n, Node::Rule(_)))
        .count();
    assert_eq!(rules, 3);
    let keys: Vec<&str> = graph
        .node_weights()
        .filter_map(|n| match n {
            Node::Key {
                dimension: Dimension::Data,
                id,
                ..
            } => Some(policy.compiled().taxonomy(Dimension::Data).key(*id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        keys,
        ["user", "user.contact", "user.name", "user.contact.email"]
    );
    // Rules without a purpose scope go to `any purpose`.
    assert!(
        graph
            .node_weights()
            .any(|n| *n == Node::Any(Dimension::Purpose))
    );
    // Every rule has an edge in and an edge out.
    for index in graph.node_indices() {
        if matches!(graph[index], Node::Rule(_)) {
            assert!(
                graph
                    .neighbors_directed(index, petgraph::Direction::Incoming)
                    .count()
                    >= 1
            );
            assert!(
                graph
                    .neighbors_directed(index, petgraph::Direction::Outgoing)
                    .count()
                    >= 1
            );
        }
    }
    let rule_edges = graph
        .edge_weights()
        .filter(|e| matches!(e, Edge::Rule(_)))
        .count();
    assert_eq!(rule_edges, 6);
}
