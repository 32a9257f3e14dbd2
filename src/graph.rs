//! `privet graph`: a policy as a picture, in Graphviz DOT.
//!
//! Left to right: the data categories the rules mention (with the keys above
//! them, so the taxonomy shows), coloured by identifiability class; the rules,
//! one node each — green for an allow, red for a deny, dashed when a
//! condition limits it — labelled with their citation; and the purposes they
//! are for, most specific first. The full vocabulary is far too big to draw,
//! so only the keys the policy's rules mention, and their ancestors, appear.
//!
//! The graph is a petgraph [`Graph`] written with [`petgraph::dot::Dot`] and
//! attribute getters; the DOT header and legend are written around it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use fixedbitset::FixedBitSet;
use petgraph::dot::{Config, Dot};
use petgraph::graph::{Graph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::compile::{self, CompiledPolicy, CompiledRule, Cond, FactKind, KeyId};
use crate::diagnostics::Problem;
use crate::limits::key_id;
use crate::syntax::{Class, Dimension, Effect};

/// What to draw.
#[derive(Debug, Clone, Default)]
pub struct GraphOptions {
    /// Only rules about this data category or what lies below it.
    pub data: Option<String>,
    /// Only rules for this purpose or what lies below it.
    pub purpose: Option<String>,
}

/// A node of the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A key of the data or purpose taxonomy; `named` when a rule names it
    /// (rather than drawn only as the ancestor of one).
    Key {
        dimension: Dimension,
        id: KeyId,
        named: bool,
    },
    /// A rule without a scope on data or purposes reaches all of it.
    Any(Dimension),
    /// A rule, by its index in the compiled policy.
    Rule(usize),
}

/// An edge of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Between a key and the key above it.
    Taxonomy,
    /// From a data category to a rule about it, or from a rule to a purpose.
    Rule(usize),
}

const ALLOW_COLOUR: &str = "#2e7d32";
const ALLOW_FILL: &str = "#e8f5e9";
const DENY_COLOUR: &str = "#c62828";
const DENY_FILL: &str = "#ffebee";
const PURPOSE_FILL: &str = "#e3ecf8";

fn class_fill(class: Class) -> &'static str {
    match class {
        Class::NonPersonal => "#dcefdc",
        Class::Personal => "#fff3c4",
        Class::Sensitive => "#f8c9c4",
    }
}

/// The picture as a petgraph graph: keys, rules, and the edges between them.
pub fn build(
    policy: &CompiledPolicy,
    options: &GraphOptions,
) -> Result<Graph<Node, Edge>, Problem> {
    let filter = |dimension: Dimension, key: &Option<String>| -> Result<Option<KeyId>, Problem> {
        match key {
            None => Ok(None),
            Some(key) => policy
                .taxonomy(dimension)
                .id(key)
                .map(Some)
                .ok_or_else(|| compile::unknown_key(dimension, key, &policy.taxonomies)),
        }
    };
    let data_filter = filter(Dimension::Data, &options.data)?;
    let purpose_filter = filter(Dimension::Purpose, &options.purpose)?;
    let data = policy.taxonomy(Dimension::Data);
    let purposes = policy.taxonomy(Dimension::Purpose);

    // A rule is drawn when it reaches the filter key or something below it.
    let reaches = |rule: &CompiledRule, dimension: Dimension, key: Option<KeyId>| match key {
        None => true,
        Some(key) => rule.scopes[dimension]
            .as_ref()
            .is_none_or(|scope| !scope.is_disjoint(policy.taxonomy(dimension).descendants(key))),
    };
    // A written key is drawn when it lies on the filter key's line.
    let related = |dimension: Dimension, id: KeyId, key: Option<KeyId>| match key {
        None => true,
        Some(key) => {
            let taxonomy = policy.taxonomy(dimension);
            taxonomy.descendants(key).contains(id as usize)
                || taxonomy.ancestors(key).contains(id as usize)
        }
    };
    let rules: Vec<usize> = policy
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| reaches(r, Dimension::Data, data_filter))
        .filter(|(_, r)| reaches(r, Dimension::Purpose, purpose_filter))
        .map(|(i, _)| i)
        .collect();

    let mut named = [
        FixedBitSet::with_capacity(data.len()),
        FixedBitSet::with_capacity(purposes.len()),
    ];
    let mut any = [false, false];
    for &index in &rules {
        let Some(rule) = policy.rules.get(index) else {
            continue;
        };
        for (slot, (dimension, filter)) in [
            (Dimension::Data, data_filter),
            (Dimension::Purpose, purpose_filter),
        ]
        .into_iter()
        .enumerate()
        {
            if rule.scopes[dimension].is_none() {
                if let Some(flag) = any.get_mut(slot) {
                    *flag = true;
                }
                continue;
            }
            for &id in &rule.written[dimension] {
                if related(dimension, id, filter) {
                    if let Some(set) = named.get_mut(slot) {
                        set.insert(id as usize);
                    }
                }
            }
        }
    }
    // A filter key is shown even when rules reach it only from above.
    for (slot, key) in [data_filter, purpose_filter].into_iter().enumerate() {
        if let (Some(key), Some(set)) = (key, named.get_mut(slot)) {
            set.insert(key as usize);
        }
    }

    let mut graph: Graph<Node, Edge> = Graph::new();
    let mut key_nodes: [Vec<Option<NodeIndex>>; 2] =
        [vec![None; data.len()], vec![None; purposes.len()]];
    for (slot, dimension) in [Dimension::Data, Dimension::Purpose]
        .into_iter()
        .enumerate()
    {
        let taxonomy = policy.taxonomy(dimension);
        let Some(named) = named.get(slot) else {
            continue;
        };
        let mut shown = FixedBitSet::with_capacity(taxonomy.len());
        for id in named.ones() {
            shown.union_with(taxonomy.ancestors(key_id(id)));
        }
        let Some(nodes) = key_nodes.get_mut(slot) else {
            continue;
        };
        for id in shown.ones() {
            if let Some(node) = nodes.get_mut(id) {
                *node = Some(graph.add_node(Node::Key {
                    dimension,
                    id: key_id(id),
                    named: named.contains(id),
                }));
            }
        }
        for id in shown.ones() {
            let Some(Some(child)) = nodes.get(id).copied() else {
                continue;
            };
            for parent in taxonomy.parents(key_id(id)) {
                let Some(Some(parent)) = nodes.get(parent as usize).copied() else {
                    continue;
                };
                // Data runs from the broad to the specific, purposes from
                // the specific to the broad: the rules sit in between.
                match dimension {
                    Dimension::Data => graph.add_edge(parent, child, Edge::Taxonomy),
                    _ => graph.add_edge(child, parent, Edge::Taxonomy),
                };
            }
        }
    }
    let any_nodes = [
        any[0].then(|| graph.add_node(Node::Any(Dimension::Data))),
        any[1].then(|| graph.add_node(Node::Any(Dimension::Purpose))),
    ];
    let [data_nodes, purpose_nodes] = &key_nodes;
    for &index in &rules {
        let Some(rule) = policy.rules.get(index) else {
            continue;
        };
        let node = graph.add_node(Node::Rule(index));
        let ends =
            |dimension: Dimension, nodes: &Vec<Option<NodeIndex>>, any: Option<NodeIndex>| {
                if rule.scopes[dimension].is_none() {
                    return any.into_iter().collect::<Vec<_>>();
                }
                rule.written[dimension]
                    .iter()
                    .filter_map(|&id| nodes.get(id as usize).copied().flatten())
                    .collect()
            };
        for from in ends(Dimension::Data, data_nodes, any_nodes[0]) {
            graph.add_edge(from, node, Edge::Rule(index));
        }
        for to in ends(Dimension::Purpose, purpose_nodes, any_nodes[1]) {
            graph.add_edge(node, to, Edge::Rule(index));
        }
    }
    Ok(graph)
}

/// The picture in Graphviz DOT.
pub fn dot(policy: &CompiledPolicy, options: &GraphOptions) -> Result<String, Problem> {
    let graph = build(policy, options)?;
    let node_attributes = |_: &Graph<Node, Edge>, (_, node): (NodeIndex, &Node)| -> String {
        node_style(policy, node)
    };
    let edge_attributes = |graph: &Graph<Node, Edge>,
                           edge: petgraph::graph::EdgeReference<'_, Edge>|
     -> String {
        match edge.weight() {
            Edge::Taxonomy => "color=\"#9e9e9e\", arrowhead=none".to_string(),
            Edge::Rule(index) => {
                let Some(rule) = policy.rules.get(*index) else {
                    return String::new();
                };
                let colour = match rule.effect {
                    Effect::Allow => ALLOW_COLOUR,
                    Effect::Deny => DENY_COLOUR,
                };
                let style = if conditional(policy, rule) {
                    "dashed"
                } else {
                    "solid"
                };
                // The cite travels on the edge into the purpose, so a reader
                // following an arrow knows which promise it is.
                let into_purpose =
                    matches!(
                        graph.node_weight(edge.target()),
                        Some(Node::Key { .. } | Node::Any(_))
                    ) && matches!(graph.node_weight(edge.source()), Some(Node::Rule(_)));
                let label = match (&rule.cite, into_purpose) {
                    (Some(cite), true) => format!(", label=\"{}\"", escape(cite)),
                    _ => String::new(),
                };
                format!(
                    "color=\"{colour}\", fontcolor=\"{colour}\", style={style}, tooltip=\"{} {}\"{label}",
                    rule.effect.as_str(),
                    escape(&rule.location)
                )
            }
        }
    };
    let config = [
        Config::GraphContentOnly,
        Config::NodeNoLabel,
        Config::EdgeNoLabel,
    ];
    let content = Dot::with_attr_getters(&graph, &config, &edge_attributes, &node_attributes);

    let title = policy
        .title
        .as_deref()
        .or(policy.name.as_deref())
        .unwrap_or("policy");
    let mut filters = Vec::new();
    if let Some(data) = &options.data {
        filters.push(format!("data {data}"));
    }
    if let Some(purpose) = &options.purpose {
        filters.push(format!("purpose {purpose}"));
    }
    let subtitle = if filters.is_empty() {
        String::new()
    } else {
        format!(" ({})", filters.join(", "))
    };
    let mut out = String::new();
    let _ = writeln!(out, "digraph privet {{");
    let _ = writeln!(out, "    rankdir=LR");
    let _ = writeln!(
        out,
        "    graph [fontname=\"Helvetica\", labelloc=t, fontsize=14, label=\"{}\", nodesep=0.15, ranksep=0.6]",
        escape(&format!("{title}: data, rules and purposes{subtitle}"))
    );
    let _ = writeln!(
        out,
        "    node [fontname=\"Helvetica\", fontsize=10, penwidth=1]"
    );
    let _ = writeln!(out, "    edge [fontname=\"Helvetica\", fontsize=9]");
    // Labels come from the attribute getters (`NodeNoLabel`, `EdgeNoLabel`):
    // the weights themselves are never printed, Debug only satisfies the bound.
    let _ = write!(out, "{content:?}");
    out.push_str(&legend());
    out.push_str("}\n");
    Ok(out)
}

fn node_style(policy: &CompiledPolicy, node: &Node) -> String {
    match node {
        Node::Key {
            dimension: Dimension::Data,
            id,
            named,
        } => {
            let data = policy.taxonomy(Dimension::Data);
            let class = data.class(*id);
            format!(
                "label=\"{}\", shape=box, style=\"rounded,filled\", fillcolor=\"{}\", tooltip=\"data category, {}\"{}",
                escape(data.key(*id)),
                class_fill(class),
                class.as_str(),
                if *named {
                    ""
                } else {
                    ", fontcolor=\"#616161\", color=\"#9e9e9e\""
                }
            )
        }
        Node::Key {
            dimension,
            id,
            named,
        } => format!(
            "label=\"{}\", shape=ellipse, style=filled, fillcolor=\"{PURPOSE_FILL}\", tooltip=\"{}\"{}",
            escape(policy.taxonomy(*dimension).key(*id)),
            dimension.noun(),
            if *named {
                ""
            } else {
                ", fontcolor=\"#616161\", color=\"#9e9e9e\""
            }
        ),
        Node::Any(Dimension::Data) => {
            "label=\"any data\", shape=box, style=\"rounded,filled\", fillcolor=\"#f8c9c4\""
                .to_string()
        }
        Node::Any(_) => format!(
            "label=\"any purpose\", shape=ellipse, style=filled, fillcolor=\"{PURPOSE_FILL}\""
        ),
        Node::Rule(index) => match policy.rules.get(*index) {
            Some(rule) => rule_style(policy, rule),
            None => String::new(),
        },
    }
}

fn rule_style(policy: &CompiledPolicy, rule: &CompiledRule) -> String {
    let (colour, fill) = match rule.effect {
        Effect::Allow => (ALLOW_COLOUR, ALLOW_FILL),
        Effect::Deny => (DENY_COLOUR, DENY_FILL),
    };
    let mut lines = vec![match &rule.cite {
        Some(cite) => format!("{} [{cite}]", rule.effect.as_str()),
        None => format!("{} (no cite)", rule.effect.as_str()),
    }];
    let keys = |dimension: Dimension| -> Option<String> {
        rule.scopes[dimension].as_ref()?;
        let taxonomy = policy.taxonomy(dimension);
        Some(
            rule.written[dimension]
                .iter()
                .map(|&id| taxonomy.key(id))
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    if let Some(actions) = keys(Dimension::Action) {
        lines.push(format!("action {actions}"));
    }
    if let Some(recipients) = keys(Dimension::Recipient) {
        lines.push(format!("to {recipients}"));
    }
    if let Some(subjects) = keys(Dimension::Subject) {
        lines.push(format!("about {subjects}"));
    }
    if let Some(basis) = rule.basis.and_then(|b| policy.bases.get(b)) {
        lines.push(format!("basis {}", basis.name));
    }
    if let Some(condition) = &rule.condition {
        lines.push(format!("when {}", condition_text(policy, condition, 0)));
    }
    if !rule.obligations.is_empty() {
        lines.push(format!(
            "oblige {}",
            rule.obligations
                .iter()
                .map(|o| &**o)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let label = lines
        .iter()
        .flat_map(|line| wrap(line, 44))
        .map(|line| escape(&line))
        .collect::<Vec<_>>()
        .join("\\l");
    format!(
        "label=\"{label}\\l\", shape=box, style=\"filled{}\", color=\"{colour}\", fillcolor=\"{fill}\", penwidth=1.5, tooltip=\"{}\"",
        if conditional(policy, rule) {
            ",dashed"
        } else {
            ""
        },
        escape(&rule.location)
    )
}

/// Whether a condition (its own, or its basis's) limits the rule.
fn conditional(policy: &CompiledPolicy, rule: &CompiledRule) -> bool {
    rule.condition.is_some()
        || (rule.effect == Effect::Allow
            && rule
                .basis
                .and_then(|b| policy.bases.get(b))
                .is_some_and(|b| b.requires.is_some()))
}

/// A compiled condition in the words of the language.
pub fn condition_text(policy: &CompiledPolicy, cond: &Cond, depth: usize) -> String {
    if depth > crate::limits::MAX_NESTING + 1 {
        return "…".into();
    }
    let fact = |id: u16| {
        policy
            .facts
            .get(id as usize)
            .map_or("?", |f| &*f.name)
            .to_string()
    };
    let nested = |c: &Cond| match c {
        Cond::And(_) | Cond::Or(_) => format!("({})", condition_text(policy, c, depth + 1)),
        _ => condition_text(policy, c, depth + 1),
    };
    match cond {
        Cond::Test(f) => fact(*f),
        Cond::BoolIs(f, b) => format!("{} == {b}", fact(*f)),
        Cond::Compare(f, op, n) => format!("{} {} {n}", fact(*f), op.as_str()),
        Cond::PurposeMember {
            fact: f,
            keys,
            request_purpose,
        } => {
            let purposes = policy.taxonomy(Dimension::Purpose);
            let mut args: Vec<String> = keys.iter().map(|&k| purposes.key(k).to_string()).collect();
            if *request_purpose {
                args.push("purpose".into());
            }
            format!("{}({})", fact(*f), args.join(", "))
        }
        Cond::EnumMember { fact: f, mask } => {
            let members: Vec<String> = match policy.facts.get(*f as usize).map(|d| &d.kind) {
                Some(FactKind::EnumSet(members)) => members
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < 64 && mask & (1u64 << i) != 0)
                    .map(|(_, m)| m.to_string())
                    .collect(),
                _ => Vec::new(),
            };
            format!("{}({})", fact(*f), members.join(", "))
        }
        Cond::Not(inner) => format!("not {}", nested(inner)),
        Cond::And(parts) => parts.iter().map(nested).collect::<Vec<_>>().join(" and "),
        Cond::Or(parts) => parts.iter().map(nested).collect::<Vec<_>>().join(" or "),
    }
}

/// Break a line at spaces so that no piece is much longer than `width`.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut current));
            current.push_str("    ");
        }
        if !current.is_empty() && !current.ends_with("    ") {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

/// Text as a DOT quoted string's contents.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn legend() -> String {
    let classes: BTreeSet<Class> = [Class::NonPersonal, Class::Personal, Class::Sensitive]
        .into_iter()
        .collect();
    let mut out = String::from(
        "    subgraph cluster_legend {\n        label=\"legend\"\n        fontsize=10\n        color=\"#bdbdbd\"\n",
    );
    for class in classes {
        let _ = writeln!(
            out,
            "        legend_{name} [label=\"{name} data\", shape=box, style=\"rounded,filled\", fillcolor=\"{}\"]",
            class_fill(class),
            name = class.as_str()
        );
    }
    let _ = writeln!(
        out,
        "        legend_purpose [label=\"purpose\", shape=ellipse, style=filled, fillcolor=\"{PURPOSE_FILL}\"]"
    );
    let _ = writeln!(
        out,
        "        legend_allow [label=\"allow [cite]\", shape=box, style=filled, color=\"{ALLOW_COLOUR}\", fillcolor=\"{ALLOW_FILL}\"]"
    );
    let _ = writeln!(
        out,
        "        legend_deny [label=\"deny [cite]\", shape=box, style=filled, color=\"{DENY_COLOUR}\", fillcolor=\"{DENY_FILL}\"]"
    );
    let _ = writeln!(
        out,
        "        legend_conditional [label=\"under a condition\", shape=box, style=\"filled,dashed\", color=\"{ALLOW_COLOUR}\", fillcolor=\"{ALLOW_FILL}\"]"
    );
    let _ = writeln!(
        out,
        "        legend_non_personal -> legend_personal -> legend_sensitive -> legend_purpose -> legend_allow -> legend_deny -> legend_conditional [style=invis]"
    );
    out.push_str("    }\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_dot_strings_closed() {
        assert_eq!(escape("a \"b\" \\ c"), "a \\\"b\\\" \\\\ c");
    }

    #[test]
    fn long_lines_wrap() {
        let lines = wrap(
            "to first_party, affiliate, processor, third_party, authority, public",
            30,
        );
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.len() <= 40));
    }
}
