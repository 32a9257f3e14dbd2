//! Request JSON resolved as it is read, for batches.
//!
//! [`Request::from_json`](super::Request::from_json) followed by
//! [`resolve`](super::resolve) copies every string into a `Request` and
//! every context value into a map before looking anything up; for a batch
//! of millions of lines that reading is most of the cost. This reads the
//! same JSON straight into key ids, borrowing its strings, and gives up at
//! the first thing that is not a plain valid request (an error, a string
//! with an escape, a repeated field): the caller then takes the full path,
//! which says what is wrong as it always has. So the fast path only ever
//! has to agree with the full one on valid requests, which the tests below
//! check over generated and mangled JSON, and the `eval_request` fuzz
//! target over any text.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{RequestId, ResolvedRequest, default_action, default_facts, finish};
use crate::compile::{self, CompiledPolicy, FactKind, FactValue, KeyId};
use crate::syntax::Dimension;

/// `text` resolved against `policy`, with its `id`; or `None` when the full
/// path must read it.
pub(crate) fn resolve_json(
    policy: &CompiledPolicy,
    text: &str,
) -> Option<(Option<RequestId>, ResolvedRequest)> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let resolved = Fast { policy }.deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(resolved)
}

/// Any failure: the message is never shown, the full path reads the text again.
fn give_up<E: de::Error>() -> E {
    E::custom("not a plain request")
}

struct Fast<'p> {
    policy: &'p CompiledPolicy,
}

impl<'de> DeserializeSeed<'de> for Fast<'_> {
    type Value = (Option<RequestId>, ResolvedRequest);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fast<'_> {
    type Value = (Option<RequestId>, ResolvedRequest);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let policy = self.policy;
        let key = |dimension: Dimension, name: &str| {
            policy.taxonomy(dimension).id(name).ok_or_else(give_up)
        };
        let mut data = None;
        let mut purpose = None;
        let mut recipient = None;
        let mut action = None;
        let mut subject = None;
        let mut facts = None;
        let mut id = None;
        while let Some(field) = map.next_key::<&str>()? {
            // A field given twice is an error of the full path's.
            let once = |seen: bool| if seen { Err(give_up()) } else { Ok(()) };
            let named = match field {
                "data" => {
                    once(data.is_some())?;
                    data = Some(map.next_value_seed(Data { policy })?);
                    continue;
                }
                "context" => {
                    once(facts.is_some())?;
                    facts = Some(map.next_value_seed(Context { policy })?);
                    continue;
                }
                "id" => {
                    once(id.is_some())?;
                    id = Some(map.next_value::<Option<RequestId>>()?);
                    continue;
                }
                "purpose" => &mut purpose,
                "recipient" => &mut recipient,
                "action" => &mut action,
                "subject" => &mut subject,
                _ => return Err(give_up()),
            };
            once(named.is_some())?;
            // `null` stands for an absent field, as in the full path.
            *named = Some(map.next_value::<Option<&str>>()?);
        }
        let data: Vec<KeyId> = data.ok_or_else(give_up)?;
        if data.is_empty() {
            return Err(give_up());
        }
        let recipient = recipient.flatten();
        let purpose = purpose
            .flatten()
            .map(|p| key(Dimension::Purpose, p))
            .transpose()?;
        let facts = facts.unwrap_or_else(|| default_facts(policy));
        let resolved = finish(
            policy,
            data,
            purpose,
            key(Dimension::Recipient, recipient.unwrap_or("first_party"))?,
            key(
                Dimension::Action,
                action.flatten().unwrap_or(default_action(recipient)),
            )?,
            key(Dimension::Subject, subject.flatten().unwrap_or("customer"))?,
            facts,
        );
        Ok((id.flatten(), resolved))
    }
}

/// `data`: one data category or a list of them.
struct Data<'p> {
    policy: &'p CompiledPolicy,
}

impl<'de> DeserializeSeed<'de> for Data<'_> {
    type Value = Vec<KeyId>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Data<'_> {
    type Value = Vec<KeyId>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a data category or a list of them")
    }

    fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Self::Value, E> {
        let taxonomy = self.policy.taxonomy(Dimension::Data);
        Ok(vec![taxonomy.id(name).ok_or_else(give_up)?])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let taxonomy = self.policy.taxonomy(Dimension::Data);
        let mut ids = Vec::with_capacity(items.size_hint().unwrap_or(2));
        while let Some(name) = items.next_element::<&str>()? {
            ids.push(taxonomy.id(name).ok_or_else(give_up)?);
        }
        Ok(ids)
    }
}

/// `context`: the policy's defaults, with each fact given set as the full
/// path sets it (the last of a fact given twice wins there too).
struct Context<'p> {
    policy: &'p CompiledPolicy,
}

impl<'de> DeserializeSeed<'de> for Context<'_> {
    type Value = Vec<Option<FactValue>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Context<'_> {
    type Value = Vec<Option<FactValue>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of facts")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let policy = self.policy;
        let mut facts = default_facts(policy);
        while let Some(name) = map.next_key::<&str>()? {
            let id = policy.fact(name).ok_or_else(give_up)?;
            let def = policy.facts.get(id as usize).ok_or_else(give_up)?;
            // Read as the kind the fact is, then built as the full path
            // builds it; any other JSON fails here and there alike.
            let resolved = match &def.kind {
                FactKind::Bool => FactValue::Bool(map.next_value()?),
                FactKind::Int => FactValue::Int(map.next_value()?),
                FactKind::PurposeSet => {
                    let names: Vec<&str> = map.next_value()?;
                    let purposes = policy.taxonomy(Dimension::Purpose);
                    compile::purpose_set(names.into_iter(), purposes).map_err(|_| give_up())?
                }
                FactKind::EnumSet(members) => {
                    let names: Vec<&str> = map.next_value()?;
                    compile::member_set(names.into_iter(), members).map_err(|_| give_up())?
                }
            };
            if let Some(slot) = facts.get_mut(id as usize) {
                *slot = Some(resolved);
            }
        }
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use proptest::sample::select;

    use super::resolve_json;
    use crate::{Policy, RequestId};

    fn policy() -> &'static Policy {
        static POLICY: OnceLock<Policy> = OnceLock::new();
        POLICY.get_or_init(|| {
            Policy::from_path("policies/huawei/global-2016.privet").expect("the policy loads")
        })
    }

    /// The full path: what the fast one must agree with.
    fn full(policy: &Policy, text: &str) -> Option<(Option<RequestId>, crate::ResolvedRequest)> {
        let read = policy.read_request("request", text);
        let resolved = read.resolved.ok()?;
        Some((read.request?.id, resolved))
    }

    #[test]
    fn plain_requests_take_the_fast_path_and_agree() {
        let policy = policy();
        for text in [
            r#"{"data": "user.contact.email"}"#,
            r#"{"data": ["user.name", "user.contact"], "purpose": "essential.service", "recipient": "processor"}"#,
            r#"{"context": {"subject_age": 12, "consent": ["marketing"], "dnt": true}, "data": ["user"], "action": "share.sell", "subject": "visitor", "recipient": "third_party"}"#,
            r#"{"data": "non_personal.statistics", "purpose": null, "context": {}}"#,
            r#"{"data": ["user.name"], "context": {"subject_age": 12, "subject_age": 40}}"#,
            r#"{"id": "a-1", "data": "user.name"}"#,
            r#"{"data": "user.name", "id": 17}"#,
            r#"{"data": "user.name", "id": null}"#,
        ] {
            let fast = resolve_json(policy.compiled(), text);
            assert!(fast.is_some(), "{text} left the fast path");
            assert_eq!(fast, full(policy, text), "{text}");
        }
    }

    #[test]
    fn anything_unusual_is_left_to_the_full_path() {
        let policy = policy();
        for text in [
            r#"{"data": []}"#,
            r#"{"data": "user.contact.emial"}"#,
            r#"{"data": "user\u002econtact"}"#,
            r#"{"data": "user", "data": "user"}"#,
            r#"{"data": "user", "purpse": "marketing"}"#,
            r#"{"data": "user", "context": {"subject_age": "12"}}"#,
            r#"{"data": "user", "context": {"agee": 12}}"#,
            r#"{"data": "user"} trailing"#,
            r#"["user"]"#,
            r#"{"id": ["a"], "data": "user"}"#,
            r#"{"id": "a", "id": "b", "data": "user"}"#,
        ] {
            assert_eq!(resolve_json(policy.compiled(), text), None, "{text}");
        }
    }

    // Valid pieces first in each list; the generator mostly picks those.
    const DATA: &[&str] = &[
        "\"user.contact.email\"",
        "\"user\"",
        "\"non_personal.statistics\"",
        "[\"user.name\", \"user.contact\"]",
        "[\"user.name\", \"user.name\"]",
        // Not valid, or not plain:
        "\"user.contact.emial\"",
        "\"user\\u002ename\"",
        "[]",
        "[\"user.name\", 3]",
        "null",
    ];
    const PURPOSES: &[&str] = &[
        "\"marketing\"",
        "\"essential.service\"",
        "null",
        "\"nope\"",
        "1",
    ];
    const RECIPIENTS: &[&str] = &[
        "\"processor\"",
        "\"first_party\"",
        "\"third_party.data_broker\"",
        "null",
        "\"nope\"",
    ];
    const ACTIONS: &[&str] = &[
        "\"share.sell\"",
        "\"use\"",
        "\"collect\"",
        "null",
        "\"sell\"",
    ];
    const IDS: &[&str] = &["\"a-1\"", "17", "null", "[1]", "\"a\\u0031\""];
    const SUBJECTS: &[&str] = &["\"visitor\"", "\"customer\"", "null", "\"nope\""];
    const FACTS: &[&str] = &[
        "\"subject_age\": 12",
        "\"subject_age\": 40",
        "\"subject_age\": -1",
        "\"consent\": [\"marketing\"]",
        "\"consent\": [\"marketing\", \"marketing.communications\"]",
        "\"opt_out\": []",
        "\"dnt\": true",
        "\"safeguards\": [\"scc\", \"adequacy\"]",
        "\"parental_consent\": false",
        // Not valid:
        "\"subject_age\": 1.5",
        "\"subject_age\": \"12\"",
        "\"consent\": \"marketing\"",
        "\"dnt\": null",
        "\"safeguards\": [\"nope\"]",
        "\"agee\": 3",
    ];

    /// A value from `pool`: one of its first `valid` nine times in ten.
    fn value(pool: &'static [&'static str], valid: usize) -> impl Strategy<Value = &'static str> {
        prop_oneof![9 => select(&pool[..valid]), 1 => select(pool)]
    }

    /// Request JSON: a valid request most of the time, its fields in any
    /// order, each present or not; now and then an invalid value, a field
    /// given twice or a misspelt one.
    fn text() -> impl Strategy<Value = String> {
        (
            value(DATA, 5),
            prop::option::of(value(PURPOSES, 3)),
            prop::option::of(value(RECIPIENTS, 4)),
            prop::option::of(value(ACTIONS, 4)),
            prop::option::of(value(SUBJECTS, 3)),
            prop::option::of(prop::collection::vec(value(FACTS, 9), 0..4)),
            prop::option::of(value(IDS, 3)),
            prop::option::weighted(
                0.1,
                select(&["\"data\": \"user\"", "\"purpse\": null", "\"context\": {}"][..]),
            ),
            any::<prop::sample::Index>(),
        )
            .prop_map(
                |(data, purpose, recipient, action, subject, facts, id, extra, shift)| {
                    let mut fields = vec![format!("\"data\": {data}")];
                    for (name, value) in [
                        ("id", id),
                        ("purpose", purpose),
                        ("recipient", recipient),
                        ("action", action),
                        ("subject", subject),
                    ] {
                        if let Some(value) = value {
                            fields.push(format!("\"{name}\": {value}"));
                        }
                    }
                    if let Some(facts) = facts {
                        fields.push(format!("\"context\": {{{}}}", facts.join(", ")));
                    }
                    fields.extend(extra.map(str::to_string));
                    let turn = shift.index(fields.len());
                    fields.rotate_left(turn);
                    format!("{{{}}}", fields.join(", "))
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// What the fast path reads, the full path reads the same; what it
        /// gives up on, the full path decides (errors included).
        #[test]
        fn the_fast_path_agrees_with_the_full_one(text in text()) {
            let policy = policy();
            if let Some(fast) = resolve_json(policy.compiled(), &text) {
                prop_assert_eq!(Some(fast), full(policy, &text), "{}", text);
            }
        }
    }
}
