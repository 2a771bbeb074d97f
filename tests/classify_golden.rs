//! Golden-file classification tests: every `tests/eml/NAME.eml` is parsed, classified
//! against `tests/eml/lists.toml` (mailbox `dangky`) and its `Decision` compared, as
//! JSON, with `tests/eml/NAME.json`. A mismatch writes the actual decision to
//! `tests/eml/NAME.failed` beside it. `NHOMTHU_UPDATE_GOLDEN=1` (re)writes the `.json`
//! files instead; read every one of them before committing.

use nhomthu::classify::classify;
use nhomthu::message::Inbound;
use std::fs;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("eml")
}

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

#[test]
fn classification_matches_golden_files() {
    let dir = corpus_dir();
    let config = nhomthu::config::load(&dir.join("lists.toml")).unwrap_or_else(|errors| {
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        panic!("tests/eml/lists.toml is invalid:\n{}", text.join("\n"))
    });
    let mailbox = config
        .mailboxes
        .iter()
        .find(|m| m.name() == "dangky")
        .expect("tests/eml/lists.toml has a mailbox named dangky");
    let update = std::env::var_os("NHOMTHU_UPDATE_GOLDEN").is_some_and(|v| v == "1");

    let files = eml_files(&dir);
    assert!(
        files.len() >= 30,
        "the golden corpus in {} has only {} .eml files",
        dir.display(),
        files.len()
    );

    let mut failures = Vec::new();
    for eml in &files {
        let name = eml.file_name().unwrap().to_string_lossy().into_owned();
        let raw = fs::read(eml).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        let msg = Inbound::parse(&raw).unwrap_or_else(|| panic!("{name} does not parse"));
        let decision = classify(&msg, &config, mailbox);
        let actual = serde_json::to_value(&decision).expect("a Decision serializes");
        let mut pretty = serde_json::to_string_pretty(&actual).unwrap();
        pretty.push('\n');

        let expected_path = eml.with_extension("json");
        let failed_path = eml.with_extension("failed");
        if update {
            fs::write(&expected_path, &pretty).expect("write .json");
            let _ = fs::remove_file(&failed_path);
            continue;
        }
        let expected: Option<serde_json::Value> =
            fs::read_to_string(&expected_path).ok().map(|t| {
                serde_json::from_str(&t)
                    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", expected_path.display()))
            });
        if expected.as_ref() == Some(&actual) {
            let _ = fs::remove_file(&failed_path);
        } else {
            fs::write(&failed_path, &pretty).expect("write .failed");
            let why = match expected {
                None => "no .json expectation".to_string(),
                Some(e) => format!("expected {e}, got {actual}"),
            };
            failures.push(format!("  {name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden files differ (actual decisions written to tests/eml/*.failed):\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
