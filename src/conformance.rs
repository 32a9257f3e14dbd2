//! Conformance files: a policy and cases that pin its decisions.
