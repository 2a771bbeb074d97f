//! What a report shows of the message it is about: the returned message (message/rfc822),
//! its headers (text/rfc822-headers), or, in a plain-text bounce, the header block quoted
//! after a line such as "------ This is a copy of the message, including all the
//! headers. ------".

use super::fields::{self, Group};
use super::{Original, cut, normalize_address, part_text};
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

/// The quoted header block of a plain-text bounce may start this far after its marker.
const MAX_QUOTE_GAP: usize = 4096;

/// Lines (lowercase, trimmed) that introduce the returned message in a plain-text bounce.
const QUOTE_MARKERS: [&str; 17] = [
    "------ this is a copy of the message, including all the headers. ------",
    "------ this is a copy of the message's headers. ------",
    "------ this is a copy of the body of the message, without the headers. ------",
    "--- below this line is a copy of the message.",
    "----- original message follows -----",
    "----- message header follows -----",
    "----- unsent message follows -----",
    "----- original message -----",
    "------ original message ------",
    "------ original message header ------",
    "original message headers:",
    "original message headers",
    "possibly truncated original message follows:",
    "------- returned message --------",
    "----- the header of the original message is following. -----",
    "--- original message header ---",
    "----- headers of the original message -----",
];

/// Words (folded) that, on a line drawn with dashes (`---------- Copy of your message
/// ----------`), announce the returned message in any of the languages bounces use.
const QUOTE_WORDS: [&str; 27] = [
    "original",
    "copy of",
    "returned message",
    "message follows",
    "unsent message",
    "message header",
    "headers of",
    "below this line",
    "kopie",
    "ursprungliche",
    "copie",
    "message d'origine",
    "copia",
    "mensaje",
    "messaggio",
    "mensagem",
    "oorspronkelijk",
    "bericht",
    "исходное",
    "копия",
    "原始",
    "原邮件",
    "原信",
    "元のメッセージ",
    "元メール",
    "thu goc",
    "ban sao",
];

/// The byte offset where the quoted original starts in `text`: the start of the first
/// marker line (a known one, or a line drawn with dashes that names the original).
/// Offsets are those of `text` itself.
pub(super) fn quote_start(text: &str) -> Option<usize> {
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let lower = trimmed.to_ascii_lowercase();
        if QUOTE_MARKERS.contains(&lower.as_str()) || drawn_marker(trimmed) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// `---- words ----` (or `====`, `****`) whose words name the returned message.
fn drawn_marker(line: &str) -> bool {
    let rule = |c: char| matches!(c, '-' | '=' | '*' | '_');
    let lead = line.chars().take_while(|c| rule(*c)).count();
    if lead < 3 || line.len() > 200 {
        return false;
    }
    let words = crate::text::fold(line.trim_matches(|c: char| rule(c) || c.is_whitespace()));
    !words.is_empty() && QUOTE_WORDS.iter().any(|w| words.contains(w))
}

/// The Original of the header block quoted after the marker at `start` in `text`.
pub(super) fn from_quote(text: &str, start: usize) -> Option<Original> {
    let rest = text.get(start..)?;
    let after_marker = rest.split_once('\n').map_or("", |(_, r)| r);
    let trimmed = after_marker.trim_start();
    let gap = after_marker.len() - trimmed.len();
    if gap > MAX_QUOTE_GAP {
        return None;
    }
    let original = from_group(&fields::header_block(trimmed));
    (original != Original::default()).then_some(original)
}

/// The Original of the first returned message or header part of `msg`.
pub(super) fn from_parts(msg: &Message<'_>) -> Option<Original> {
    msg.parts.iter().skip(1).find_map(|part| {
        let group = part_headers(part)?;
        let original = from_group(&group);
        (original != Original::default()).then_some(original)
    })
}

/// The addresses of the returned message's author (its From, Sender and Reply-To), from
/// its parts or from the header block quoted in the text: never a failed recipient.
pub(super) fn authors(msg: &Message<'_>) -> Vec<String> {
    let mut groups: Vec<Group> = msg.parts.iter().skip(1).filter_map(part_headers).collect();
    let body = super::body_text(msg);
    if let Some(start) = quote_start(&body)
        && let Some(rest) = body.get(start..)
    {
        let after_marker = rest.split_once('\n').map_or("", |(_, r)| r);
        groups.push(fields::header_block(after_marker.trim_start()));
    }
    groups
        .iter()
        .flat_map(|g| ["from", "sender", "reply-to"].map(|name| g.get(name)))
        .flatten()
        .flat_map(super::lines::addresses)
        .collect()
}

/// The header fields of `part` when it is a returned message or its headers.
fn part_headers(part: &MessagePart<'_>) -> Option<Group> {
    if let PartType::Message(inner) = &part.body {
        let root = inner.parts.first()?;
        let start = usize::try_from(root.offset_header).ok()?;
        let end = usize::try_from(root.offset_body).ok()?;
        let raw = inner.raw_message.get(start..end.max(start))?;
        return Some(fields::header_block(&String::from_utf8_lossy(raw)));
    }
    let ct = part.content_type()?;
    let ctype = ct.ctype().to_ascii_lowercase();
    let subtype = ct.subtype().unwrap_or("").to_ascii_lowercase();
    let wanted = match ctype.as_str() {
        "text" => subtype == "rfc822-headers",
        "message" => matches!(
            subtype.as_str(),
            "rfc822" | "rfc822-headers" | "global" | "global-headers"
        ),
        _ => false,
    };
    if !wanted {
        return None;
    }
    let text = part_text(part)?;
    Some(fields::header_block(cut(&text, super::MAX_TEXT)))
}

/// The Original the header fields `g` describe.
pub(super) fn from_group(g: &Group) -> Original {
    Original {
        return_path: g.get("return-path").and_then(angle_address),
        message_id: g.get("message-id").and_then(message_id),
        list_id: g
            .get("list-id")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        list_unsubscribe: g
            .get("list-unsubscribe")
            .map(mailto_targets)
            .unwrap_or_default(),
    }
}

/// The address of a field like Return-Path or Original-Mail-From: inside its angle
/// brackets when it has them. `None` for the null path `<>`.
pub(super) fn angle_address(value: &str) -> Option<String> {
    let value = value.trim();
    let inner = match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => value.get(open + 1..close)?,
        _ => value.split_whitespace().next()?,
    };
    normalize_address(inner)
}

/// A Message-ID without its angle brackets.
pub(super) fn message_id(value: &str) -> Option<String> {
    let id = value
        .split_whitespace()
        .next()?
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty() && id.len() <= 998).then(|| id.to_string())
}

/// The addresses of the `mailto:` URIs of a List-Unsubscribe value, without `mailto:`
/// and parameters, percent-decoded, lowercase.
fn mailto_targets(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for uri in value.split('<').skip(1) {
        let uri = uri.split('>').next().unwrap_or("").trim();
        let Some(scheme) = uri.get(..7) else { continue };
        if !scheme.eq_ignore_ascii_case("mailto:") {
            continue;
        }
        let target = uri.get(7..).unwrap_or("");
        let target = target.split('?').next().unwrap_or("");
        if let Some(address) = normalize_address(&percent_decode(target))
            && !out.contains(&address)
        {
            out.push(address);
        }
    }
    out
}

/// `%XX` escapes decoded (invalid ones kept as written).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_unsubscribe_gives_mailto_addresses_only() {
        let v = "<https://moet.test/u/x>, <mailto:Norply+u-thpt-abc@moet.test?subject=unsubscribe>, <MAILTO:a%2Bb@x.test>";
        assert_eq!(
            mailto_targets(v),
            vec!["norply+u-thpt-abc@moet.test", "a+b@x.test"]
        );
        assert!(mailto_targets("<https://x.test/>").is_empty());
    }

    #[test]
    fn return_paths_and_ids_lose_their_brackets() {
        assert_eq!(
            angle_address(" <Norply+B1-x@Moet.test> ").as_deref(),
            Some("norply+b1-x@moet.test")
        );
        assert_eq!(angle_address("<>"), None);
        assert_eq!(message_id("<a.b@c> (comment)").as_deref(), Some("a.b@c"));
    }

    #[test]
    fn a_quoted_header_block_is_found_after_its_marker() {
        let text = "failed:\n  x@y.test\n\n------ This is a copy of the message, including all the headers. ------\n\nReturn-path: <N@moet.test>\nMessage-Id: <m1@moet.test>\nList-Id: <thpt.moet.test>\n\nbody\nList-Id: <other>\n";
        let start = quote_start(text).unwrap();
        assert!(text[..start].ends_with("\n\n"));
        let o = from_quote(text, start).unwrap();
        assert_eq!(o.return_path.as_deref(), Some("n@moet.test"));
        assert_eq!(o.message_id.as_deref(), Some("m1@moet.test"));
        assert_eq!(o.list_id.as_deref(), Some("<thpt.moet.test>"));
    }
}
