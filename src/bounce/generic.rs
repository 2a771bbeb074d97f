//! The reader of last resort, for machine-made bounces in no known layout (the way
//! flufl.bounce's and sisimai's catch-all readers work): the mail says, in one of the
//! languages of [`super::phrases`], that delivery failed or is delayed; the addresses in
//! its own words (before the returned message) are the failed recipients, each with the
//! server's reply found beside it. `X-Failed-Recipients`, when present, names them
//! instead. The bounce's own addresses, the mail system's and the returned mail's
//! author are never taken (see [`super::formats::recipients`]).

use super::lines::{ANY_ADDRESS, Found, merge};
use super::{MAX_RECIPIENTS, header_addresses, normalize_address};
use mail_parser::Message;
use regex::Regex;
use std::sync::LazyLock;

/// The words after an address are read up to this many bytes.
const MAX_WORDS: usize = 2000;

/// At most this many addresses are looked at (a hostile bounce may repeat one forever).
const MAX_MATCHES: usize = 4 * MAX_RECIPIENTS;

/// A failure's SMTP reply in running text (4xx or 5xx; the 2xx replies of a transcript
/// are not what failed): a reply code, maybe an enhanced code, at the start of a clause.
static REPLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s:(\[,;'\x{22}#])([45][0-9]{2}[ \-](?:[45]\.[0-9]{1,3}\.[0-9]{1,3})?)")
        .expect("valid regex")
});

/// Header fields of a returned message: a line starting with one ends the bounce's own
/// words (a returned message quoted with no marker line).
static QUOTED_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:return-path|received|message-id|dkim-signature|list-id|list-unsubscribe|mime-version|content-type|x-mailer|authentication-results):",
    )
    .expect("valid regex")
});

/// Lines naming the sender side (`From:`, `Sender:`, `Reply-To:`): no failed recipient
/// is read from them.
static SENDER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:from|sender|reply-to|von|de|da|van|от|发件人|寄件者|差出人|người gửi)\s*[:：]",
    )
    .expect("valid regex")
});

/// The failed addresses `lines` (a bounce's own words) name, each with the words beside
/// it; those of `X-Failed-Recipients` when `msg` has one.
pub(super) fn read(lines: &[&str], msg: &Message<'_>) -> Vec<Found> {
    let end = lines
        .iter()
        .position(|l| QUOTED_HEADER.is_match(l.trim_start()))
        .unwrap_or(lines.len());
    let lines = lines.get(..end).unwrap_or(lines);
    let paragraphs = paragraphs(lines);
    let mut found: Vec<Found> = Vec::new();
    let mut seen = 0usize;
    for (i, p) in paragraphs.iter().enumerate() {
        let text = p
            .iter()
            .filter(|l| !SENDER_LINE.is_match(l))
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ");
        let mut named: Vec<(String, usize, usize)> = Vec::new();
        for m in ANY_ADDRESS.find_iter(&text) {
            seen += 1;
            if seen > MAX_MATCHES {
                break;
            }
            if message_id(&text, m.start()) {
                continue;
            }
            if let Some(address) = normalize_address(m.as_str()) {
                named.push((address, m.start(), m.end()));
            }
        }
        for (k, (address, start, end)) in named.iter().enumerate() {
            if found.len() >= MAX_RECIPIENTS {
                return found;
            }
            if found
                .iter()
                .any(|f| &f.address == address && f.diagnostic.as_deref().and_then(reply).is_some())
            {
                // The server's reply for it is known already.
                continue;
            }
            // Its words run to the next other address of the paragraph.
            let until = named
                .iter()
                .skip(k + 1)
                .find(|(other, _, _)| other != address)
                .map_or(text.len(), |(_, start, _)| *start);
            let own = super::cut(text.get(*end..until).unwrap_or(""), MAX_WORDS);
            // A reply may also enclose it: "said: 550 5.1.1 <a@b>: unknown".
            let mut from = named
                .get(..k)
                .and_then(|before| before.iter().rev().find(|(other, _, _)| other != address))
                .map_or(0, |(_, _, e)| *e)
                .max(start.saturating_sub(MAX_WORDS));
            while !text.is_char_boundary(from) {
                from += 1;
            }
            let enclosing = text
                .get(from..*start)
                .and_then(last_reply_start)
                .and_then(|at| text.get(from + at..until))
                .map(|w| super::cut(w, MAX_WORDS));
            let words = words_for(address, own, enclosing, &paragraphs, i);
            // A later mention with the server's reply (Exchange's "Diagnostic
            // information for administrators") wins over an explanation.
            let replace = words.as_deref().is_some_and(|w| reply(w).is_some())
                && found.iter().any(|f| {
                    &f.address == address && f.diagnostic.as_deref().and_then(reply).is_none()
                });
            merge(
                &mut found,
                vec![Found::new(address.clone(), words.as_deref())],
                replace,
            );
        }
    }
    let failed = header_addresses(msg, "X-Failed-Recipients");
    if failed.is_empty() {
        return found;
    }
    // The header names the failed ones; the text may give their words.
    let single = reply_in(&paragraphs);
    failed
        .into_iter()
        .take(MAX_RECIPIENTS)
        .map(|a| {
            let words = found
                .iter()
                .find(|f| f.address == a)
                .and_then(|f| f.diagnostic.clone())
                .or_else(|| single.clone());
            Found::new(a, words.as_deref())
        })
        .collect()
}

/// Whether the address-like text at `start` of `text` is a Message-ID (`Message-ID:
/// <…>`, `In-Reply-To:`, `References:`), not an address.
fn message_id(text: &str, start: usize) -> bool {
    let mut from = start.saturating_sub(40);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let before = text.get(from..start).unwrap_or("").to_ascii_lowercase();
    let field = ["message-id", "in-reply-to", "references"]
        .iter()
        .filter_map(|f| before.rfind(f).map(|i| i + f.len()))
        .max();
    field.is_some_and(|end| {
        before.get(end..).is_some_and(|gap| {
            gap.chars()
                .all(|c| c == ':' || c == '<' || c.is_whitespace())
        })
    })
}

/// `lines` cut into paragraphs at blank lines.
fn paragraphs<'a>(lines: &[&'a str]) -> Vec<Vec<&'a str>> {
    let mut out: Vec<Vec<&str>> = vec![Vec::new()];
    for line in lines {
        if line.trim().is_empty() {
            if out.last().is_some_and(|p| !p.is_empty()) {
                out.push(Vec::new());
            }
        } else if let Some(p) = out.last_mut() {
            p.push(line);
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The server's words for an address of paragraph `i`, given the words after it up
/// to the next address (`own`) and the reply that encloses it (`enclosing`, from the
/// last reply code before it): the SMTP reply after it, else the enclosing one, else in the next paragraph (an
/// address, then "Remote host said: 550 …" below it), else those words themselves.
fn words_for(
    address: &str,
    own: &str,
    enclosing: Option<&str>,
    paragraphs: &[Vec<&str>],
    i: usize,
) -> Option<String> {
    if let Some(reply) = reply(own).or(enclosing) {
        return Some(reply.to_string());
    }
    let next = paragraphs
        .get(i + 1)
        .map(|p| p.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let names_another = ANY_ADDRESS
        .find_iter(&next)
        .filter_map(|m| normalize_address(m.as_str()))
        .any(|a| a != address);
    if !names_another && let Some(reply) = reply(&next) {
        return Some(reply.to_string());
    }
    let own = own.trim_matches(|c: char| c.is_whitespace() || "<>:;,.()'\"".contains(c));
    (!own.is_empty()).then(|| own.to_string())
}

/// The first SMTP reply anywhere in the paragraphs, joined.
fn reply_in(paragraphs: &[Vec<&str>]) -> Option<String> {
    paragraphs.iter().find_map(|p| {
        let text = p.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        reply(&text).map(str::to_string)
    })
}

/// Where the last SMTP reply in `text` starts.
fn last_reply_start(text: &str) -> Option<usize> {
    REPLY
        .captures_iter(text)
        .last()
        .and_then(|c| c.get(1))
        .map(|m| m.start())
}

/// `text` from its first SMTP reply on.
pub(super) fn reply(text: &str) -> Option<&str> {
    let c = REPLY.captures(text)?;
    text.get(c.get(1)?.start()..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(raw: &str) -> Message<'_> {
        mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parses")
    }

    #[test]
    fn addresses_take_the_reply_beside_them() {
        let m = msg("From: x@y.test\r\nSubject: s\r\n\r\nbody");
        let lines = [
            "Die Nachricht an folgende Empfänger konnte nicht zugestellt werden:",
            "",
            "gv.an@gmx.test",
            "",
            "Grund: 550 5.1.1 Mailbox nicht vorhanden",
            "",
            "From: thpt@moet.test",
            "Return-Path: <norply@moet.test>",
            "To: other@later.test",
        ];
        let f = read(&lines, &m);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].address, "gv.an@gmx.test");
        assert_eq!(
            f[0].diagnostic.as_deref(),
            Some("550 5.1.1 Mailbox nicht vorhanden")
        );
    }

    #[test]
    fn x400_and_invalid_addresses() {
        let m = msg("From: x@y.test\r\n\r\nbody");
        let lines = [
            "The following recipient(s) could not be reached:",
            "  'dda:SMTP=Le.Lan@school.test' on 3/2/2003",
            "  david...@gmail.com and ok@gmail.com: 550 5.1.1 unknown",
        ];
        let got: Vec<String> = read(&lines, &m).into_iter().map(|f| f.address).collect();
        assert_eq!(got, ["le.lan@school.test", "ok@gmail.com"]);
    }

    #[test]
    fn x_failed_recipients_name_the_failed() {
        let m = msg("From: x@y.test\r\nX-Failed-Recipients: gone@groups.test\r\n\r\nbody");
        let lines = [
            "メッセージは配信されませんでした",
            "",
            "other@elsewhere.test に関するお知らせ",
            "",
            "550 5.1.1 The email account does not exist",
        ];
        let f = read(&lines, &m);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].address, "gone@groups.test");
        assert_eq!(
            f[0].diagnostic.as_deref(),
            Some("550 5.1.1 The email account does not exist")
        );
    }
}
