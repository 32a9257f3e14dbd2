//! Text → pest pairs → spanned AST. Syntax errors become [`Problem`]s whose
//! messages name what was expected in words, never pest's rule names; after
//! an error the parser resumes at the next declaration or rule, so one run
//! reports every broken item of a file.

mod ast;
mod direct;

pub use ast::*;

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use crate::diagnostics::{Problem, SourceFile};
use crate::limits::{MAX_FILE_BYTES, MAX_NESTING, MIN_PARSE_CALLS, PARSE_CALLS_PER_BYTE};

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/privet.pest"]
    pub struct PrivetParser;
}

use grammar::{PrivetParser, Rule as G};

/// Parse one file. Returns the items that parsed, and every problem found.
pub fn parse(source: &SourceFile) -> (File, Vec<Problem>) {
    let text: &str = &source.text;
    if text.len() > MAX_FILE_BYTES {
        let problem = Problem::error(
            "privet::too_large",
            format!(
                "the file is {} bytes; a policy file may have at most {MAX_FILE_BYTES}",
                text.len()
            ),
        )
        .with_help("split the policy into several files in one directory");
        return (
            File::default(),
            vec![problem.at(source, Span::new(0, 0), "this file")],
        );
    }
    if let Some(problem) = check_characters(source).or_else(|| check_nesting(source)) {
        return (File::default(), vec![problem]);
    }
    match direct::parse(text) {
        Some(file) => (file, Vec::new()),
        None => parse_with_pest(source),
    }
}

/// Parse with pest: the grammar's own verdict, with every syntax error
/// described, resuming after each broken item.
fn parse_with_pest(source: &SourceFile) -> (File, Vec<Problem>) {
    let mut problems = Vec::new();
    let text: &str = &source.text;
    pest::set_call_limit(std::num::NonZeroUsize::new(
        text.len()
            .saturating_mul(PARSE_CALLS_PER_BYTE)
            .max(MIN_PARSE_CALLS),
    ));
    let mut file = File::default();
    let mut offset = 0;
    let mut first = true;
    loop {
        let rest = text.get(offset..).unwrap_or_default();
        let start = if first { G::file } else { G::items };
        match PrivetParser::parse(start, rest) {
            Ok(mut pairs) => {
                if let Some(pair) = pairs.next() {
                    let mut builder = Builder {
                        source,
                        offset,
                        problems: &mut problems,
                    };
                    builder.file(pair, &mut file);
                }
                break;
            }
            Err(error) => {
                let at = offset
                    + match error.location {
                        InputLocation::Pos(pos) => pos,
                        InputLocation::Span((start, _)) => start,
                    };
                problems.push(syntax_problem(source, &error.variant, at));
                // Keep the items before the broken one: parse the text up to
                // the start of the broken item on its own.
                let broken = item_start_before(text, at).max(offset);
                if broken > offset {
                    let head = text.get(offset..broken).unwrap_or_default();
                    if let Ok(mut pairs) = PrivetParser::parse(start, head) {
                        if let Some(pair) = pairs.next() {
                            let mut builder = Builder {
                                source,
                                offset,
                                problems: &mut problems,
                            };
                            builder.file(pair, &mut file);
                        }
                    }
                }
                // Resume at the next item after the broken one.
                match next_item_start(text, at.max(broken + 1)) {
                    Some(next) => {
                        offset = next;
                        first = false;
                    }
                    None => break,
                }
            }
        }
    }
    (file, problems)
}

/// Words that begin an item at the start of a line; the parser resumes at them.
const ITEM_STARTS: [&str; 11] = [
    "allow",
    "deny",
    "use",
    "data",
    "purpose",
    "recipient",
    "action",
    "subject",
    "fact",
    "legal_basis",
    "obligation",
];

fn line_starts_item(line: &str) -> bool {
    let trimmed = line.trim_start();
    ITEM_STARTS.iter().any(|word| {
        trimmed.strip_prefix(word).is_some_and(|after| {
            after
                .chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
        })
    })
}

/// Byte offsets of the starts of lines that start an item.
fn item_line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&start| {
            let line = text.get(start..).unwrap_or_default();
            line_starts_item(line.split('\n').next().unwrap_or_default())
        })
}

/// The first item-starting line at or after `from`.
fn next_item_start(text: &str, from: usize) -> Option<usize> {
    item_line_starts(text).find(|&start| start >= from)
}

/// The last item-starting line strictly before `at`: where the item that
/// broke at `at` began.
fn item_start_before(text: &str, at: usize) -> usize {
    item_line_starts(text)
        .take_while(|&start| start < at)
        .last()
        .unwrap_or(0)
}

/// Reject what a policy file may never hold, before pest sees it: NUL
/// bytes and the bidirectional controls that can make code read differently
/// from how it parses (CVE-2021-42574).
fn check_characters(source: &SourceFile) -> Option<Problem> {
    let text: &str = &source.text;
    // Every character sought is NUL or starts with the byte 0xE2 in UTF-8
    // (U+2000 to U+2FFF), so only those bytes need decoding.
    let (at, c) = text
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b == 0 || b == 0xE2)
        .filter_map(|(at, _)| Some((at, text.get(at..)?.chars().next()?)))
        .find(|(_, c)| {
            *c == '\0' || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })?;
    let what = if c == '\0' {
        "a NUL byte".to_string()
    } else {
        format!("the bidirectional control character U+{:04X}", c as u32)
    };
    Some(
        Problem::error(
            "privet::forbidden_character",
            format!("the file contains {what}"),
        )
        .at(source, Span::new(at, at + c.len_utf8()), "here")
        .with_help("policy text may not contain control characters; remove it"),
    )
}

/// pest parses recursively; bound how deep a file can make it go before it
/// starts, so that no input can overflow the stack. Counts open parentheses
/// and runs of `not` outside strings and comments.
fn check_nesting(source: &SourceFile) -> Option<Problem> {
    let text: &str = &source.text;
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut nots = 0usize;
    let mut too_deep = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                // Skip the string, honouring escapes; an unclosed one ends at the line.
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' | b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                // pest ends a comment at any newline, `\r` included.
                while bytes.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                    i += 1;
                }
            }
            b'(' => {
                depth += 1;
                too_deep = depth > MAX_NESTING;
            }
            b')' => depth = depth.saturating_sub(1),
            b'n' if text.get(i..i + 4).is_some_and(|w| w == "not ")
                && (i == 0
                    || !bytes
                        .get(i - 1)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')) =>
            {
                nots += 1;
                i += 3;
                too_deep = nots > MAX_NESTING;
            }
            c if c.is_ascii_whitespace() => {}
            _ => nots = 0,
        }
        // Only an opening parenthesis or a `not` can go deeper.
        if too_deep {
            return Some(
                Problem::error(
                    "privet::too_deep",
                    format!("conditions may nest at most {MAX_NESTING} levels deep"),
                )
                .at(source, Span::new(i, i + 1), "too deep here")
                .with_help("split the condition into simpler rules"),
            );
        }
        i += 1;
    }
    None
}

fn syntax_problem(source: &SourceFile, variant: &ErrorVariant<G>, at: usize) -> Problem {
    let text: &str = &source.text;
    if let Some(end) = unclosed_string_end(text, at) {
        // pest can only say it found a `"` where it wanted a string; the
        // string is there, it is never closed.
        return Problem::error("privet::syntax", "this string is never closed")
            .at(source, Span::new(at, at + 1), "opened here")
            .with_help(if text.get(end..).is_some_and(|rest| !rest.is_empty()) {
                "end it with `\"` on the same line: a string cannot go on past the end of a line"
            } else {
                "end it with `\"` before the end of the file"
            });
    }
    let found = describe_found(text, at);
    let (message, help) = match variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
            expected.sort_unstable();
            expected.dedup();
            let help = syntax_help(positives, text, at);
            if expected.is_empty() {
                (format!("unexpected {found}"), help)
            } else {
                (
                    format!("expected {}, found {found}", one_of(&expected)),
                    help,
                )
            }
        }
        ErrorVariant::CustomError { message } => (message.clone(), None),
    };
    let end = text
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .map_or(at, |c| at + c.len_utf8());
    Problem::error("privet::syntax", message)
        .at(source, Span::new(at, end), "here")
        .with_help_opt(help)
}

/// When a string opens at `at` and the line (or the file) ends before it
/// closes, where it stops: as the grammar reads a string, escapes included.
fn unclosed_string_end(text: &str, at: usize) -> Option<usize> {
    let body = text.get(at..)?.strip_prefix('"')?;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return None,
            '\\' => {
                chars.next();
            }
            '\n' | '\r' => return Some(at + 1 + i),
            _ => {}
        }
    }
    Some(text.len())
}

fn syntax_help(positives: &[G], text: &str, at: usize) -> Option<String> {
    let next = text.get(at..).and_then(|r| r.chars().next());
    let word: String = text
        .get(at..)
        .unwrap_or_default()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let wants_key = positives
        .iter()
        .any(|r| matches!(r, G::key | G::key_list | G::data | G::actions));
    if wants_key && ITEM_STARTS.contains(&word.as_str()) {
        return Some(format!(
            "`{word}` starts a new declaration or rule, so the list before it is empty: name at least one key"
        ));
    }
    if next.is_some_and(|c| c.is_ascii_uppercase()) {
        return Some("keys and names are written in lowercase, with `_` between words".into());
    }
    if positives.contains(&G::EOI) || positives.contains(&G::effect) {
        return Some(
            "a policy holds declarations (`data`, `fact`, ...) and rules that start with `allow` or `deny`"
                .into(),
        );
    }
    if positives.contains(&G::string) {
        return Some("text is written between double quotes: \"§1(b)\"".into());
    }
    None
}

fn describe_found(text: &str, at: usize) -> String {
    let rest = text.get(at..).unwrap_or_default();
    match rest.chars().next() {
        None => "the end of the file".into(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                .take(40)
                .collect();
            format!("`{word}`")
        }
        Some(c) if c.is_control() => format!("the control character U+{:04X}", c as u32),
        Some(c) => format!("`{c}`"),
    }
}

fn one_of(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// How users should read a grammar rule in "expected ..." messages. `None`
/// hides rules that would only add noise.
fn rule_name(grammar_rule: G) -> Option<&'static str> {
    Some(match grammar_rule {
        G::EOI => "the end of the file",
        G::header => "a `policy` header",
        G::key | G::key_list | G::data | G::actions => "a key such as `user.contact.email`",
        G::ident | G::fact_name | G::fact_test => "a name",
        G::string => "a quoted string",
        G::date => "a date such as 2016-12",
        G::effect | G::kw_allow | G::kw_deny => "`allow` or `deny`",
        G::use_decl | G::kw_use => "`use`",
        G::data_decl | G::kw_data => "`data`",
        G::purpose_decl | G::kw_purpose => "`purpose`",
        G::recipient_decl | G::kw_recipient => "`recipient`",
        G::action_decl | G::kw_action => "`action`",
        G::subject_decl | G::kw_subject => "`subject`",
        G::fact_decl | G::kw_fact => "`fact`",
        G::basis_decl | G::kw_legal_basis => "`legal_basis`",
        G::obligation_decl | G::kw_obligation => "`obligation`",
        G::rule => "a rule",
        G::kw_of => "`of`",
        G::purposes | G::kw_for => "`for`",
        G::recipients | G::kw_to => "`to`",
        G::subjects | G::kw_about => "`about`",
        G::basis | G::kw_basis => "`basis`",
        G::when | G::kw_when => "`when`",
        G::unless | G::kw_unless => "`unless`",
        G::oblige | G::kw_oblige => "`oblige`",
        G::cite | G::kw_cite => "`cite`",
        G::under | G::kw_under => "`under`",
        G::class_clause | G::kw_class => "`class`",
        G::class_name => "`non_personal`, `personal` or `sensitive`",
        G::description => "a description in quotes",
        G::requires | G::kw_requires => "`requires`",
        G::fact_type => "a fact type (`bool`, `int`, `set of purpose`, `set of { ... }`)",
        G::fact_default | G::kw_default => "`default`",
        G::set_literal => "a list such as `[]`",
        G::condition | G::disjunction | G::conjunction | G::negation => "a condition",
        G::membership => "a set test such as `consent(marketing)`",
        G::member => "a purpose or a value",
        G::comparison => "a comparison such as `subject_age < 13`",
        G::compare_op => "a comparison (`<`, `<=`, `>`, `>=`, `==`, `!=`)",
        G::kw_and => "`and`",
        G::kw_or => "`or`",
        G::kw_not => "`not`",
        G::bool_literal | G::kw_true | G::kw_false => "`true` or `false`",
        G::int_literal => "a whole number",
        G::meta => "a header entry such as `title \"...\"`",
        _ => return None,
    })
}

/// Turns pairs into AST nodes, shifting spans by the offset of the text the
/// pairs were parsed from (non-zero after resuming from an error).
struct Builder<'a> {
    source: &'a SourceFile,
    offset: usize,
    problems: &'a mut Vec<Problem>,
}

impl Builder<'_> {
    /// The pair's span, without the whitespace and comments pest skips at
    /// its end before an optional part that was not there.
    fn span(&self, pair: &Pair<G>) -> Span {
        let span = pair.as_span();
        let start = self.offset + span.start();
        let end = trim_end(&self.source.text, start, self.offset + span.end());
        Span::new(start, end)
    }

    fn name(&self, pair: &Pair<G>) -> Name {
        Spanned::new(pair.as_str().to_string(), self.span(pair))
    }

    fn file(&mut self, pair: Pair<G>, file: &mut File) {
        for child in pair.into_inner() {
            match child.as_rule() {
                G::header => file.header = Some(self.header(child)),
                G::EOI => {}
                _ => {
                    if let Some(item) = self.item(child) {
                        file.items.push(item);
                    }
                }
            }
        }
    }

    fn header(&mut self, pair: Pair<G>) -> Header {
        let span = self.span(&pair);
        let mut kind = HeaderKind::Policy;
        let mut name = Spanned::new(String::new(), span);
        let mut meta = Vec::new();
        for child in pair.into_inner() {
            match child.as_rule() {
                G::kw_vocabulary => kind = HeaderKind::Vocabulary,
                G::key => name = self.name(&child),
                G::meta => {
                    let mut parts = child.into_inner();
                    if let (Some(field), Some(value)) = (parts.next(), parts.next()) {
                        let quoted = value.as_rule() == G::string;
                        let value_name = if quoted {
                            Spanned::new(self.string(&value), self.span(&value))
                        } else {
                            self.name(&value)
                        };
                        meta.push(Meta {
                            field: self.name(&field),
                            value: value_name,
                            quoted,
                        });
                    }
                }
                _ => {}
            }
        }
        Header {
            kind,
            name,
            meta,
            span,
        }
    }

    fn string(&self, pair: &Pair<G>) -> String {
        let body = pair
            .clone()
            .into_inner()
            .next()
            .map_or("", |inner| inner.as_str());
        unescape(body)
    }

    fn item(&mut self, pair: Pair<G>) -> Option<Item> {
        let span = self.span(&pair);
        let kind = pair.as_rule();
        let mut inner = pair.into_inner();
        // Every item starts with its keyword.
        let _keyword = inner.next();
        Some(match kind {
            G::use_decl => Item::Use(self.name(&inner.next()?)),
            G::data_decl
            | G::purpose_decl
            | G::recipient_decl
            | G::action_decl
            | G::subject_decl => {
                let dimension = match kind {
                    G::data_decl => Dimension::Data,
                    G::purpose_decl => Dimension::Purpose,
                    G::recipient_decl => Dimension::Recipient,
                    G::action_decl => Dimension::Action,
                    _ => Dimension::Subject,
                };
                let key = self.name(&inner.next()?);
                let mut decl = KeyDecl {
                    dimension,
                    key,
                    under: Vec::new(),
                    class: None,
                    description: None,
                    span,
                };
                for child in inner {
                    match child.as_rule() {
                        G::under => decl.under = self.key_list(child),
                        G::class_clause => {
                            let class_pair = child.into_inner().nth(1)?;
                            let class = match class_pair.as_str() {
                                "non_personal" => Class::NonPersonal,
                                "sensitive" => Class::Sensitive,
                                _ => Class::Personal,
                            };
                            decl.class = Some(Spanned::new(class, self.span(&class_pair)));
                        }
                        G::description => {
                            decl.description = Some(self.string(&child.into_inner().next()?))
                        }
                        _ => {}
                    }
                }
                Item::Key(decl)
            }
            G::fact_decl => {
                let name = self.name(&inner.next()?);
                let ty_pair = inner.next()?;
                let ty = Spanned::new(self.fact_type(ty_pair.clone())?, self.span(&ty_pair));
                let mut decl = FactDecl {
                    name,
                    ty,
                    default: None,
                    description: None,
                    span,
                };
                for child in inner {
                    match child.as_rule() {
                        G::fact_default => {
                            let literal = child.into_inner().nth(1)?;
                            decl.default =
                                Some(Spanned::new(self.literal(&literal)?, self.span(&literal)));
                        }
                        G::description => {
                            decl.description = Some(self.string(&child.into_inner().next()?))
                        }
                        _ => {}
                    }
                }
                Item::Fact(decl)
            }
            G::basis_decl => {
                let name = self.name(&inner.next()?);
                let mut decl = BasisDecl {
                    name,
                    requires: None,
                    description: None,
                    span,
                };
                for child in inner {
                    match child.as_rule() {
                        G::requires => {
                            decl.requires = self.condition(child.into_inner().nth(1)?, 0)
                        }
                        G::description => {
                            decl.description = Some(self.string(&child.into_inner().next()?))
                        }
                        _ => {}
                    }
                }
                Item::Basis(decl)
            }
            G::obligation_decl => {
                let name = self.name(&inner.next()?);
                let description = inner
                    .next()
                    .and_then(|d| d.into_inner().next())
                    .map(|s| self.string(&s));
                Item::Obligation(ObligationDecl {
                    name,
                    description,
                    span,
                })
            }
            G::rule => Item::Rule(Box::new(self.rule(span, _keyword?, inner)?)),
            _ => return None,
        })
    }

    fn rule(
        &mut self,
        span: Span,
        effect_pair: Pair<G>,
        inner: pest::iterators::Pairs<G>,
    ) -> Option<Rule_> {
        let effect = match effect_pair.as_str() {
            "allow" => Effect::Allow,
            _ => Effect::Deny,
        };
        let mut rule = Rule_ {
            effect: Spanned::new(effect, self.span(&effect_pair)),
            span,
            ..Rule_::default()
        };
        for clause in inner {
            let clause_span = self.span(&clause);
            let keyword = clause
                .as_str()
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            let slot_taken = |taken: bool, problems: &mut Vec<Problem>| {
                if taken {
                    problems.push(
                        Problem::error(
                            "privet::duplicate_clause",
                            format!("this rule has more than one `{keyword}` clause"),
                        )
                        .at(self.source, clause_span, "second clause")
                        .with_help(format!("join them into one `{keyword}` clause")),
                    );
                }
            };
            let dimension = match clause.as_rule() {
                G::actions => Some(Dimension::Action),
                G::data => Some(Dimension::Data),
                G::purposes => Some(Dimension::Purpose),
                G::recipients => Some(Dimension::Recipient),
                G::subjects => Some(Dimension::Subject),
                _ => None,
            };
            if let Some(dimension) = dimension {
                let slot = &mut rule.scopes[dimension];
                slot_taken(slot.is_some(), self.problems);
                let list = clause.into_inner().find(|p| p.as_rule() == G::key_list)?;
                *slot = Some(self.key_list(list));
                continue;
            }
            match clause.as_rule() {
                G::basis => {
                    slot_taken(rule.basis.is_some(), self.problems);
                    rule.basis = Some(self.name(&clause.into_inner().nth(1)?));
                }
                G::when => {
                    slot_taken(rule.when.is_some(), self.problems);
                    rule.when = self.condition(clause.into_inner().nth(1)?, 0);
                }
                G::unless => {
                    slot_taken(rule.unless.is_some(), self.problems);
                    rule.unless = self.condition(clause.into_inner().nth(1)?, 0);
                }
                G::oblige => {
                    slot_taken(!rule.obligations.is_empty(), self.problems);
                    rule.obligations = clause.into_inner().skip(1).map(|p| self.name(&p)).collect();
                }
                G::cite => {
                    slot_taken(rule.cite.is_some(), self.problems);
                    let string = clause.into_inner().nth(1)?;
                    rule.cite = Some(Spanned::new(self.string(&string), self.span(&string)));
                }
                _ => {}
            }
        }
        Some(rule)
    }

    fn key_list(&self, pair: Pair<G>) -> Vec<Name> {
        let list = if pair.as_rule() == G::under {
            pair.into_inner().find(|p| p.as_rule() == G::key_list)
        } else {
            Some(pair)
        };
        list.map(|list| list.into_inner().map(|key| self.name(&key)).collect())
            .unwrap_or_default()
    }

    fn fact_type(&self, pair: Pair<G>) -> Option<FactType> {
        let inner = pair.into_inner().next()?;
        Some(match inner.as_rule() {
            G::type_bool => FactType::Bool,
            G::type_int => FactType::Int,
            G::type_purpose_set => FactType::PurposeSet,
            _ => FactType::EnumSet(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == G::ident)
                    .map(|p| self.name(&p))
                    .collect(),
            ),
        })
    }

    fn literal(&mut self, pair: &Pair<G>) -> Option<Literal> {
        Some(match pair.as_rule() {
            G::bool_literal => Literal::Bool(pair.as_str() == "true"),
            G::int_literal => match pair.as_str().parse::<i64>() {
                Ok(value) => Literal::Int(value),
                Err(_) => {
                    self.problems.push(
                        Problem::error("privet::number_too_large", "this number is too large")
                            .at(self.source, self.span(pair), "out of range")
                            .with_help(format!(
                                "whole numbers lie between {} and {}",
                                i64::MIN,
                                i64::MAX
                            )),
                    );
                    return None;
                }
            },
            G::set_literal => {
                Literal::Set(pair.clone().into_inner().map(|p| self.name(&p)).collect())
            }
            _ => return None,
        })
    }

    fn condition(&mut self, pair: Pair<G>, depth: usize) -> Option<Condition> {
        let span = self.span(&pair);
        if depth > MAX_NESTING {
            self.problems.push(
                Problem::error(
                    "privet::too_deep",
                    format!("this condition is nested more than {MAX_NESTING} levels deep"),
                )
                .at(self.source, span, "too deep")
                .with_help("split it into simpler rules"),
            );
            return None;
        }
        let kind = pair.as_rule();
        let mut children: Vec<Pair<G>> = pair.into_inner().collect();
        let node = match kind {
            // Only parentheses and `not` nest; `and` and `or` chains are flat.
            G::condition => {
                return self.condition(children.pop()?, depth + 1);
            }
            G::disjunction | G::conjunction => {
                let operands: Vec<Pair<G>> = children
                    .into_iter()
                    .filter(|p| !matches!(p.as_rule(), G::kw_or | G::kw_and))
                    .collect();
                if operands.len() == 1 {
                    return self.condition(operands.into_iter().next()?, depth);
                }
                let mut parts = Vec::with_capacity(operands.len());
                for operand in operands {
                    parts.push(self.condition(operand, depth)?);
                }
                if kind == G::disjunction {
                    ConditionKind::Or(parts)
                } else {
                    ConditionKind::And(parts)
                }
            }
            G::negation => {
                if children.len() == 1 {
                    return self.condition(children.pop()?, depth);
                }
                ConditionKind::Not(Box::new(self.condition(children.pop()?, depth + 1)?))
            }
            G::fact_test => ConditionKind::Test(Spanned::new(
                children
                    .first()
                    .map_or_else(String::new, |p| p.as_str().to_string()),
                span,
            )),
            G::membership => {
                let mut iter = children.into_iter();
                let fact = self.name(&iter.next()?);
                ConditionKind::Member {
                    fact,
                    args: iter.map(|p| self.name(&p)).collect(),
                }
            }
            G::comparison => {
                let mut iter = children.into_iter();
                let fact = self.name(&iter.next()?);
                let op_pair = iter.next()?;
                let op = match op_pair.as_str() {
                    "<" => CompareOp::Lt,
                    "<=" => CompareOp::Le,
                    ">" => CompareOp::Gt,
                    ">=" => CompareOp::Ge,
                    "==" => CompareOp::Eq,
                    _ => CompareOp::Ne,
                };
                let value_pair = iter.next()?;
                let value = Spanned::new(self.literal(&value_pair)?, self.span(&value_pair));
                ConditionKind::Compare {
                    fact,
                    op: Spanned::new(op, self.span(&op_pair)),
                    value,
                }
            }
            _ => return None,
        };
        Some(Condition { kind: node, span })
    }
}

type Rule_ = ast::Rule;

/// Move `end` back over whitespace and `//` comments, not before `start`.
fn trim_end(text: &str, start: usize, mut end: usize) -> usize {
    // Most pairs end at their last token: nothing to trim, and no need to
    // scan back over the line (which made long lines quadratic).
    if let Some(span) = text.get(start..end) {
        if !span.ends_with(|c: char| c.is_whitespace()) && !span.contains("//") {
            return end;
        }
    }
    loop {
        let trimmed = text.get(start..end).map_or(0, |t| t.trim_end().len());
        end = start + trimmed;
        let line_start = text
            .get(..end)
            .and_then(|t| t.rfind(['\n', '\r']))
            .map_or(0, |i| i + 1)
            .max(start);
        match comment_start(text.get(line_start..end).unwrap_or_default()) {
            Some(at) => end = line_start + at,
            None => return end,
        }
    }
}

/// Where a `//` comment starts in a line, outside strings.
pub(crate) fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    let mut slash = false;
    for (i, c) in line.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                slash = false;
            }
            '/' if slash => return Some(i - 1),
            '/' => slash = true,
            _ => slash = false,
        }
    }
    None
}

fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> File {
        let source = SourceFile::new("test.privet", text);
        let (file, problems) = parse(&source);
        assert!(problems.is_empty(), "unexpected problems: {problems:?}");
        file
    }

    fn parse_problems(text: &str) -> Vec<Problem> {
        let source = SourceFile::new("test.privet", text);
        parse(&source).1
    }

    fn rules(file: &File) -> Vec<&ast::Rule> {
        file.items
            .iter()
            .filter_map(|item| match item {
                Item::Rule(rule) => Some(&**rule),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_rule_reads_every_clause() {
        let file = parse_ok(
            r#"allow use, store of user.contact, user.name for marketing to first_party
                   about customer basis consent when dnt == false unless opt_out(purpose)
                   oblige minimize, purpose_bound cite "§1(b)""#,
        );
        let rule = rules(&file)[0];
        assert_eq!(rule.effect.node, Effect::Allow);
        let keys = |d: Dimension| -> Vec<String> {
            rule.scopes[d]
                .as_ref()
                .map(|list| list.iter().map(|n| n.node.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(Dimension::Action), ["use", "store"]);
        assert_eq!(keys(Dimension::Data), ["user.contact", "user.name"]);
        assert_eq!(keys(Dimension::Purpose), ["marketing"]);
        assert_eq!(keys(Dimension::Recipient), ["first_party"]);
        assert_eq!(keys(Dimension::Subject), ["customer"]);
        assert_eq!(
            rule.basis.as_ref().map(|b| b.node.as_str()),
            Some("consent")
        );
        assert!(matches!(
            rule.when.as_ref().map(|c| &c.kind),
            Some(ConditionKind::Compare { .. })
        ));
        assert!(matches!(
            rule.unless.as_ref().map(|c| &c.kind),
            Some(ConditionKind::Member { .. })
        ));
        assert_eq!(rule.obligations.len(), 2);
        assert_eq!(rule.cite.as_ref().map(|c| c.node.as_str()), Some("§1(b)"));
    }

    #[test]
    fn rules_need_no_terminator() {
        let file = parse_ok(
            "allow non_personal cite \"§1\"\ndeny user when subject_age < 13 and not parental_consent cite \"§6\"\nuse std",
        );
        assert_eq!(rules(&file).len(), 2);
        assert!(matches!(file.items[2], Item::Use(_)));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let file = parse_ok("deny user when a or b and not c");
        let when = rules(&file)[0].when.clone().map(|c| c.kind);
        let Some(ConditionKind::Or(parts)) = when else {
            panic!("expected or at the top, got {when:?}");
        };
        assert!(matches!(parts[0].kind, ConditionKind::Test(_)));
        let ConditionKind::And(and_parts) = &parts[1].kind else {
            panic!("expected and under or");
        };
        assert!(matches!(and_parts[1].kind, ConditionKind::Not(_)));
    }

    #[test]
    fn spans_point_at_the_source() {
        let text = "use std\n\nallow user.contact for marketing";
        let file = parse_ok(text);
        let rule = rules(&file)[0];
        let purpose = &rule.scopes[Dimension::Purpose]
            .as_ref()
            .map(|l| l[0].clone());
        let span = purpose.as_ref().map(|p| p.span).unwrap_or_default();
        assert_eq!(&text[span.range()], "marketing");
        assert_eq!(&text[rule.span.range()], "allow user.contact for marketing");
    }

    #[test]
    fn spans_end_at_the_last_token() {
        let text = "allow user.contact  // all contact data\n\n  // next\nuse std";
        let file = parse_ok(text);
        let rule = rules(&file)[0];
        assert_eq!(&text[rule.span.range()], "allow user.contact");
        let text = "allow user cite \"a // b\"   \n";
        let file = parse_ok(text);
        assert_eq!(
            &text[rules(&file)[0].span.range()],
            "allow user cite \"a // b\""
        );
    }

    #[test]
    fn declarations_parse() {
        let file = parse_ok(
            r#"policy acme.main { title "Acme" updated 2016-12 }
               use std
               data user.telemetry.crash_dump under user.telemetry class sensitive "a crash dump"
               fact loyalty: bool default false "member of the loyalty programme"
               fact region: set of { eu, us } default []
               legal_basis membership requires loyalty
               obligation notify "tell the user"
            "#,
        );
        let header = file.header.expect("header");
        assert_eq!(header.name.node, "acme.main");
        assert_eq!(header.meta.len(), 2);
        assert_eq!(file.items.len(), 6);
        let Item::Key(decl) = &file.items[1] else {
            panic!("expected a data declaration")
        };
        assert_eq!(decl.class.as_ref().map(|c| c.node), Some(Class::Sensitive));
        assert_eq!(decl.under[0].node, "user.telemetry");
        let Item::Fact(fact) = &file.items[3] else {
            panic!("expected a fact")
        };
        assert!(matches!(&fact.ty.node, FactType::EnumSet(members) if members.len() == 2));
    }

    #[test]
    fn keywords_are_whole_words() {
        // `format` and `tonight` start with keywords but are keys.
        let file = parse_ok("allow format for tonight to topaz");
        assert_eq!(rules(&file).len(), 1);
    }

    #[test]
    fn every_broken_item_is_reported() {
        let problems = parse_problems(
            "allow user.contact for\nallow user.name cite \"ok\"\ndeny user when subject_age <\nallow user",
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(|p| p.code == "privet::syntax"));
    }

    #[test]
    fn items_after_an_error_still_parse() {
        let source = SourceFile::new(
            "t.privet",
            "allow user.contact for\nallow user.name\ndeny user",
        );
        let (file, problems) = parse(&source);
        assert_eq!(problems.len(), 1);
        assert_eq!(rules(&file).len(), 2);
    }

    #[test]
    fn messages_never_show_rule_names() {
        for text in [
            "allow",
            "allow user for",
            "deny user when (",
            "fact x: float",
            "policy {",
            "allow User",
        ] {
            for problem in parse_problems(text) {
                assert!(!problem.message.contains("kw_"), "{}", problem.message);
                assert!(!problem.message.contains("key_list"), "{}", problem.message);
                assert!(!problem.message.contains("Rule"), "{}", problem.message);
            }
        }
    }

    #[test]
    fn uppercase_keys_get_help() {
        let problems = parse_problems("allow User.contact");
        assert!(
            problems[0]
                .help
                .as_deref()
                .unwrap_or_default()
                .contains("lowercase")
        );
    }

    #[test]
    fn nul_and_bidi_controls_are_rejected() {
        for text in ["allow user\0", "allow us\u{202E}er"] {
            let problems = parse_problems(text);
            assert_eq!(problems[0].code, "privet::forbidden_character");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 10_000;
        let text = format!(
            "deny user when {}dnt{}",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        let problems = parse_problems(&text);
        assert!(!problems.is_empty());
    }

    #[test]
    fn duplicate_clauses_are_reported() {
        let problems = parse_problems("allow user for marketing for analytics");
        assert_eq!(problems[0].code, "privet::duplicate_clause");
    }
}
