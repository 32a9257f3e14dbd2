//! The library's front door: load a policy, ask it about requests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::compile::{self, CompiledPolicy};
use crate::diagnostics::{Problem, Problems, SourceFile};
use crate::eval::{self, Decision};
use crate::request::{self, ReadRequest, Request, RequestId, ResolvedRequest};
use crate::syntax::{self, HeaderKind};

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
    /// A command that decides with one policy was given a collection.
    #[error(
        "{path} holds {count} policies, and this needs one: {names}",
        count = .policies.len(),
        names = list_paths(.policies)
    )]
    SeveralPolicies {
        path: PathBuf,
        policies: Vec<PathBuf>,
    },
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
            Error::SeveralPolicies { .. } => vec![
                Problem::error("privet::several_policies", self.to_string()).with_help(
                    "name one of them; a directory is one policy when the `policy` headers \
                     of its files name at most one policy",
                ),
            ],
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
    /// Load the policy a path names: a `.privet` file, or a directory whose
    /// `.privet` files (at any depth) form one policy. A directory that
    /// holds several policies is an error naming them; see [`PolicyAt`].
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

/// What a path means, for every command (README, "What a path means").
///
/// A file is one policy (with what it `use`s). A directory is one policy
/// made of every `.privet` file below it, at any depth — unless the `policy`
/// headers of those files name more than one policy. Then the directory is a
/// collection: each subdirectory is read by this same rule, and each file
/// directly inside is a policy of its own. So `policies/` is six policies
/// (`std/std.privet` and the five files of `huawei/`, each with its own
/// header), while a directory holding one policy split over several files,
/// such as `shop/{head,rules}.privet` with one `policy shop` header, is one.
/// A `vocabulary` header names no policy.
#[derive(Debug)]
pub struct PolicyAt {
    /// What to call the policy: its file when it has one, else the directory.
    pub path: PathBuf,
    /// Its files, sorted.
    pub files: Vec<PathBuf>,
    /// Their text; an unreadable file makes the whole policy unreadable.
    pub sources: Result<Vec<SourceFile>, Error>,
}

/// The policies `path` names: one for a file, one or more for a directory
/// (see [`PolicyAt`]), in the order of their paths. A directory without a
/// `.privet` file below it is an error.
pub fn policies_at(path: &Path) -> Result<Vec<PolicyAt>, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if !std::fs::metadata(path).map_err(io)?.is_dir() {
        return Ok(vec![PolicyAt {
            path: path.to_path_buf(),
            files: vec![path.to_path_buf()],
            sources: read_source(path).map(|source| vec![source]),
        }]);
    }
    let entries = walk(path, "privet").map_err(io)?;
    if entries.is_empty() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no .privet files below this directory",
        )));
    }
    let tree = read_tree(entries);
    let mut policies = Vec::new();
    split(path, tree, &mut policies);
    Ok(policies)
}

/// The one policy `path` names, for the commands that decide with a policy
/// (`eval`, `test`, `graph`, `diff`): a collection is an error that lists
/// what it holds.
pub fn read_policy_files(path: &Path) -> Result<Vec<SourceFile>, Error> {
    let mut policies = policies_at(path)?;
    if policies.len() > 1 {
        return Err(Error::SeveralPolicies {
            path: path.to_path_buf(),
            policies: policies.into_iter().map(|policy| policy.path).collect(),
        });
    }
    match policies.pop() {
        Some(policy) => policy.sources,
        None => Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no .privet files below this directory",
            ),
        }),
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every file whose name ends in `.extension` below `path`, at any depth and
/// sorted; `path` itself when it is a file. `privet fmt` formats files one by
/// one, so for it this, not [`policies_at`], is what a directory means.
pub fn files_below(path: &Path, extension: &str) -> std::io::Result<Vec<PathBuf>> {
    if !std::fs::metadata(path)?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    flatten(walk(path, extension)?, &mut files);
    Ok(files)
}

/// A directory's contents, as far as policies go.
enum Entry<T> {
    File(PathBuf, T),
    Dir(PathBuf, Vec<Entry<T>>),
}

/// The files with `extension` below `dir` and the directories that hold
/// some, sorted by name. A symbolic link to a directory is not followed, so
/// a link loop cannot make the walk endless.
fn walk(dir: &Path, extension: &str) -> std::io::Result<Vec<Entry<()>>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        paths.push((entry.path(), entry.file_type()?.is_dir()));
    }
    paths.sort();
    let mut entries = Vec::new();
    for (path, is_dir) in paths {
        if is_dir {
            let below = walk(&path, extension)?;
            if !below.is_empty() {
                entries.push(Entry::Dir(path, below));
            }
        } else if path.extension().is_some_and(|e| e == extension) && path.is_file() {
            entries.push(Entry::File(path, ()));
        }
    }
    Ok(entries)
}

fn flatten<T>(entries: Vec<Entry<T>>, out: &mut Vec<PathBuf>) {
    for entry in entries {
        match entry {
            Entry::File(path, _) => out.push(path),
            Entry::Dir(_, below) => flatten(below, out),
        }
    }
}

/// A file read, with the policy its header names (`None`: no `policy`
/// header, or a file that does not read or parse far enough to tell).
struct Read {
    source: Result<SourceFile, Error>,
    policy: Option<String>,
}

fn read_tree(entries: Vec<Entry<()>>) -> Vec<Entry<Read>> {
    entries
        .into_iter()
        .map(|entry| match entry {
            Entry::File(path, ()) => {
                let source = read_source(&path);
                let policy = source.as_ref().ok().and_then(|source| {
                    let (file, _) = syntax::parse(source);
                    file.header
                        .filter(|header| header.kind == HeaderKind::Policy)
                        .map(|header| header.name.node)
                });
                Entry::File(path, Read { source, policy })
            }
            Entry::Dir(path, below) => Entry::Dir(path, read_tree(below)),
        })
        .collect()
}

fn policy_names<'a>(entries: &'a [Entry<Read>], names: &mut BTreeSet<&'a str>) {
    for entry in entries {
        match entry {
            Entry::File(_, read) => names.extend(read.policy.as_deref()),
            Entry::Dir(_, below) => policy_names(below, names),
        }
    }
}

/// Apply the rule of [`PolicyAt`] to the directory `dir`.
fn split(dir: &Path, entries: Vec<Entry<Read>>, out: &mut Vec<PolicyAt>) {
    let mut names = BTreeSet::new();
    policy_names(&entries, &mut names);
    if names.len() <= 1 {
        let mut files = Vec::new();
        gather(entries, &mut files);
        out.push(one_policy(dir, files));
        return;
    }
    for entry in entries {
        match entry {
            Entry::File(path, read) => out.push(one_policy(&path, vec![(path.clone(), read)])),
            Entry::Dir(path, below) => split(&path, below, out),
        }
    }
}

fn gather(entries: Vec<Entry<Read>>, out: &mut Vec<(PathBuf, Read)>) {
    for entry in entries {
        match entry {
            Entry::File(path, read) => out.push((path, read)),
            Entry::Dir(_, below) => gather(below, out),
        }
    }
}

/// One policy of `files`, called by its file when it has one.
fn one_policy(dir: &Path, files: Vec<(PathBuf, Read)>) -> PolicyAt {
    let path = match files.as_slice() {
        [(file, _)] => file.clone(),
        _ => dir.to_path_buf(),
    };
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let mut unreadable = None;
    let mut paths = Vec::new();
    for (file, read) in files {
        paths.push(file);
        match read.source {
            Ok(source) => sources.push(source),
            // A file that cannot be read at all wins: the policy is bad input.
            Err(error @ Error::Io { .. }) => {
                unreadable.get_or_insert(error);
            }
            Err(error) => problems.extend(error.problems()),
        }
    }
    let sources = match unreadable {
        Some(error) => Err(error),
        None if !problems.is_empty() => Err(Error::Policy(Problems(problems))),
        None => Ok(sources),
    };
    PolicyAt {
        path,
        files: paths,
        sources,
    }
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
