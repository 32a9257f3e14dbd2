//! `privet fmt`: one canonical layout for policy text.
//!
//! Items keep the author's order; a blank line the author left between
//! items stays (several collapse to one). A rule's first line holds its
//! effect, actions and data; every other clause gets a line of its own,
//! indented, in a fixed order. Conditions are printed with the parentheses
//! precedence needs and no others. Comments stay where they were: a comment
//! after code on a line stays after the same code; a comment on a line of
//! its own stays before the code that followed it.

use crate::diagnostics::{Problem, SourceFile};
use crate::syntax::{
    self, Condition, ConditionKind, Dimension, FactType, Header, HeaderKind, Item, Literal, Name,
};

const INDENT: &str = "    ";
/// Key lists wrap to stay within this many columns; continuation lines are
/// indented twice, so they never read as a clause of their own.
const WIDTH: usize = 80;

/// Format a file; a file that does not parse is returned as its problems.
pub fn format_source(source: &SourceFile) -> Result<String, Vec<Problem>> {
    let (file, problems) = syntax::parse(source);
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }
    Ok(format_file(&source.text, &file))
}

/// A line of output and the source offset of the code it came from.
struct Line {
    anchor: usize,
    text: String,
}

/// A `//` comment: where it starts, and whether code precedes it on its line.
struct Comment {
    offset: usize,
    text: String,
    trailing: bool,
}

fn comments(text: &str) -> Vec<Comment> {
    let mut found = Vec::new();
    let mut line_start = 0;
    // Lines end where pest's NEWLINE ends them: at `\n`, `\r\n` or a lone `\r`.
    for line in text.split_inclusive(['\n', '\r']) {
        if let Some(start) = syntax::comment_start(line) {
            found.push(Comment {
                offset: line_start + start,
                text: line.get(start..).unwrap_or_default().trim_end().to_string(),
                trailing: !line.get(..start).unwrap_or_default().trim().is_empty(),
            });
        }
        line_start += line.len();
    }
    found
}

/// True when the source between `from` and `to` holds an empty line.
fn blank_between(text: &str, from: usize, to: usize) -> bool {
    let gap = text.get(from.min(to)..to).unwrap_or_default();
    let mut newlines = 0;
    for c in gap.chars() {
        match c {
            '\n' => {
                newlines += 1;
                if newlines >= 2 {
                    return true;
                }
            }
            c if c.is_whitespace() => {}
            // A comment in the gap resets the count: its line is not empty.
            _ => newlines = 0,
        }
    }
    false
}

fn format_file(text: &str, file: &syntax::File) -> String {
    // Every item becomes lines; `starts` remembers where each item began.
    let mut lines: Vec<Line> = Vec::new();
    let mut starts: Vec<(usize, usize)> = Vec::new(); // (line index, source offset)
    if let Some(header) = &file.header {
        starts.push((lines.len(), header.span.start));
        format_header(header, &mut lines);
    }
    for item in &file.items {
        starts.push((lines.len(), item.span().start));
        format_item(item, &mut lines);
    }

    let comments = comments(text);
    let mut trailing: Vec<Vec<&Comment>> = (0..lines.len()).map(|_| Vec::new()).collect();
    let mut leading: Vec<Vec<&Comment>> = (0..=lines.len()).map(|_| Vec::new()).collect();
    for comment in &comments {
        if comment.trailing {
            // After the line that holds the last code before the comment.
            let target = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.anchor <= comment.offset)
                .max_by_key(|(_, l)| l.anchor)
                .map(|(i, _)| i);
            if let Some(slot) = target.and_then(|index| trailing.get_mut(index)) {
                slot.push(comment);
                continue;
            }
        }
        // Before the line of the first code after the comment.
        let target = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.anchor > comment.offset)
            .min_by_key(|(_, l)| l.anchor)
            .map_or(lines.len(), |(i, _)| i);
        if let Some(slot) = leading.get_mut(target) {
            slot.push(comment);
        }
    }

    let mut out = String::new();
    // Where the previous chunk of output ended in the source.
    let mut last_end: Option<usize> = None;
    let item_start_lines: Vec<usize> = starts.iter().map(|(line, _)| *line).collect();
    let item_ends: Vec<usize> = file
        .header
        .iter()
        .map(|h| h.span.end)
        .chain(file.items.iter().map(|i| i.span().end))
        .collect();
    let mut item_index = 0;
    for index in 0..=lines.len() {
        let starts_item = item_start_lines.get(item_index) == Some(&index);
        let indent = if starts_item || index == lines.len() {
            ""
        } else {
            INDENT
        };
        for comment in leading.get(index).into_iter().flatten() {
            if let Some(end) = last_end {
                if blank_between(text, end, comment.offset) && !out.is_empty() {
                    out.push('\n');
                }
            }
            out.push_str(indent);
            out.push_str(&comment.text);
            out.push('\n');
            last_end = Some(comment.offset + comment.text.len());
        }
        let Some(line) = lines.get(index) else { break };
        if starts_item {
            if let Some(end) = last_end {
                if blank_between(text, end, line.anchor) && !out.is_empty() {
                    out.push('\n');
                }
            }
        }
        out.push_str(&line.text);
        let after = trailing.get(index).map_or(&[][..], Vec::as_slice);
        for comment in after {
            out.push(' ');
            out.push_str(&comment.text);
        }
        out.push('\n');
        if starts_item {
            last_end = item_ends.get(item_index).copied();
            item_index += 1;
        }
        if let Some(comment) = after.last() {
            last_end = Some(
                last_end
                    .unwrap_or(0)
                    .max(comment.offset + comment.text.len()),
            );
        }
    }
    out
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(names: &[Name]) -> String {
    names
        .iter()
        .map(|n| n.node.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_header(header: &Header, lines: &mut Vec<Line>) {
    let keyword = match header.kind {
        HeaderKind::Policy => "policy",
        HeaderKind::Vocabulary => "vocabulary",
    };
    lines.push(Line {
        anchor: header.span.start,
        text: format!("{keyword} {} {{", header.name.node),
    });
    let width = header
        .meta
        .iter()
        .map(|m| m.field.node.len())
        .max()
        .unwrap_or(0);
    for meta in &header.meta {
        let value = if meta.quoted {
            quote(&meta.value.node)
        } else {
            meta.value.node.clone()
        };
        lines.push(Line {
            anchor: meta.field.span.start,
            text: format!("{INDENT}{:width$} {value}", meta.field.node),
        });
    }
    lines.push(Line {
        anchor: header.span.end.saturating_sub(1),
        text: "}".into(),
    });
}

fn format_item(item: &Item, lines: &mut Vec<Line>) {
    let anchor = item.span().start;
    let mut one = |text: String| lines.push(Line { anchor, text });
    match item {
        Item::Use(module) => one(format!("use {}", module.node)),
        Item::Key(decl) => {
            let mut text = format!("{} {}", decl.dimension.keyword(), decl.key.node);
            if !decl.under.is_empty() {
                text.push_str(&format!(" under {}", list(&decl.under)));
            }
            if let Some(class) = &decl.class {
                text.push_str(&format!(" class {}", class.node.as_str()));
            }
            if let Some(description) = &decl.description {
                text.push_str(&format!(" {}", quote(description)));
            }
            one(text);
        }
        Item::Fact(decl) => {
            let ty = match &decl.ty.node {
                FactType::Bool => "bool".to_string(),
                FactType::Int => "int".to_string(),
                FactType::PurposeSet => "set of purpose".to_string(),
                FactType::EnumSet(members) => format!("set of {{ {} }}", list(members)),
            };
            let mut text = format!("fact {}: {ty}", decl.name.node);
            if let Some(default) = &decl.default {
                text.push_str(&format!(" default {}", literal(&default.node)));
            }
            if let Some(description) = &decl.description {
                text.push_str(&format!(" {}", quote(description)));
            }
            one(text);
        }
        Item::Basis(decl) => {
            let mut text = format!("legal_basis {}", decl.name.node);
            if let Some(requires) = &decl.requires {
                text.push_str(&format!(" requires {}", condition(requires, 0)));
            }
            if let Some(description) = &decl.description {
                text.push_str(&format!(" {}", quote(description)));
            }
            one(text);
        }
        Item::Obligation(decl) => {
            let mut text = format!("obligation {}", decl.name.node);
            if let Some(description) = &decl.description {
                text.push_str(&format!(" {}", quote(description)));
            }
            one(text);
        }
        Item::Rule(rule) => format_rule(rule, lines),
    }
}

/// `prefix` followed by the keys, comma-separated, wrapped at `WIDTH`.
fn wrapped(prefix: &str, keys: &[Name]) -> String {
    let mut out = prefix.to_string();
    let mut column = prefix.chars().count();
    let continuation = format!("{INDENT}{INDENT}");
    for (i, key) in keys.iter().enumerate() {
        let last = i + 1 == keys.len();
        let piece = if last {
            key.node.clone()
        } else {
            format!("{},", key.node)
        };
        let width = piece.chars().count();
        if i > 0 && column + 1 + width > WIDTH {
            out.push('\n');
            out.push_str(&continuation);
            column = continuation.len();
        } else if i > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(&piece);
        column += width;
    }
    out
}

fn format_rule(rule: &syntax::Rule, lines: &mut Vec<Line>) {
    let scope = |d: Dimension| rule.scopes[d].as_ref();
    let mut first = rule.effect.node.as_str().to_string();
    if let Some(actions) = scope(Dimension::Action) {
        first.push_str(&format!(" {} of", list(actions)));
    }
    if let Some(data) = scope(Dimension::Data) {
        first = wrapped(&format!("{first} "), data);
    }
    lines.push(Line {
        anchor: rule.span.start,
        text: first,
    });
    let mut clause = |anchor: usize, text: String| {
        lines.push(Line {
            anchor,
            text: format!("{INDENT}{text}"),
        })
    };
    for (dimension, keyword) in [
        (Dimension::Purpose, "for"),
        (Dimension::Recipient, "to"),
        (Dimension::Subject, "about"),
    ] {
        if let Some(keys) = scope(dimension) {
            let anchor = keys.first().map_or(rule.span.start, |k| k.span.start);
            let text = wrapped(&format!("{INDENT}{keyword} "), keys);
            clause(anchor, text.trim_start().to_string());
        }
    }
    if let Some(basis) = &rule.basis {
        clause(basis.span.start, format!("basis {}", basis.node));
    }
    if let Some(when) = &rule.when {
        clause(when.span.start, format!("when {}", condition(when, 0)));
    }
    if let Some(unless) = &rule.unless {
        clause(
            unless.span.start,
            format!("unless {}", condition(unless, 0)),
        );
    }
    if let Some(first) = rule.obligations.first() {
        clause(
            first.span.start,
            format!("oblige {}", list(&rule.obligations)),
        );
    }
    if let Some(cite) = &rule.cite {
        clause(cite.span.start, format!("cite {}", quote(&cite.node)));
    }
}

fn literal(value: &Literal) -> String {
    match value {
        Literal::Bool(b) => b.to_string(),
        Literal::Int(n) => n.to_string(),
        Literal::Set(items) => format!("[{}]", list(items)),
    }
}

/// Binding strength: `or` 1, `and` 2, `not` and atoms 3. A part is put in
/// parentheses when it binds more loosely than its place asks.
fn condition(cond: &Condition, context: u8) -> String {
    let (strength, text) = match &cond.kind {
        ConditionKind::Or(parts) => (
            1,
            parts
                .iter()
                .map(|p| condition(p, 1))
                .collect::<Vec<_>>()
                .join(" or "),
        ),
        ConditionKind::And(parts) => (
            2,
            parts
                .iter()
                .map(|p| condition(p, 2))
                .collect::<Vec<_>>()
                .join(" and "),
        ),
        ConditionKind::Not(inner) => (3, format!("not {}", condition(inner, 3))),
        ConditionKind::Test(fact) => (3, fact.node.clone()),
        ConditionKind::Compare { fact, op, value } => (
            3,
            format!(
                "{} {} {}",
                fact.node,
                op.node.as_str(),
                literal(&value.node)
            ),
        ),
        ConditionKind::Member { fact, args } => (3, format!("{}({})", fact.node, list(args))),
    };
    // A chain inside a chain of the same kind keeps its parentheses, so
    // that the tree reads back exactly as it was.
    if strength < context || (strength == context && strength < 3) {
        format!("({text})")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        format_source(&SourceFile::new("t.privet", text)).expect("parses")
    }

    #[test]
    fn rules_get_one_clause_per_line_in_a_fixed_order() {
        let out = fmt("allow user.contact cite \"§1\" for marketing basis consent to first_party");
        assert_eq!(
            out,
            "allow user.contact\n    for marketing\n    to first_party\n    basis consent\n    cite \"§1\"\n"
        );
    }

    #[test]
    fn long_key_lists_wrap() {
        let keys: Vec<String> = (0..12).map(|i| format!("user.key_number_{i}")).collect();
        let out = fmt(&format!(
            "allow {} for {}",
            keys.join(", "),
            keys.join(", ")
        ));
        assert!(out.lines().all(|l| l.len() <= WIDTH), "{out}");
        assert!(out.contains(",\n        user.key_number_"), "{out}");
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn comments_stay_in_place() {
        let text = "// the header\nuse std // vocabulary\n\n// §1\nallow user // all of it\n    // why\n    cite \"§1\"\n// the end\n";
        let out = fmt(text);
        assert_eq!(out, text);
    }

    #[test]
    fn blank_lines_collapse_to_one() {
        assert_eq!(fmt("use std\n\n\n\nallow user"), "use std\n\nallow user\n");
        assert_eq!(fmt("use std\nallow user"), "use std\nallow user\n");
    }

    #[test]
    fn conditions_keep_only_needed_parentheses() {
        let out = fmt("deny user when ((a and b)) or not (c or d) and e");
        assert_eq!(out, "deny user\n    when a and b or not (c or d) and e\n");
    }

    #[test]
    fn nested_chains_of_the_same_kind_keep_their_parentheses() {
        let out = fmt("deny user when a and (b and c)");
        assert_eq!(out, "deny user\n    when a and (b and c)\n");
    }

    #[test]
    fn strings_with_quotes_and_slashes_survive() {
        let text = "allow user\n    cite \"§1 \\\"quoted\\\" // not a comment\"\n";
        assert_eq!(fmt(text), text);
    }

    #[test]
    fn a_carriage_return_ends_a_comment_as_it_does_for_the_parser() {
        // Found by cargo fuzz (fmt_roundtrip): the formatter read `b` as part
        // of the comment, while the parser reads it as the next key.
        let text = "allow a, // x\rb cite \"c\"";
        let formatted = fmt(text);
        assert!(formatted.contains("allow a, b"), "{formatted:?}");
        assert_eq!(fmt(&formatted), formatted);
        let (_, problems) = syntax::parse(&SourceFile::new("t.privet", formatted.as_str()));
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn formatting_is_idempotent() {
        let text = "policy a.b {title \"T\" updated 2016-12}\nuse std\ndata user.x   class sensitive \"x\"\nfact f : set of {a,b} default [a]\nlegal_basis b requires f(a) or dnt\nallow use,store of user.x for marketing oblige minimize // t\n";
        let once = fmt(text);
        assert_eq!(fmt(&once), once);
        assert!(
            once.starts_with("policy a.b {\n    title   \"T\"\n    updated 2016-12\n}\n"),
            "{once}"
        );
    }
}
