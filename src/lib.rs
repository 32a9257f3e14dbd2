//! # privet — privacy policy as code
//!
//! A legal engineer writes a privacy policy in `.privet` files; a service
//! asks [`Policy::allowed`] before it processes personal data, and gets a
//! [`Decision`]: allowed or not, the rules that decided it with their
//! citations, the legal basis, the obligations that come with it, the facts
//! that were missing, and hints for what would change a deny.
//!
//! ```
//! use privet::{Policy, Request};
//!
//! let policy = Policy::from_source("shop.privet", r#"
//!     use std
//!     allow user.contact.email for marketing to first_party
//!         basis consent
//!         unless opt_out(purpose)
//!         oblige offer_opt_out
//!         cite "§1(b)"
//! "#)?;
//!
//! let request = Request::new(["user.contact.email"])
//!     .purpose("marketing.communications.email")
//!     .fact("consent", ["marketing"]);
//! let decision = policy.allowed(&request);
//! assert!(decision.allowed);
//! assert_eq!(decision.basis.as_deref(), Some("consent"));
//! assert_eq!(decision.obligations, ["offer_opt_out"]);
//!
//! // Without consent: denied, and the decision says what would change that.
//! let decision = policy.allowed(&Request::new(["user.contact.email"]).purpose("marketing"));
//! assert!(!decision.allowed);
//! assert_eq!(decision.hints, ["allowed with consent to marketing"]);
//! # Ok::<(), privet::Error>(())
//! ```
//!
//! The pipeline: text → [`syntax`] (spanned AST) → [`compile`] (names
//! resolved, taxonomies as petgraph DAGs, conditions checked) → [`eval`]
//! (decisions). Every problem on the way is a [`Problem`], a miette
//! diagnostic with the file, a labelled span and help.
//!
//! A [`Policy`] is immutable and `Send + Sync`. To decide the same request
//! shape many times, [`Policy::resolve`] it once and call
//! [`Policy::is_allowed`] or [`Policy::decide_resolved`].

#![forbid(unsafe_code)]
// Library code never panics on input: failures are values.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::cast_possible_truncation
    )
)]
// A `Problem` carries its source file and help so that it can be rendered
// anywhere; it is large, but errors are the cold path.
#![allow(clippy::result_large_err)]

pub mod compile;
pub mod conformance;
pub mod diagnostics;
pub mod diff;
pub mod eval;
pub mod format;
pub mod graph;
pub mod limits;
pub mod lint;
pub mod policy;
pub mod request;
pub mod syntax;

pub use diagnostics::{Problem, Problems, SourceFile};
pub use eval::{Decision, Reason};
pub use policy::{Error, Policy};
pub use request::{ReadRequest, Request, RequestId, ResolvedRequest};

// The README's Rust example is compiled and run as a doctest, so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
