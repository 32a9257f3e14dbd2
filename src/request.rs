//! Requests: what a service asks, as JSON or built in code, and the same
//! request resolved against a policy's vocabulary.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::compile::{self, CompiledPolicy, FactKind, FactValue, KeyId};
use crate::diagnostics::{Problem, SourceFile, did_you_mean, without_bom};
use crate::policy::Error;
use crate::syntax::{Class, Dimension, Span};

mod fast;
pub(crate) use fast::resolve_json;

/// A question for a policy: may this data be used for this purpose, by this
/// action, shared with this recipient, about this subject, in this context?
///
/// Absent fields take the defaults of VOCABULARY.md: any purpose, the
/// recipient `first_party`, the action `use` (or `share` for any other
/// recipient), the subject `customer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Request {
    /// What the caller calls this request, echoed in the answer to it so
    /// that answers need not be matched to questions by their order
    /// (DESIGN.md §3). Never decided on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    pub data: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
}

/// A request's `id`: a string or a number, written back as it was given.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RequestId {
    Name(String),
    Number(serde_json::Number),
}

impl RequestId {
    fn from_json(value: Value) -> Result<RequestId, Value> {
        match value {
            Value::String(name) => Ok(RequestId::Name(name)),
            Value::Number(number) => Ok(RequestId::Number(number)),
            other => Err(other),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RequestId::from_json(Value::deserialize(deserializer)?)
            .map_err(|_| de::Error::custom("`id` must be a string or a number"))
    }
}

/// The fields of request JSON.
const FIELDS: [&str; 7] = [
    "id",
    "data",
    "purpose",
    "recipient",
    "action",
    "subject",
    "context",
];

/// What can be wrong in a request's JSON once it is JSON.
#[derive(Debug)]
enum Wrong {
    UnknownField(String),
    Twice(&'static str),
    /// A field's value is not what the field holds.
    Value {
        field: &'static str,
        must_be: &'static str,
        got: String,
    },
    MissingData,
    EmptyData,
}

impl Wrong {
    fn message(&self) -> String {
        match self {
            Wrong::UnknownField(field) => format!(
                "invalid request: unknown field `{field}`, expected one of {}",
                FIELDS.map(|f| format!("`{f}`")).join(", ")
            ),
            Wrong::Twice(field) => format!("invalid request: duplicate field `{field}`"),
            Wrong::Value {
                field,
                must_be,
                got,
            } => format!("invalid request: `{field}` must be {must_be}: {got}"),
            Wrong::MissingData => "invalid request: missing field `data`".into(),
            Wrong::EmptyData => "`data` is an empty list".into(),
        }
    }

    /// The problem, located in `source`, the request's text.
    fn problem(&self, source: &SourceFile) -> Problem {
        let text = &source.text;
        let whole = Span::new(0, text.chars().next().map_or(0, char::len_utf8));
        let (code, span, label, help) = match self {
            Wrong::UnknownField(field) => (
                "privet::invalid_request",
                find_field(text, field, 0),
                "unknown field",
                did_you_mean(field, FIELDS)
                    .unwrap_or_else(|| "remove it: a field privet does not know is never ignored".into()),
            ),
            Wrong::Twice(field) => (
                "privet::invalid_request",
                find_field(text, field, 1),
                "given again",
                "give each field once".into(),
            ),
            Wrong::Value { field, .. } => (
                "privet::invalid_request",
                find_field(text, field, 0),
                "this field",
                match *field {
                    "id" => "write \"id\": \"a1\" or \"id\": 1".into(),
                    "data" => "write \"data\": \"user.contact.email\" or \"data\": [\"user.name\", \"user.contact\"]".into(),
                    "context" => "write the facts as an object: \"context\": {\"subject_age\": 34}".into(),
                    _ => format!("write \"{field}\": \"...\" with a key of the vocabulary, or leave it out"),
                },
            ),
            Wrong::MissingData => (
                "privet::invalid_request",
                None,
                "this request",
                "every request names its data: {\"data\": [\"user.contact.email\"], ...}".into(),
            ),
            Wrong::EmptyData => (
                "privet::empty_data",
                find_field(text, "data", 0),
                "no data categories",
                "name at least one data category, such as \"user.contact.email\"".into(),
            ),
        };
        Problem::error(code, self.message())
            .at(source, span.unwrap_or(whole), label)
            .with_help(help)
    }
}

/// A request read field by field, and everything wrong with it: each field
/// is read on its own, so one reading finds every problem.
struct Reading {
    request: Request,
    wrong: Vec<Wrong>,
}

impl<'de> Deserialize<'de> for Reading {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ReadingVisitor)
    }
}

struct ReadingVisitor;

impl<'de> Visitor<'de> for ReadingVisitor {
    type Value = Reading;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a request, a JSON object such as {\"data\": [\"user.contact.email\"]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Reading, A::Error> {
        let mut request = Request::default();
        let mut wrong = Vec::new();
        let mut seen = [false; FIELDS.len()];
        while let Some(name) = map.next_key::<String>()? {
            let Some(index) = FIELDS.iter().position(|f| *f == name) else {
                wrong.push(Wrong::UnknownField(name));
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let (field, was_seen) = match (FIELDS.get(index), seen.get_mut(index)) {
                (Some(field), Some(seen)) => (*field, std::mem::replace(seen, true)),
                _ => continue,
            };
            if was_seen {
                wrong.push(Wrong::Twice(field));
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: Value = map.next_value()?;
            let must_be = |must_be: &'static str, got: &Value| Wrong::Value {
                field,
                must_be,
                got: describe(got),
            };
            match field {
                "id" => match value {
                    Value::Null => {}
                    value => match RequestId::from_json(value) {
                        Ok(id) => request.id = Some(id),
                        Err(other) => wrong.push(must_be("a string or a number", &other)),
                    },
                },
                "data" => {
                    const DATA: &str =
                        "a data category such as \"user.contact.email\" or a list of them";
                    let items = match value {
                        Value::String(key) => vec![Value::String(key)],
                        Value::Array(items) if items.is_empty() => {
                            wrong.push(Wrong::EmptyData);
                            Vec::new()
                        }
                        Value::Array(items) => items,
                        other => {
                            wrong.push(must_be(DATA, &other));
                            Vec::new()
                        }
                    };
                    for item in items {
                        match item {
                            Value::String(key) => request.data.push(key),
                            other => wrong.push(must_be(DATA, &other)),
                        }
                    }
                }
                "context" => match value {
                    Value::Object(facts) => request.context = facts,
                    other => wrong.push(must_be("an object of facts", &other)),
                },
                _ => {
                    let (slot, a_key) = match field {
                        "purpose" => (&mut request.purpose, "a purpose such as \"marketing\""),
                        "recipient" => (
                            &mut request.recipient,
                            "a recipient such as \"first_party\"",
                        ),
                        "action" => (&mut request.action, "an action such as \"use\""),
                        _ => (&mut request.subject, "a data subject such as \"customer\""),
                    };
                    match value {
                        Value::String(key) => *slot = Some(key),
                        Value::Null => {}
                        other => wrong.push(must_be(a_key, &other)),
                    }
                }
            }
        }
        if !seen.get(1).copied().unwrap_or(false) {
            wrong.push(Wrong::MissingData);
        }
        Ok(Reading { request, wrong })
    }
}

impl<'de> Deserialize<'de> for Request {
    /// Fails with the first problem; [`Request::from_json`] locates it,
    /// [`crate::Policy::read_request`] reports every one.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let reading = Reading::deserialize(deserializer)?;
        match reading.wrong.first() {
            Some(wrong) => Err(de::Error::custom(wrong.message())),
            None => Ok(reading.request),
        }
    }
}

/// A JSON value in words, for "... must be ...: got ..." messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "got null".to_string(),
        Value::Bool(b) => format!("got {b}"),
        Value::Number(n) => format!("got {n}"),
        Value::String(s) => format!(
            "got the string {}",
            serde_json::to_string(s).unwrap_or_default()
        ),
        Value::Array(_) => "got a list".to_string(),
        Value::Object(_) => "got an object".to_string(),
    }
}

impl Request {
    /// A request about these data categories, with every other field absent.
    pub fn new<I, S>(data: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Request {
            data: data.into_iter().map(Into::into).collect(),
            ..Request::default()
        }
    }

    pub fn id(mut self, id: RequestId) -> Self {
        self.id = Some(id);
        self
    }

    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    pub fn recipient(mut self, recipient: impl Into<String>) -> Self {
        self.recipient = Some(recipient.into());
        self
    }

    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Set a context fact: `.fact("subject_age", 34)`, `.fact("dnt", true)`,
    /// `.fact("consent", ["marketing"])`.
    pub fn fact(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.context.insert(name.into(), value.into());
        self
    }

    /// Parse a request from JSON. Errors point into `text`.
    pub fn from_json(text: &str) -> Result<Request, Problem> {
        Self::from_json_named("request", text)
    }

    /// As [`Request::from_json`], naming the source in diagnostics. The
    /// error is the first problem of the JSON; [`crate::Policy::read_request`]
    /// reports every problem, and those of the request's keys and facts.
    pub fn from_json_named(name: &str, text: &str) -> Result<Request, Problem> {
        let (request, problems) = read(name, text);
        match (request, problems.into_iter().next()) {
            (Some(request), None) => Ok(request),
            (_, Some(problem)) => Err(problem),
            (None, None) => Err(Problem::error(
                "privet::invalid_request",
                "invalid request: it could not be read",
            )),
        }
    }
}

/// Request JSON read as far as it can be, with every problem of its JSON:
/// `None` when it is not JSON, or not an object.
fn read(name: &str, text: &str) -> (Option<Request>, Vec<Problem>) {
    let text = without_bom(text);
    // The source is built only for an error: a valid request (the
    // common case, millions of times in a batch) copies nothing.
    let source = || SourceFile::new(name, text);
    match serde_json::from_str::<Reading>(text) {
        Ok(Reading { request, wrong }) if wrong.is_empty() => (Some(request), Vec::new()),
        Ok(Reading { request, wrong }) => {
            let source = source();
            let problems = wrong.iter().map(|w| w.problem(&source)).collect();
            (Some(request), problems)
        }
        Err(error) => (None, vec![json_problem(&source(), &error)]),
    }
}

/// Request JSON read and resolved against one policy, for a front-end that
/// answers it: the request as far as it was read (its `id` and its words),
/// and its resolution, or every problem of its JSON, keys and facts at once.
#[derive(Debug)]
pub struct ReadRequest {
    /// `None` when the text is not a JSON object.
    pub request: Option<Request>,
    pub resolved: Result<ResolvedRequest, Error>,
}

/// See [`crate::Policy::read_request`].
pub(crate) fn read_and_resolve(policy: &CompiledPolicy, name: &str, text: &str) -> ReadRequest {
    let (request, mut problems) = read(name, text);
    let Some(request) = request else {
        return ReadRequest {
            request: None,
            resolved: Err(Error::request(problems)),
        };
    };
    let resolved = match resolve_parts(policy, &request, None) {
        Ok(resolved) if problems.is_empty() => Ok(resolved),
        // Resolved again, only now that there are errors, to locate them.
        _ => {
            let source = SourceFile::new(name, text);
            if let Err(more) = resolve_parts(policy, &request, Some(&source)) {
                problems.extend(more);
            }
            // In the order of the text, as a reader meets them.
            problems.sort_by_key(|problem| problem.span.map(|span| span.start));
            Err(Error::request(problems))
        }
    };
    ReadRequest {
        request: Some(request),
        resolved,
    }
}

fn json_problem(source: &SourceFile, error: &serde_json::Error) -> Problem {
    let offset = offset_of(&source.text, error.line(), error.column());
    let message = error.to_string();
    // serde_json appends " at line L column C"; the label shows the place.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(head, _)| head)
        .to_string();
    let help = if error.is_syntax() || error.is_eof() {
        "a request is one JSON object"
    } else {
        "a request is one JSON object: {\"data\": [\"user.contact.email\"], ...}"
    };
    let end = source
        .text
        .get(offset..)
        .and_then(|rest| rest.chars().next())
        .map_or(offset, |c| offset + c.len_utf8());
    Problem::error(
        "privet::invalid_request",
        format!("invalid request: {message}"),
    )
    .at(source, Span::new(offset, end), "here")
    .with_help(help)
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let at = line_start + column.saturating_sub(1);
    let mut at = at.min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Where the name of `field` is written as a key (`"field":`), after
/// `skip` earlier times: errors about a field are labelled on its name.
fn find_field(text: &str, field: &str, skip: usize) -> Option<Span> {
    let needle = serde_json::to_string(field).ok()?;
    text.match_indices(&needle)
        .map(|(start, _)| Span::new(start, start + needle.len()))
        .filter(|span| {
            text.get(span.end..)
                .is_some_and(|after| after.trim_start().starts_with(':'))
        })
        .nth(skip)
}

fn find_string(text: &str, value: &str) -> Option<Span> {
    let needle = serde_json::to_string(value).ok()?;
    let start = text.find(&needle)?;
    Some(Span::new(start, start + needle.len()))
}

/// A request whose keys and facts were checked against one policy: what
/// the evaluator reads. Resolving once and deciding many times skips the
/// string look-ups.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedRequest {
    pub data: Vec<KeyId>,
    /// `None`: any purpose.
    pub purpose: Option<KeyId>,
    pub recipient: KeyId,
    pub action: KeyId,
    pub subject: KeyId,
    /// One entry per policy fact; `None` is unknown.
    pub facts: Vec<Option<FactValue>>,
    /// The request's combined class: the highest among its data items.
    pub class: Class,
}

impl ResolvedRequest {
    /// Writes into `key` (cleared first) everything of this request that
    /// `policy` decides on: its keys, and of each fact only what the
    /// policy's conditions can tell apart ([`compile::FactRegions`]: an age
    /// of 30 or 40 where the policy asks only `< 13`, the purposes a
    /// consent covers rather than how they were listed). Two requests with
    /// equal keys get the same decision, to the last reason and hint, so a
    /// decision can be kept under its key and reused.
    pub fn decision_key(&self, policy: &CompiledPolicy, key: &mut Vec<u64>) {
        key.clear();
        key.push(self.data.len() as u64);
        key.extend(self.data.iter().map(|&d| u64::from(d)));
        key.push(self.purpose.map_or(0, |p| u64::from(p) + 1));
        key.extend([self.recipient, self.action, self.subject].map(u64::from));
        let no_regions = compile::FactRegions::default();
        for (id, value) in self.facts.iter().enumerate() {
            // A fact the policy does not know (a request resolved against
            // another policy) is keyed as it is.
            let regions = policy.regions.get(id).unwrap_or(&no_regions);
            regions.push_key(value.as_ref(), key);
        }
    }
}

/// Resolve `request` against `policy`; `source`, when given, is the JSON
/// the request came from, so errors can point into it. Every unknown key
/// and fact, and every fact of the wrong type, is reported.
pub fn resolve(
    policy: &CompiledPolicy,
    request: &Request,
    source: Option<&SourceFile>,
) -> Result<ResolvedRequest, Vec<Problem>> {
    if request.data.is_empty() {
        // A request built in code; request JSON without data fails reading.
        return Err(vec![
            Problem::error("privet::empty_data", "`data` is an empty list")
                .with_help("name at least one data category, such as \"user.contact.email\""),
        ]);
    }
    resolve_parts(policy, request, source)
}

/// [`resolve`], but for an empty `data`, which reading reports.
fn resolve_parts(
    policy: &CompiledPolicy,
    request: &Request,
    source: Option<&SourceFile>,
) -> Result<ResolvedRequest, Vec<Problem>> {
    let mut problems = Vec::new();
    let locate = |problem: Problem, value: &str| -> Problem {
        match source.and_then(|s| find_string(&s.text, value).map(|span| (s, span))) {
            Some((source, span)) => problem.at(source, span, "here"),
            None => problem,
        }
    };
    let mut key = |dimension: Dimension, value: &str| -> Option<KeyId> {
        let id = policy.taxonomy(dimension).id(value);
        if id.is_none() {
            problems.push(locate(
                compile::unknown_key(dimension, value, &policy.taxonomies),
                value,
            ));
        }
        id
    };
    let data: Vec<Option<KeyId>> = request
        .data
        .iter()
        .map(|item| key(Dimension::Data, item))
        .collect();
    let purpose = match request.purpose.as_deref() {
        Some(purpose) => key(Dimension::Purpose, purpose).map(Some),
        None => Some(None),
    };
    let recipient = key(
        Dimension::Recipient,
        request.recipient.as_deref().unwrap_or("first_party"),
    );
    let action = key(
        Dimension::Action,
        request
            .action
            .as_deref()
            .unwrap_or(default_action(request.recipient.as_deref())),
    );
    let subject = key(
        Dimension::Subject,
        request.subject.as_deref().unwrap_or("customer"),
    );

    let mut facts = default_facts(policy);
    for (name, value) in &request.context {
        let Some(id) = policy.fact(name) else {
            let problem = Problem::error(
                "privet::unknown_fact",
                format!("unknown fact `{name}` in the context"),
            )
            .with_help(
                did_you_mean(name, policy.facts.iter().map(|f| &*f.name)).unwrap_or_else(|| {
                    format!(
                        "the facts this policy knows are {}",
                        policy
                            .facts
                            .iter()
                            .map(|f| format!("`{}`", f.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            );
            problems.push(locate(problem, name));
            continue;
        };
        let Some(def) = policy.facts.get(id as usize) else {
            continue;
        };
        match fact_value(policy, &def.kind, value) {
            Ok(resolved) => {
                if let Some(slot) = facts.get_mut(id as usize) {
                    *slot = Some(resolved);
                }
            }
            Err(message) => problems.push(locate(
                Problem::error(
                    "privet::fact_type",
                    format!(
                        "the fact `{name}` must be {}: {message}",
                        def.kind.describe()
                    ),
                )
                .with_help(example_value(&def.kind, name)),
                name,
            )),
        }
    }
    let data: Option<Vec<KeyId>> = data.into_iter().collect();
    match (data, purpose, recipient, action, subject) {
        (Some(data), Some(purpose), Some(recipient), Some(action), Some(subject))
            if problems.is_empty() =>
        {
            Ok(finish(
                policy, data, purpose, recipient, action, subject, facts,
            ))
        }
        _ => Err(problems),
    }
}

/// The action a request that names none is taken to ask about: `use` by
/// the controller itself, `share` with anyone else.
fn default_action(recipient: Option<&str>) -> &'static str {
    if recipient.is_none_or(|r| r == "first_party") {
        "use"
    } else {
        "share"
    }
}

/// Every fact of `policy` at its default: unknown where it has none.
fn default_facts(policy: &CompiledPolicy) -> Vec<Option<FactValue>> {
    policy.facts.iter().map(|f| f.default.clone()).collect()
}

/// A request of resolved parts, at the combined class of its data.
fn finish(
    policy: &CompiledPolicy,
    data: Vec<KeyId>,
    purpose: Option<KeyId>,
    recipient: KeyId,
    action: KeyId,
    subject: KeyId,
    facts: Vec<Option<FactValue>>,
) -> ResolvedRequest {
    let taxonomy = policy.taxonomy(Dimension::Data);
    let class = data
        .iter()
        .map(|&id| taxonomy.class(id))
        .max()
        .unwrap_or(Class::NonPersonal);
    ResolvedRequest {
        data,
        purpose,
        recipient,
        action,
        subject,
        facts,
        class,
    }
}

fn fact_value(
    policy: &CompiledPolicy,
    kind: &FactKind,
    value: &Value,
) -> Result<FactValue, String> {
    let got = || describe(value);
    match (kind, value) {
        (FactKind::Bool, Value::Bool(b)) => Ok(FactValue::Bool(*b)),
        (FactKind::Int, Value::Number(n)) => n.as_i64().map(FactValue::Int).ok_or_else(got),
        (FactKind::PurposeSet | FactKind::EnumSet(_), Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => names.push(s.as_str()),
                    _ => return Err("every item of the list must be a string".into()),
                }
            }
            match kind {
                FactKind::EnumSet(members) => compile::member_set(names.into_iter(), members),
                _ => compile::purpose_set(names.into_iter(), policy.taxonomy(Dimension::Purpose)),
            }
        }
        _ => Err(got()),
    }
}

fn example_value(kind: &FactKind, name: &str) -> String {
    match kind {
        FactKind::Bool => format!("write \"{name}\": true or \"{name}\": false"),
        FactKind::Int => format!("write a whole number, such as \"{name}\": 34"),
        FactKind::PurposeSet => {
            format!("write a list of purposes, such as \"{name}\": [\"marketing\"]")
        }
        FactKind::EnumSet(members) => format!(
            "write a list, such as \"{name}\": [\"{}\"]",
            members.first().map_or("", |m| m)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_may_be_one_key_or_a_list() {
        let one = Request::from_json(r#"{"data": "user.contact.email"}"#).expect("valid");
        let many = Request::from_json(r#"{"data": ["user.contact.email"]}"#).expect("valid");
        assert_eq!(one, many);
    }

    #[test]
    fn unknown_fields_are_errors() {
        let problem = Request::from_json(r#"{"data": "user", "purpse": "marketing"}"#)
            .expect_err("unknown field");
        assert!(
            problem.message.contains("unknown field `purpse`"),
            "{}",
            problem.message
        );
        let (_, line, column) = problem.location().expect("located");
        assert_eq!((line, column), (1, 18));
        assert_eq!(problem.help.as_deref(), Some("did you mean `purpose`?"));
    }

    #[test]
    fn empty_data_is_an_error() {
        let problem = Request::from_json(r#"{"data": []}"#).expect_err("empty");
        assert_eq!(problem.code, "privet::empty_data");
    }

    #[test]
    fn missing_data_is_an_error() {
        let problem = Request::from_json(r#"{"purpose": "marketing"}"#).expect_err("missing");
        assert!(problem.message.contains("missing field `data`"));
    }

    #[test]
    fn malformed_json_is_located() {
        let problem = Request::from_json("{\"data\": [\"user\",\n]}").expect_err("trailing comma");
        assert_eq!(problem.location().map(|(_, line, _)| line), Some(2));
    }

    #[test]
    fn builder_matches_json() {
        let built = Request::new(["user.contact.email"])
            .purpose("marketing")
            .fact("subject_age", 34)
            .fact("consent", vec!["marketing"]);
        let parsed = Request::from_json(
            r#"{"data": ["user.contact.email"], "purpose": "marketing",
                "context": {"subject_age": 34, "consent": ["marketing"]}}"#,
        )
        .expect("valid");
        assert_eq!(built, parsed);
    }
}
