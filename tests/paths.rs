//! What a path means, the same for every command: a file is one policy; a
//! directory is one policy made of every `.privet` file below it, unless
//! those files name several policies, when each subdirectory is read by the
//! same rule and each file directly inside is a policy of its own.

use std::path::{Path, PathBuf};
use std::process::Output;

use privet::policy::policies_at;

mod common;

use common::{code, stderr, stdout};

fn privet(args: &[&str], stdin: &str) -> Output {
    common::run(args, stdin, &[])
}

/// A scratch directory of files that removes itself.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str, files: &[(&str, &str)]) -> Tree {
        let root = std::env::temp_dir().join(format!("privet-paths-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&root).ok();
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("scratch dir");
            std::fs::write(&path, text).expect("write scratch file");
        }
        Tree(root)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }

    fn join(&self, path: &str) -> String {
        self.0.join(path).display().to_string()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A shop's policy split in two: the header, `use std` and a local fact in
/// one file; rules that need all three in the other.
const HEAD: &str = r#"policy test.shop { title "Shop" }
use std
fact loyalty_member: bool default false "the customer joined the loyalty scheme"
allow user.contact.email for marketing basis consent unless opt_out(purpose) cite "§1(b)"
"#;
const RULES: &str = r#"allow user.name for marketing when loyalty_member cite "§2 loyalty"
deny user when subject_age < 13 and not parental_consent cite "§6"
"#;

const MARKETING_NAME: &str = r#"{"data": "user.name", "purpose": "marketing",
    "context": {"subject_age": 30, "loyalty_member": true}}"#;

#[test]
fn a_policy_split_over_two_files_passes_check_as_one() {
    let tree = Tree::new(
        "split-check",
        &[("shop/a.privet", HEAD), ("shop/b.privet", RULES)],
    );
    let dir = tree.join("shop");
    let output = privet(&["check", &dir], "");
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    assert!(!err.contains("use std"), "no wrong `use std` hint: {err}");
    assert!(
        stdout(&output).contains(&format!("ok   {dir}")),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("1 policy checked"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_policy_split_over_two_files_passes_lint_as_one() {
    let tree = Tree::new(
        "split-lint",
        &[("shop/a.privet", HEAD), ("shop/b.privet", RULES)],
    );
    let dir = tree.join("shop");
    let output = privet(&["lint", &dir], "");
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    assert!(!stderr(&output).contains("use std"), "{}", stderr(&output));
    // Linted as one policy: the fact declared in a.privet is read in b.privet.
    assert!(
        !stdout(&output).contains("unused_fact"),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains(&format!("ok   {dir} ")),
        "{}",
        stdout(&output)
    );
}

#[test]
fn nested_directories_are_found_by_every_command() {
    let tree = Tree::new(
        "nested",
        &[
            ("shop/policy/head.privet", HEAD),
            ("shop/policy/rules/more.privet", RULES),
        ],
    );
    let dir = tree.join("shop");
    let output = privet(
        &["eval", &dir, "--request", "-", "--format", "json"],
        MARKETING_NAME,
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let decision: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(decision["allowed"], true, "{decision}");
    assert!(
        decision["reasons"][0]["rule"]
            .as_str()
            .is_some_and(|r| r.ends_with("more.privet:1:1")),
        "{decision}"
    );
    assert_eq!(code(&privet(&["check", tree.path()], "")), 0);
    assert_eq!(code(&privet(&["lint", tree.path()], "")), 0);
    assert_eq!(code(&privet(&["diff", &dir, &dir], "")), 0);
    let graph = privet(&["graph", &dir], "");
    assert_eq!(code(&graph), 0, "{}", stderr(&graph));
    assert!(stdout(&graph).contains("§2 loyalty"), "{}", stdout(&graph));
}

#[test]
fn a_conformance_file_may_name_a_directory_policy() {
    let suite = serde_json::json!({"policy": "shop", "cases": [
        {"name": "loyalty members get marketing by name", "cite": "§2 loyalty",
         "request": serde_json::from_str::<serde_json::Value>(MARKETING_NAME).expect("JSON"),
         "expect": "allow", "reasons": ["§2 loyalty"]}
    ]})
    .to_string();
    let tree = Tree::new(
        "suite",
        &[
            ("shop/a.privet", HEAD),
            ("shop/deeper/b.privet", RULES),
            ("suite.json", &suite),
        ],
    );
    let output = privet(&["test", &tree.join("suite.json")], "");
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
}

#[test]
fn a_directory_of_several_policies_holds_one_policy_per_file() {
    let found = policies_at(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")))
        .expect("the shipped policies are found");
    let names: Vec<String> = found
        .iter()
        .map(|policy| {
            let path = policy.path.display().to_string();
            path.rsplit("policies/").next().unwrap_or("").to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "huawei/consumer-cookies.privet",
            "huawei/device-2016.privet",
            "huawei/enterprise-community-2018.privet",
            "huawei/global-2016.privet",
            "huawei/website-2016.privet",
            "std/std.privet",
        ]
    );
    assert!(found.iter().all(|policy| policy.files.len() == 1));
}

#[test]
fn a_collection_keeps_a_split_policy_of_its_own_directory_whole() {
    let tree = Tree::new(
        "collection",
        &[
            (
                "other.privet",
                "policy test.other {}\nuse std\nallow non_personal cite \"§1\"\n",
            ),
            ("shop/a.privet", HEAD),
            ("shop/b.privet", RULES),
        ],
    );
    let found = policies_at(&tree.0).expect("found");
    let paths: Vec<&Path> = found.iter().map(|p| p.path.as_path()).collect();
    assert_eq!(paths, [tree.0.join("other.privet"), tree.0.join("shop")]);
    assert_eq!(found[1].files.len(), 2);
    let output = privet(&["check", tree.path()], "");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("2 policies checked"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_command_that_decides_names_the_policies_of_a_collection() {
    let output = privet(
        &["eval", "policies/", "--request", "-"],
        r#"{"data": "user"}"#,
    );
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(err.contains("holds 6 policies"), "{err}");
    assert!(err.contains("policies/huawei/global-2016.privet"), "{err}");
    assert!(!err.contains("no .privet files"), "{err}");
    // It is not a broken policy, so no advice to check it.
    assert!(!err.contains("does not load"), "{err}");
}

#[test]
fn a_directory_without_policies_says_so() {
    let tree = Tree::new("empty", &[("notes.txt", "not a policy")]);
    for command in ["check", "lint"] {
        let output = privet(&[command, tree.path()], "");
        assert_eq!(code(&output), 2, "{command}");
        assert!(
            stderr(&output).contains("no .privet files"),
            "{command}: {}",
            stderr(&output)
        );
    }
    let output = privet(
        &["eval", tree.path(), "--request", "-"],
        r#"{"data": "user"}"#,
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("no .privet files"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn fmt_formats_every_file_below_a_directory() {
    let tree = Tree::new(
        "fmt",
        &[
            (
                "a.privet",
                "use std\nallow   user.name for marketing cite \"x\"\n",
            ),
            (
                "deep/er/b.privet",
                "use std\nallow   user.name for analytics cite \"y\"\n",
            ),
        ],
    );
    let output = privet(&["fmt", "--check", tree.path()], "");
    assert_eq!(code(&output), 1);
    let out = stdout(&output);
    assert!(
        out.contains("a.privet") && out.contains("b.privet"),
        "{out}"
    );
}
