//! Parse and compile any text as a policy (with the standard vocabulary).
#![no_main]

use libfuzzer_sys::fuzz_target;
use privet::SourceFile;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = SourceFile::new("fuzz.privet", text.as_ref());
    if let Err(problems) = privet::compile::compile(&[source]) {
        assert!(problems.iter().any(|p| p.is_error()), "a failed compile reports an error");
    }
});
