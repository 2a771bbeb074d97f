//! Reading `lists.toml`: TOML syntax and shape errors from the parser, then the checks of
//! `check.rs`, all reported with file:line:column.

use super::{Config, ConfigError, check};
use std::path::Path;

/// Read, parse and validate a configuration file.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError::whole_file(
            path,
            format!("cannot read the configuration file: {e}"),
            "pass --config PATH, or run from the directory holding lists.toml",
        )]
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    load_str(&text, path, base)
}

/// Parse and validate configuration text; `path` names it in errors, `base` resolves
/// relative paths.
pub fn load_str(text: &str, path: &Path, base: &Path) -> Result<Config, Vec<ConfigError>> {
    let mut config: Config = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        let hint = hint_for(&message);
        vec![ConfigError::at(path, text, span, message, hint)]
    })?;
    config.base_dir = base.to_path_buf();
    let errors = check::validate(&config, text, path);
    if errors.is_empty() {
        config.warnings = check::warnings(&config, text, path);
        Ok(config)
    } else {
        Err(errors)
    }
}

fn hint_for(message: &str) -> &'static str {
    if message.starts_with("unknown field") {
        "a misspelt key, or a key in the wrong table: the message lists the keys allowed here"
    } else if message.starts_with("missing field") {
        "this table needs the named key"
    } else if message.starts_with("unknown variant") {
        "the value must be one of those listed"
    } else if message.contains("duplicate key") {
        "each key may appear once in a table"
    } else {
        "see the commented lists.toml shipped with nhomthu for the expected shape"
    }
}
