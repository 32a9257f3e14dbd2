//! `privet graph`: the policy as a picture, in DOT or (through Graphviz) SVG.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use clap::ValueEnum;
use privet::graph::{self, GraphOptions};

use crate::{BAD_INPUT, OK, load_policy, report};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT text.
    Dot,
    /// SVG, drawn by Graphviz's `dot -Tsvg` (Graphviz must be installed).
    Svg,
}

/// The Graphviz program; `PRIVET_DOT` names another (for tests, or an
/// install outside the PATH).
fn graphviz() -> String {
    std::env::var("PRIVET_DOT").unwrap_or_else(|_| "dot".into())
}

pub fn run(path: &Path, format: GraphFormat, options: &GraphOptions, colour: bool) -> u8 {
    let Some(policy) = load_policy(path, colour) else {
        return BAD_INPUT;
    };
    let dot = match graph::dot(policy.compiled(), options) {
        Ok(dot) => dot,
        Err(problem) => {
            report(&[problem], colour);
            return BAD_INPUT;
        }
    };
    match format {
        GraphFormat::Dot => {
            out!("{dot}");
            OK
        }
        GraphFormat::Svg => match svg(&dot) {
            Ok(svg) => {
                // As for text: a reader that went away loses the picture,
                // and the command still ends as its work did.
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(&svg).and_then(|()| stdout.flush());
                OK
            }
            Err(message) => {
                errln!("privet: {message}");
                BAD_INPUT
            }
        },
    }
}

/// Pipe DOT through `dot -Tsvg`.
fn svg(dot: &str) -> Result<Vec<u8>, String> {
    let program = graphviz();
    let mut child = Command::new(&program)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                "Graphviz is not installed; install it (apt-get install graphviz) or use --format dot"
                    .to_string()
            } else {
                format!("cannot run Graphviz (`{program}`): {error}")
            }
        })?;
    // Write on a thread so that a large picture cannot deadlock the pipes.
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| "cannot write to Graphviz".to_string())?;
    let input = dot.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut svg = Vec::new();
    let mut errors = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_end(&mut svg)
            .map_err(|e| format!("cannot read from Graphviz: {e}"))?;
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut errors);
    }
    let status = child
        .wait()
        .map_err(|e| format!("Graphviz did not finish: {e}"))?;
    let written = writer.join();
    if !status.success() || svg.is_empty() {
        return Err(format!("Graphviz failed ({status}): {}", errors.trim()));
    }
    if !matches!(written, Ok(Ok(()))) {
        return Err("cannot write to Graphviz".into());
    }
    Ok(svg)
}
