//! What `privet eval --format json` answers a request with: its decision,
//! or what is wrong with it, under the request's `id` when it has one. The
//! `id` comes first, as in `privet serve`'s batch results (DESIGN.md §7),
//! so a reader sees which question an answer is for before the answer.

use std::io::{self, Write};

use privet::RequestId;
use privet::diagnostics::{Problem, ProblemJson};
use serde::Serialize;

/// An answer under the `id` of its request.
#[derive(Serialize)]
pub(crate) struct Answer<'a, T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a RequestId>,
    #[serde(flatten)]
    pub body: T,
}

/// The answer to an invalid request: `error`, every problem in one line
/// (the string a batch line has always had), and `problems`, each as
/// `privet check --format json` lists it, for programs.
#[derive(Serialize)]
pub(crate) struct Invalid {
    pub error: String,
    pub problems: Vec<ProblemJson>,
}

/// Problems in one line: each message, where (`at` says how the place is
/// named), and its help ("did you mean ...").
pub(crate) fn in_one_line(problems: &[Problem], at: impl Fn(&Problem) -> Option<String>) -> String {
    problems
        .iter()
        .map(|problem| {
            let mut text = problem.message.clone();
            if let Some(place) = at(problem) {
                text.push_str(&format!(" at {place}"));
            }
            if let Some(help) = &problem.help {
                text.push_str(&format!(" ({help})"));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes a decision already rendered as compact JSON (`{"allowed":...}`)
/// under `id`: the bytes `Answer` would write, without rendering the
/// decision again for every line that shares it.
#[inline]
pub(crate) fn write_decision(
    out: &mut impl Write,
    id: Option<&RequestId>,
    decision: &str,
) -> io::Result<()> {
    match (id, decision.strip_prefix('{')) {
        (Some(id), Some(fields)) => {
            out.write_all(b"{\"id\":")?;
            serde_json::to_writer(&mut *out, id)?;
            out.write_all(b",")?;
            out.write_all(fields.as_bytes())?;
        }
        _ => out.write_all(decision.as_bytes())?,
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use privet::{Policy, Request};

    fn decision() -> privet::Decision {
        let policy = Policy::from_source("t.privet", "use std\nallow non_personal cite \"§1\"\n")
            .expect("the policy loads");
        policy
            .decide(&Request::new(["non_personal.statistics"]))
            .expect("a valid request")
    }

    #[test]
    fn an_answer_without_an_id_is_the_decision_byte_for_byte() {
        let decision = decision();
        let answer = Answer {
            id: None,
            body: &decision,
        };
        assert_eq!(
            serde_json::to_string_pretty(&answer).expect("json"),
            serde_json::to_string_pretty(&decision).expect("json")
        );
    }

    #[test]
    fn a_kept_decision_under_an_id_is_what_an_answer_writes() {
        let decision = decision();
        let compact = serde_json::to_string(&decision).expect("json");
        for id in [
            RequestId::Name("a \"quoted\" one".into()),
            RequestId::Number(17.into()),
        ] {
            let mut written = Vec::new();
            write_decision(&mut written, Some(&id), &compact).expect("written");
            let answer = Answer {
                id: Some(&id),
                body: &decision,
            };
            let expected = serde_json::to_string(&answer).expect("json") + "\n";
            assert_eq!(String::from_utf8(written).expect("utf-8"), expected);
            assert!(expected.starts_with("{\"id\":"), "{expected}");
        }
    }
}
