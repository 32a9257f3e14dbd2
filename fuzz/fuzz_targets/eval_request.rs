//! Any bytes as a request against the shipped global policy: an error or a
//! decision, `allowed()` agrees with `decide()`, and the batch's way in
//! (`resolve_json`, which reads plain requests on a fast path of its own)
//! resolves exactly what the full path resolves.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use privet::{Policy, Request};

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let text = include_str!("../../policies/huawei/global-2016.privet");
        match Policy::from_source("policies/huawei/global-2016.privet", text) {
            Ok(policy) => policy,
            Err(error) => panic!("the shipped policy must load: {error}"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let full = Request::from_json(text)
        .ok()
        .and_then(|request| policy().resolve(&request).ok());
    assert_eq!(policy().resolve_json(text).ok(), full, "{text}");
    let Ok(request) = Request::from_json(text) else { return };
    let allowed = policy().allowed(&request);
    match policy().decide(&request) {
        Ok(decision) => {
            assert_eq!(decision.allowed, allowed.allowed);
            if let Ok(resolved) = policy().resolve(&request) {
                assert_eq!(policy().is_allowed(&resolved), decision.allowed);
            }
        }
        Err(_) => assert!(!allowed.allowed, "an invalid request is denied"),
    }
});
