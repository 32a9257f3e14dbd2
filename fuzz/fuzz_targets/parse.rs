//! Any text, valid or not, parses to items and problems: never a panic,
//! a hang or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privet::SourceFile;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = SourceFile::new("fuzz.privet", text.as_ref());
    let (_, problems) = privet::syntax::parse(&source);
    for problem in &problems {
        // Every problem can be located and rendered.
        let _ = problem.location();
        let _ = privet::diagnostics::render_plain(std::slice::from_ref(problem), 80);
    }
});
