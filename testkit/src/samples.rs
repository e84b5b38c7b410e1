//! Where the repository's test inputs live: the real public samples
//! (`fixtures/realworld/`, provenance in its `SOURCES.md`), the demo recorded on a real
//! kernel (`fixtures/demo/`) and the generated fixture host trees (`fixtures/hosts/`).
//! Everything is inside the repository; a missing directory is a loud failure.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit sits in the workspace")
        .to_path_buf()
}

fn dir(rel: &str) -> PathBuf {
    let p = workspace().join(rel);
    assert!(
        p.is_dir(),
        "test input missing: {} does not exist",
        p.display()
    );
    p
}

/// `fixtures/realworld/<sub>` (`sub` may be empty for the root).
pub fn realworld(sub: &str) -> PathBuf {
    dir(&format!("fixtures/realworld/{sub}"))
}

/// One real sample, `fixtures/realworld/<rel>`, read as text.
pub fn realworld_text(rel: &str) -> String {
    let p = workspace().join("fixtures/realworld").join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The files of `fixtures/realworld/<sub>` whose name ends with `suffix`, sorted; at
/// least one.
pub fn realworld_files(sub: &str, suffix: &str) -> Vec<PathBuf> {
    let root = realworld(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no {suffix:?} samples in {}",
        root.display()
    );
    files
}

/// The bundled demo, `fixtures/demo`.
pub fn demo() -> PathBuf {
    dir("fixtures/demo")
}

/// A fixture host tree or file, `fixtures/hosts/<name>` (made by
/// `fixtures/hosts/generate.py`).
pub fn host(name: &str) -> PathBuf {
    let p = workspace().join("fixtures/hosts").join(name);
    assert!(
        p.exists(),
        "fixture {} missing (run fixtures/hosts/generate.py)",
        p.display()
    );
    p
}
