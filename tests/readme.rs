//! The README's quick start must stay true: run its command and compare
//! with the output it shows.

use std::process::Command;

#[test]
fn the_quick_start_output_is_what_privet_prints() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let block = readme
        .split("```console\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a console block in the quick start");
    let mut lines = block.lines();
    let command = lines.next().expect("a command line");
    let args = command
        .strip_prefix("$ cargo run --release -q -- ")
        .unwrap_or_else(|| panic!("unexpected quick start command: {command}"));
    let expected: Vec<&str> = lines.collect();
    let output = Command::new(env!("CARGO_BIN_EXE_privet"))
        .args(args.split_whitespace())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("privet runs");
    assert!(output.status.success());
    let actual = String::from_utf8_lossy(&output.stdout);
    assert_eq!(actual.lines().collect::<Vec<_>>(), expected);
}
