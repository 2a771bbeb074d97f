//! Test fixtures shared by the rules' tests: a configuration with one list of each kind,
//! and messages built from realistic header blocks.

use crate::config::Config;
use crate::message::Inbound;

/// The configuration the rules' tests run against.
pub(crate) fn config() -> Config {
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let toml = format!(
        r#"
[site]
domain = "moet.edu.vn"
name = "Bộ Giáo dục và Đào tạo"
noreply = "norply@moet.edu.vn"
templates = "{templates}"
authserv_ids = ["mx.google.com", "mx.moet.edu.vn."]

[delivery]

[[list]]
id = "thpt"
address = "thpt@moet.edu.vn"
name = "Trường THPT"
kind = "announce"
posters = ["VanThu@moet.edu.vn", "*@hanoi.edu.vn"]
moderators = ["kiemduyet@moet.edu.vn"]

[[list]]
id = "hieutruong"
address = "hieutruong@moet.edu.vn"
name = "Hiệu trưởng"
kind = "managed"
members = ["ht@thpt-a.edu.vn", "vanthu@moet.edu.vn"]
posters = ["vanthu@moet.edu.vn"]

[[list]]
id = "thaoluan"
address = "thaoluan@moet.edu.vn"
name = "Thảo luận"
kind = "discussion"

[[list]]
id = "tudo"
address = "tudo@moet.edu.vn"
name = "Tự do"
kind = "discussion"
moderate_first_posts = false
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lists.toml");
    std::fs::write(&path, toml).unwrap();
    crate::config::load(&path).unwrap_or_else(|e| panic!("{e:?}"))
}

/// A message from `from` whose header block begins with `headers` (CRLF-terminated
/// fields, topmost first), as a receiving server would have stored it.
pub(crate) fn message(from: &str, headers: &str) -> Inbound {
    let raw = format!(
        "{headers}From: Văn thư <{from}>\r\nTo: thpt@moet.edu.vn\r\nSubject: Công văn số 1\r\n\
Message-ID: <1@moet.edu.vn>\r\n\r\nKính gửi các trường.\r\n"
    );
    Inbound::parse(raw.as_bytes()).expect("a parsable message")
}
