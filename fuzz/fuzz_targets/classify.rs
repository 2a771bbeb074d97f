//! Raw bytes as a mailbox would hand them over → `Inbound::parse` (which also runs the
//! bounce/ARF reader) → `classify` for every mailbox of the golden-test configuration →
//! JSON. Nothing on this path may panic: bad mail is data, not an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nhomthu::classify::classify;
use nhomthu::config::Config;
use nhomthu::message::Inbound;
use std::sync::LazyLock;

/// The configuration of the golden classification tests, embedded so the binary runs
/// from anywhere.
const LISTS_TOML: &str = include_str!("../../tests/eml/lists.toml");

/// `config::load` takes a path and checks that the template directory exists, so the
/// file is written to a scratch directory laid out like the repository
/// (`tests/eml/lists.toml` beside `templates/`), loaded once and the directory removed.
static CONFIG: LazyLock<Config> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("nhomthu-fuzz-{}", std::process::id()));
    let eml = dir.join("tests").join("eml");
    std::fs::create_dir_all(&eml).expect("create the scratch directory");
    std::fs::create_dir_all(dir.join("templates")).expect("create the scratch templates");
    let path = eml.join("lists.toml");
    std::fs::write(&path, LISTS_TOML).expect("write the scratch lists.toml");
    let config = nhomthu::config::load(&path).unwrap_or_else(|errors| {
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        panic!("tests/eml/lists.toml is invalid:\n{}", text.join("\n"))
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !config.mailboxes.is_empty(),
        "the configuration has mailboxes"
    );
    config
});

fuzz_target!(
    init: {
        LazyLock::force(&CONFIG);
    },
    |data: &[u8]| {
        let Some(msg) = Inbound::parse(data) else {
            return;
        };
        serde_json::to_string(&msg).expect("an Inbound serializes");
        for mailbox in &CONFIG.mailboxes {
            let decision = classify(&msg, &CONFIG, mailbox);
            serde_json::to_string(&decision).expect("a Decision serializes");
        }
    }
);
