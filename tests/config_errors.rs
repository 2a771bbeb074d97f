//! Configuration errors point at file:line:column and carry a hint. Each test writes a
//! small `lists.toml` into a temporary directory (with a `templates` directory beside it,
//! so the template check passes unless a test is about it) and loads it.

use nhomthu::config::{Config, ConfigError, Severity, load};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A directory holding `lists.toml` with `text`, and `templates/` when asked.
fn setup(text: &str, with_templates: bool) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    if with_templates {
        std::fs::create_dir(dir.path().join("templates")).expect("templates dir");
    }
    let path = dir.path().join("lists.toml");
    std::fs::write(&path, text).expect("write lists.toml");
    (dir, path)
}

fn try_load(text: &str) -> (TempDir, PathBuf, Result<Config, Vec<ConfigError>>) {
    let (dir, path) = setup(text, true);
    let result = load(&path);
    (dir, path, result)
}

/// The errors of a configuration that must not load.
fn errors(text: &str) -> (PathBuf, Vec<ConfigError>) {
    let (_dir, path, result) = try_load(text);
    match result {
        Ok(_) => panic!("configuration loaded but should not have:\n{text}"),
        Err(errors) => (path, errors),
    }
}

/// The single error of a configuration, checked for position and message fragment.
#[track_caller]
fn single_error(text: &str, line: usize, column: usize, fragment: &str) -> ConfigError {
    let (path, errors) = errors(text);
    assert_eq!(
        errors.len(),
        1,
        "expected one error, got:\n{}",
        render(&errors)
    );
    let e = errors.into_iter().next().unwrap();
    assert_at(&e, &path, line, column, fragment);
    e
}

#[track_caller]
fn assert_at(e: &ConfigError, path: &Path, line: usize, column: usize, fragment: &str) {
    assert_eq!(e.file, path, "{e}");
    assert_eq!((e.line, e.column), (line, column), "wrong position: {e}");
    assert!(
        e.message.contains(fragment),
        "message lacks {fragment:?}: {e}"
    );
    assert!(!e.hint.trim().is_empty(), "no hint: {e}");
}

fn render(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A valid configuration: the tests below change one line of it at a time.
/// Line numbers are given in the comments of each test.
const VALID: &str = r#"[site]
domain = "moet.test"
name = "Test"
noreply = "norply@moet.test"

[delivery]
transport = "file"

[[mailbox]]
name = "dangky"
addresses = ["*@moet.test"]
maildir = "mail"

[[list]]
id = "thpt"
address = "thpt@moet.test"
name = "THPT"
registration = ["dangky-thpt@moet.test"]
"#;

#[test]
fn the_valid_base_loads() {
    let (_dir, _path, result) = try_load(VALID);
    let config = result.unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(config.lists.len(), 1);
}

#[test]
fn the_shipped_lists_toml_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("lists.toml");
    let config = load(&path).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert!(config.list("thpt").is_some());
    assert!(!config.mailboxes.is_empty());
}

#[test]
fn unknown_key_in_site() {
    let text = VALID.replace("noreply = ", "noreplyy = ");
    let e = single_error(&text, 4, 1, "unknown field `noreplyy`");
    assert!(e.message.contains("noreply"), "{e}");
    assert!(e.hint.contains("misspelt"), "{e}");
}

#[test]
fn unknown_key_in_a_list() {
    let text = VALID.replace(
        "name = \"THPT\"",
        "name = \"THPT\"\naudiance = \"Trường THPT\"",
    );
    let e = single_error(&text, 18, 1, "unknown field `audiance`");
    assert!(e.hint.contains("misspelt"), "{e}");
}

#[test]
fn duplicate_list_id() {
    let text = format!(
        "{VALID}\n[[list]]\nid = \"thpt\"\naddress = \"thcs@moet.test\"\nname = \"THCS\"\n\
         registration = [\"dangky-thcs@moet.test\"]\n"
    );
    // Line 21 is `id = "thpt"`; the span is the quoted value.
    let e = single_error(&text, 21, 6, "duplicate list id \"thpt\"");
    assert!(e.hint.contains("own id"), "{e}");
}

#[test]
fn address_used_twice() {
    // The second list's alias is the first list's registration address.
    let text = format!(
        "{VALID}\n[[list]]\nid = \"thcs\"\naddress = \"Dangky-THPT@moet.test\"\nname = \"THCS\"\n"
    );
    let e = single_error(&text, 22, 11, "is used twice");
    assert!(
        e.message
            .contains("a registration address of list \"thpt\" and the address of list \"thcs\""),
        "{e}"
    );
}

#[test]
fn registration_address_no_mailbox_reads() {
    let text = VALID.replace("[\"*@moet.test\"]", "[\"norply@moet.test\"]");
    single_error(
        &text,
        18,
        17,
        "no mailbox reads the registration address \"dangky-thpt@moet.test\"",
    );
}

#[test]
fn imap_password_variable_not_set() {
    let var = "NHOMTHU_TEST_UNSET_PASSWORD_7Q3ZK9X2";
    assert!(std::env::var_os(var).is_none());
    let text = VALID.replace(
        "maildir = \"mail\"\n",
        &format!(
            "\n[mailbox.imap]\nhost = \"imap.moet.test\"\nuser = \"norply@moet.test\"\n\
             password_env = \"{var}\"\n"
        ),
    );
    // Lines: 12 blank, 13 [mailbox.imap], 14 host, 15 user, 16 password_env.
    let e = single_error(
        &text,
        16,
        16,
        &format!("environment variable {var} is not set"),
    );
    assert!(e.hint.contains("export"), "{e}");
}

#[test]
fn managed_list_with_registration() {
    let text = VALID.replace(
        "name = \"THPT\"",
        "name = \"THPT\"\nkind = \"managed\"\nmembers = [\"a@school.test\"]",
    );
    // `registration` moves to line 20.
    let e = single_error(
        &text,
        20,
        17,
        "managed list \"thpt\" has a registration address",
    );
    assert!(e.hint.contains("members"), "{e}");
}

#[test]
fn non_managed_list_with_members() {
    let text = VALID.replace(
        "name = \"THPT\"",
        "name = \"THPT\"\nkind = \"announce\"\nmembers = [\"a@school.test\", \"b@school.test\"]",
    );
    let e = single_error(
        &text,
        19,
        12,
        "list \"thpt\" is not managed but lists members",
    );
    assert!(e.hint.contains("managed"), "{e}");
}

#[test]
fn invalid_email_address() {
    let text = VALID.replace(
        "address = \"thpt@moet.test\"",
        "address = \"thpt.moet.test\"",
    );
    let e = single_error(&text, 16, 11, "\"thpt.moet.test\" is not an email address");
    assert!(e.hint.contains("local-part@domain"), "{e}");
}

#[test]
fn smtp_transport_without_smtp_table() {
    let text = VALID.replace("transport = \"file\"", "transport = \"smtp\"");
    let e = single_error(&text, 7, 13, "no [[delivery.relay]]");
    assert!(e.hint.contains("[[delivery.relay]]"), "{e}");
}

#[test]
fn toml_syntax_error() {
    // An unquoted string on line 2.
    let text = VALID.replace("domain = \"moet.test\"", "domain = moet.test");
    let e = single_error(&text, 2, 10, "string");
    assert!(!e.hint.is_empty());
}

#[test]
fn missing_template_directory_concerns_the_whole_file() {
    let (_dir, path) = setup(VALID, false);
    let errors = load(&path).expect_err("templates/ is missing");
    assert_eq!(errors.len(), 1, "{}", render(&errors));
    let e = &errors[0];
    assert_at(e, &path, 0, 0, "template directory");
    assert!(e.message.contains("does not exist"), "{e}");
    // Without a position, Display names the file alone.
    assert_eq!(
        e.to_string(),
        format!(
            "{}: error: {}\n  hint: {}",
            path.display(),
            e.message,
            e.hint
        )
    );
}

#[test]
fn several_problems_are_all_reported() {
    let text = format!(
        "{VALID}\n[[list]]\nid = \"thpt\"\naddress = \"not-an-address\"\nname = \"X\"\n\
         members = [\"a@school.test\"]\n"
    );
    let text = text.replace("transport = \"file\"", "transport = \"smtp\"");
    let (path, errors) = errors(&text);
    assert!(errors.len() >= 3, "{}", render(&errors));
    let positions: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
    for (line, column, fragment) in [
        (21, 6, "duplicate list id"),
        (22, 11, "is not an email address"),
        (24, 12, "is not managed but lists members"),
        (7, 13, "no [[delivery.relay]]"),
    ] {
        let e = errors
            .iter()
            .find(|e| e.message.contains(fragment))
            .unwrap_or_else(|| panic!("no error about {fragment:?} in:\n{}", render(&errors)));
        assert_at(e, &path, line, column, fragment);
    }
    assert_eq!(positions.len(), 4, "{}", render(&errors));
}

#[test]
fn display_is_path_line_column_error_and_hint() {
    let text = format!(
        "{VALID}\n[[list]]\nid = \"thpt\"\naddress = \"thcs@moet.test\"\nname = \"THCS\"\n"
    );
    let e = single_error(&text, 21, 6, "duplicate list id");
    let shown = e.to_string();
    assert_eq!(
        shown,
        format!(
            "{}:21:6: error: duplicate list id \"thpt\"\n  hint: each [[list]] needs its own id",
            e.file.display()
        )
    );
    let (first, second) = shown.split_once('\n').unwrap();
    assert!(first.contains(":21:6: error: "), "{first}");
    assert!(second.starts_with("  hint: "), "{second}");
}

#[test]
fn a_written_template_directory_that_is_missing_is_pointed_at() {
    let text = VALID.replace(
        "domain = \"moet.test\"",
        "domain = \"moet.test\"\ntemplates = \"nowhere\"",
    );
    let (_dir, path) = setup(&text, true);
    let errors = load(&path).expect_err("nowhere/ is missing");
    assert_eq!(errors.len(), 1, "{}", render(&errors));
    assert_at(&errors[0], &path, 3, 13, "template directory");
}

#[test]
fn bounce_thresholds_must_make_sense() {
    let text = VALID.replace(
        "[delivery]",
        "[bounces]\nthreshold = 0\nhalf_life_days = -1\n\n[delivery]",
    );
    let (path, errors) = errors(&text);
    assert_eq!(errors.len(), 2, "{}", render(&errors));
    assert_at(&errors[0], &path, 8, 18, "half_life_days = -1");
    assert_at(&errors[1], &path, 7, 13, "threshold = 0");
}

#[test]
fn the_answers_share_must_leave_posts_something() {
    for bad in ["1", "-0.1", "1.5"] {
        let text = VALID.replace(
            "transport = \"file\"\n",
            &format!("transport = \"file\"\nanswers_share = {bad}\n"),
        );
        let e = single_error(&text, 8, 17, "answers_share");
        assert!(e.message.contains(bad), "{e}");
    }
    let text = VALID.replace(
        "transport = \"file\"\n",
        "transport = \"file\"\nanswers_share = 0\n",
    );
    let (_dir, _path, result) = try_load(&text);
    let config = result.unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(*config.delivery.answers_share.get_ref(), 0.0);
}

/// VALID trusting an authserv-id (line 5) and sending over SMTP (line 8).
fn forgeable_smtp_site() -> String {
    VALID
        .replace(
            "noreply = \"norply@moet.test\"\n",
            "noreply = \"norply@moet.test\"\nauthserv_ids = [\"mx.moet.test\"]\n",
        )
        .replace(
            "transport = \"file\"\n",
            "transport = \"smtp\"\n\n[[delivery.relay]]\nhost = \"127.0.0.1\"\n",
        )
}

#[test]
fn a_forgeable_trust_and_bulk_mail_without_one_click_are_warnings() {
    let text = forgeable_smtp_site();
    let (_dir, path, result) = try_load(&text);
    let config =
        result.unwrap_or_else(|e| panic!("warnings must not stop loading: {}", render(&e)));
    let w = &config.warnings;
    assert_eq!(w.len(), 2, "{}", render(w));
    assert!(w.iter().all(|w| w.severity == Severity::Warning));
    assert_at(
        &w[0],
        &path,
        5,
        17,
        "anyone can write `Authentication-Results: mx.moet.test; dmarc=pass`",
    );
    assert!(w[0].message.contains("a Maildir mailbox"), "{}", w[0]);
    assert!(w[0].hint.contains("verify = \"self\""), "{}", w[0]);
    assert!(w[0].hint.contains("header_checks") && w[0].hint.contains("OpenDMARC"));
    assert_at(&w[1], &path, 8, 13, "RFC 8058");
    assert!(w[1].message.contains("Gmail and Yahoo"), "{}", w[1]);
    assert!(
        w[1].to_string()
            .starts_with(&format!("{}:8:13: warning: ", path.display()))
    );

    // verify = "self" answers the first; listen with an https base_url the second.
    let fixed = text.replace(
        "name = \"Test\"\n",
        "name = \"Test\"\nverify = \"self\"\nlisten = \"127.0.0.1:8025\"\nbase_url = \"https://moet.test\"\n",
    );
    let (_dir, _path, result) = try_load(&fixed);
    let config = result.unwrap_or_else(|e| panic!("{}", render(&e)));
    assert!(config.warnings.is_empty(), "{}", render(&config.warnings));

    // Hosted mail read over IMAP: its server's verdict is trustworthy.
    let hosted = forgeable_smtp_site().replace(
        "maildir = \"mail\"\n",
        "[mailbox.imap]\nhost = \"imap.gmail.com\"\nuser = \"norply@moet.test\"\npassword_env = \"HOME\"\n",
    );
    let (_dir, _path, result) = try_load(&hosted);
    let config = result.unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(config.warnings.len(), 1, "{}", render(&config.warnings));
    assert!(config.warnings[0].message.contains("one-click"));
    // A self-hosted IMAP server is no better than a Maildir.
    let dovecot = hosted.replace("imap.gmail.com", "127.0.0.1");
    let (_dir, _path, result) = try_load(&dovecot);
    let config = result.unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(config.warnings.len(), 2, "{}", render(&config.warnings));
    assert!(
        config.warnings[0]
            .message
            .contains("no IMAP mailbox at a hosted provider")
    );
}

#[test]
fn nhomthu_check_prints_the_warnings_and_succeeds() {
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let text = forgeable_smtp_site().replace(
        "name = \"Test\"\n",
        &format!("name = \"Test\"\ntemplates = \"{templates}\"\n"),
    );
    let (_dir, path) = setup(&text, false);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nhomthu"))
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{stderr}");
    let file = path.display();
    assert!(
        stderr.contains(&format!(
            "{file}:6:17: warning: authserv_ids trusts \"mx.moet.test\""
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}:9:13: warning: posts go out over SMTP without one-click unsubscribe"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("\n  hint: ").count(), 2, "{stderr}");
    assert!(
        stdout.contains("ok (1 lists, 1 mailboxes, 2 warning(s))"),
        "{stdout}"
    );
}
