//! The Vietnamese charset tables against the converters of the system, byte by byte: glibc's
//! iconv for VISCII, TCVN5712-1 and CP1258, GNU recode (Debian's `recode`) for VPS, which
//! glibc lacks. And the golden samples in `tests/eml` read to the names and words their
//! senders wrote, which the classification JSON does not show.

use nhomthu::charset::Vietnamese;
use nhomthu::message::Inbound;
use std::io::Write;
use std::process::{Command, Stdio};
use unicode_normalization::UnicodeNormalization;

/// `input` run through `program args`, its standard output as text.
fn convert(program: &str, args: &[&str], input: &[u8]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}): apt-get install it"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    // (recode's listing names some characters in Latin-1 French: lossy is fine there.)
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Each of `bytes` as iconv decodes it from `charset`: one character per byte, each byte
/// sent followed by a line feed so that nothing combines.
fn iconv(charset: &str, bytes: &[u8]) -> Vec<(u8, char)> {
    let input: Vec<u8> = bytes.iter().flat_map(|&b| [b, b'\n']).collect();
    let text = convert("iconv", &["-f", charset, "-t", "UTF-8"], &input)
        .unwrap_or_else(|| panic!("iconv -f {charset} refused the bytes"));
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(
        chars.len(),
        2 * bytes.len(),
        "{charset}: one character per byte"
    );
    bytes
        .iter()
        .zip(chars.chunks(2))
        .map(|(&b, pair)| {
            assert_eq!(pair[1], '\n');
            (b, pair[0])
        })
        .collect()
}

fn assert_table(v: Vietnamese, expected: &[(u8, char)]) {
    for &(b, c) in expected {
        let ours: String = v.decode(&[b]);
        let theirs: String = c.to_string().nfc().collect();
        assert_eq!(ours, theirs, "{v:?} 0x{b:02X}");
    }
}

#[test]
fn viscii_and_tcvn_match_glibc_on_every_byte() {
    let all: Vec<u8> = (0..=255).collect();
    assert_table(Vietnamese::Viscii, &iconv("VISCII", &all));
    let tcvn = iconv("TCVN5712-1", &all);
    assert_table(Vietnamese::Tcvn, &tcvn);
    // VN3 is VN1 from 0xA0 up.
    assert_table(Vietnamese::Tcvn3, &tcvn[0xA0..]);
}

#[test]
fn windows_1258_matches_glibc_on_every_byte_it_defines() {
    // Only 0x80–0x9F has holes; each of those bytes is tried alone.
    let (mut defined, undefined): (Vec<u8>, Vec<u8>) = (0x80..0xA0u8)
        .partition(|&b| convert("iconv", &["-f", "CP1258", "-t", "UTF-8"], &[b]).is_some());
    defined.extend((0..0x80).chain(0xA0..=0xFF));
    assert_eq!(
        undefined,
        [0x81, 0x8A, 0x8D, 0x8E, 0x8F, 0x90, 0x9A, 0x9D, 0x9E],
        "the bytes glibc leaves undefined"
    );
    assert_table(Vietnamese::Windows1258, &iconv("CP1258", &defined));
    for b in undefined {
        assert_eq!(
            Vietnamese::Windows1258.decode(&[b]),
            char::from(b).to_string()
        );
    }
}

#[test]
fn vps_matches_recode_and_mozilla() {
    let listing = convert("recode", &["-lf", "VPS"], b"").expect("recode -lf VPS");
    let row = regex::Regex::new(r"^\s*(\d+)\s+[0-7]{3}\s+[0-9a-f]{2}\s+([0-9A-F]{4})\b").unwrap();
    let mapped: Vec<(u8, char)> = listing
        .lines()
        .filter_map(|line| {
            let c = row.captures(line)?;
            let byte: u8 = c[1].parse().ok()?;
            let ucs = u32::from_str_radix(&c[2], 16).ok()?;
            Some((byte, char::from_u32(ucs)?))
        })
        .collect();
    assert_eq!(mapped.len(), 247, "recode's VPS table as known");
    assert_table(Vietnamese::Vps, &mapped);
    // The nine bytes recode leaves out, as Mozilla's VPS decoder maps them.
    assert_table(
        Vietnamese::Vps,
        &[
            (0x91, '‘'),
            (0x92, '’'),
            (0x99, 'Ỗ'),
            (0xA0, '\u{a0}'),
            (0xDF, 'ß'),
            (0xE7, 'ç'),
            (0xEE, 'î'),
            (0xF6, 'ö'),
            (0xFC, 'ü'),
        ],
    );
}

#[test]
fn the_golden_samples_read_as_their_senders_wrote() {
    let cases = [
        (
            "unsub-viscii-alpine",
            "hủy đăng ký",
            "Nguyễn Văn Đức",
            "Xin cảm ơn quý Bộ.",
        ),
        (
            "unsub-viscii-body",
            "Thư gửi văn phòng",
            "Trần Thị Mai",
            "Hủy đăng ký nhận thư giúp tôi.",
        ),
        (
            "reg-tcvn3-display-name",
            "Thủy đăng ký nhận văn bản",
            "Nguyễn Thị Thủy",
            "Trường THCS Kim Đồng đăng ký nhận văn bản.",
        ),
        (
            "reg-vps-thunderbird",
            "Đăng ký",
            "Lê Thị Hà",
            "Đăng ký nhận văn bản cho Trường THPT Lê Lợi.",
        ),
        (
            "unsub-unknown-charset",
            "Hủy đăng ký",
            "Phạm Thị Hương",
            "Phạm Thị Hương, Trường THPT Lê Lợi.",
        ),
        (
            "reg-raw-8bit-headers-cp1258",
            "Đăng ký nhận văn bản",
            "Đỗ Văn Hùng",
            "Trường THCS Kim Đồng xin đăng ký.",
        ),
        (
            "reg-windows-1258",
            "Đăng ký nhận văn bản",
            "Văn thư THPT Lê Lợi",
            "Trường THPT Lê Lợi, tỉnh Thanh Hóa đăng ký nhận văn bản.",
        ),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/eml");
    for (name, subject, from, first_line) in cases {
        let raw = std::fs::read(format!("{dir}/{name}.eml")).unwrap();
        let msg = Inbound::parse(&raw).unwrap_or_else(|| panic!("{name} does not parse"));
        assert_eq!(msg.subject, subject, "{name}");
        let author = msg.from.as_ref().and_then(|p| p.name.as_deref());
        assert_eq!(author, Some(from), "{name}");
        assert_eq!(msg.first_line(), first_line, "{name}");
    }
}
