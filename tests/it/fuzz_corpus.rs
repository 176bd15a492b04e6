//! The fuzz corpora, replayed on stable Rust: every file under `fuzz/corpus/<target>/` (the
//! committed seeds: what Okta, Entra, Ping and the others send) and `fuzz/regressions/<target>/`
//! (inputs that once made a target fail) goes through the very calls its cargo-fuzz target makes,
//! so CI re-checks them without libFuzzer or nightly flags. The calls live in one file,
//! `fuzz/src/lib.rs`, shared with the fuzz targets so the two cannot drift.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/lib.rs"]
mod checks;

/// Fewer seeds than this means the corpus directory was not found or was emptied by mistake.
const MIN_SEEDS: usize = 30;

#[test]
fn filter_corpus_replays_without_panic() {
    replay("filter", checks::check_filter);
}

#[test]
fn path_corpus_replays_without_panic() {
    replay("path", checks::check_path);
}

#[test]
fn patch_corpus_replays_without_panic() {
    replay("patch", checks::check_patch);
}

fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let seeds = files(&fuzz.join("corpus").join(target));
    assert!(
        seeds.len() >= MIN_SEEDS,
        "only {} seeds in fuzz/corpus/{target}/",
        seeds.len()
    );
    let regressions = files(&fuzz.join("regressions").join(target));
    let failed: Vec<String> = seeds
        .iter()
        .chain(&regressions)
        .filter(|file| {
            let data = fs::read(file).expect("corpus file is readable");
            panic::catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "the {target} fuzz target panics on (message above each):\n{}",
        failed.join("\n")
    );
}

/// The files directly in `dir`, sorted; none when `dir` does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map(|entry| entry.expect("directory entry is readable").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}
