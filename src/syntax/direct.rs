//! A direct reader for text the grammar accepts, building the AST in one
//! pass with no backtracking.
//!
//! pest spends most of a large policy's compile time on bookkeeping (a
//! call-limit and stack check on every rule, sequence and lookahead, a
//! token queue, then pairs), and its negative lookaheads try some thirty
//! reserved words before every key and name. Almost every file a compiler
//! sees is well-formed, so it is read here first, word by word, deciding
//! each choice of the grammar from the next word or character.
//!
//! `grammar/privet.pest` stays the definition of the language: this reader
//! gives up (`None`) at anything it does not expect, and the caller then
//! parses with pest, which reports the error or, where this reader was
//! merely stricter, reads the file. So it may refuse more than the
//! grammar, never less, and when it succeeds it builds exactly what the
//! pest path builds (the tests below compare the two on every policy in the
//! repository and on their broken variants). It also gives up where that
//! path would add a problem while building (a repeated clause, a number
//! out of range, a condition nested too deep), so every message still
//! comes from one place.

use super::ast::*;
use super::unescape;
use crate::limits::MAX_NESTING;

/// Reserved words a key may not be on its own (`reserved_key` in the
/// grammar; `use` stays a key, the action). Membership equals the grammar's
/// ordered choice because no word in the list is a prefix of a later one.
const RESERVED_KEYS: [&str; 28] = [
    "policy",
    "vocabulary",
    "data",
    "purpose",
    "recipient",
    "action",
    "subject",
    "fact",
    "legal_basis",
    "obligation",
    "allow",
    "deny",
    "of",
    "for",
    "to",
    "about",
    "basis",
    "when",
    "unless",
    "oblige",
    "cite",
    "under",
    "class",
    "requires",
    "default",
    "and",
    "or",
    "not",
];

/// Words no name may be (`keyword` in the grammar): the reserved keys and
/// the words of types and literals.
fn is_keyword(word: &str) -> bool {
    RESERVED_KEYS.contains(&word)
        || matches!(word, "use" | "true" | "false" | "set" | "bool" | "int")
}

fn is_ident_char(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_'
}

fn starts_segment(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte == b'_'
}

/// Read a whole file, or `None` where the pest path must take over.
pub(super) fn parse(text: &str) -> Option<File> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        last_end: 0,
    };
    reader.file()
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// The cursor.
    pos: usize,
    /// The end of the last token taken: where the span of what was just
    /// read ends (pest's pairs may run on over whitespace and comments,
    /// which the builder trims; here they are never included).
    last_end: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skip whitespace (`" "`, `"\t"`, newlines) and `//` comments, as pest
    /// does between the parts of a non-atomic rule.
    fn skip(&mut self) {
        while let Some(byte) = self.peek() {
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'/' if self.bytes.get(self.pos + 1) == Some(&b'/') => {
                    while self.peek().is_some_and(|b| b != b'\n' && b != b'\r') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Take `len` bytes as a token.
    fn take(&mut self, len: usize) -> Span {
        let span = Span::new(self.pos, self.pos + len);
        self.pos = span.end;
        self.last_end = span.end;
        span
    }

    fn ident_len_at(&self, at: usize) -> usize {
        self.bytes.get(at..).map_or(0, |rest| {
            rest.iter().take_while(|&&b| is_ident_char(b)).count()
        })
    }

    /// The word at the cursor after whitespace: the longest run of
    /// `[a-z0-9_]`, maybe empty. A keyword rule (`kw_for = @{ "for" ~
    /// !ident_char }`) matches exactly when the word is the keyword.
    fn word(&mut self) -> &'a str {
        self.skip();
        let len = self.ident_len_at(self.pos);
        self.text.get(self.pos..self.pos + len).unwrap_or_default()
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        if self.word() == keyword {
            self.take(keyword.len());
            true
        } else {
            false
        }
    }

    fn punct(&mut self, byte: u8) -> bool {
        self.skip();
        if self.peek() == Some(byte) {
            self.take(1);
            true
        } else {
            false
        }
    }

    fn name(&self, span: Span) -> Name {
        let text = self.text.get(span.range()).unwrap_or_default();
        Spanned::new(text.to_string(), span)
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.last_end)
    }

    fn key(&mut self) -> Option<Name> {
        let first = self.word();
        let start = self.pos;
        if !first.bytes().next().is_some_and(starts_segment) {
            return None;
        }
        let mut end = start + first.len();
        let dot = |at: usize| self.bytes.get(at) == Some(&b'.');
        if RESERVED_KEYS.contains(&first) && !dot(end) {
            return None;
        }
        while dot(end) && self.bytes.get(end + 1).is_some_and(|&b| starts_segment(b)) {
            end += 1 + self.ident_len_at(end + 1);
        }
        let span = self.take(end - start);
        Some(self.name(span))
    }

    /// `ident` and `fact_name`: a word that is not a keyword.
    fn ident(&mut self) -> Option<Name> {
        let word = self.word();
        if !word.bytes().next().is_some_and(starts_segment) || is_keyword(word) {
            return None;
        }
        let span = self.take(word.len());
        Some(self.name(span))
    }

    /// `key ~ ("," ~ key)*`
    fn key_list(&mut self) -> Option<Vec<Name>> {
        let mut keys = vec![self.key()?];
        while self.punct(b',') {
            keys.push(self.key()?);
        }
        Some(keys)
    }

    /// `item ~ ("," ~ item)* ~ ","? ~ close`, after the opening bracket.
    fn list_until<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut items = vec![item(self)?];
        while self.punct(b',') {
            if self.punct(close) {
                return Some(items);
            }
            items.push(item(self)?);
        }
        self.punct(close).then_some(items)
    }

    /// A quoted string, unescaped, with the span of its quotes.
    fn string(&mut self) -> Option<Spanned<String>> {
        self.skip();
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return None;
        }
        let mut at = start + 1;
        loop {
            match self.bytes.get(at)? {
                b'"' => break,
                b'\\' => match self.bytes.get(at + 1)? {
                    b'"' | b'\\' | b'n' | b't' => at += 2,
                    _ => return None,
                },
                b'\n' | b'\r' => return None,
                _ => at += 1,
            }
        }
        let body = unescape(self.text.get(start + 1..at)?);
        Some(Spanned::new(body, self.take(at + 1 - start)))
    }

    /// `description?`: a string, if one comes next.
    fn description(&mut self) -> Option<Option<String>> {
        self.skip();
        if self.peek() == Some(b'"') {
            Some(Some(self.string()?.node))
        } else {
            Some(None)
        }
    }

    /// `int_literal = @{ "-"? ~ ASCII_DIGIT+ ~ !ident_char }`, in range.
    fn int(&mut self) -> Option<Spanned<Literal>> {
        self.skip();
        let sign = usize::from(self.peek() == Some(b'-'));
        let digits = self
            .bytes
            .get(self.pos + sign..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = self.pos + sign + digits;
        if digits == 0 || self.bytes.get(end).is_some_and(|&b| is_ident_char(b)) {
            return None;
        }
        let value = self.text.get(self.pos..end)?.parse().ok()?;
        Some(Spanned::new(Literal::Int(value), self.take(end - self.pos)))
    }

    /// `bool_literal | int_literal`, and `set_literal` where `set` is true.
    fn literal(&mut self, set: bool) -> Option<Spanned<Literal>> {
        let word = self.word();
        if matches!(word, "true" | "false") {
            let span = self.take(word.len());
            return Some(Spanned::new(Literal::Bool(word == "true"), span));
        }
        if set && self.peek() == Some(b'[') {
            let start = self.pos;
            self.take(1);
            let keys = if self.punct(b']') {
                Vec::new()
            } else {
                self.list_until(b']', Self::key)?
            };
            return Some(Spanned::new(Literal::Set(keys), self.span_from(start)));
        }
        self.int()
    }

    fn file(&mut self) -> Option<File> {
        let mut file = File::default();
        if matches!(self.word(), "policy" | "vocabulary") {
            file.header = Some(self.header()?);
        }
        loop {
            self.skip();
            if self.pos == self.bytes.len() {
                return Some(file);
            }
            file.items.push(self.item()?);
        }
    }

    fn header(&mut self) -> Option<Header> {
        let start = self.pos;
        let kind = if self.keyword("policy") {
            HeaderKind::Policy
        } else {
            self.keyword("vocabulary")
                .then_some(HeaderKind::Vocabulary)?
        };
        let name = self.key()?;
        if !self.punct(b'{') {
            return None;
        }
        let mut meta = Vec::new();
        while !self.punct(b'}') {
            let field = self.ident()?;
            self.skip();
            let (value, quoted) = match self.peek()? {
                b'"' => (self.string()?, true),
                b'0'..=b'9' => (self.date()?, false),
                _ => (self.key()?, false),
            };
            meta.push(Meta {
                field,
                value,
                quoted,
            });
        }
        Some(Header {
            kind,
            name,
            meta,
            span: self.span_from(start),
        })
    }

    /// `date = @{ ASCII_DIGIT{4} ~ ("-" ~ ASCII_DIGIT{2}){0, 2} ~ !ident_char }`
    fn date(&mut self) -> Option<Name> {
        let digits = |at: usize, n: usize| {
            self.bytes
                .get(at..at + n)
                .is_some_and(|run| run.iter().all(u8::is_ascii_digit))
        };
        if !digits(self.pos, 4) {
            return None;
        }
        let mut end = self.pos + 4;
        for _ in 0..2 {
            if self.bytes.get(end) == Some(&b'-') && digits(end + 1, 2) {
                end += 3;
            }
        }
        if self.bytes.get(end).is_some_and(|&b| is_ident_char(b)) {
            return None;
        }
        let span = self.take(end - self.pos);
        Some(self.name(span))
    }

    fn item(&mut self) -> Option<Item> {
        let start = self.pos;
        let word = self.word();
        let dimension = match word {
            "data" => Some(Dimension::Data),
            "purpose" => Some(Dimension::Purpose),
            "recipient" => Some(Dimension::Recipient),
            "action" => Some(Dimension::Action),
            "subject" => Some(Dimension::Subject),
            _ => None,
        };
        if let Some(dimension) = dimension {
            self.take(word.len());
            return Some(Item::Key(self.key_decl(dimension, start)?));
        }
        if matches!(word, "allow" | "deny") {
            return Some(Item::Rule(Box::new(self.rule()?)));
        }
        let known = matches!(word, "use" | "fact" | "legal_basis" | "obligation");
        if !known {
            return None;
        }
        self.take(word.len());
        Some(match word {
            "use" => Item::Use(self.key()?),
            "fact" => {
                let name = self.ident()?;
                if !self.punct(b':') {
                    return None;
                }
                let ty = self.fact_type()?;
                let default = if self.keyword("default") {
                    Some(self.literal(true)?)
                } else {
                    None
                };
                Item::Fact(FactDecl {
                    name,
                    ty,
                    default,
                    description: self.description()?,
                    span: self.span_from(start),
                })
            }
            "legal_basis" => {
                let name = self.ident()?;
                let requires = if self.keyword("requires") {
                    Some(self.condition(0)?.0)
                } else {
                    None
                };
                Item::Basis(BasisDecl {
                    name,
                    requires,
                    description: self.description()?,
                    span: self.span_from(start),
                })
            }
            _ => Item::Obligation(ObligationDecl {
                name: self.ident()?,
                description: self.description()?,
                span: self.span_from(start),
            }),
        })
    }

    /// After the keyword: `key ~ under? ~ class_clause? ~ description?`,
    /// where only data has a class and subjects have no `under`.
    fn key_decl(&mut self, dimension: Dimension, start: usize) -> Option<KeyDecl> {
        let key = self.key()?;
        let under = if dimension != Dimension::Subject && self.keyword("under") {
            self.key_list()?
        } else {
            Vec::new()
        };
        let class = if dimension == Dimension::Data && self.keyword("class") {
            let class = match self.word() {
                "non_personal" => Class::NonPersonal,
                "personal" => Class::Personal,
                "sensitive" => Class::Sensitive,
                _ => return None,
            };
            let span = self.take(class.as_str().len());
            Some(Spanned::new(class, span))
        } else {
            None
        };
        Some(KeyDecl {
            dimension,
            key,
            under,
            class,
            description: self.description()?,
            span: self.span_from(start),
        })
    }

    fn fact_type(&mut self) -> Option<Spanned<FactType>> {
        self.skip();
        let start = self.pos;
        let ty = if self.keyword("bool") {
            FactType::Bool
        } else if self.keyword("int") {
            FactType::Int
        } else if self.keyword("set") && self.keyword("of") {
            if self.keyword("purpose") {
                FactType::PurposeSet
            } else if self.punct(b'{') {
                FactType::EnumSet(self.list_until(b'}', Self::ident)?)
            } else {
                return None;
            }
        } else {
            return None;
        };
        Some(Spanned::new(ty, self.span_from(start)))
    }

    fn rule(&mut self) -> Option<Rule> {
        let start = self.pos;
        let effect = if self.keyword("allow") {
            Effect::Allow
        } else {
            self.keyword("deny").then_some(Effect::Deny)?
        };
        let mut rule = Rule {
            effect: Spanned::new(effect, self.span_from(start)),
            ..Rule::default()
        };
        let first = self.key_list()?;
        if self.keyword("of") {
            rule.scopes[Dimension::Action] = Some(first);
            rule.scopes[Dimension::Data] = Some(self.key_list()?);
        } else {
            rule.scopes[Dimension::Data] = Some(first);
        }
        loop {
            let word = self.word();
            let dimension = match word {
                "for" => Dimension::Purpose,
                "to" => Dimension::Recipient,
                "about" => Dimension::Subject,
                "basis" | "when" | "unless" | "oblige" | "cite" => {
                    self.take(word.len());
                    self.clause(&mut rule, word)?;
                    continue;
                }
                _ => break,
            };
            self.take(word.len());
            // A repeated clause is reported by the pest path.
            if rule.scopes[dimension].is_some() {
                return None;
            }
            rule.scopes[dimension] = Some(self.key_list()?);
        }
        rule.span = self.span_from(start);
        Some(rule)
    }

    /// The clauses of a rule other than its scopes, after the keyword.
    fn clause(&mut self, rule: &mut Rule, keyword: &str) -> Option<()> {
        let taken = match keyword {
            "basis" => rule.basis.replace(self.ident()?).is_some(),
            "when" => rule.when.replace(self.condition(0)?.0).is_some(),
            "unless" => rule.unless.replace(self.condition(0)?.0).is_some(),
            "oblige" => {
                let mut names = vec![self.ident()?];
                while self.punct(b',') {
                    names.push(self.ident()?);
                }
                !std::mem::replace(&mut rule.obligations, names).is_empty()
            }
            _ => rule.cite.replace(self.string()?).is_some(),
        };
        // A repeated clause is reported by the pest path.
        (!taken).then_some(())
    }

    // Conditions mirror the builder's recursion, depth included: it
    // reports a condition nested deeper than `MAX_NESTING`, so this reader
    // gives up there. Each returns the condition and where its text
    // starts (before any `not` or parenthesis the condition node omits).

    fn condition(&mut self, depth: usize) -> Option<(Condition, usize)> {
        if depth > MAX_NESTING {
            return None;
        }
        self.chain(depth + 1, "or")
    }

    /// `disjunction` (`or` between conjunctions) and `conjunction` (`and`
    /// between negations). One operand is returned as it is.
    fn chain(&mut self, depth: usize, operator: &str) -> Option<(Condition, usize)> {
        if depth > MAX_NESTING {
            return None;
        }
        let operand = |reader: &mut Self| {
            if operator == "or" {
                reader.chain(depth, "and")
            } else {
                reader.negation(depth)
            }
        };
        let (first, start) = operand(self)?;
        if self.word() != operator {
            return Some((first, start));
        }
        let mut parts = vec![first];
        while self.keyword(operator) {
            parts.push(operand(self)?.0);
        }
        let kind = if operator == "or" {
            ConditionKind::Or(parts)
        } else {
            ConditionKind::And(parts)
        };
        let span = self.span_from(start);
        Some((Condition { kind, span }, start))
    }

    fn negation(&mut self, depth: usize) -> Option<(Condition, usize)> {
        if depth > MAX_NESTING {
            return None;
        }
        self.skip();
        let start = self.pos;
        if self.keyword("not") {
            let inner = self.negation(depth + 1)?.0;
            let span = self.span_from(start);
            let kind = ConditionKind::Not(Box::new(inner));
            return Some((Condition { kind, span }, start));
        }
        if self.punct(b'(') {
            let inner = self.condition(depth)?.0;
            return self.punct(b')').then_some((inner, start));
        }
        let fact = self.ident()?;
        self.skip();
        let kind = match (self.peek(), self.bytes.get(self.pos + 1)) {
            (Some(b'('), _) => {
                self.take(1);
                let args = self.list_until(b')', Self::member)?;
                ConditionKind::Member { fact, args }
            }
            (Some(b'<' | b'>' | b'=' | b'!'), Some(b'=')) | (Some(b'<' | b'>'), _) => {
                let two = self.bytes.get(self.pos + 1) == Some(&b'=');
                let op = match (self.peek()?, two) {
                    (b'<', true) => CompareOp::Le,
                    (b'>', true) => CompareOp::Ge,
                    (b'=', _) => CompareOp::Eq,
                    (b'!', _) => CompareOp::Ne,
                    (b'<', false) => CompareOp::Lt,
                    _ => CompareOp::Gt,
                };
                let op = Spanned::new(op, self.take(1 + usize::from(two)));
                let value = self.literal(false)?;
                ConditionKind::Compare { fact, op, value }
            }
            _ => ConditionKind::Test(fact),
        };
        let span = self.span_from(start);
        Some((Condition { kind, span }, start))
    }

    /// `member = @{ "purpose" ~ !("." | ident_char) | key }`
    fn member(&mut self) -> Option<Name> {
        if self.word() == "purpose" && self.bytes.get(self.pos + "purpose".len()) != Some(&b'.') {
            let span = self.take("purpose".len());
            return Some(self.name(span));
        }
        self.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;

    /// Whenever the direct reader reads a text, pest reads it too, with no
    /// problem, into the same AST (spans included).
    fn agrees(text: &str) -> bool {
        let Some(direct) = parse(text) else {
            return false;
        };
        let (by_pest, problems) = super::super::parse_with_pest(&SourceFile::new("t.privet", text));
        assert!(
            problems.is_empty(),
            "read directly, rejected by pest: {text:?}\n{problems:?}"
        );
        assert_eq!(direct, by_pest, "the readers disagree on {text:?}");
        true
    }

    fn samples() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        for dir in ["policies/std", "policies/huawei", "tests/data/fuzz"] {
            let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
                .expect("a sample directory")
                .map(|entry| entry.expect("an entry").path())
                // The reviews beside the Huawei policies are markdown.
                .filter(|path| path.extension().is_some_and(|e| e == "privet"))
                .collect();
            paths.sort();
            for path in paths {
                texts.push(std::fs::read_to_string(path).expect("a sample"));
            }
        }
        texts.push(
            r#"policy acme.main { title "Acme \"A\"\t" updated 2016-12-01 owner legal.team }
               use std
               data user.telemetry.crash_dump under user.telemetry, user class sensitive "a dump"
               data user.x class non_personal
               purpose p.q under marketing "why"
               recipient r under processor
               action act under use
               subject s "who"
               fact loyalty: bool default false "member"
               fact age2: int default -3
               fact region: set of { eu, us, } default [eu,]
               fact seen: set of purpose default []
               legal_basis membership requires loyalty and not (age2 >= 3 or region(eu)) "m"
               obligation notify "tell the user"
               allow use, store of user.contact, user.name for marketing to first_party
                   about customer basis consent when dnt == false unless opt_out(purpose, purpose.x,)
                   oblige minimize, purpose_bound cite "§1(b) // not a comment" // a comment
               deny user when not not a<1 or b!=2 and(c)and d <= -4 or e > 5 or f==true
               allow data.x, _under for format"#
                .to_string(),
        );
        texts
    }

    #[test]
    fn the_direct_reader_reads_every_sample_as_pest_does() {
        for text in samples() {
            assert!(agrees(&text), "not read directly: {text}");
        }
    }

    /// Broken and odd variants of every few lines of the samples: the
    /// direct reader may refuse them, but what it reads, pest reads alike.
    #[test]
    fn the_direct_reader_never_reads_otherwise_than_pest() {
        const SNIPPETS: [&str; 32] = [
            "(",
            ")",
            ",",
            ".",
            ":",
            "[",
            "]",
            "{",
            "}",
            "=",
            "<",
            "!",
            "-1",
            "not",
            "for",
            "of",
            "purpose",
            "use",
            "true",
            "set",
            "and",
            "or",
            "when",
            "\"s\"",
            "\"\\x\"",
            "//c\n",
            "\r",
            "X",
            "2016-1",
            "99999999999999999999",
            "\u{a0}",
            "cite",
        ];
        let mut read = 0;
        for text in samples() {
            // The first lines of each sample hold every kind of item.
            let lines: Vec<&str> = text.lines().take(80).collect();
            for window in lines.windows(3) {
                let window = window.join("\n");
                let tokens: Vec<&str> = window.split_inclusive([' ', '\n']).collect();
                for at in 0..=tokens.len() {
                    let (before, after) = tokens.split_at(at);
                    let (before, after) = (before.concat(), after.concat());
                    read += usize::from(agrees(&before));
                    if let Some((_, rest)) = after.split_once(' ') {
                        read += usize::from(agrees(&format!("{before}{rest}")));
                    }
                    for snippet in SNIPPETS {
                        read += usize::from(agrees(&format!("{before}{snippet}{after}")));
                        read += usize::from(agrees(&format!("{before}{snippet} {after}")));
                    }
                }
            }
        }
        // Enough variants are valid for the comparison to mean something.
        assert!(read > 10_000, "only {read} variants were read directly");
    }
}
