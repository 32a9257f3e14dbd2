//! Formatting keeps meaning and is idempotent: for any text that parses,
//! `parse(fmt(p)) == p` (spans aside) and `fmt(fmt(p)) == fmt(p)`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privet::SourceFile;
use privet::format::format_source;
use privet::syntax::{ClearSpans, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = SourceFile::new("fuzz.privet", text);
    let Ok(formatted) = format_source(&source) else { return };
    let (mut original, _) = parse(&source);
    let again = SourceFile::new("fuzz.privet", formatted.as_str());
    let (mut reparsed, problems) = parse(&again);
    assert!(problems.is_empty(), "formatted text does not parse: {problems:?}\n{formatted}");
    original.clear_spans();
    reparsed.clear_spans();
    assert_eq!(original, reparsed, "formatting changed the meaning:\n{formatted}");
    let twice = format_source(&again).unwrap_or_default();
    assert_eq!(twice, formatted, "formatting is not idempotent");
});
