//! Requests: what a service asks, as JSON or built in code, and the same
//! request resolved against a policy's vocabulary.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::compile::{self, CompiledPolicy, FactKind, FactValue, KeyId};
use crate::diagnostics::{Problem, SourceFile, did_you_mean, without_bom};
use crate::syntax::{Class, Dimension, Span};

mod fast;
pub(crate) use fast::resolve_json;

/// A question for a policy: may this data be used for this purpose, by this
/// action, shared with this recipient, about this subject, in this context?
///
/// Absent fields take the defaults of VOCABULARY.md: any purpose, the
/// recipient `first_party`, the action `use` (or `share` for any other
/// recipient), the subject `customer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(deserialize_with = "one_or_many")]
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

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    // Through `Value`, so that JSON syntax errors inside the list keep
    // serde_json's own message.
    let wrong = || {
        serde::de::Error::custom(
            "`data` must be a data category such as \"user.contact.email\" or a list of them",
        )
    };
    match Value::deserialize(deserializer)? {
        Value::String(key) => Ok(vec![key]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(key) => Ok(key),
                _ => Err(wrong()),
            })
            .collect(),
        _ => Err(wrong()),
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

    /// As [`Request::from_json`], naming the source in diagnostics.
    pub fn from_json_named(name: &str, text: &str) -> Result<Request, Problem> {
        let text = without_bom(text);
        // The source is built only for an error: a valid request (the
        // common case, millions of times in a batch) copies nothing.
        let source = || SourceFile::new(name, text);
        let request: Request =
            serde_json::from_str(text).map_err(|error| json_problem(&source(), &error))?;
        if request.data.is_empty() {
            let span = find_value(text, "data").unwrap_or_default();
            return Err(
                Problem::error("privet::empty_data", "`data` is an empty list")
                    .at(&source(), span, "no data categories")
                    .with_help("name at least one data category, such as \"user.contact.email\""),
            );
        }
        Ok(request)
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
    let unknown_field = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    // serde names the fields it knows ("expected one of `data`, ..."), so
    // the suggestion follows the request type without a list of its own.
    let known_fields = message
        .split_once("expected one of ")
        .map(|(_, list)| list.split(", ").map(|f| f.trim_matches('`')));
    let help = if let Some(suggestion) = unknown_field
        .zip(known_fields)
        .and_then(|(field, known)| crate::diagnostics::did_you_mean(field, known))
    {
        Some(suggestion)
    } else if message.contains("missing field `data`") {
        Some("every request names its data: {\"data\": [\"user.contact.email\"], ...}".into())
    } else if error.is_syntax() || error.is_eof() {
        Some("a request is one JSON object".into())
    } else {
        None
    };
    let end = source
        .text
        .get(offset..)
        .and_then(|rest| rest.chars().next())
        .map_or(offset, |c| offset + c.len_utf8());
    // serde_json places an unknown field at its last character; label the
    // whole name instead.
    let span = unknown_field
        .and_then(|field| find_string(&source.text, field))
        .unwrap_or(Span::new(offset, end));
    Problem::error(
        "privet::invalid_request",
        format!("invalid request: {message}"),
    )
    .at(source, span, "here")
    .with_help_opt(help)
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

/// Where `"field": value` is written, to label errors about the value.
fn find_value(text: &str, field: &str) -> Option<Span> {
    let needle = format!("\"{field}\"");
    let start = text.find(&needle)?;
    Some(Span::new(start, start + needle.len()))
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
/// the request came from, so errors can point into it.
pub fn resolve(
    policy: &CompiledPolicy,
    request: &Request,
    source: Option<&SourceFile>,
) -> Result<ResolvedRequest, Problem> {
    let locate = |problem: Problem, value: &str| -> Problem {
        match source.and_then(|s| find_string(&s.text, value).map(|span| (s, span))) {
            Some((source, span)) => problem.at(source, span, "here"),
            None => problem,
        }
    };
    let key = |dimension: Dimension, value: &str| -> Result<KeyId, Problem> {
        policy.taxonomy(dimension).id(value).ok_or_else(|| {
            locate(
                compile::unknown_key(dimension, value, &policy.taxonomies),
                value,
            )
        })
    };
    if request.data.is_empty() {
        return Err(
            Problem::error("privet::empty_data", "`data` is an empty list")
                .with_help("name at least one data category, such as \"user.contact.email\""),
        );
    }
    let mut data = Vec::with_capacity(request.data.len());
    for item in &request.data {
        data.push(key(Dimension::Data, item)?);
    }
    let purpose = request
        .purpose
        .as_deref()
        .map(|p| key(Dimension::Purpose, p))
        .transpose()?;
    let recipient = key(
        Dimension::Recipient,
        request.recipient.as_deref().unwrap_or("first_party"),
    )?;
    let action = key(
        Dimension::Action,
        request
            .action
            .as_deref()
            .unwrap_or(default_action(request.recipient.as_deref())),
    )?;
    let subject = key(
        Dimension::Subject,
        request.subject.as_deref().unwrap_or("customer"),
    )?;

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
            return Err(locate(problem, name));
        };
        let Some(def) = policy.facts.get(id as usize) else {
            continue;
        };
        let resolved = fact_value(policy, &def.kind, value).map_err(|message| {
            locate(
                Problem::error(
                    "privet::fact_type",
                    format!(
                        "the fact `{name}` must be {}: {message}",
                        def.kind.describe()
                    ),
                )
                .with_help(example_value(&def.kind, name)),
                name,
            )
        })?;
        if let Some(slot) = facts.get_mut(id as usize) {
            *slot = Some(resolved);
        }
    }
    Ok(finish(
        policy, data, purpose, recipient, action, subject, facts,
    ))
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
    let got = || match value {
        Value::Null => "got null".to_string(),
        Value::Bool(b) => format!("got {b}"),
        Value::Number(n) => format!("got {n}"),
        Value::String(s) => format!(
            "got the string {}",
            serde_json::to_string(s).unwrap_or_default()
        ),
        Value::Array(_) => "got a list".to_string(),
        Value::Object(_) => "got an object".to_string(),
    };
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
