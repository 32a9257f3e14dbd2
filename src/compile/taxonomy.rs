//! One dimension's keys as a DAG (petgraph), with the closures that make
//! "a scope on a key covers every key below it" a single bit test.

use std::sync::Arc;

use fixedbitset::FixedBitSet;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::limits::key_id;
use crate::syntax::{Class, Dimension};

/// A key's index in its taxonomy.
pub type KeyId = u32;

#[derive(Debug, Clone)]
pub struct Taxonomy {
    pub dimension: Dimension,
    keys: Vec<Arc<str>>,
    /// Keys by name; looked up for every key of every request.
    index: foldhash::HashMap<Arc<str>, KeyId>,
    /// Edges run from parent to child; node `i` is key `i`.
    graph: DiGraph<KeyId, ()>,
    /// For each key, itself and every key below it.
    descendants: Vec<FixedBitSet>,
    /// For each key, itself and every key above it.
    ancestors: Vec<FixedBitSet>,
    /// Data categories only: each key's identifiability class.
    classes: Vec<Class>,
    /// Data categories only: the highest class among a key and everything below it.
    subtree_classes: Vec<Class>,
    /// What an id outside the taxonomy covers: nothing.
    empty: FixedBitSet,
    /// Every key.
    all: FixedBitSet,
}

/// A cycle among `under` declarations; holds one key on it.
#[derive(Debug)]
pub struct Cycle(pub KeyId);

impl Taxonomy {
    /// Build from keys and their parents (ids into `keys`); `classes` holds
    /// the declared class of each key, if any (data categories only).
    pub fn build(
        dimension: Dimension,
        keys: Vec<Arc<str>>,
        parents: &[Vec<KeyId>],
        declared_classes: &[Option<Class>],
    ) -> Result<Self, Cycle> {
        let count = keys.len();
        let mut graph = DiGraph::with_capacity(count, count);
        for id in 0..count {
            graph.add_node(key_id(id));
        }
        for (child, parents) in parents.iter().enumerate() {
            for &parent in parents {
                graph.add_edge(NodeIndex::new(parent as usize), NodeIndex::new(child), ());
            }
        }
        let order =
            toposort(&graph, None).map_err(|cycle| Cycle(key_id(cycle.node_id().index())))?;

        // Closures in topological order: a key's ancestors are its parents'
        // ancestors and itself; its descendants, in reverse, likewise.
        let mut ancestors = vec![FixedBitSet::with_capacity(count); count];
        let mut classes = vec![Class::Personal; count];
        for node in &order {
            let id = node.index();
            let mut set = FixedBitSet::with_capacity(count);
            set.insert(id);
            let mut inherited: Option<Class> = None;
            for parent in graph.neighbors_directed(*node, petgraph::Direction::Incoming) {
                if let Some(above) = ancestors.get(parent.index()) {
                    set.union_with(above);
                }
                if let Some(&parent_class) = classes.get(parent.index()) {
                    inherited = Some(inherited.map_or(parent_class, |c| c.max(parent_class)));
                }
            }
            // A key is at least as identifying as what it lies under; a root
            // without a declared class is treated as personal (fail closed).
            let declared = declared_classes.get(id).copied().flatten();
            let class = match (declared, inherited) {
                (Some(d), Some(i)) => d.max(i),
                (Some(d), None) => d,
                (None, Some(i)) => i,
                (None, None) => Class::Personal,
            };
            if let (Some(slot), Some(class_slot)) = (ancestors.get_mut(id), classes.get_mut(id)) {
                *slot = set;
                *class_slot = class;
            }
        }
        let mut descendants = vec![FixedBitSet::with_capacity(count); count];
        let mut subtree_classes = classes.clone();
        for node in order.iter().rev() {
            let id = node.index();
            let mut set = FixedBitSet::with_capacity(count);
            set.insert(id);
            let mut highest = subtree_classes.get(id).copied().unwrap_or(Class::Sensitive);
            for child in graph.neighbors_directed(*node, petgraph::Direction::Outgoing) {
                if let Some(below) = descendants.get(child.index()) {
                    set.union_with(below);
                }
                if let Some(&child_class) = subtree_classes.get(child.index()) {
                    highest = highest.max(child_class);
                }
            }
            if let (Some(slot), Some(class_slot)) =
                (descendants.get_mut(id), subtree_classes.get_mut(id))
            {
                *slot = set;
                *class_slot = highest;
            }
        }
        let index = keys
            .iter()
            .enumerate()
            .map(|(id, key)| (key.clone(), key_id(id)))
            .collect();
        Ok(Taxonomy {
            dimension,
            keys,
            index,
            graph,
            descendants,
            ancestors,
            classes,
            subtree_classes,
            empty: FixedBitSet::new(),
            all: {
                let mut all = FixedBitSet::with_capacity(count);
                all.insert_range(..);
                all
            },
        })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn id(&self, key: &str) -> Option<KeyId> {
        self.index.get(key).copied()
    }

    pub fn key(&self, id: KeyId) -> &str {
        self.keys.get(id as usize).map_or("?", |k| k)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| &**k)
    }

    /// The key and every key below it.
    pub fn descendants(&self, id: KeyId) -> &FixedBitSet {
        self.descendants.get(id as usize).unwrap_or(&self.empty)
    }

    /// The key and every key above it.
    pub fn ancestors(&self, id: KeyId) -> &FixedBitSet {
        self.ancestors.get(id as usize).unwrap_or(&self.empty)
    }

    pub fn parents(&self, id: KeyId) -> impl Iterator<Item = KeyId> + '_ {
        self.graph
            .neighbors_directed(NodeIndex::new(id as usize), petgraph::Direction::Incoming)
            .map(|n| key_id(n.index()))
    }

    pub fn class(&self, id: KeyId) -> Class {
        self.classes
            .get(id as usize)
            .copied()
            .unwrap_or(Class::Sensitive)
    }

    pub fn subtree_class(&self, id: KeyId) -> Class {
        self.subtree_classes
            .get(id as usize)
            .copied()
            .unwrap_or(Class::Sensitive)
    }

    /// Every key, as a set: what a missing scope or an absent purpose means.
    pub fn everything(&self) -> &FixedBitSet {
        &self.all
    }

    /// The union of the subtrees of `ids`.
    pub fn closure(&self, ids: &[KeyId]) -> FixedBitSet {
        let mut set = FixedBitSet::with_capacity(self.len());
        for &id in ids {
            set.union_with(self.descendants(id));
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taxonomy(edges: &[(&str, Option<&str>)]) -> Result<Taxonomy, Cycle> {
        let keys: Vec<Arc<str>> = edges.iter().map(|(k, _)| Arc::from(*k)).collect();
        let parents: Vec<Vec<KeyId>> = edges
            .iter()
            .map(|(_, p)| {
                p.and_then(|p| keys.iter().position(|k| &**k == p))
                    .map(|i| vec![i as KeyId])
                    .unwrap_or_default()
            })
            .collect();
        let classes = vec![None; keys.len()];
        Taxonomy::build(Dimension::Data, keys, &parents, &classes)
    }

    #[test]
    fn a_key_covers_everything_below_it() {
        let t = taxonomy(&[
            ("user", None),
            ("user.contact", Some("user")),
            ("user.contact.email", Some("user.contact")),
            ("user.name", Some("user")),
        ])
        .expect("acyclic");
        let user = t.id("user").expect("user");
        let email = t.id("user.contact.email").expect("email");
        let name = t.id("user.name").expect("name");
        assert!(t.descendants(user).contains(email as usize));
        assert!(t.ancestors(email).contains(user as usize));
        assert!(
            !t.descendants(t.id("user.contact").expect("contact"))
                .contains(name as usize)
        );
    }

    #[test]
    fn cycles_are_found() {
        let keys: Vec<Arc<str>> = vec!["a".into(), "b".into()];
        let parents = vec![vec![1], vec![0]];
        assert!(Taxonomy::build(Dimension::Data, keys, &parents, &[None, None]).is_err());
    }

    #[test]
    fn classes_are_inherited_and_raised() {
        let keys: Vec<Arc<str>> = vec![
            "user".into(),
            "user.biometric".into(),
            "user.biometric.face".into(),
        ];
        let parents = vec![vec![], vec![0], vec![1]];
        let declared = vec![Some(Class::Personal), Some(Class::Sensitive), None];
        let t = Taxonomy::build(Dimension::Data, keys, &parents, &declared).expect("acyclic");
        assert_eq!(t.class(2), Class::Sensitive);
        assert_eq!(t.class(0), Class::Personal);
        assert_eq!(t.subtree_class(0), Class::Sensitive);
    }
}
