//! The library's front door: load a policy, ask it about requests.

use std::path::{Path, PathBuf};

use crate::compile::{self, CompiledPolicy};
use crate::diagnostics::{Problem, Problems, SourceFile};
use crate::eval::{self, Decision};
use crate::request::{self, ReadRequest, Request, RequestId, ResolvedRequest};

/// Everything that can go wrong between a path and a decision.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Policy(Problems),
    /// Every problem of one request; in words, their messages.
    #[error("{}", messages(.0))]
    Request(Problems),
}

/// "what; what else": a request's problems in a line, as `allowed()` puts
/// them in the reason of its deny.
fn messages(problems: &Problems) -> String {
    problems
        .0
        .iter()
        .map(|problem| problem.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The problems to show a user.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Error::Io { .. } => vec![
                Problem::error("privet::io", self.to_string())
                    .with_help("check the path and that the file is readable"),
            ],
            Error::Policy(problems) => problems.0.clone(),
            Error::Request(problems) => problems.0.clone(),
        }
    }

    pub(crate) fn request(problems: Vec<Problem>) -> Self {
        Error::Request(Problems(problems))
    }
}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Self {
        Error::request(vec![problem])
    }
}

/// A checked policy, ready to decide. Immutable, so `Send + Sync`: share
/// one behind an `Arc` across a service's threads.
#[derive(Debug, Clone)]
pub struct Policy {
    compiled: CompiledPolicy,
    warnings: Vec<Problem>,
}

impl Policy {
    /// Load a policy from a `.privet` file, or from every `.privet` file of
    /// a directory (one policy spread over several files).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Policy, Error> {
        let path = path.as_ref();
        let files = read_policy_files(path)?;
        Policy::from_sources(files)
    }

    /// Load a policy from text; `name` is what diagnostics and reasons call it.
    pub fn from_source(name: &str, text: &str) -> Result<Policy, Error> {
        Policy::from_sources(vec![SourceFile::new(name, text)])
    }

    /// Load a policy made of several files.
    pub fn from_sources(files: Vec<SourceFile>) -> Result<Policy, Error> {
        match compile::compile(&files) {
            Ok((compiled, warnings)) => Ok(Policy { compiled, warnings }),
            Err(problems) => Err(Error::Policy(Problems(problems))),
        }
    }

    /// The policy's name from its header, such as `huawei.global_2016`.
    pub fn name(&self) -> Option<&str> {
        self.compiled.name.as_deref()
    }

    /// Problems that did not stop the policy from loading.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The compiled form, for tools that inspect a policy.
    pub fn compiled(&self) -> &CompiledPolicy {
        &self.compiled
    }

    /// Check a request's keys and facts against this policy once, to decide
    /// it many times.
    pub fn resolve(&self, request: &Request) -> Result<ResolvedRequest, Error> {
        request::resolve(&self.compiled, request, None).map_err(Error::request)
    }

    /// As [`Policy::resolve`], with the JSON text the request came from so
    /// that errors point into it.
    pub fn resolve_in(
        &self,
        request: &Request,
        source: &SourceFile,
    ) -> Result<ResolvedRequest, Error> {
        request::resolve(&self.compiled, request, Some(source)).map_err(Error::request)
    }

    /// Resolve request JSON (as [`Policy::read_request`] would), reading a
    /// valid request without copying its strings: the way in for batches.
    pub fn resolve_json(&self, text: &str) -> Result<ResolvedRequest, Error> {
        self.resolve_json_with_id(text).1
    }

    /// As [`Policy::resolve_json`], with the request's `id`, which its
    /// answer echoes: an invalid request has one too when it is a JSON
    /// object whose `id` is a string or a number.
    pub fn resolve_json_with_id(
        &self,
        text: &str,
    ) -> (Option<RequestId>, Result<ResolvedRequest, Error>) {
        match request::resolve_json(&self.compiled, text) {
            Some((id, resolved)) => (id, Ok(resolved)),
            // Anything unusual, errors above all, is read the full way.
            None => {
                let read = self.read_request("request", text);
                (read.request.and_then(|r| r.id), read.resolved)
            }
        }
    }

    /// Read request JSON and resolve it, reporting every problem at once:
    /// of its JSON (unknown fields, values of the wrong type), and of its
    /// keys and facts. `name` is what diagnostics call the text.
    pub fn read_request(&self, name: &str, text: &str) -> ReadRequest {
        request::read_and_resolve(&self.compiled, name, text)
    }

    /// Decide, explaining why; an invalid request is an error.
    pub fn decide(&self, request: &Request) -> Result<Decision, Error> {
        let resolved = self.resolve(request)?;
        Ok(self.decide_resolved(&resolved))
    }

    /// Decide, explaining why. Never fails: an invalid request is denied,
    /// with the problem as its reason.
    pub fn allowed(&self, request: &Request) -> Decision {
        match self.decide(request) {
            Ok(decision) => decision,
            Err(error) => Decision::error(&error.to_string()),
        }
    }

    /// Decide a resolved request, explaining why.
    pub fn decide_resolved(&self, request: &ResolvedRequest) -> Decision {
        eval::decide(&self.compiled, request)
    }

    /// Just the answer, for the hot path: no reasons are built.
    pub fn is_allowed(&self, request: &ResolvedRequest) -> bool {
        eval::is_allowed(&self.compiled, request)
    }

    /// Writes into `key` what of `request` this policy decides on: requests
    /// with equal keys get the same decision, so a caller may keep
    /// decisions under their keys. See [`ResolvedRequest::decision_key`].
    pub fn decision_key(&self, request: &ResolvedRequest, key: &mut Vec<u64>) {
        request.decision_key(&self.compiled, key);
    }
}

/// The `.privet` files a policy path names: the file itself, or the files
/// directly inside a directory, sorted so that loading is deterministic.
pub fn read_policy_files(path: &Path) -> Result<Vec<SourceFile>, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    let paths: Vec<PathBuf> = if metadata.is_dir() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| p.extension().is_some_and(|e| e == "privet") && p.is_file())
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no .privet files in this directory",
                ),
            });
        }
        paths
    } else {
        vec![path.to_path_buf()]
    };
    paths.iter().map(|p| read_source(p)).collect()
}

/// Read one file as a source; invalid UTF-8 is an error that says where.
pub fn read_source(path: &Path) -> Result<SourceFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.to_string_lossy().to_string();
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let source = SourceFile::new(name.clone(), text);
            let (line, column) = source.line_col(at);
            Err(Error::Policy(Problems(vec![
                Problem::error(
                    "privet::invalid_utf8",
                    format!("{name} is not valid UTF-8 (byte {at}, line {line}, column {column})"),
                )
                .with_help("save the file as UTF-8"),
            ])))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Policy>();
    }
}
