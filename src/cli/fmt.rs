//! `privet fmt`: rewrite policies in the canonical layout.

use std::io::Read;
use std::path::{Path, PathBuf};

use privet::diagnostics::{Problem, SourceFile};
use privet::format::format_source;
use privet::policy::{files_below, read_source};

use crate::{BAD_INPUT, FAILED, OK, report};

pub fn run(paths: &[PathBuf], check: bool, colour: bool) -> u8 {
    let mut trouble = false;
    let mut unformatted = Vec::new();
    for path in paths {
        if path == Path::new("-") {
            let mut text = String::new();
            if let Err(error) = std::io::stdin().read_to_string(&mut text) {
                report(
                    &[Problem::error(
                        "privet::io",
                        format!("cannot read standard input: {error}"),
                    )],
                    colour,
                );
                return BAD_INPUT;
            }
            let source = SourceFile::new("<stdin>", text.as_str());
            match format_source(&source) {
                Ok(formatted) if check => {
                    if formatted != *source.text {
                        unformatted.push("<stdin>".to_string());
                    }
                }
                Ok(formatted) => out!("{formatted}"),
                Err(problems) => {
                    report(&problems, colour);
                    trouble = true;
                }
            }
            continue;
        }
        let files = match files_below(path, "privet") {
            Ok(files) => files,
            Err(error) => {
                report(
                    &[Problem::error(
                        "privet::io",
                        format!("cannot read {}: {error}", path.display()),
                    )],
                    colour,
                );
                trouble = true;
                continue;
            }
        };
        for file in files {
            let source = match read_source(&file) {
                Ok(source) => source,
                Err(error) => {
                    report(&error.problems(), colour);
                    trouble = true;
                    continue;
                }
            };
            match format_source(&source) {
                Ok(formatted) if formatted == *source.text => {}
                Ok(formatted) => {
                    if check {
                        unformatted.push(file.display().to_string());
                    } else if let Err(error) = std::fs::write(&file, formatted) {
                        report(
                            &[Problem::error(
                                "privet::io",
                                format!("cannot write {}: {error}", file.display()),
                            )],
                            colour,
                        );
                        trouble = true;
                    } else {
                        outln!("formatted {}", file.display());
                    }
                }
                Err(problems) => {
                    report(&problems, colour);
                    trouble = true;
                }
            }
        }
    }
    for file in &unformatted {
        outln!("would reformat {file}");
    }
    if trouble {
        BAD_INPUT
    } else if !unformatted.is_empty() {
        errln!(
            "privet: {} file(s) not formatted; run `privet fmt` on them",
            unformatted.len()
        );
        FAILED
    } else {
        OK
    }
}
