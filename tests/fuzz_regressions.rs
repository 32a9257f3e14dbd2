//! Every input cargo fuzz ever found, kept and re-checked: the same
//! properties the fuzz targets assert (fuzz/fuzz_targets/).

use std::path::PathBuf;

use privet::SourceFile;
use privet::format::format_source;
use privet::syntax::{ClearSpans, parse};

fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/fuzz")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("readable");
            (path, bytes)
        })
        .collect()
}

#[test]
fn found_inputs_parse_and_check_without_panicking() {
    for (path, bytes) in inputs() {
        let text = String::from_utf8_lossy(&bytes);
        let source = SourceFile::new(path.display().to_string(), text.as_ref());
        let _ = parse(&source);
        let _ = privet::compile::compile(&[source]);
    }
}

#[test]
fn found_inputs_format_round_trip() {
    for (path, bytes) in inputs() {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let source = SourceFile::new("fuzz.privet", text);
        let Ok(formatted) = format_source(&source) else {
            continue;
        };
        let (mut original, _) = parse(&source);
        let again = SourceFile::new("fuzz.privet", formatted.as_str());
        let (mut reparsed, problems) = parse(&again);
        assert!(
            problems.is_empty(),
            "{}: formatted text does not parse: {problems:?}",
            path.display()
        );
        original.clear_spans();
        reparsed.clear_spans();
        assert_eq!(original, reparsed, "{}", path.display());
        assert_eq!(
            format_source(&again).ok().as_deref(),
            Some(formatted.as_str()),
            "{}",
            path.display()
        );
    }
}
