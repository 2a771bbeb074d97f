//! Property tests (proptest).
//!
//! 1. Reading mail never panics: `Inbound::parse` (with the bounce reader) and `classify`,
//!    on arbitrary bytes, on mail-shaped bytes, and on the `tests/eml` samples mutated
//!    (truncated, with CR, LF, NUL and non-UTF-8 bytes inserted, with header fields
//!    duplicated).
//! 2. Nothing the system sends can be given an extra header field by text from outside:
//!    the system's answers (`compose::build`: the recipient's display name, list names,
//!    the site's names, the subject, sender and reason of a held post, the Message-ID
//!    answered) and posts as members receive them (`handlers::prepare` and the
//!    per-recipient `ListCopy::personal` / batch `ListCopy::shared`: the subject prefix on
//!    an arbitrary subject, the DMARC `From` rewrite of an arbitrary display name, the
//!    list's name, prefix and footer, `List-*` fields, the unsubscribe fields built from
//!    a member's address). For arbitrary strings, the header block of the result must
//!    consist of `Name: value` lines and continuation lines only, and mail-parser must see
//!    exactly the fields the same message has when built from harmless text. The same
//!    holds for a copy sealed with ARC, whose `ARC-Authentication-Results` copies the
//!    results of a trusted `Authentication-Results` full of arbitrary text, and no line
//!    of it is longer than the 998 octets of RFC 5322.
//!
//! `PROPTEST_CASES` overrides the number of cases of every property.

use data_encoding::BASE64;
use mail_parser::{MessageParser, MimeHeaders};
use nhomthu::classify::classify;
use nhomthu::compose::{self, Answer, Held, Kind};
use nhomthu::config::Config;
use nhomthu::handlers::{self, HandlerError, Personal};
use nhomthu::message::Inbound;
use nhomthu::templates::Templates;
use proptest::prelude::*;
use proptest::sample::Index;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------
// Shared fixtures
// ---------------------------------------------------------------------------------------

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/eml/lists.toml`, as the golden classification tests load it.
fn golden_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        nhomthu::config::load(&root().join("tests/eml/lists.toml")).unwrap_or_else(|errors| {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            panic!("tests/eml/lists.toml is invalid:\n{}", text.join("\n"))
        })
    })
}

/// Every `tests/eml/*.eml`, sorted by name.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("tests/eml"))
            .expect("tests/eml")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        paths.sort();
        assert!(paths.len() >= 30, "the tests/eml corpus is there");
        paths
            .iter()
            .map(|p| std::fs::read(p).expect("read a sample"))
            .collect()
    })
}

/// A site like the handlers' own tests use: an announce list with a prefix and a footer
/// ("thpt"), a discussion list ("thaoluan"), a managed list without a registration
/// address ("sogd"); Gmail authors get the DMARC rewrite. Templates are the shipped ones.
fn site_config(language: &str) -> Config {
    let text = format!(
        r#"
[site]
domain = "moet.edu.vn"
name = "Bộ Giáo dục và Đào tạo"
noreply = "norply@moet.edu.vn"
base_url = "https://nhomthu.moet.edu.vn"
language = "{language}"

[delivery]

[dmarc]
strict = ["gmail.com"]

[[list]]
id = "thpt"
address = "thpt@moet.edu.vn"
name = "Trường THPT"
audience = "Các trường trung học phổ thông"
kind = "announce"
registration = ["dangky@moet.edu.vn"]
moderators = ["cntt@moet.edu.vn"]
subject_prefix = "[THPT]"
footer = "Để rời nhóm, gửi thư tới dangky@moet.edu.vn với tiêu đề \"hủy đăng ký\"."

[[list]]
id = "thaoluan"
address = "thaoluan@moet.edu.vn"
name = "Diễn đàn giáo viên"
kind = "discussion"
registration = ["thaoluan-dangky@moet.edu.vn"]
subject_prefix = "[Thảo luận]"
footer = "Diễn đàn giáo viên — thaoluan@moet.edu.vn"

[[list]]
id = "sogd"
address = "sogd@moet.edu.vn"
name = "Sở GD&ĐT"
kind = "managed"
"#
    );
    let mut config: Config = toml::from_str(&text).expect("the test site configuration");
    config.base_dir = root().to_path_buf();
    config
}

const LISTS: [&str; 3] = ["thpt", "thaoluan", "sogd"];

fn list_index(config: &Config, id: &str) -> usize {
    config
        .lists
        .iter()
        .position(|l| l.id() == id)
        .expect("a list of the test site")
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Pieces that have broken header writers before: line ends, NUL, a Bcc field, encoded
/// words that decode to a line break, quotes and angle brackets, non-ASCII, Unicode line
/// separators, giant words.
const NASTY: &[&str] = &[
    "\r\n",
    "\n",
    "\r",
    "\r\n\r\n",
    "\n\n",
    "\r\n ",
    "\r\n\t",
    "Bcc: x@y",
    "\r\nBcc: x@y",
    "\nBcc: x@y",
    "\rBcc: x@y",
    "\r\n\r\nBcc: x@y",
    "\0",
    "\0Bcc: x@y",
    "=?utf-8?q?a=0D=0ABcc:_x?=",
    "=?utf-8?b?DQpCY2M6IHhAeQ==?=",
    "=?UTF-8?Q?=0A?=",
    "=?",
    "?=",
    "\"",
    "\\",
    "<",
    ">",
    ",",
    ";",
    ":",
    "@",
    "(",
    ")",
    "\t",
    " ",
    "  ",
    "Nguyễn Văn Huy",
    "Hủy đăng ký",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{feff}",
    "\u{7f}",
    "\u{1b}",
    "𝒳",
    "x@y.z",
    "--",
    ".",
    "\r\n.\r\n",
];

/// Arbitrary text with a bias towards what breaks header writers.
fn nasty_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(NASTY).prop_map(str::to_string),
        2 => "[a-zA-Z0-9 ]{0,12}",
        1 => any::<char>().prop_map(String::from),
        1 => (1usize..1200).prop_map(|n| "x".repeat(n)),
        1 => (1usize..60).prop_map(|n| "ơ ".repeat(n)),
    ];
    prop_oneof![
        6 => prop::collection::vec(piece, 0..8).prop_map(|p| p.concat()),
        2 => any::<String>(),
        1 => prop::sample::select(NASTY).prop_map(str::to_string),
    ]
}

/// How a decoded text is put into a received header field.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    /// One RFC 2047 base64 word.
    B,
    /// One RFC 2047 Q word with every byte escaped.
    Q,
    /// As is (UTF-8 header text, RFC 6532), when the text has no line break.
    Raw,
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![Just(Encoding::B), Just(Encoding::Q), Just(Encoding::Raw)]
}

fn encode_word(text: &str, encoding: Encoding) -> String {
    match encoding {
        Encoding::B => format!("=?UTF-8?B?{}?=", BASE64.encode(text.as_bytes())),
        Encoding::Q | Encoding::Raw => {
            let escaped: String = text.bytes().map(|b| format!("={b:02X}")).collect();
            format!("=?UTF-8?Q?{escaped}?=")
        }
    }
}

/// An unstructured field value (a subject).
fn unstructured(text: &str, encoding: Encoding) -> String {
    match encoding {
        Encoding::Raw if !text.contains(['\r', '\n']) => text.to_string(),
        Encoding::Raw | Encoding::B | Encoding::Q => encode_word(text, encoding),
    }
}

/// A display name before `<address>`.
fn phrase(text: &str, encoding: Encoding) -> String {
    match encoding {
        Encoding::Raw if !text.contains(['\r', '\n']) => {
            format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
        }
        Encoding::Raw | Encoding::B | Encoding::Q => encode_word(text, encoding),
    }
}

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

/// Parse and classify for every mailbox, and serialise the results; panics propagate.
fn read_and_classify(raw: &[u8]) {
    let config = golden_config();
    if let Some(msg) = Inbound::parse(raw) {
        serde_json::to_string(&msg).expect("an Inbound serializes");
        for mailbox in &config.mailboxes {
            let decision = classify(&msg, config, mailbox);
            serde_json::to_string(&decision).expect("a Decision serializes");
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The header field names of an outgoing message, lowercased and sorted, after checking
/// that every physical line of its header block is a continuation line or `Name: value`
/// and that mail-parser sees the same fields.
fn header_names(raw: &[u8]) -> Result<Vec<String>, TestCaseError> {
    let end = find(raw, b"\r\n\r\n")
        .ok_or_else(|| TestCaseError::fail("no blank line after the header block"))?;
    // The block without the CRLF that ends its last line.
    let block = String::from_utf8_lossy(&raw[..end]);
    let mut names = Vec::new();
    for (i, line) in block.split("\r\n").enumerate() {
        prop_assert!(
            !line.contains(['\r', '\n']),
            "bare CR or LF in header line {i}: {line:?}"
        );
        if line.starts_with([' ', '\t']) {
            prop_assert!(i > 0, "the header block starts with a continuation line");
            continue;
        }
        let name = line.split_once(':').map(|(name, _)| name);
        prop_assert!(
            name.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic())),
            "header line {i} is neither a field nor a continuation: {line:?}"
        );
        names.push(name.unwrap_or_default().to_ascii_lowercase());
    }
    names.sort();

    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| TestCaseError::fail("mail-parser cannot parse the message"))?;
    let mut parsed: Vec<String> = msg
        .headers()
        .iter()
        .map(|h| h.name().to_ascii_lowercase())
        .collect();
    parsed.sort();
    prop_assert_eq!(&names, &parsed, "the lines and mail-parser disagree");
    Ok(names)
}

#[test]
fn the_checker_sees_injected_fields_and_stray_line_ends() {
    let names = header_names(b"From: a@b.c\r\nSubject: x\r\nBcc: v@w.x\r\n\r\nbody").unwrap();
    assert_eq!(names, ["bcc", "from", "subject"]);
    let folded = header_names(b"From: a@b.c\r\nSubject: x\r\n y\r\n\r\nbody").unwrap();
    assert_eq!(folded, ["from", "subject"]);
    for bad in [
        &b"From: a@b.c\r\nSubject: x\nBcc: v@w.x\r\n\r\nbody"[..],
        b"From: a@b.c\r\nSubject: x\rBcc: v@w.x\r\n\r\nbody",
        b"From: a@b.c\r\nnot a field\r\n\r\nbody",
        b" From: a@b.c\r\n\r\nbody",
        b"From: a@b.c\r\n",
    ] {
        assert!(
            header_names(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// The addresses of a To, Cc or Bcc field as mail-parser reads them.
fn addresses(addr: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    addr.map(|a| {
        a.iter()
            .filter_map(|a| a.address.as_deref().map(str::to_ascii_lowercase))
            .collect()
    })
    .unwrap_or_default()
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// 1. Reading mail never panics
// ---------------------------------------------------------------------------------------

/// A change to a sample.
#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the message at a point.
    Truncate(Index),
    /// Insert bytes at a point.
    Insert(Index, Vec<u8>),
    /// Copy a header field (with its continuation lines) to another place in the header.
    DuplicateField(Index, Index),
    /// Remove a run of bytes.
    Remove(Index, usize),
    /// Replace a byte.
    Overwrite(Index, u8),
}

const INSERTS: &[&[u8]] = &[
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\n\r\n",
    b"\0",
    b"\xff",
    b"\xc3",
    b"\xe1\xbb",
    b"\xed\xa0\x80",
    b"\r\n ",
    b"\r\n\t",
    b":",
    b"=?",
    b"?=",
    b"=?utf-8?b?",
    b"=?windows-1258?q?=D2",
    b"--",
    b"\r\n--\r\n",
    b"\"",
    b"<",
    b"@",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n",
    b"Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b\r\nStatus: 5.1.1\r\n",
    b"Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"charset=windows-1258",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes = prop_oneof![
        4 => prop::sample::select(INSERTS).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 1..16),
    ];
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::Truncate),
        4 => (any::<Index>(), bytes).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::DuplicateField(a, b)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
    ]
}

/// The start offsets of the header fields of `raw` (lines not starting with white space,
/// before the first empty line), and the end of the header block.
fn fields(raw: &[u8]) -> (Vec<usize>, usize) {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let end = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| at + i + 1);
        let line = &raw[at..end];
        if line == b"\n" || line == b"\r\n" {
            break;
        }
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            starts.push(at);
        }
        at = end;
    }
    (starts, at)
}

fn apply(raw: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Truncate(i) => raw.truncate(i.index(raw.len() + 1)),
        Mutation::Insert(i, bytes) => {
            let at = i.index(raw.len() + 1);
            raw.splice(at..at, bytes.iter().copied());
        }
        Mutation::DuplicateField(which, to) => {
            let (starts, end) = fields(raw);
            if starts.is_empty() {
                return;
            }
            let k = which.index(starts.len());
            let field = raw[starts[k]..starts.get(k + 1).copied().unwrap_or(end)].to_vec();
            let at = starts[to.index(starts.len())];
            raw.splice(at..at, field);
        }
        Mutation::Remove(i, n) => {
            if raw.is_empty() {
                return;
            }
            let at = i.index(raw.len());
            let end = (at + n).min(raw.len());
            raw.drain(at..end);
        }
        Mutation::Overwrite(i, b) => {
            if !raw.is_empty() {
                let at = i.index(raw.len());
                raw[at] = *b;
            }
        }
    }
}

/// A message-shaped input: known and unknown fields with arbitrary values, then a body.
fn mail_shaped() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        prop::sample::select(
            &[
                "From",
                "To",
                "Cc",
                "Subject",
                "Return-Path",
                "Delivered-To",
                "In-Reply-To",
                "References",
                "Message-ID",
                "Auto-Submitted",
                "Precedence",
                "List-Id",
                "X-Autoreply",
                "X-Nhomthu-Loop",
                "Content-Type",
                "Content-Transfer-Encoding",
                "MIME-Version",
                "Authentication-Results",
            ][..]
        )
        .prop_map(str::to_string),
        "[A-Za-z-]{1,12}",
    ];
    let value = prop_oneof![
        3 => nasty_string(),
        1 => "[a-z.+-]{0,8}@(moet\\.test|gmail\\.com|[a-z]{1,6})",
        1 => prop::sample::select(&[
            "norply+abcdefghijklmnopqrstuvwxyz@moet.test",
            "dangky-thpt@moet.test",
            "thpt@moet.test",
            "multipart/report; report-type=delivery-status; boundary=b",
            "multipart/mixed; boundary=b",
            "text/plain; charset=windows-1258",
            "auto-replied",
            "<>",
            "moet.test",
        ][..])
        .prop_map(str::to_string),
    ];
    (
        prop::collection::vec((name, value), 0..12),
        nasty_string(),
        any::<bool>(),
    )
        .prop_map(|(fields, body, crlf)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut out = String::new();
            for (n, v) in fields {
                out.push_str(&format!("{n}: {v}{eol}"));
            }
            out.push_str(eol);
            out.push_str(&body);
            out.into_bytes()
        })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn arbitrary_bytes_are_read_without_panicking(
        raw in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        read_and_classify(&raw);
    }

    #[test]
    fn mail_shaped_bytes_are_read_without_panicking(raw in mail_shaped()) {
        read_and_classify(&raw);
    }

    #[test]
    fn mutated_samples_are_read_without_panicking(
        sample in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let samples = samples();
        let mut raw = samples[sample.index(samples.len())].clone();
        for m in &mutations {
            apply(&mut raw, m);
        }
        read_and_classify(&raw);
    }
}

// ---------------------------------------------------------------------------------------
// 2a. The system's answers
// ---------------------------------------------------------------------------------------

/// What of an answer comes from outside.
#[derive(Debug, Clone)]
struct AnswerText {
    to_name: Option<String>,
    list_name: String,
    audience: String,
    site_name: String,
    noreply_name: String,
    held_subject: String,
    held_sender: String,
    held_reason: String,
    in_reply_to: Option<String>,
}

fn answer_text() -> impl Strategy<Value = AnswerText> {
    (
        prop::option::of(nasty_string()),
        nasty_string(),
        nasty_string(),
        nasty_string(),
        nasty_string(),
        nasty_string(),
        nasty_string(),
        nasty_string(),
        prop::option::of(nasty_string()),
    )
        .prop_map(
            |(
                to_name,
                list_name,
                audience,
                site_name,
                noreply_name,
                held_subject,
                held_sender,
                held_reason,
                in_reply_to,
            )| AnswerText {
                to_name,
                list_name,
                audience,
                site_name,
                noreply_name,
                held_subject,
                held_sender,
                held_reason,
                in_reply_to,
            },
        )
}

const TO: &str = "gv@school.test";
const TOKEN: &str = "abcdefghijklmnopqrstuvwxyz";

/// Build the answer `kind` about list `thpt` with `text`; returns the raw message.
fn build_answer(kind: Kind, language: &str, text: &AnswerText) -> Result<Vec<u8>, TestCaseError> {
    let mut config = site_config(language);
    config.site.name = text.site_name.clone();
    config.site.noreply_name = text.noreply_name.clone();
    let i = list_index(&config, "thpt");
    config.lists[i].name = text.list_name.clone();
    config.lists[i].audience = text.audience.clone();
    let templates = Templates::new(&config.templates_dir());
    let held = Held {
        post_id: 42,
        sender: &text.held_sender,
        subject: &text.held_subject,
        cause: "not_poster",
        reason: &text.held_reason,
    };
    let with_token = !matches!(kind, Kind::Welcome | Kind::Goodbye | Kind::AlreadyMember);
    let answer = Answer {
        kind,
        list: &config.lists[i],
        to: TO,
        to_name: text.to_name.as_deref(),
        token: with_token.then_some(TOKEN),
        expires_at: 1_795_280_400,
        in_reply_to: text.in_reply_to.as_deref(),
        held: (kind == Kind::Moderate).then_some(&held),
        link: None,
    };
    // The recipient's address is valid: whatever the text, the answer must build.
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        compose::build(&config, &templates, &answer)
    }));
    match built {
        Ok(Ok(raw)) => Ok(raw),
        Ok(Err(e)) => Err(TestCaseError::fail(format!("compose::build failed: {e:?}"))),
        Err(panic) => Err(TestCaseError::fail(format!(
            "compose::build panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        ))),
    }
}

/// Harmless text, with every optional part present.
fn plain_answer_text() -> AnswerText {
    AnswerText {
        to_name: Some("Giáo viên".into()),
        list_name: "Trường THPT".into(),
        audience: "Các trường".into(),
        site_name: "Bộ".into(),
        noreply_name: "Norply".into(),
        held_subject: "Công văn".into(),
        held_sender: "vanthu@moet.edu.vn".into(),
        held_reason: "not a poster".into(),
        in_reply_to: Some("abc@school.test".into()),
    }
}

/// Harmless text with the same optional parts as `text`.
fn harmless_answer_text(text: &AnswerText) -> AnswerText {
    let plain = plain_answer_text();
    AnswerText {
        to_name: text.to_name.as_ref().and(plain.to_name.clone()),
        in_reply_to: text.in_reply_to.as_ref().and(plain.in_reply_to.clone()),
        ..plain
    }
}

#[test]
fn answers_carry_the_expected_fields() {
    let text = plain_answer_text();
    let raw = build_answer(Kind::Moderate, "vi", &text).unwrap();
    let names = header_names(&raw).unwrap();
    let mut expected = vec![
        "auto-submitted",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "in-reply-to",
        "list-help",
        "list-id",
        "message-id",
        "mime-version",
        "precedence",
        "references",
        "reply-to",
        "subject",
        "to",
        "x-loop",
        "x-nhomthu-loop",
    ];
    expected.sort();
    assert_eq!(names, expected);
}

/// A held post's notice says why in the list's language, for every cause, and never in
/// the operators' English.
#[test]
fn held_reasons_are_in_the_lists_language() {
    for language in ["vi", "en"] {
        let config = site_config(language);
        let templates = Templates::new(&config.templates_dir());
        let list = &config.lists[list_index(&config, "thpt")];
        let mut seen = std::collections::BTreeSet::new();
        for cause in nhomthu::rules::HoldCause::ALL {
            let held = Held {
                post_id: 7,
                sender: "gv@school.test",
                subject: "Công văn",
                cause: cause.name(),
                reason: "OPERATORS' DETAIL",
            };
            let answer = Answer {
                kind: Kind::Moderate,
                list,
                to: "cntt@moet.test",
                to_name: None,
                token: Some(TOKEN),
                expires_at: 0,
                in_reply_to: None,
                held: Some(&held),
                link: None,
            };
            let raw = compose::build(&config, &templates, &answer).unwrap();
            let body = MessageParser::default()
                .parse(&raw)
                .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
                .unwrap();
            assert!(
                !body.contains("OPERATORS' DETAIL"),
                "{language} {cause:?}: {body}"
            );
            let line = body
                .lines()
                .find(|l| l.contains("Lý do giữ:") || l.contains("Held:"))
                .unwrap_or_else(|| panic!("{language}: no reason line in {body}"))
                .to_string();
            assert!(
                !line.contains("cần quản trị viên xem xét") && !line.contains("a moderator must"),
                "{language} {cause:?} has its own words: {line}"
            );
            assert!(
                seen.insert(line),
                "{language} {cause:?}: the same words as another cause"
            );
        }
    }
}

/// A registration whose sender's display name, as mail-parser decodes it, holds a line
/// break: the confirmation goes to that name. lettre panics on a CR or LF in a `To`
/// display name ("a Display implementation returned an error unexpectedly": its raw value
/// is rendered with `to_string()`), and drops a `To` with a NUL (`MissingTo`).
#[test]
fn a_sender_name_with_a_line_break_is_answered() {
    let raw = b"From: =?utf-8?q?Nguy=E1=BB=85n=0AV=C4=83n?= <gv@school.test>\r\n\
To: dangky-thpt@moet.test\r\nSubject: x\r\n\r\nbody\r\n";
    let msg = Inbound::parse(raw).expect("the registration parses");
    let name = msg.from.and_then(|f| f.name).expect("a display name");
    assert_eq!(name, "Nguyễn\nVăn");
    for name in [
        name.as_str(),
        "Nguyễn\r\nBcc: x@y",
        "Nguyễn\rVăn",
        "Nguyễn\0Văn",
    ] {
        let text = AnswerText {
            to_name: Some(name.to_string()),
            ..plain_answer_text()
        };
        let raw = build_answer(Kind::ConfirmSubscribe, "vi", &text)
            .unwrap_or_else(|e| panic!("to_name {name:?}: {e}"));
        let expected = build_answer(Kind::ConfirmSubscribe, "vi", &plain_answer_text()).unwrap();
        assert_eq!(
            header_names(&raw).unwrap(),
            header_names(&expected).unwrap()
        );
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn answers_cannot_be_given_a_header(
        kind in prop::sample::select(&Kind::ALL[..]),
        english in any::<bool>(),
        text in answer_text(),
    ) {
        let language = if english { "en" } else { "vi" };
        let raw = build_answer(kind, language, &text)?;
        let expected = header_names(&build_answer(kind, language, &harmless_answer_text(&text))?)?;
        let names = header_names(&raw)?;
        prop_assert_eq!(&names, &expected, "{}", String::from_utf8_lossy(&raw));

        let msg = MessageParser::default().parse(&raw).unwrap();
        prop_assert_eq!(addresses(msg.to()), vec![TO.to_string()]);
        prop_assert_eq!(addresses(msg.from()), vec!["norply@moet.edu.vn".to_string()]);
        prop_assert!(msg.cc().is_none() && msg.bcc().is_none());
    }
}

// ---------------------------------------------------------------------------------------
// 2b. Posts as members receive them
// ---------------------------------------------------------------------------------------

/// What of a list copy comes from outside.
#[derive(Debug, Clone)]
struct PostText {
    /// The author's display name (a Gmail author: the DMARC rewrite applies).
    author: String,
    author_encoding: Encoding,
    subject: String,
    subject_encoding: Encoding,
    /// The list's name, subject prefix and footer.
    list_name: String,
    prefix: Option<String>,
    footer: Option<String>,
    /// The site's base URL (List-Help, List-Archive, the one-click link).
    base_url: Option<String>,
    /// The member the copy is for (personal mode), and the delivery mode.
    member: String,
    personal: bool,
}

fn post_text() -> impl Strategy<Value = PostText> {
    (
        (nasty_string(), encoding(), nasty_string(), encoding()),
        (
            nasty_string(),
            prop::option::of(nasty_string()),
            prop::option::of(nasty_string()),
        ),
        (
            prop::option::of(prop_oneof![
                Just("https://nhomthu.moet.edu.vn".to_string()),
                nasty_string().prop_map(|s| format!("https://{s}")),
                nasty_string(),
            ]),
            prop_oneof![
                "[a-z.+-]{1,20}@[a-z]{1,10}\\.vn",
                nasty_string(),
                nasty_string().prop_map(|s| format!("{s}@school.test")),
            ],
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (author, author_encoding, subject, subject_encoding),
                (list_name, prefix, footer),
                (base_url, member, personal),
            )| PostText {
                author,
                author_encoding,
                subject,
                subject_encoding,
                list_name,
                prefix,
                footer,
                base_url,
                member,
                personal,
            },
        )
}

fn harmless_post_text(text: &PostText) -> PostText {
    PostText {
        author: "Nguyễn Văn A".into(),
        author_encoding: Encoding::B,
        subject: "Hỏi về lịch kiểm tra".into(),
        subject_encoding: Encoding::B,
        list_name: "Diễn đàn".into(),
        prefix: text.prefix.as_ref().map(|_| "[DD]".into()),
        footer: text.footer.as_ref().map(|_| "Chân thư".into()),
        base_url: text
            .base_url
            .as_ref()
            .map(|_| "https://nhomthu.moet.edu.vn".into()),
        member: "gv@school.test".into(),
        personal: text.personal,
    }
}

/// A text-only post by a Gmail author to `list_address`.
fn post(text: &PostText, list_address: &str) -> Vec<u8> {
    format!(
        "Return-Path: <nguyen.van.a@gmail.com>\r\n\
Delivered-To: {list_address}\r\n\
From: {name} <nguyen.van.a@gmail.com>\r\n\
To: {list_address}\r\n\
Bcc: secret@moet.edu.vn\r\n\
Subject: {subject}\r\n\
Date: Tue, 8 Sep 2026 20:15:00 +0700\r\n\
Message-ID: <CAF=abc123@mail.gmail.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=\"UTF-8\"\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Chào các thầy cô,\r\n\
Xin hỏi về lịch kiểm tra học kỳ I.\r\n",
        name = phrase(&text.author, text.author_encoding),
        subject = unstructured(&text.subject, text.subject_encoding),
    )
    .into_bytes()
}

/// The copy of the post `text` describes for `list`: `None` when the handlers refuse an
/// input (an address or URL that is not valid), which is allowed.
fn list_copy(list: &str, text: &PostText) -> Result<Option<Vec<u8>>, TestCaseError> {
    let mut config = site_config("vi");
    config.site.base_url = text.base_url.clone();
    let i = list_index(&config, list);
    config.lists[i].name = text.list_name.clone();
    config.lists[i].subject_prefix = text.prefix.clone();
    config.lists[i].footer = text.footer.clone();
    let list = &config.lists[i];
    let raw = post(text, list.address.get_ref());
    let templates = std::sync::Arc::new(Templates::new(&config.templates_dir()));
    let copy = handlers::prepare(
        &raw,
        list,
        &config,
        &templates,
        &Default::default(),
        handlers::arc::Chain::None,
    )
    .map_err(|e| TestCaseError::fail(format!("prepare failed: {e}")))?;
    let result = if text.personal {
        let secret = "a site secret";
        let mailto = nhomthu::address::with_tag(
            config.site.noreply.get_ref(),
            &nhomthu::unsubscribe::tag(secret, list.id(), &text.member),
        );
        let url = config
            .site
            .base_url
            .as_deref()
            .map(|base| nhomthu::unsubscribe::url(base, secret, list.id(), &text.member));
        copy.personal(&Personal {
            unsubscribe_url: url.as_deref(),
            unsubscribe_mailto: &mailto,
            member_url: None,
        })
    } else {
        copy.shared()
    };
    match result {
        Ok(raw) => Ok(Some(raw)),
        Err(HandlerError::UnsubscribeUrl(_) | HandlerError::Address { .. }) => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("the copy failed: {e}"))),
    }
}

#[test]
fn list_copies_carry_the_expected_fields() {
    let text = PostText {
        author: String::new(),
        author_encoding: Encoding::B,
        subject: String::new(),
        subject_encoding: Encoding::B,
        list_name: String::new(),
        prefix: Some(String::new()),
        footer: Some(String::new()),
        base_url: Some(String::new()),
        member: String::new(),
        personal: true,
    };
    let raw = list_copy("thpt", &harmless_post_text(&text))
        .unwrap()
        .unwrap();
    let names = header_names(&raw).unwrap();
    let mut expected = vec![
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "list-archive",
        "list-help",
        "list-id",
        "list-post",
        "list-subscribe",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "message-id",
        "mime-version",
        "precedence",
        "reply-to",
        "subject",
        "to",
        "x-nhomthu-loop",
    ];
    expected.sort();
    assert_eq!(names, expected);
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn list_copies_cannot_be_given_a_header(
        list in prop::sample::select(&LISTS[..]),
        text in post_text(),
    ) {
        let Some(raw) = list_copy(list, &text)? else {
            return Ok(());
        };
        let expected = list_copy(list, &harmless_post_text(&text))?
            .expect("the harmless copy builds");
        let names = header_names(&raw)?;
        prop_assert_eq!(&names, &header_names(&expected)?, "{}", String::from_utf8_lossy(&raw));

        let msg = MessageParser::default().parse(&raw).unwrap();
        let address = format!("{list}@moet.edu.vn");
        prop_assert_eq!(addresses(msg.to()), vec![address.clone()]);
        prop_assert!(msg.cc().is_none() && msg.bcc().is_none());
        // The DMARC rewrite: From is the list's address whatever the author's name.
        prop_assert_eq!(addresses(msg.from()), vec![address]);
        // Whatever the inputs, the post's own text part is still there, unencoded.
        prop_assert!(
            msg.body_text(0).is_some_and(|t| t.contains("Xin hỏi về lịch kiểm tra")),
            "the post's text is lost"
        );
        prop_assert!(msg.content_type().is_some());
    }
}

/// The values a trusted `Authentication-Results` on a post carries: where a post has them,
/// the server wrote them (its line breaks are folds, a bare CR stays what it is).
#[derive(Debug, Clone)]
struct Verdicts {
    reason: String,
    domain: String,
    mailfrom: String,
    method: String,
    comment: String,
}

fn verdicts() -> impl Strategy<Value = Verdicts> {
    (
        nasty_string(),
        nasty_string(),
        nasty_string(),
        nasty_string(),
        nasty_string(),
    )
        .prop_map(|(reason, domain, mailfrom, method, comment)| Verdicts {
            reason,
            domain,
            mailfrom,
            method,
            comment,
        })
}

/// The copy for a member of `thaoluan` of a post whose trusted `Authentication-Results`
/// carries `v`, signed and sealed with the site's RSA key.
fn sealed_copy(v: &Verdicts) -> Result<Vec<u8>, TestCaseError> {
    let mut config = site_config("vi");
    config.site.authserv_ids = vec![toml::Spanned::new(0..0, "mx.moet.edu.vn".into())];
    config.dkim = Some(
        toml::from_str(
            "domain = \"moet.edu.vn\"\nselector = \"s2026\"\nprivate_key = \"src/handlers/testdata/dkim-rsa2048.pem\"",
        )
        .expect("the [dkim] table"),
    );
    let list = &config.lists[list_index(&config, "thaoluan")];
    let folded = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n\t");
    let mut raw = format!(
        "Authentication-Results: mx.moet.edu.vn; dkim=pass reason=\"{}\" header.d={} ({});\r\n\tspf=pass smtp.mailfrom={}; {}=pass\r\n",
        folded(&v.reason),
        folded(&v.domain),
        folded(&v.comment),
        folded(&v.mailfrom),
        folded(&v.method),
    )
    .into_bytes();
    let text = harmless_post_text(&PostText {
        author: String::new(),
        author_encoding: Encoding::B,
        subject: String::new(),
        subject_encoding: Encoding::B,
        list_name: String::new(),
        prefix: None,
        footer: None,
        base_url: None,
        member: String::new(),
        personal: true,
    });
    raw.extend_from_slice(&post(&text, list.address.get_ref()));
    let templates = std::sync::Arc::new(Templates::new(&config.templates_dir()));
    let copy = handlers::prepare(
        &raw,
        list,
        &config,
        &templates,
        &Default::default(),
        handlers::arc::Chain::None,
    )
    .map_err(|e| TestCaseError::fail(format!("prepare failed: {e}")))?;
    copy.personal(&Personal {
        unsubscribe_url: None,
        unsubscribe_mailto: "norply+u-abc@moet.edu.vn",
        member_url: None,
    })
    .map_err(|e| TestCaseError::fail(format!("the copy failed: {e}")))
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn sealed_copies_cannot_be_given_a_header(v in verdicts()) {
        let raw = sealed_copy(&v)?;
        let harmless = sealed_copy(&Verdicts {
            reason: "x".into(),
            domain: "x".into(),
            mailfrom: "x".into(),
            method: "x".into(),
            comment: "x".into(),
        })?;
        let names = header_names(&raw)?;
        prop_assert_eq!(&names, &header_names(&harmless)?, "{}", String::from_utf8_lossy(&raw));
        prop_assert!(names.iter().any(|n| n == "arc-authentication-results"));
        let end = find(&raw, b"\r\n\r\n").unwrap();
        for line in raw[..end].split(|&b| b == b'\n') {
            prop_assert!(line.len() <= 999, "a line of {} octets", line.len());
        }
    }
}
