//! Spanned AST → a resolved, checked policy ready for decisions: names
//! resolved, taxonomies built as DAGs and closed, conditions type-checked and
//! compiled, rules reduced to bitsets over key ids.

mod implies;
mod index;
pub(crate) mod regions;
mod taxonomy;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fixedbitset::FixedBitSet;

pub use index::{
    AllowEntry, CellRules, CondId, DecisionIndex, DenyCheck, IndexedCond, KeyMask, RuleConditions,
};
pub use regions::FactRegions;
pub use taxonomy::{KeyId, Taxonomy};

use crate::diagnostics::{Problem, SourceFile, did_you_mean};
use crate::limits::{
    MAX_FACTS, MAX_INDEX_CELLS, MAX_INDEX_ENTRIES, MAX_KEYS, MAX_RULES, MAX_SET_MEMBERS, fact_id,
    key_id,
};
use crate::syntax::{
    self, ByDimension, Class, CompareOp, Condition, ConditionKind, Dimension, Effect, FactType,
    HeaderKind, Item, KeyDecl, Literal, Span,
};

/// The standard vocabulary, built into the library so that `use std` works
/// wherever a policy is loaded from.
pub const STD_NAME: &str = "policies/std/std.privet";
pub const STD_SOURCE: &str = include_str!("../../policies/std/std.privet");

/// A fact's index in the policy.
pub type FactId = u16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactKind {
    Bool,
    Int,
    PurposeSet,
    /// A set over a closed list of members (at most 64).
    EnumSet(Vec<Arc<str>>),
}

impl FactKind {
    pub fn describe(&self) -> String {
        match self {
            FactKind::Bool => "true or false".into(),
            FactKind::Int => "a whole number".into(),
            FactKind::PurposeSet => "a list of purposes".into(),
            FactKind::EnumSet(members) => format!(
                "a list of {}",
                members
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A fact's value in a request, resolved against the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactValue {
    Bool(bool),
    Int(i64),
    /// The purposes listed, and every purpose they cover (those below them).
    Purposes {
        listed: Vec<KeyId>,
        covered: FixedBitSet,
    },
    /// Members of an enumerated set, one bit each.
    Members(u64),
}

#[derive(Debug, Clone)]
pub struct FactDef {
    pub name: Arc<str>,
    pub kind: FactKind,
    /// The value an absent fact takes; `None` makes it unknown.
    pub default: Option<FactValue>,
}

/// Three-valued truth: a condition over a missing fact is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    False,
    Unknown,
    True,
}

impl Truth {
    fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
            Truth::True => Truth::False,
        }
    }
}

/// A condition compiled for evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cond {
    Test(FactId),
    BoolIs(FactId, bool),
    Compare(FactId, CompareOp, i64),
    /// The purpose set holds any of these purposes, or the request's purpose.
    PurposeMember {
        fact: FactId,
        keys: Vec<KeyId>,
        request_purpose: bool,
    },
    EnumMember {
        fact: FactId,
        mask: u64,
    },
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    /// Kleene's three-valued logic: sound, so a `True` holds whatever values
    /// the unknown facts take, and a `False` holds likewise.
    pub fn eval(
        &self,
        facts: &[Option<FactValue>],
        purpose: KeyId,
        missing: &mut dyn FnMut(FactId),
    ) -> Truth {
        let value = |fact: FactId, missing: &mut dyn FnMut(FactId)| -> Option<&FactValue> {
            let value = facts.get(fact as usize).and_then(Option::as_ref);
            if value.is_none() {
                missing(fact);
            }
            value
        };
        let known = |b: bool| if b { Truth::True } else { Truth::False };
        match self {
            Cond::Test(fact) => match value(*fact, missing) {
                Some(FactValue::Bool(b)) => known(*b),
                _ => Truth::Unknown,
            },
            Cond::BoolIs(fact, expected) => match value(*fact, missing) {
                Some(FactValue::Bool(b)) => known(b == expected),
                _ => Truth::Unknown,
            },
            Cond::Compare(fact, op, rhs) => match value(*fact, missing) {
                Some(FactValue::Int(lhs)) => known(op.holds(*lhs, *rhs)),
                _ => Truth::Unknown,
            },
            Cond::PurposeMember {
                fact,
                keys,
                request_purpose,
            } => match value(*fact, missing) {
                Some(FactValue::Purposes { covered, .. }) => known(
                    (*request_purpose && covered.contains(purpose as usize))
                        || keys.iter().any(|k| covered.contains(*k as usize)),
                ),
                _ => Truth::Unknown,
            },
            Cond::EnumMember { fact, mask } => match value(*fact, missing) {
                Some(FactValue::Members(held)) => known(held & mask != 0),
                _ => Truth::Unknown,
            },
            Cond::Not(inner) => inner.eval(facts, purpose, missing).not(),
            Cond::And(parts) => {
                let mut result = Truth::True;
                for part in parts {
                    match part.eval(facts, purpose, missing) {
                        Truth::False => return Truth::False,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                result
            }
            Cond::Or(parts) => {
                let mut result = Truth::False;
                for part in parts {
                    match part.eval(facts, purpose, missing) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                result
            }
        }
    }

    /// Evaluate with some facts left open (`open(f)` true): `None` when the
    /// result depends on them, otherwise the value every completion gives.
    pub fn eval_partial(
        &self,
        facts: &[Option<FactValue>],
        open: &dyn Fn(FactId) -> bool,
        purpose: KeyId,
    ) -> Option<Truth> {
        let atom = |fact: &FactId| -> Option<Truth> {
            if open(*fact) {
                None
            } else {
                Some(self.eval(facts, purpose, &mut |_| {}))
            }
        };
        match self {
            Cond::Test(f) | Cond::BoolIs(f, _) | Cond::Compare(f, _, _) => atom(f),
            Cond::PurposeMember { fact, .. } | Cond::EnumMember { fact, .. } => atom(fact),
            Cond::Not(inner) => inner.eval_partial(facts, open, purpose).map(Truth::not),
            Cond::And(parts) => {
                let mut result = Some(Truth::True);
                for part in parts {
                    match part.eval_partial(facts, open, purpose) {
                        Some(Truth::False) => return Some(Truth::False),
                        Some(Truth::Unknown) => {
                            result = result.map(|_| Truth::Unknown);
                        }
                        Some(Truth::True) => {}
                        None => result = None,
                    }
                }
                result
            }
            Cond::Or(parts) => {
                let mut result = Some(Truth::False);
                for part in parts {
                    match part.eval_partial(facts, open, purpose) {
                        Some(Truth::True) => return Some(Truth::True),
                        Some(Truth::Unknown) => {
                            result = result.map(|_| Truth::Unknown);
                        }
                        Some(Truth::False) => {}
                        None => result = None,
                    }
                }
                result
            }
        }
    }

    /// Every fact the condition reads.
    pub fn facts(&self, out: &mut Vec<FactId>) {
        match self {
            Cond::Test(f) | Cond::BoolIs(f, _) | Cond::Compare(f, _, _) => out.push(*f),
            Cond::PurposeMember { fact, .. } | Cond::EnumMember { fact, .. } => out.push(*fact),
            Cond::Not(inner) => inner.facts(out),
            Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| p.facts(out)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BasisDef {
    pub name: Arc<str>,
    pub requires: Option<Cond>,
}

/// A rule ready for matching.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub effect: Effect,
    /// Per dimension, every key the rule covers (its keys and all below
    /// them); `None` when the rule does not restrict the dimension.
    pub scopes: ByDimension<Option<FixedBitSet>>,
    /// The keys as written, per dimension, for explanations and hints.
    pub written: ByDimension<Vec<KeyId>>,
    /// The highest identifiability class among the data the rule covers: an
    /// allow can only allow an item evaluated at or below it.
    pub clearance: Class,
    /// The rule's own condition: `when` and not `unless`.
    pub condition: Option<Cond>,
    pub basis: Option<usize>,
    pub obligations: Vec<Arc<str>>,
    pub cite: Option<Arc<str>>,
    /// `file:line:col`.
    pub location: Arc<str>,
}

impl CompiledRule {
    pub fn covers(&self, dimension: Dimension, key: KeyId) -> bool {
        self.scopes[dimension]
            .as_ref()
            .is_none_or(|scope| scope.contains(key as usize))
    }
}

/// A checked policy: the output of the compiler and the input of `eval`.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub name: Option<Arc<str>>,
    pub title: Option<Arc<str>>,
    pub taxonomies: ByDimension<Taxonomy>,
    pub facts: Vec<FactDef>,
    /// Facts by name; looked up for every fact of every request.
    pub fact_index: foldhash::HashMap<Arc<str>, FactId>,
    pub bases: Vec<BasisDef>,
    pub obligations: Vec<Arc<str>>,
    pub rules: Vec<CompiledRule>,
    /// The rules filed by data category and purpose: every decision and
    /// every analysis looks only at the rules of its cells.
    pub index: DecisionIndex,
    /// By fact id: what of each fact's value the conditions tell apart.
    pub regions: Vec<FactRegions>,
}

impl CompiledPolicy {
    pub fn taxonomy(&self, dimension: Dimension) -> &Taxonomy {
        &self.taxonomies[dimension]
    }

    pub fn fact(&self, name: &str) -> Option<FactId> {
        self.fact_index.get(name).copied()
    }
}

/// Compile one policy made of `files` (and what they `use`).
pub fn compile(files: &[SourceFile]) -> Result<(CompiledPolicy, Vec<Problem>), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    let mut wants_std = false;
    let mut has_std = false;
    for source in files {
        let (file, syntax_problems) = syntax::parse(source);
        problems.extend(syntax_problems);
        if source.name.as_ref() == STD_NAME
            || file
                .header
                .as_ref()
                .is_some_and(|h| h.kind == HeaderKind::Vocabulary && h.name.node == "std")
        {
            has_std = true;
        }
        for item in &file.items {
            if let Item::Use(module) = item {
                if module.node == "std" {
                    wants_std = true;
                } else {
                    problems.push(
                        Problem::error(
                            "privet::unknown_module",
                            format!("there is no module `{}`", module.node),
                        )
                        .at(source, module.span, "unknown module")
                        .with_help(
                            did_you_mean(&module.node, ["std"]).unwrap_or_else(|| {
                                "the only module is `std`, the standard vocabulary".into()
                            }),
                        ),
                    );
                }
            }
        }
        parsed.push((source.clone(), file));
    }
    if wants_std && !has_std {
        let source = SourceFile::new(STD_NAME, STD_SOURCE);
        let (file, syntax_problems) = syntax::parse(&source);
        problems.extend(syntax_problems);
        parsed.insert(0, (source, file));
    }
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }
    let mut compiler = Compiler::default();
    let policy = compiler.run(&parsed);
    if !wants_std && !has_std {
        // The likeliest cause of unknown names in a file without `use std`.
        for problem in &mut compiler.problems {
            if problem.code.starts_with("privet::unknown_") {
                problem.help = Some("this policy does not `use std`: add `use std` at the top to speak the standard vocabulary".into());
            }
        }
    }
    problems.extend(compiler.problems);
    match policy {
        Some(policy) if !problems.iter().any(Problem::is_error) => Ok((policy, problems)),
        _ => Err(problems),
    }
}

struct Declared<'a> {
    decl: &'a KeyDecl,
    source: &'a SourceFile,
}

#[derive(Default)]
struct Compiler {
    problems: Vec<Problem>,
}

/// Names of things a condition may mention, for checking.
struct Scope<'a> {
    facts: &'a [FactDef],
    fact_index: &'a foldhash::HashMap<Arc<str>, FactId>,
    purposes: &'a Taxonomy,
}

impl Compiler {
    fn error(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn run(&mut self, files: &[(SourceFile, syntax::File)]) -> Option<CompiledPolicy> {
        let (name, title) = files
            .iter()
            .rev()
            .find_map(|(_, f)| f.header.as_ref().filter(|h| h.kind == HeaderKind::Policy))
            .map(|h| {
                let title = h
                    .meta
                    .iter()
                    .find(|meta| meta.field.node == "title")
                    .map(|meta| Arc::from(meta.value.node.as_str()));
                (Some(Arc::from(h.name.node.as_str())), title)
            })
            .unwrap_or((None, None));

        let taxonomies = Dimension::ALL.map(|dimension| self.taxonomy(dimension, files));
        let [
            Some(data),
            Some(purposes),
            Some(recipients),
            Some(actions),
            Some(subjects),
        ] = taxonomies
        else {
            return None;
        };
        let taxonomies = ByDimension([data, purposes, recipients, actions, subjects]);

        let (facts, fact_index) = self.facts(files, &taxonomies[Dimension::Purpose]);
        let scope = Scope {
            facts: &facts,
            fact_index: &fact_index,
            purposes: &taxonomies[Dimension::Purpose],
        };

        let mut bases: Vec<BasisDef> = Vec::new();
        let mut basis_seen: HashMap<String, (Arc<str>, Span)> = HashMap::new();
        let mut obligations: Vec<Arc<str>> = Vec::new();
        let mut obligation_seen: HashMap<String, ()> = HashMap::new();
        for (source, file) in files {
            for item in &file.items {
                match item {
                    Item::Basis(decl) => {
                        if self.duplicate(&mut basis_seen, &decl.name, source, "legal basis") {
                            continue;
                        }
                        let requires = decl
                            .requires
                            .as_ref()
                            .and_then(|c| self.condition(c, source, &scope));
                        bases.push(BasisDef {
                            name: Arc::from(decl.name.node.as_str()),
                            requires,
                        });
                    }
                    Item::Obligation(decl) => {
                        if obligation_seen.insert(decl.name.node.clone(), ()).is_some() {
                            self.error(
                                Problem::error(
                                    "privet::duplicate",
                                    format!(
                                        "the obligation `{}` is declared twice",
                                        decl.name.node
                                    ),
                                )
                                .at(
                                    source,
                                    decl.name.span,
                                    "declared again here",
                                ),
                            );
                            continue;
                        }
                        obligations.push(Arc::from(decl.name.node.as_str()));
                    }
                    _ => {}
                }
            }
        }

        let cells = taxonomies[Dimension::Data]
            .len()
            .saturating_mul(taxonomies[Dimension::Purpose].len());
        if cells > MAX_INDEX_CELLS {
            let (source, span) = files.iter().rev().find_map(|(source, file)| {
                file.items.iter().rev().find_map(|item| match item {
                    Item::Key(decl)
                        if matches!(decl.dimension, Dimension::Data | Dimension::Purpose) =>
                    {
                        Some((source, decl.key.span))
                    }
                    _ => None,
                })
            })?;
            self.error(
                Problem::error(
                    "privet::index_too_large",
                    format!(
                        "{} data categories times {} purposes make {cells} cells of the decision index; the limit is {MAX_INDEX_CELLS}",
                        taxonomies[Dimension::Data].len(),
                        taxonomies[Dimension::Purpose].len(),
                    ),
                )
                .at(source, span, "the last data category or purpose declared")
                .with_help("declare fewer local keys: a key that no rule or request tells apart from its parent can be its parent"),
            );
            return None;
        }
        let mut rules = Vec::new();
        let mut entries: u64 = 0;
        for (source, file) in files {
            for item in &file.items {
                if let Item::Rule(rule) = item {
                    if rules.len() == MAX_RULES {
                        self.error(
                            Problem::error(
                                "privet::too_many_rules",
                                format!("a policy may have at most {MAX_RULES} rules"),
                            )
                            .at(source, rule.span, "one rule too many"),
                        );
                        return None;
                    }
                    let Some(compiled) =
                        self.rule(rule, source, &taxonomies, &scope, &bases, &obligations)
                    else {
                        continue;
                    };
                    entries = entries.saturating_add(index::entries(&compiled, &taxonomies));
                    if entries > MAX_INDEX_ENTRIES {
                        self.error(
                            Problem::error(
                                "privet::index_too_large",
                                format!(
                                    "the rules up to this one file more than {MAX_INDEX_ENTRIES} entries in the decision index"
                                ),
                            )
                            .at(source, rule.span, "the index passes its limit here")
                            .with_help("each rule is filed once for every data category and purpose it covers, an allow once more for every recipient; narrow the broadest scopes, or split the policy"),
                        );
                        return None;
                    }
                    rules.push(compiled);
                }
            }
        }
        let index = DecisionIndex::build(&rules, &bases, &taxonomies);
        let mut policy = CompiledPolicy {
            name,
            title,
            taxonomies,
            facts,
            fact_index,
            bases,
            obligations,
            rules,
            index,
            regions: Vec::new(),
        };
        policy.regions = regions::fact_regions(&policy);
        Some(policy)
    }

    /// Report a second declaration of the same name; true if it was one.
    fn duplicate(
        &mut self,
        seen: &mut HashMap<String, (Arc<str>, Span)>,
        name: &syntax::Name,
        source: &SourceFile,
        what: &str,
    ) -> bool {
        if let Some((first_file, first_span)) = seen.get(&name.node) {
            let (line, _) = syntax_line(first_file, *first_span, source);
            self.error(
                Problem::error(
                    "privet::duplicate",
                    format!("the {what} `{}` is declared twice", name.node),
                )
                .at(source, name.span, "declared again here")
                .with_help(format!(
                    "it was first declared in {first_file}{line}; remove one of them"
                )),
            );
            return true;
        }
        seen.insert(name.node.clone(), (source.name.clone(), name.span));
        false
    }

    fn taxonomy(
        &mut self,
        dimension: Dimension,
        files: &[(SourceFile, syntax::File)],
    ) -> Option<Taxonomy> {
        // Declarations in a stable order (as written, file by file) so ids,
        // and so everything downstream, do not depend on hashing.
        let mut declared: Vec<Declared> = Vec::new();
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        let mut ok = true;
        for (source, file) in files {
            for item in &file.items {
                let Item::Key(decl) = item else { continue };
                if decl.dimension != dimension {
                    continue;
                }
                if let Some(&first) = index.get(decl.key.node.as_str()) {
                    let Some(first) = declared.get(first) else {
                        continue;
                    };
                    let (line, _) =
                        syntax_line(&first.source.name, first.decl.key.span, first.source);
                    self.error(
                        Problem::error(
                            "privet::duplicate",
                            format!("the {} `{}` is declared twice", dimension.noun(), decl.key.node),
                        )
                        .at(source, decl.key.span, "declared again here")
                        .with_help(format!(
                            "it is already declared in {}{line}; a policy may add keys below the vocabulary's but not redeclare them",
                            first.source.name
                        )),
                    );
                    ok = false;
                    continue;
                }
                if decl.class.is_some() && dimension != Dimension::Data {
                    self.error(
                        Problem::error(
                            "privet::misplaced_class",
                            "only data categories have a class",
                        )
                        .at(source, decl.span, "not a data category"),
                    );
                    ok = false;
                }
                if declared.len() == MAX_KEYS {
                    self.error(
                        Problem::error(
                            "privet::too_many_keys",
                            format!(
                                "a policy may have at most {MAX_KEYS} {}, the standard vocabulary's included",
                                dimension.plural()
                            ),
                        )
                        .at(source, decl.key.span, "one key too many"),
                    );
                    return None;
                }
                index.insert(&decl.key.node, declared.len());
                declared.push(Declared { decl, source });
            }
        }
        let keys: Vec<Arc<str>> = declared
            .iter()
            .map(|d| Arc::from(d.decl.key.node.as_str()))
            .collect();
        let mut parents = Vec::with_capacity(declared.len());
        for d in &declared {
            let mut ids = Vec::new();
            if d.decl.under.is_empty() {
                if let Some((prefix, _)) = d.decl.key.node.rsplit_once('.') {
                    match index.get(prefix) {
                        Some(&parent) => ids.push(key_id(parent)),
                        None => {
                            self.error(
                                Problem::error(
                                    "privet::unknown_parent",
                                    format!(
                                        "`{}` lies under `{prefix}`, which is not a declared {}",
                                        d.decl.key.node,
                                        dimension.noun()
                                    ),
                                )
                                .at(d.source, d.decl.key.span, "parent not declared")
                                .with_help_opt(
                                    did_you_mean(prefix, index.keys().copied())
                                        .or_else(|| Some(format!("declare `{prefix}` first, or name the parent with `under`"))),
                                ),
                            );
                            ok = false;
                        }
                    }
                }
            }
            for parent in &d.decl.under {
                match index.get(parent.node.as_str()) {
                    Some(&id) => ids.push(key_id(id)),
                    None => {
                        self.error(
                            Problem::error(
                                "privet::unknown_key",
                                format!("unknown {} `{}`", dimension.noun(), parent.node),
                            )
                            .at(d.source, parent.span, "not declared")
                            .with_help_opt(did_you_mean(&parent.node, index.keys().copied())),
                        );
                        ok = false;
                    }
                }
            }
            parents.push(ids);
        }
        let classes: Vec<Option<Class>> = declared
            .iter()
            .map(|d| d.decl.class.as_ref().map(|c| c.node))
            .collect();
        if !ok {
            return None;
        }
        match Taxonomy::build(dimension, keys, &parents, &classes) {
            Ok(taxonomy) => {
                // A declared class below the inherited one would quietly
                // weaken the protection of what lies above; refuse it.
                for (id, d) in declared.iter().enumerate() {
                    if let Some(class) = &d.decl.class {
                        if class.node < taxonomy.class(key_id(id)) {
                            self.error(
                                Problem::error(
                                    "privet::class_lowered",
                                    format!(
                                        "`{}` is declared {} but lies under {} data",
                                        d.decl.key.node,
                                        class.node.as_str(),
                                        taxonomy.class(key_id(id)).as_str()
                                    ),
                                )
                                .at(d.source, class.span, "lower than its parent")
                                .with_help("a key is at least as identifying as what it lies under; drop the class or raise it"),
                            );
                        }
                    }
                }
                Some(taxonomy)
            }
            Err(cycle) => {
                let d = declared.get(cycle.0 as usize)?;
                self.error(
                    Problem::error(
                        "privet::cycle",
                        format!(
                            "the {} `{}` lies below itself",
                            dimension.noun(),
                            d.decl.key.node
                        ),
                    )
                    .at(d.source, d.decl.span, "part of a cycle")
                    .with_help(
                        "taxonomies must be acyclic: follow the `under` clauses and break the loop",
                    ),
                );
                None
            }
        }
    }

    fn facts(
        &mut self,
        files: &[(SourceFile, syntax::File)],
        purposes: &Taxonomy,
    ) -> (Vec<FactDef>, foldhash::HashMap<Arc<str>, FactId>) {
        let mut facts = Vec::new();
        let mut index = foldhash::HashMap::default();
        let mut seen = HashMap::new();
        for (source, file) in files {
            for item in &file.items {
                let Item::Fact(decl) = item else { continue };
                if self.duplicate(&mut seen, &decl.name, source, "fact") {
                    continue;
                }
                if facts.len() == MAX_FACTS {
                    self.error(
                        Problem::error(
                            "privet::too_many_facts",
                            format!("a policy may declare at most {MAX_FACTS} facts"),
                        )
                        .at(source, decl.name.span, "one fact too many")
                        .with_help("a fact is a question the request answers; group related answers in a set fact (`set of {a, b, c}`)"),
                    );
                    return (facts, index);
                }
                let kind = match &decl.ty.node {
                    FactType::Bool => FactKind::Bool,
                    FactType::Int => FactKind::Int,
                    FactType::PurposeSet => FactKind::PurposeSet,
                    FactType::EnumSet(members) => {
                        if members.len() > MAX_SET_MEMBERS {
                            self.error(
                                Problem::error(
                                    "privet::too_many_members",
                                    format!(
                                        "a set fact may have at most {MAX_SET_MEMBERS} members"
                                    ),
                                )
                                .at(
                                    source,
                                    decl.ty.span,
                                    "too many",
                                ),
                            );
                            continue;
                        }
                        FactKind::EnumSet(
                            members.iter().map(|m| Arc::from(m.node.as_str())).collect(),
                        )
                    }
                };
                let default = match &decl.default {
                    None => None,
                    Some(literal) => match literal_value(&literal.node, &kind, purposes) {
                        Ok(value) => Some(value),
                        Err(message) => {
                            self.error(
                                Problem::error(
                                    "privet::fact_type",
                                    format!(
                                        "the default of `{}` does not fit its type: {message}",
                                        decl.name.node
                                    ),
                                )
                                .at(
                                    source,
                                    literal.span,
                                    format!("expected {}", kind.describe()),
                                ),
                            );
                            continue;
                        }
                    },
                };
                index.insert(Arc::from(decl.name.node.as_str()), fact_id(facts.len()));
                facts.push(FactDef {
                    name: Arc::from(decl.name.node.as_str()),
                    kind,
                    default,
                });
            }
        }
        (facts, index)
    }

    fn resolve_keys(
        &mut self,
        dimension: Dimension,
        names: &[syntax::Name],
        source: &SourceFile,
        taxonomies: &ByDimension<Taxonomy>,
    ) -> Option<Vec<KeyId>> {
        let taxonomy = &taxonomies[dimension];
        let mut ids = Vec::with_capacity(names.len());
        let mut ok = true;
        for name in names {
            match taxonomy.id(&name.node) {
                Some(id) => ids.push(id),
                None => {
                    self.error(unknown_key(dimension, &name.node, taxonomies).at(
                        source,
                        name.span,
                        format!("not a {}", dimension.noun()),
                    ));
                    ok = false;
                }
            }
        }
        ok.then_some(ids)
    }

    fn rule(
        &mut self,
        rule: &syntax::Rule,
        source: &SourceFile,
        taxonomies: &ByDimension<Taxonomy>,
        scope: &Scope,
        bases: &[BasisDef],
        obligations: &[Arc<str>],
    ) -> Option<CompiledRule> {
        let mut ok = true;
        let mut scopes: ByDimension<Option<FixedBitSet>> = ByDimension::default();
        let mut written: ByDimension<Vec<KeyId>> = ByDimension::default();
        for dimension in Dimension::ALL {
            if let Some(names) = &rule.scopes[dimension] {
                match self.resolve_keys(dimension, names, source, taxonomies) {
                    Some(ids) => {
                        scopes[dimension] = Some(taxonomies[dimension].closure(&ids));
                        written[dimension] = ids;
                    }
                    None => ok = false,
                }
            }
        }
        let data = &taxonomies[Dimension::Data];
        let clearance = if rule.scopes[Dimension::Data].is_some() {
            written[Dimension::Data]
                .iter()
                .map(|&id| data.subtree_class(id))
                .max()
                .unwrap_or(Class::NonPersonal)
        } else {
            Class::Sensitive
        };

        let basis = match &rule.basis {
            None => None,
            Some(name) => {
                if rule.effect.node == Effect::Deny {
                    self.error(
                        Problem::error("privet::basis_on_deny", "a deny rule has no legal basis")
                            .at(source, name.span, "basis on a deny")
                            .with_help("a legal basis is what an allow relies on; remove it, or make the rule an allow"),
                    );
                    ok = false;
                }
                match bases.iter().position(|b| *b.name == *name.node) {
                    Some(index) => Some(index),
                    None => {
                        self.error(
                            Problem::error(
                                "privet::unknown_basis",
                                format!("unknown legal basis `{}`", name.node),
                            )
                            .at(source, name.span, "not a legal basis")
                            .with_help_opt(
                                did_you_mean(&name.node, bases.iter().map(|b| &*b.name)).or_else(
                                    || {
                                        Some(format!(
                                            "the legal bases are {}",
                                            bases
                                                .iter()
                                                .map(|b| format!("`{}`", b.name))
                                                .collect::<Vec<_>>()
                                                .join(", ")
                                        ))
                                    },
                                ),
                            ),
                        );
                        ok = false;
                        None
                    }
                }
            }
        };

        let when = rule.when.as_ref().map(|c| self.condition(c, source, scope));
        let unless = rule
            .unless
            .as_ref()
            .map(|c| self.condition(c, source, scope));
        let condition = match (when, unless) {
            (Some(None), _) | (_, Some(None)) => {
                ok = false;
                None
            }
            (Some(Some(w)), Some(Some(u))) => Some(Cond::And(vec![w, Cond::Not(Box::new(u))])),
            (Some(Some(w)), None) => Some(w),
            (None, Some(Some(u))) => Some(Cond::Not(Box::new(u))),
            (None, None) => None,
        };

        let mut rule_obligations = Vec::new();
        for name in &rule.obligations {
            match obligations.iter().find(|o| ***o == *name.node) {
                Some(o) => rule_obligations.push(o.clone()),
                None => {
                    self.error(
                        Problem::error(
                            "privet::unknown_obligation",
                            format!("unknown obligation `{}`", name.node),
                        )
                        .at(source, name.span, "not declared")
                        .with_help_opt(
                            did_you_mean(&name.node, obligations.iter().map(|o| &**o)).or_else(
                                || {
                                    Some(format!(
                                        "declare it first: `obligation {} \"what it asks\"`",
                                        name.node
                                    ))
                                },
                            ),
                        ),
                    );
                    ok = false;
                }
            }
        }
        if rule.effect.node == Effect::Deny && !rule.obligations.is_empty() {
            self.error(
                Problem::error(
                    "privet::obligation_on_deny",
                    "a deny rule attaches no obligations",
                )
                .at(
                    source,
                    rule.obligations.first().map_or(rule.span, |o| o.span),
                    "obligation on a deny",
                )
                .with_help(
                    "obligations come with what an allow permits; move them to the allow rule",
                ),
            );
            ok = false;
        }

        if !ok {
            return None;
        }
        let (line, column) = source.line_col(rule.span.start);
        Some(CompiledRule {
            effect: rule.effect.node,
            scopes,
            written,
            clearance,
            condition,
            basis,
            obligations: rule_obligations,
            cite: rule.cite.as_ref().map(|c| Arc::from(c.node.as_str())),
            location: Arc::from(format!("{}:{line}:{column}", source.name)),
        })
    }

    fn condition(
        &mut self,
        condition: &Condition,
        source: &SourceFile,
        scope: &Scope,
    ) -> Option<Cond> {
        let fact_of = |this: &mut Self, name: &syntax::Name| -> Option<(FactId, &FactDef)> {
            match scope.fact_index.get(name.node.as_str()) {
                Some(&id) => scope.facts.get(id as usize).map(|def| (id, def)),
                None => {
                    this.error(
                        Problem::error(
                            "privet::unknown_fact",
                            format!("unknown fact `{}`", name.node),
                        )
                        .at(source, name.span, "not a declared fact")
                        .with_help_opt(
                            did_you_mean(&name.node, scope.facts.iter().map(|f| &*f.name)).or_else(
                                || {
                                    Some(format!(
                                        "declare it first: `fact {}: bool default false`",
                                        name.node
                                    ))
                                },
                            ),
                        ),
                    );
                    None
                }
            }
        };
        let type_error = |name: &syntax::Name, def: &FactDef, used_as: &str, span: Span| {
            Problem::error(
                "privet::fact_type",
                format!(
                    "`{}` is {}, but is used here as {used_as}",
                    name.node,
                    def.kind.describe()
                ),
            )
            .at(source, span, "wrong type")
        };
        Some(match &condition.kind {
            ConditionKind::And(parts) | ConditionKind::Or(parts) => {
                let mut compiled = Vec::with_capacity(parts.len());
                let mut ok = true;
                for part in parts {
                    match self.condition(part, source, scope) {
                        Some(c) => compiled.push(c),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                if matches!(condition.kind, ConditionKind::And(_)) {
                    Cond::And(compiled)
                } else {
                    Cond::Or(compiled)
                }
            }
            ConditionKind::Not(inner) => Cond::Not(Box::new(self.condition(inner, source, scope)?)),
            ConditionKind::Test(name) => {
                let (id, def) = fact_of(self, name)?;
                if def.kind != FactKind::Bool {
                    let help = match def.kind {
                        FactKind::Int => format!("compare it: `{} >= 16`", name.node),
                        _ => format!("test a member: `{}(...)`", name.node),
                    };
                    self.error(type_error(name, def, "true or false", name.span).with_help(help));
                    return None;
                }
                Cond::Test(id)
            }
            ConditionKind::Compare { fact, op, value } => {
                let (id, def) = fact_of(self, fact)?;
                match (&def.kind, &value.node) {
                    (FactKind::Int, Literal::Int(n)) => Cond::Compare(id, op.node, *n),
                    (FactKind::Bool, Literal::Bool(b))
                        if matches!(op.node, CompareOp::Eq | CompareOp::Ne) =>
                    {
                        Cond::BoolIs(id, (op.node == CompareOp::Eq) == *b)
                    }
                    (FactKind::Bool, Literal::Bool(_)) => {
                        self.error(
                            Problem::error(
                                "privet::fact_type",
                                format!("`{}` is true or false and has no order", fact.node),
                            )
                            .at(source, op.span, "ordering a bool")
                            .with_help("use `==` or `!=`"),
                        );
                        return None;
                    }
                    _ => {
                        let used = match value.node {
                            Literal::Int(_) => "a number",
                            Literal::Bool(_) => "true or false",
                            Literal::Set(_) => "a list",
                        };
                        self.error(type_error(fact, def, used, value.span).with_help(
                            match def.kind {
                                FactKind::Bool => {
                                    format!("test it alone: `{}` or `not {}`", fact.node, fact.node)
                                }
                                FactKind::Int => {
                                    format!("compare it with a number: `{} < 13`", fact.node)
                                }
                                _ => format!("test a member: `{}(...)`", fact.node),
                            },
                        ));
                        return None;
                    }
                }
            }
            ConditionKind::Member { fact, args } => {
                let (id, def) = fact_of(self, fact)?;
                match &def.kind {
                    FactKind::PurposeSet => {
                        let mut keys = Vec::new();
                        let mut request_purpose = false;
                        let mut ok = true;
                        for arg in args {
                            if arg.node == "purpose" {
                                request_purpose = true;
                            } else if let Some(key) = scope.purposes.id(&arg.node) {
                                keys.push(key);
                            } else {
                                self.error(
                                    Problem::error(
                                        "privet::unknown_key",
                                        format!("unknown purpose `{}`", arg.node),
                                    )
                                    .at(source, arg.span, "not a purpose")
                                    .with_help(
                                        did_you_mean(&arg.node, scope.purposes.keys())
                                            .unwrap_or_else(|| {
                                                "write `purpose` for the purpose of the request"
                                                    .into()
                                            }),
                                    ),
                                );
                                ok = false;
                            }
                        }
                        if !ok {
                            return None;
                        }
                        Cond::PurposeMember {
                            fact: id,
                            keys,
                            request_purpose,
                        }
                    }
                    FactKind::EnumSet(members) => {
                        let mut mask = 0u64;
                        let mut ok = true;
                        for arg in args {
                            match members.iter().position(|m| **m == *arg.node) {
                                Some(bit) => mask |= 1 << bit,
                                None => {
                                    self.error(
                                        Problem::error(
                                            "privet::unknown_member",
                                            format!(
                                                "`{}` is not one of the values of `{}`",
                                                arg.node, fact.node
                                            ),
                                        )
                                        .at(source, arg.span, "unknown value")
                                        .with_help(
                                            did_you_mean(&arg.node, members.iter().map(|m| &**m))
                                                .unwrap_or_else(|| {
                                                    format!(
                                                        "`{}` holds {}",
                                                        fact.node,
                                                        def.kind.describe()
                                                    )
                                                }),
                                        ),
                                    );
                                    ok = false;
                                }
                            }
                        }
                        if !ok {
                            return None;
                        }
                        Cond::EnumMember { fact: id, mask }
                    }
                    _ => {
                        self.error(type_error(fact, def, "a set", condition.span).with_help(
                            match def.kind {
                                FactKind::Bool => format!("test it alone: `{}`", fact.node),
                                _ => format!("compare it: `{} < 13`", fact.node),
                            },
                        ));
                        return None;
                    }
                }
            }
        })
    }
}

/// " (line N)" when the first declaration is in the same file as the second.
fn syntax_line(first_file: &Arc<str>, first_span: Span, source: &SourceFile) -> (String, ()) {
    if *first_file == source.name {
        let (line, _) = source.line_col(first_span.start);
        (format!(" at line {line}"), ())
    } else {
        (String::new(), ())
    }
}

/// The problem for a key no taxonomy of `dimension` holds, with the best
/// suggestion: a close key of the same dimension, or the news that the key
/// belongs to another one.
pub fn unknown_key(dimension: Dimension, key: &str, taxonomies: &ByDimension<Taxonomy>) -> Problem {
    let taxonomy = &taxonomies[dimension];
    let elsewhere = Dimension::ALL
        .iter()
        .find(|other| **other != dimension && taxonomies[**other].id(key).is_some())
        .map(|other| format!("`{key}` is a {}, not a {}", other.noun(), dimension.noun()));
    let close = did_you_mean(key, taxonomy.keys());
    let help = match (elsewhere, close) {
        (Some(elsewhere), Some(close)) => Some(format!("{elsewhere}; {close}")),
        (elsewhere, close) => elsewhere.or(close),
    };
    Problem::error(
        "privet::unknown_key",
        format!("unknown {} `{key}`", dimension.noun()),
    )
    .with_help(help.unwrap_or_else(|| {
        format!(
            "declare it with `{} {key}` below a standard key, or use one of the standard {}",
            dimension.keyword(),
            dimension.plural()
        )
    }))
}

/// A literal as a value of a fact of `kind`; the error says what is wrong.
pub fn literal_value(
    literal: &Literal,
    kind: &FactKind,
    purposes: &Taxonomy,
) -> Result<FactValue, String> {
    match (kind, literal) {
        (FactKind::Bool, Literal::Bool(b)) => Ok(FactValue::Bool(*b)),
        (FactKind::Int, Literal::Int(n)) => Ok(FactValue::Int(*n)),
        (FactKind::PurposeSet, Literal::Set(items)) => {
            purpose_set(items.iter().map(|n| n.node.as_str()), purposes)
        }
        (FactKind::EnumSet(members), Literal::Set(items)) => {
            member_set(items.iter().map(|n| n.node.as_str()), members)
        }
        _ => Err(format!("expected {}", kind.describe())),
    }
}

pub fn purpose_set<'a>(
    items: impl Iterator<Item = &'a str>,
    purposes: &Taxonomy,
) -> Result<FactValue, String> {
    let mut listed = Vec::new();
    for item in items {
        match purposes.id(item) {
            Some(id) => listed.push(id),
            None => {
                let hint = did_you_mean(item, purposes.keys())
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                return Err(format!("unknown purpose `{item}`{hint}"));
            }
        }
    }
    let covered = purposes.closure(&listed);
    Ok(FactValue::Purposes { listed, covered })
}

pub fn member_set<'a>(
    items: impl Iterator<Item = &'a str>,
    members: &[Arc<str>],
) -> Result<FactValue, String> {
    let mut mask = 0u64;
    for item in items {
        match members.iter().position(|m| **m == *item) {
            Some(bit) => mask |= 1 << bit,
            None => {
                let hint = did_you_mean(item, members.iter().map(|m| &**m))
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                return Err(format!(
                    "`{item}` is not one of {}{hint}",
                    FactKind::EnumSet(members.to_vec())
                        .describe()
                        .trim_start_matches("a list of ")
                ));
            }
        }
    }
    Ok(FactValue::Members(mask))
}
