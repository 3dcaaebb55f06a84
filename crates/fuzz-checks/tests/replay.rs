//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same checks the
//! fuzz targets run, on stable Rust, so CI holds every input the fuzzer ever kept.

use std::path::PathBuf;

#[test]
fn every_corpus_input_passes_its_target_checks() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (target, check) in utilconnect_fuzz_checks::TARGETS {
        let dir = root.join(target);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("readable corpus entry").path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "no seed inputs for {target}");
        for input in inputs {
            let data = std::fs::read(&input).expect("readable corpus file");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(
                outcome.is_ok(),
                "{target}: {} fails its checks",
                input.display()
            );
        }
    }
}
