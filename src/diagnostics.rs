//! Every problem a user can cause, from any stage, is a [`Problem`]: a
//! message, a code, the file and span it is about, and help. The CLI renders
//! them with miette or as JSON; the library returns them in [`Problems`].

use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, Severity, SourceCode, SourceSpan,
    SpanContents,
};
use serde::Serialize;

use crate::limits::MAX_SUGGESTION_INPUT;
use crate::syntax::Span;

/// One source file: its name as the user gave it, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: Arc<str>,
    pub text: Arc<str>,
    /// Where lines start, built on first use and shared by clones: the
    /// compiler locates every rule, and counting newlines from the start of
    /// the file each time would be quadratic in its rules.
    lines: Arc<OnceLock<Lines>>,
}

#[derive(Debug)]
struct Lines {
    /// Byte offsets where lines start (after each `\n`).
    starts: Vec<usize>,
    /// Whether a `\r` ends a line on its own somewhere: miette counts it as
    /// a line break and `starts` does not.
    lone_cr: bool,
}

impl SourceFile {
    /// A leading byte-order mark is dropped (see [`without_bom`]), so spans
    /// index the text every stage reads.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        let text: Arc<str> = text.into();
        let text = if text.starts_with('\u{feff}') {
            Arc::from(without_bom(&text))
        } else {
            text
        };
        SourceFile {
            name,
            text,
            lines: Arc::default(),
        }
    }

    fn lines(&self) -> &Lines {
        self.lines.get_or_init(|| {
            let text: &str = &self.text;
            Lines {
                starts: std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                    .collect(),
                lone_cr: text
                    .match_indices('\r')
                    .any(|(i, _)| text.as_bytes().get(i + 1) != Some(&b'\n')),
            }
        })
    }

    /// 0-based line of a byte offset (counting `\n`s before it).
    fn line_index(&self, offset: usize) -> usize {
        let text: &str = &self.text;
        let offset = floor_char_boundary(text, offset.min(text.len()));
        // The last line starting at or before the offset; 0 always does.
        self.lines()
            .starts
            .partition_point(|&start| start <= offset)
            .max(1)
            - 1
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text: &str = &self.text;
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_index(offset) + 1;
        let line_start = self.lines().starts.get(line - 1).copied().unwrap_or(0);
        let column = text
            .get(line_start..offset)
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        (line, column)
    }
}

/// miette draws a span by scanning the text from its start to the span, so
/// drawing every finding of a long file that way is quadratic in its length
/// (minutes for 10,000 rules). This hands miette the text from a line just
/// above the context it asks for, and moves the answer back into place:
/// the same contents, read in time proportional to the window.
impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // miette indexes past the end of the text for a span beyond it;
        // no span of ours is, but a reader of spans never panics.
        if span.offset().saturating_add(span.len()) > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let lines = self.lines();
        // A lone `\r` is a line break to miette, not to `starts`: such a
        // (rare) file is scanned whole, as miette would.
        let first_line = if lines.lone_cr {
            0
        } else {
            self.line_index(span.offset())
                .saturating_sub(context_lines_before + 1)
        };
        let window_start = lines.starts.get(first_line).copied().unwrap_or(0);
        let window = self.text.as_bytes().get(window_start..).unwrap_or_default();
        let inner = SourceSpan::new(
            span.offset().saturating_sub(window_start).into(),
            span.len(),
        );
        let contents = window.read_span(&inner, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            contents.data(),
            SourceSpan::new(
                (contents.span().offset() + window_start).into(),
                contents.span().len(),
            ),
            contents.line() + first_line,
            contents.column(),
            contents.line_count() + first_line,
        )))
    }
}

/// `text` without a leading U+FEFF. Editors on Windows begin UTF-8 files
/// with it; it marks the encoding and is no character of a policy or a
/// request, so it is accepted and dropped rather than reported as an
/// invisible "unexpected" character.
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A problem found in a policy or a request.
#[derive(Debug, Clone)]
pub struct Problem {
    pub severity: Severity,
    /// A stable, greppable code such as `privet::unknown_key`.
    pub code: &'static str,
    pub message: String,
    /// The file the problem is in, when it is in one.
    pub source: Option<SourceFile>,
    pub span: Option<Span>,
    pub label: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            code,
            message: message.into(),
            source: None,
            span: None,
            label: String::new(),
            help: None,
        }
    }

    pub fn at(mut self, source: &SourceFile, span: Span, label: impl Into<String>) -> Self {
        self.source = Some(source.clone());
        self.span = Some(span);
        self.label = label.into();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` of the problem, when it has a place.
    pub fn location(&self) -> Option<(Arc<str>, usize, usize)> {
        let source = self.source.as_ref()?;
        let (line, column) = source.line_col(self.span?.start);
        Some((source.name.clone(), line, column))
    }

    /// The problem as the JSON object `--format json` prints.
    pub fn to_json(&self) -> ProblemJson {
        let location = self.location();
        ProblemJson {
            severity: match self.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Advice => "advice",
            },
            code: self.code,
            message: self.message.clone(),
            file: location.as_ref().map(|(file, _, _)| file.to_string()),
            line: location.as_ref().map(|(_, line, _)| *line),
            column: location.as_ref().map(|(_, _, column)| *column),
            label: (!self.label.is_empty()).then(|| self.label.clone()),
            help: self.help.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProblemJson {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        let label = (!self.label.is_empty()).then(|| self.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new(
            label,
            span.start,
            span.end.saturating_sub(span.start),
        ))))
    }
}

/// Render problems as miette draws them, without colour, at a fixed width.
/// Used for `--color never`, for snapshots and wherever output is not a terminal.
pub fn render_plain(problems: &[Problem], width: usize) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(width);
    render_with(&handler, problems)
}

/// Render problems for a terminal, in colour.
pub fn render_colour(problems: &[Problem], width: usize) -> String {
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode())
        .with_width(width);
    render_with(&handler, problems)
}

fn render_with(handler: &miette::GraphicalReportHandler, problems: &[Problem]) -> String {
    let mut out = String::new();
    for problem in problems {
        if handler.render_report(&mut out, problem).is_err() {
            out.push_str(&problem.message);
            out.push('\n');
        }
    }
    out
}

/// All the problems found in one run, errors and warnings.
#[derive(Debug, Clone, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Problem::is_error)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.0.iter().filter(|p| p.is_error()).count();
        match self.0.first() {
            Some(first) if errors <= 1 => {
                if let Some((file, line, column)) = first.location() {
                    write!(f, "{file}:{line}:{column}: {}", first.message)
                } else {
                    f.write_str(&first.message)
                }
            }
            Some(first) => write!(f, "{errors} errors, the first: {}", first.message),
            None => f.write_str("no problems"),
        }
    }
}

impl std::error::Error for Problems {}

/// The candidate closest to `word`, for "did you mean" help.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Edit distance is quadratic: a hostile megabyte-long name gets no
    // suggestion rather than a minute of work.
    if word.len() > MAX_SUGGESTION_INPUT {
        return None;
    }
    let mut best: Option<(&str, f64)> = None;
    for candidate in candidates {
        let score = if candidate.rsplit('.').next() == Some(word) && candidate != word {
            // `email` for `user.contact.email`: the user wrote the leaf alone.
            0.95
        } else if word.len() >= 3 && strsim::damerau_levenshtein(word, candidate) == 1 {
            // One slip in a short name (`dnd` for `dnt`) is still a slip.
            0.9
        } else {
            strsim::normalized_damerau_levenshtein(word, candidate)
        };
        if score >= 0.7 && best.is_none_or(|(_, best_score)| score > best_score) {
            best = Some((candidate, score));
        }
    }
    best.map(|(candidate, _)| candidate)
}

/// "did you mean `x`?" when something is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Line and column by counting from the start: slow, plainly right.
    fn counted(text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    #[test]
    fn a_span_past_the_end_is_refused_not_read() {
        // Found by the property below in CI: miette's own reader indexed
        // past the end of a file with a lone `\r` for this span.
        let text = "a\r\n\r\n   é \r\n\r\n é\n\r\naaa\né\n\n\rz\n";
        let source = SourceFile::new("t.privet", text);
        let span = SourceSpan::new(33.into(), 0);
        assert!(text.len() < 33);
        assert!(source.read_span(&span, 0, 0).is_err());
        let at_end = SourceSpan::new(text.len().into(), 0);
        assert!(source.read_span(&at_end, 0, 0).is_ok());
    }

    proptest! {
        #[test]
        fn windowed_spans_read_as_miette_reads_the_whole_text(
            text in "(a|é|\n|\r\n| ){0,40}",
            lone_cr in proptest::bool::ANY,
            offset in 0usize..60,
            len in 0usize..12,
            before in 0usize..4,
            after in 0usize..4,
        ) {
            let text = if lone_cr { format!("{text}\rz\n") } else { text };
            let source = SourceFile::new("t.privet", text.as_str());
            let whole = miette::NamedSource::new("t.privet", text.clone());
            let span = SourceSpan::new(offset.into(), len);
            let ours = source.read_span(&span, before, after);
            // miette itself may panic on a span past the end: ours refuses it.
            if offset + len > text.len() {
                prop_assert!(ours.is_err());
                return Ok(());
            }
            let theirs = whole.read_span(&span, before, after);
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => {
                    prop_assert_eq!(ours.data(), theirs.data());
                    prop_assert_eq!(ours.span(), theirs.span());
                    prop_assert_eq!(ours.line(), theirs.line());
                    prop_assert_eq!(ours.column(), theirs.column());
                    prop_assert_eq!(ours.line_count(), theirs.line_count());
                    prop_assert_eq!(ours.name(), theirs.name());
                }
                (ours, theirs) => prop_assert_eq!(ours.is_err(), theirs.is_err()),
            }
        }

        #[test]
        fn line_table_agrees_with_counting(
            text in "(a|é|\n|\r\n| ){0,40}",
            offsets in proptest::collection::vec(0usize..60, 1..8),
        ) {
            let source = SourceFile::new("t.privet", text.as_str());
            for offset in offsets {
                prop_assert_eq!(source.line_col(offset), counted(&text, offset));
            }
        }
    }

    #[test]
    fn lines_and_columns_count_from_one_in_characters() {
        let source = SourceFile::new("t.privet", "ab\né x\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(3), (2, 1));
        // `x` is at byte 6, the third character of line 2.
        assert_eq!(source.line_col(6), (2, 3));
        assert_eq!(source.line_col(99), (3, 1));
    }
}
