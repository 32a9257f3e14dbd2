//! The spanned syntax tree of one `.privet` file, as written: nothing here is
//! resolved or checked yet.

use std::ops::Range;

/// A byte range into the file the node was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

pub type Name = Spanned<String>;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub header: Option<Header>,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    Policy,
    Vocabulary,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub kind: HeaderKind,
    pub name: Name,
    pub meta: Vec<Meta>,
    pub span: Span,
}

/// One header entry: `title "Huawei Privacy Policy"`, `updated 2016-12`.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub field: Name,
    pub value: Name,
    /// Written as a quoted string (rather than a date or a key).
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Use(Name),
    Key(KeyDecl),
    Fact(FactDecl),
    Basis(BasisDecl),
    Obligation(ObligationDecl),
    Rule(Box<Rule>),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Use(name) => name.span,
            Item::Key(decl) => decl.span,
            Item::Fact(decl) => decl.span,
            Item::Basis(decl) => decl.span,
            Item::Obligation(decl) => decl.span,
            Item::Rule(rule) => rule.span,
        }
    }
}

/// The five dimensions a rule scopes and a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Data,
    Purpose,
    Recipient,
    Action,
    Subject,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Data,
        Dimension::Purpose,
        Dimension::Recipient,
        Dimension::Action,
        Dimension::Subject,
    ];

    /// How a user would name one key of this dimension.
    pub fn noun(self) -> &'static str {
        match self {
            Dimension::Data => "data category",
            Dimension::Purpose => "purpose",
            Dimension::Recipient => "recipient",
            Dimension::Action => "action",
            Dimension::Subject => "data subject",
        }
    }

    /// How a user would name several keys of this dimension.
    pub fn plural(self) -> &'static str {
        match self {
            Dimension::Data => "data categories",
            Dimension::Purpose => "purposes",
            Dimension::Recipient => "recipients",
            Dimension::Action => "actions",
            Dimension::Subject => "data subjects",
        }
    }

    /// The keyword that declares a key of this dimension.
    pub fn keyword(self) -> &'static str {
        match self {
            Dimension::Data => "data",
            Dimension::Purpose => "purpose",
            Dimension::Recipient => "recipient",
            Dimension::Action => "action",
            Dimension::Subject => "subject",
        }
    }
}

/// One value per dimension, indexed by [`Dimension`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ByDimension<T>(pub [T; 5]);

impl<T> ByDimension<T> {
    /// Build from a function of the dimension.
    pub fn from_fn(mut f: impl FnMut(Dimension) -> T) -> Self {
        ByDimension(Dimension::ALL.map(&mut f))
    }
}

impl<T> std::ops::Index<Dimension> for ByDimension<T> {
    type Output = T;
    fn index(&self, dimension: Dimension) -> &T {
        // A match rather than `[i]`: no bounds check can fail.
        let [data, purpose, recipient, action, subject] = &self.0;
        match dimension {
            Dimension::Data => data,
            Dimension::Purpose => purpose,
            Dimension::Recipient => recipient,
            Dimension::Action => action,
            Dimension::Subject => subject,
        }
    }
}

impl<T> std::ops::IndexMut<Dimension> for ByDimension<T> {
    fn index_mut(&mut self, dimension: Dimension) -> &mut T {
        let [data, purpose, recipient, action, subject] = &mut self.0;
        match dimension {
            Dimension::Data => data,
            Dimension::Purpose => purpose,
            Dimension::Recipient => recipient,
            Dimension::Action => action,
            Dimension::Subject => subject,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    NonPersonal,
    Personal,
    Sensitive,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::NonPersonal => "non_personal",
            Class::Personal => "personal",
            Class::Sensitive => "sensitive",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyDecl {
    pub dimension: Dimension,
    pub key: Name,
    /// Explicit parents; without them the parent is the key's dotted prefix.
    pub under: Vec<Name>,
    pub class: Option<Spanned<Class>>,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FactType {
    Bool,
    Int,
    PurposeSet,
    EnumSet(Vec<Name>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    Set(Vec<Name>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FactDecl {
    pub name: Name,
    pub ty: Spanned<FactType>,
    pub default: Option<Spanned<Literal>>,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BasisDecl {
    pub name: Name,
    pub requires: Option<Condition>,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObligationDecl {
    pub name: Name,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Effect {
    Allow,
    #[default]
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rule {
    pub effect: Spanned<Effect>,
    /// One optional key list per dimension; `None` means the rule does not
    /// restrict that dimension.
    pub scopes: ByDimension<Option<Vec<Name>>>,
    pub basis: Option<Name>,
    pub when: Option<Condition>,
    pub unless: Option<Condition>,
    pub obligations: Vec<Name>,
    pub cite: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
        }
    }

    /// Whether `lhs op rhs`.
    pub fn holds(self, lhs: i64, rhs: i64) -> bool {
        match self {
            CompareOp::Lt => lhs < rhs,
            CompareOp::Le => lhs <= rhs,
            CompareOp::Gt => lhs > rhs,
            CompareOp::Ge => lhs >= rhs,
            CompareOp::Eq => lhs == rhs,
            CompareOp::Ne => lhs != rhs,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConditionKind {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// A boolean fact on its own: `dnt`.
    Test(Name),
    /// `subject_age < 13`, `dnt == false`.
    Compare {
        fact: Name,
        op: Spanned<CompareOp>,
        value: Spanned<Literal>,
    },
    /// `consent(marketing)`, `safeguards(scc, bcr)`: holds when the set holds
    /// any of the arguments.
    Member {
        fact: Name,
        args: Vec<Name>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub kind: ConditionKind,
    pub span: Span,
}

/// Set every span in a tree to zero, so that two trees can be compared for
/// what they say rather than where they were written (`parse(fmt(p)) == p`).
pub trait ClearSpans {
    fn clear_spans(&mut self);
}

impl<T> ClearSpans for Spanned<T> {
    fn clear_spans(&mut self) {
        self.span = Span::default();
    }
}

impl<T: ClearSpans> ClearSpans for Vec<T> {
    fn clear_spans(&mut self) {
        self.iter_mut().for_each(ClearSpans::clear_spans);
    }
}

impl<T: ClearSpans> ClearSpans for Option<T> {
    fn clear_spans(&mut self) {
        if let Some(inner) = self {
            inner.clear_spans();
        }
    }
}

impl ClearSpans for File {
    fn clear_spans(&mut self) {
        self.header.clear_spans();
        self.items.clear_spans();
    }
}

impl ClearSpans for Header {
    fn clear_spans(&mut self) {
        self.span = Span::default();
        self.name.clear_spans();
        for meta in &mut self.meta {
            meta.field.clear_spans();
            meta.value.clear_spans();
        }
    }
}

impl ClearSpans for Item {
    fn clear_spans(&mut self) {
        match self {
            Item::Use(name) => name.clear_spans(),
            Item::Key(decl) => {
                decl.span = Span::default();
                decl.key.clear_spans();
                decl.under.clear_spans();
                decl.class.clear_spans();
            }
            Item::Fact(decl) => {
                decl.span = Span::default();
                decl.name.clear_spans();
                if let FactType::EnumSet(members) = &mut decl.ty.node {
                    members.clear_spans();
                }
                decl.ty.clear_spans();
                if let Some(default) = &mut decl.default {
                    if let Literal::Set(items) = &mut default.node {
                        items.clear_spans();
                    }
                    default.clear_spans();
                }
            }
            Item::Basis(decl) => {
                decl.span = Span::default();
                decl.name.clear_spans();
                decl.requires.clear_spans();
            }
            Item::Obligation(decl) => {
                decl.span = Span::default();
                decl.name.clear_spans();
            }
            Item::Rule(rule) => {
                rule.span = Span::default();
                rule.effect.clear_spans();
                for scope in &mut rule.scopes.0 {
                    scope.clear_spans();
                }
                rule.basis.clear_spans();
                rule.when.clear_spans();
                rule.unless.clear_spans();
                rule.obligations.clear_spans();
                rule.cite.clear_spans();
            }
        }
    }
}

impl ClearSpans for Condition {
    fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ConditionKind::And(parts) | ConditionKind::Or(parts) => parts.clear_spans(),
            ConditionKind::Not(inner) => inner.clear_spans(),
            ConditionKind::Test(fact) => fact.clear_spans(),
            ConditionKind::Compare { fact, op, value } => {
                fact.clear_spans();
                op.clear_spans();
                if let Literal::Set(items) = &mut value.node {
                    items.clear_spans();
                }
                value.clear_spans();
            }
            ConditionKind::Member { fact, args } => {
                fact.clear_spans();
                args.clear_spans();
            }
        }
    }
}
