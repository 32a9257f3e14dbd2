//! The `privet` command as a user runs it: exit codes, output, errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

mod common;

use common::{code, stderr, stdout};

fn privet(args: &[&str], stdin: &str) -> Output {
    common::run(args, stdin, &[])
}

/// A scratch file that removes itself.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, text: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("privet-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("write scratch file");
        Scratch(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

const SHOP: &str = r#"policy test.shop { title "Shop" }
use std
allow user.contact.email for marketing basis consent unless opt_out(purpose) cite "§1(b)"
allow non_personal cite "§1"
deny user when subject_age < 13 and not parental_consent cite "§6"
"#;

#[test]
fn check_passes_on_the_shipped_policies() {
    let output = privet(&["check", "policies/"], "");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains("no errors"));
}

#[test]
fn check_reports_a_misspelt_key_with_a_suggestion() {
    let policy = Scratch::new(
        "misspelt.privet",
        "use std\nallow user.contact.emial for marketing\n",
    );
    let output = privet(&["check", policy.path()], "");
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert!(
        err.contains("unknown data category `user.contact.emial`"),
        "{err}"
    );
    assert!(err.contains("did you mean `user.contact.email`?"), "{err}");
    assert!(err.contains(":2:7]"), "located at line 2 column 7: {err}");
}

#[test]
fn check_speaks_json_for_ci() {
    let policy = Scratch::new("json.privet", "use std\nallow user for marketting\n");
    let output = privet(&["check", "--format", "json", policy.path()], "");
    assert_eq!(code(&output), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    let problem = &json["files"][0]["problems"][0];
    assert_eq!(problem["code"], "privet::unknown_key");
    assert_eq!(problem["line"], 2);
    assert_eq!(problem["column"], 16);
    assert_eq!(problem["help"], "did you mean `marketing`?");
    assert_eq!(json["ok"], false);
}

#[test]
fn check_of_a_missing_file_is_bad_input() {
    let output = privet(&["check", "no/such/policy.privet"], "");
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("cannot read no/such/policy.privet"));
}

#[test]
fn check_rejects_invalid_utf8() {
    let path =
        std::env::temp_dir().join(format!("privet-cli-{}-latin1.privet", std::process::id()));
    std::fs::write(&path, b"use std\n// caf\xe9\n").expect("write");
    let output = privet(&["check", path.to_str().expect("utf-8")], "");
    std::fs::remove_file(&path).ok();
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("not valid UTF-8"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn eval_explains_a_decision_in_words() {
    let policy = Scratch::new("explain.privet", SHOP);
    let output = privet(
        &["eval", policy.path(), "--request", "-"],
        r#"{"data": ["user.contact.email"], "purpose": "marketing", "context": {"subject_age": 30}}"#,
    );
    assert_eq!(code(&output), 0);
    let out = stdout(&output);
    assert!(
        out.starts_with("DENY  user.contact.email for marketing to first_party"),
        "{out}"
    );
    assert!(
        out.contains("hint: allowed with consent to marketing"),
        "{out}"
    );
}

#[test]
fn eval_prints_the_decision_json() {
    let policy = Scratch::new("json-eval.privet", SHOP);
    let output = privet(
        &["eval", policy.path(), "--request", "-", "--format", "json"],
        r#"{"data": "user.contact.email", "purpose": "marketing", "context": {"subject_age": 30, "consent": ["marketing"]}}"#,
    );
    assert_eq!(code(&output), 0);
    let decision: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(decision["allowed"], true);
    assert_eq!(decision["decision"], "allow");
    assert_eq!(decision["class"], "personal");
    assert_eq!(decision["basis"], "consent");
    assert_eq!(decision["reasons"][0]["cite"], "§1(b)");
    assert!(
        decision["reasons"][0]["rule"]
            .as_str()
            .is_some_and(|r| r.ends_with(":3:1"))
    );
    for field in ["obligations", "missing_facts", "hints"] {
        assert!(decision[field].is_array(), "{field}");
    }
}

#[test]
fn eval_reads_a_request_file() {
    let policy = Scratch::new("file-eval.privet", SHOP);
    let request = Scratch::new("request.json", r#"{"data": "non_personal.statistics"}"#);
    let output = privet(&["eval", policy.path(), "--request", request.path()], "");
    assert_eq!(code(&output), 0);
    assert!(stdout(&output).starts_with("ALLOW"));
}

#[test]
fn fail_on_deny_exits_1() {
    let policy = Scratch::new("fail.privet", SHOP);
    let request = r#"{"data": ["user.contact.email"], "purpose": "marketing"}"#;
    let output = privet(
        &["eval", policy.path(), "--request", "-", "--fail-on-deny"],
        request,
    );
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).contains("missing facts: subject_age"));
}

#[test]
fn invalid_requests_exit_2_with_a_clear_message() {
    let policy = Scratch::new("bad-requests.privet", SHOP);
    let cases = [
        ("{not json", "invalid request"),
        (
            r#"{"data": ["user.name"], "purpse": "marketing"}"#,
            "unknown field `purpse`",
        ),
        (r#"{"data": []}"#, "`data` is an empty list"),
        (r#"{"purpose": "marketing"}"#, "missing field `data`"),
        (
            r#"{"data": ["user.contact.emial"]}"#,
            "did you mean `user.contact.email`?",
        ),
        (
            r#"{"data": ["user.name"], "context": {"subject_age": "twelve"}}"#,
            "must be a whole number",
        ),
        (
            r#"{"data": ["user.name"], "context": {"consent": "marketing"}}"#,
            "must be a list of purposes",
        ),
        (
            r#"{"data": ["user.name"], "context": {"dnd": true}}"#,
            "did you mean `dnt`?",
        ),
        ("", "invalid request"),
    ];
    for (request, message) in cases {
        let output = privet(&["eval", policy.path(), "--request", "-"], request);
        assert_eq!(code(&output), 2, "{request}");
        assert!(
            stderr(&output).contains(message),
            "{request}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{request}");
    }
}

#[test]
fn an_invalid_request_with_format_json_answers_in_json_on_stdout() {
    // A program that reads the answer on standard output gets one, as a
    // batch line does: `error` in one line, and each problem placed.
    let policy = Scratch::new("json-error.privet", SHOP);
    let output = privet(
        &["eval", policy.path(), "--request", "-", "--format", "json"],
        r#"{"id": "q1", "data": ["user.contact.emial"]}"#,
    );
    assert_eq!(code(&output), 2);
    let answer: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("the answer is JSON");
    assert_eq!(answer["id"], "q1");
    let error = answer["error"].as_str().expect("`error` is a string");
    assert!(
        error.contains("unknown data category `user.contact.emial` at line 1, column 23")
            && error.contains("did you mean `user.contact.email`?"),
        "{error}"
    );
    let problem = &answer["problems"][0];
    assert_eq!(problem["code"], "privet::unknown_key");
    assert_eq!(problem["file"], "<stdin>");
    assert_eq!(
        (&problem["line"], &problem["column"]),
        (&1.into(), &23.into())
    );
    assert_eq!(problem["help"], "did you mean `user.contact.email`?");
    // People still read the drawn diagnostic.
    assert!(
        stderr(&output).contains("unknown data category"),
        "{}",
        stderr(&output)
    );

    // Not JSON at all: still an answer.
    let output = privet(
        &["eval", policy.path(), "--request", "-", "--format", "json"],
        "{not json",
    );
    assert_eq!(code(&output), 2);
    let answer: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("the answer is JSON");
    assert!(answer.get("id").is_none());
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("invalid request"))
    );
}

#[test]
fn every_error_of_a_request_is_reported_at_once() {
    let policy = Scratch::new("every-error.privet", SHOP);
    let request = r#"{"data": ["user.contact.emial"], "purpse": "marketing", "context": {"subject_age": "twelve"}}"#;
    let wanted = [
        "unknown field `purpse`",
        "did you mean `purpose`?",
        "unknown data category `user.contact.emial`",
        "did you mean `user.contact.email`?",
        "the fact `subject_age` must be a whole number",
        "such as \"subject_age\": 34",
    ];
    let output = privet(&["eval", policy.path(), "--request", "-"], request);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    for text in wanted {
        assert!(err.contains(text), "{text}: {err}");
    }
    let output = privet(
        &["eval", policy.path(), "--request", "-", "--format", "json"],
        request,
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    let codes: Vec<&str> = answer["problems"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "privet::unknown_key",
            "privet::invalid_request",
            "privet::fact_type"
        ],
        "in the order of the text"
    );
    let error = answer["error"].as_str().expect("a string");
    for text in wanted {
        assert!(error.contains(text), "{text}: {error}");
    }
    // A batch line says the same.
    let output = privet(&["eval", policy.path(), "--requests", "-"], request);
    let line: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(line["problems"].as_array().map(Vec::len), Some(3), "{line}");
}

#[test]
fn eval_of_a_broken_policy_is_bad_input() {
    let policy = Scratch::new("broken.privet", "use std\nallow user for\n");
    let output = privet(
        &["eval", policy.path(), "--request", "-"],
        r#"{"data": "user"}"#,
    );
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("does not load"));
}

#[test]
fn batch_mode_answers_each_line_in_order() {
    let policy = Scratch::new("batch.privet", SHOP);
    let lines = [
        r#"{"data": "non_personal.statistics"}"#,
        r#"{"data": "user.contact.email", "purpose": "marketing", "context": {"subject_age": 30, "consent": ["marketing"]}}"#,
        r#"{"data": "user.contact.emial"}"#,
        r#"{"data": "user.contact.email", "purpose": "marketing"}"#,
    ];
    let requests = Scratch::new("batch.jsonl", &lines.join("\n"));
    let output = privet(&["eval", policy.path(), "--requests", requests.path()], "");
    assert_eq!(code(&output), 2, "a bad line makes the exit code 2");
    let out = stdout(&output);
    let answers: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[0]["decision"], "allow");
    assert_eq!(answers[1]["decision"], "allow");
    assert!(
        answers[2]["error"].as_str().is_some_and(
            |e| e.starts_with("line 3:") && e.contains("did you mean `user.contact.email`?")
        ),
        "{}",
        answers[2]
    );
    assert_eq!(answers[3]["decision"], "deny");
}

#[test]
fn batch_decisions_kept_for_repeats_match_fresh_ones() {
    // A batch reuses the decision of an equal line, or of a request with
    // an equal decision key; every line must still get exactly the
    // decision `--request` gives it alone.
    let policy = "policies/huawei/global-2016.privet";
    let lines = [
        r#"{"data": "user.contact.email", "purpose": "marketing.communications.email", "context": {"subject_age": 30}}"#,
        r#"{"data": "user.contact.email", "purpose": "marketing.communications.email", "context": {"subject_age": 30}}"#,
        // The same region of ages for the policy: same key.
        r#"{"data": "user.contact.email", "purpose": "marketing.communications.email", "context": {"subject_age": 71}}"#,
        // Another region: a child.
        r#"{"data": "user.contact.email", "purpose": "marketing.communications.email", "context": {"subject_age": 12}}"#,
        r#"{"data": "user.contact.email", "purpose": "marketing.communications.email", "context": {"subject_age": 30, "consent": ["marketing", "analytics"]}}"#,
        r#"{"context": {"consent": ["analytics", "marketing"], "subject_age": 44}, "purpose": "marketing.communications.email", "data": ["user.contact.email"]}"#,
        r#"{"data": "user.contact.email", "purpose": "marketing.communications.email"}"#,
        r#"{"data": "user.contact.emial"}"#,
        r#"{"data": "user.contact.emial"}"#,
        r#"{"data": ["user.name", "user.contact"], "purpose": "essential.service", "recipient": "processor", "context": {"subject_age": 30}}"#,
        r#"{"data": ["user.contact", "user.name"], "purpose": "essential.service", "recipient": "processor", "context": {"subject_age": 30}}"#,
    ];
    let requests = Scratch::new("kept.jsonl", &lines.join("\n"));
    let output = privet(&["eval", policy, "--requests", requests.path()], "");
    assert_eq!(code(&output), 2, "two lines are bad");
    let answers: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(answers.len(), lines.len());
    for (number, (line, answer)) in (1..).zip(lines.iter().zip(&answers)) {
        let alone = privet(
            &["eval", policy, "--request", "-", "--format", "json"],
            line,
        );
        if code(&alone) == 2 {
            let error = answer["error"].as_str().expect("an error line");
            assert!(error.starts_with(&format!("line {number}: ")), "{error}");
            continue;
        }
        let fresh: serde_json::Value = serde_json::from_str(&stdout(&alone)).expect("json");
        assert_eq!(answer, &fresh, "line {number}: {line}");
    }
    // The lines chosen above do decide differently where they should.
    assert_eq!(answers[0], answers[2]);
    assert_ne!(answers[0], answers[3]);
    assert_ne!(answers[0], answers[4]);
    assert_ne!(
        answers[9], answers[10],
        "the order of data items shows in the reasons"
    );

    // In words, each line names its request as written.
    let output = privet(
        &[
            "eval",
            policy,
            "--requests",
            requests.path(),
            "--format",
            "text",
        ],
        "",
    );
    let text = stdout(&output);
    let said: Vec<&str> = text.lines().collect();
    assert!(
        said[9].starts_with("10: DENY  user.name, user.contact for essential.service"),
        "{text}"
    );
    assert!(
        said[10].starts_with("11: DENY  user.contact, user.name for essential.service"),
        "{text}"
    );
    assert!(
        said[8].starts_with("9: error: line 9: unknown data category"),
        "{text}"
    );
}

#[test]
fn batch_mode_reads_standard_input() {
    let policy = Scratch::new("batch-stdin.privet", SHOP);
    let output = privet(
        &["eval", policy.path(), "--requests", "-", "--fail-on-deny"],
        "{\"data\": \"non_personal\"}\n{\"data\": \"user.name\"}\n",
    );
    assert_eq!(code(&output), 1, "the second request is denied");
    assert_eq!(stdout(&output).lines().count(), 2);
}

#[test]
fn a_batch_line_may_carry_an_id_echoed_first() {
    let policy = Scratch::new("batch-id.privet", SHOP);
    let plain = r#"{"data": "non_personal.statistics"}"#;
    let input = [
        plain,
        r#"{"id": "order-7", "data": "non_personal.statistics"}"#,
        r#"{"data": "non_personal.statistics", "id": 42}"#,
        r#"{"id": "bad-1", "data": "user.contact.emial"}"#,
        r#"{"id": "esc\"aped", "data": "non_personal.statistics"}"#,
    ]
    .join("\n");
    let output = privet(&["eval", policy.path(), "--requests", "-"], &input);
    assert_eq!(code(&output), 2, "one line is bad");
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    // No `id`, no change: the decision as it always was.
    let alone = privet(
        &["eval", policy.path(), "--request", "-", "--format", "json"],
        plain,
    );
    let fresh: serde_json::Value = serde_json::from_str(&stdout(&alone)).expect("json");
    assert_eq!(lines[0], serde_json::to_string(&fresh).expect("json"));
    // With one, the same decision after it.
    let decision = lines[0].strip_prefix('{').expect("an object");
    assert_eq!(lines[1], format!("{{\"id\":\"order-7\",{decision}"));
    assert_eq!(lines[2], format!("{{\"id\":42,{decision}"));
    let bad: serde_json::Value = serde_json::from_str(lines[3]).expect("json");
    assert!(
        lines[3].starts_with("{\"id\":\"bad-1\",\"error\":"),
        "{}",
        lines[3]
    );
    assert!(
        bad["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("line 4: "))
    );
    let problem = &bad["problems"][0];
    assert_eq!(problem["file"], "<stdin>");
    assert_eq!(
        (&problem["line"], &problem["column"]),
        (&4.into(), &25.into())
    );
    let escaped: serde_json::Value = serde_json::from_str(lines[4]).expect("json");
    assert_eq!(escaped["id"], "esc\"aped");

    // `--request` echoes it too.
    let output = privet(
        &["eval", policy.path(), "--request", "-", "--format", "json"],
        r#"{"id": "one", "data": "non_personal.statistics"}"#,
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).starts_with("{\n  \"id\": \"one\",\n  \"allowed\": true"));
}

#[test]
fn a_blank_batch_line_is_skipped() {
    let policy = Scratch::new("batch-blank.privet", SHOP);
    let output = privet(
        &["eval", policy.path(), "--requests", "-"],
        "\n{\"data\": \"non_personal\"}\n\n   \r\n\t\n{\"data\": \"non_personal\"}\n\n",
    );
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert_eq!(stdout(&output).lines().count(), 2, "{}", stdout(&output));
    assert!(!stdout(&output).contains("error"), "{}", stdout(&output));
}

#[test]
fn a_program_can_talk_to_one_batch_line_by_line() {
    // A client keeps one `privet eval --requests -` and waits for each
    // answer before it asks again; privet must answer before its input
    // ends. The wait is bounded, so a regression fails instead of hanging.
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    let policy = Scratch::new("pipe.privet", SHOP);
    let mut child = Command::new(env!("CARGO_BIN_EXE_privet"))
        .args(["eval", policy.path(), "--requests", "-"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("privet runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (answers, answered) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if answers.send(line).is_err() {
                break;
            }
        }
    });
    let mut ask = |request: &str| -> serde_json::Value {
        writeln!(stdin, "{request}").expect("write a request");
        stdin.flush().expect("flush the request");
        let line = answered.recv_timeout(Duration::from_secs(20));
        let line = line.unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("no answer to {request} while the input stays open")
        });
        serde_json::from_str(&line).expect("a JSON answer")
    };
    assert_eq!(
        ask(r#"{"id": 1, "data": "non_personal"}"#)["decision"],
        "allow"
    );
    assert_eq!(ask(r#"{"id": 2, "data": "user.name"}"#)["id"], 2);
    assert!(ask(r#"{"id": 3, "data": "user.nmae"}"#)["error"].is_string());
    drop(stdin);
    let status = child.wait().expect("privet ends when its input does");
    assert_eq!(status.code(), Some(2), "one request was bad");
    reader.join().expect("the reader ends");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(code(&privet(&["eval", "policies/std/std.privet"], "")), 2);
    assert_eq!(code(&privet(&["frobnicate"], "")), 2);
    assert_eq!(code(&privet(&["check"], "")), 2);
}

#[test]
fn help_shows_an_example() {
    let output = privet(&["eval", "--help"], "");
    assert_eq!(code(&output), 0);
    assert!(stdout(&output).contains("--requests"));
    assert!(stdout(&output).contains("Examples:"));
}

/// A conformance file and its policy in a scratch directory.
struct Suite(PathBuf);

impl Suite {
    fn new(name: &str, policy: &str, cases: serde_json::Value) -> Suite {
        let dir = std::env::temp_dir().join(format!("privet-suite-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("policy.privet"), policy).expect("write policy");
        let suite = serde_json::json!({"policy": "policy.privet", "cases": cases});
        std::fs::write(dir.join("suite.json"), suite.to_string()).expect("write suite");
        Suite(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn cases(expect_marketing: &str) -> serde_json::Value {
    serde_json::json!([
        {"name": "statistics are free", "cite": "§1", "request": {"data": "non_personal.statistics"}, "expect": "allow"},
        {"name": "marketing without consent", "cite": "§1(b)",
         "request": {"data": "user.contact.email", "purpose": "marketing", "context": {"subject_age": 30}},
         "expect": expect_marketing},
        {"name": "a misspelt key", "cite": "DESIGN §1", "request": {"data": "user.contact.emial"},
         "expect": "error", "error": "unknown data category"}
    ])
}

#[test]
fn test_passes_when_every_case_does() {
    let suite = Suite::new("pass", SHOP, cases("deny"));
    let output = privet(&["test", suite.path()], "");
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert!(
        stdout(&output).ends_with("3 passed, 0 failed\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn test_fails_and_shows_why_when_an_expectation_changes() {
    let suite = Suite::new("fail", SHOP, cases("allow"));
    let output = privet(&["test", suite.path()], "");
    assert_eq!(code(&output), 1);
    let out = stdout(&output);
    assert!(
        out.contains("FAIL marketing without consent [§1(b)]"),
        "{out}"
    );
    assert!(out.contains("expected allow, got deny"), "{out}");
    assert!(
        out.contains("request:  {\"data\":\"user.contact.email\""),
        "{out}"
    );
    assert!(
        out.contains("hint: allowed with consent to marketing"),
        "{out}"
    );
    assert!(out.ends_with("2 passed, 1 failed\n"), "{out}");
}

#[test]
fn test_names_an_expected_basis_in_words() {
    // Once printed as `expected basis Some("contract"), got Some("consent")`.
    let suite = Suite::new(
        "basis",
        SHOP,
        serde_json::json!([
            {"name": "marketing with consent", "cite": "§1(b)",
             "request": {"data": "user.contact.email", "purpose": "marketing",
                         "context": {"subject_age": 30, "consent": ["marketing"]}},
             "expect": "allow", "basis": "contract", "obligations": ["minimize"]},
            {"name": "statistics", "cite": "§1", "request": {"data": "non_personal.statistics"},
             "expect": "allow", "basis": "contract"}
        ]),
    );
    let output = privet(&["test", suite.path()], "");
    assert_eq!(code(&output), 1);
    let out = stdout(&output);
    assert!(
        out.contains("expected basis contract, got consent"),
        "{out}"
    );
    assert!(
        out.contains("expected basis contract, got no basis"),
        "{out}"
    );
    assert!(
        out.contains("expected obligations minimize, got none"),
        "{out}"
    );
    assert!(!out.contains("Some("), "{out}");
}

#[test]
fn a_byte_order_mark_is_accepted_in_policies_and_requests() {
    let policy = Scratch::new("bom.privet", &format!("\u{feff}{SHOP}"));
    let output = privet(&["check", policy.path()], "");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let output = privet(
        &["eval", policy.path(), "--request", "-"],
        "\u{feff}{\"data\": \"non_personal.statistics\"}",
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).starts_with("ALLOW"), "{}", stdout(&output));
    let output = privet(
        &["eval", policy.path(), "--requests", "-"],
        "\u{feff}{\"data\": \"non_personal.statistics\"}\n",
    );
    assert_eq!(code(&output), 0, "{}", stdout(&output));
}

#[test]
fn test_writes_junit_and_json() {
    let suite = Suite::new("junit", SHOP, cases("allow"));
    let output = privet(&["test", suite.path(), "--format", "junit"], "");
    assert_eq!(code(&output), 1);
    let xml = stdout(&output);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains(r#"tests="3""#) && xml.contains(r#"failures="1""#),
        "{xml}"
    );
    let output = privet(&["test", suite.path(), "--format", "json"], "");
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(json["passed"], 2);
    assert_eq!(json["failed"], 1);
    assert_eq!(json["files"][0]["cases"][1]["passed"], false);
}

#[test]
fn test_of_a_broken_policy_exits_2() {
    let suite = Suite::new("broken", "use std\nallow user for", cases("deny"));
    let output = privet(&["test", suite.path()], "");
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("does not check"),
        "{}",
        stderr(&output)
    );
    let output = privet(&["test", "no/such/dir"], "");
    assert_eq!(code(&output), 2);
}

#[test]
fn fmt_check_names_unformatted_files_and_fmt_fixes_them() {
    let policy = Scratch::new(
        "fmt.privet",
        "use std\nallow user.name   for marketing cite \"§1\" // why\n",
    );
    let output = privet(&["fmt", "--check", policy.path()], "");
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).contains(&format!("would reformat {}", policy.path())));
    let output = privet(&["fmt", policy.path()], "");
    assert_eq!(code(&output), 0);
    let formatted = std::fs::read_to_string(policy.path()).expect("read back");
    assert_eq!(
        formatted,
        "use std\nallow user.name\n    for marketing\n    cite \"§1\" // why\n"
    );
    assert_eq!(code(&privet(&["fmt", "--check", policy.path()], "")), 0);
}

#[test]
fn fmt_formats_standard_input_and_refuses_broken_text() {
    let output = privet(&["fmt", "-"], "allow user cite \"x\"");
    assert_eq!(code(&output), 0);
    assert_eq!(stdout(&output), "allow user\n    cite \"x\"\n");
    let output = privet(&["fmt", "-"], "allow user for");
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("expected"));
}

#[test]
fn the_shipped_policies_are_formatted() {
    let output = privet(&["fmt", "--check", "policies/"], "");
    assert_eq!(code(&output), 0, "{}", stdout(&output));
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    // `privet test tests/conformance | head -1`: standard output (or, for
    // the missing file, standard error) closed before privet has written
    // it all. No panic (exit 101), and the exit code the work earned.
    let many = Scratch::new(
        "many.jsonl",
        &"{\"data\": \"non_personal.statistics\"}\n".repeat(20_000),
    );
    let cases: [(&[&str], bool, i32); 5] = [
        (&["test", "--format", "json", "tests/conformance"], true, 0),
        (&["check", "--format", "json", "policies/"], true, 0),
        (&["lint", "policies/huawei/global-2016.privet"], true, 0),
        (&["check", "policies/huawei/no-such.privet"], false, 2),
        // A batch stops at once: the rest of its input was never decided.
        (
            &[
                "eval",
                "policies/huawei/global-2016.privet",
                "--requests",
                many.path(),
            ],
            true,
            2,
        ),
    ];
    for (args, closed_stdout, expected) in cases {
        let mut command = Command::new(env!("CARGO_BIN_EXE_privet"));
        command
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        let mut child = if closed_stdout {
            command.stdout(Stdio::piped()).stderr(Stdio::piped())
        } else {
            command.stdout(Stdio::null()).stderr(Stdio::piped())
        }
        .spawn()
        .expect("privet runs");
        // Close our end at once: every write of privet's meets a closed pipe.
        let kept = if closed_stdout {
            drop(child.stdout.take());
            child.stderr.take()
        } else {
            drop(child.stderr.take());
            None
        };
        let status = child.wait().expect("privet finishes");
        let mut errors = String::new();
        if let Some(mut stderr) = kept {
            std::io::Read::read_to_string(&mut stderr, &mut errors).expect("read stderr");
        }
        assert!(!errors.contains("panicked"), "{args:?}: {errors}");
        assert_eq!(status.code(), Some(expected), "{args:?}: {errors}");
    }
}

#[test]
fn a_request_that_is_not_utf8_says_so() {
    let path = std::env::temp_dir().join(format!("privet-cli-{}-latin1.json", std::process::id()));
    std::fs::write(&path, b"{\"data\": \"user.caf\xe9\"}").expect("write");
    let output = privet(
        &[
            "eval",
            "policies/huawei/global-2016.privet",
            "--request",
            path.to_str().expect("utf-8"),
        ],
        "",
    );
    std::fs::remove_file(&path).ok();
    assert_eq!(code(&output), 2);
    let errors = stderr(&output);
    assert!(errors.contains("valid UTF-8"), "{errors}");
    assert!(errors.contains("re-save the file as UTF-8"), "{errors}");
}
