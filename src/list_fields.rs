//! The header fields the system writes on everything it sends: the list copies of posts
//! (`handlers/`) and its own answers and notices (`compose`). One place for their names and
//! their encodings, so both kinds of mail say the same thing the same way, and `classify`
//! recognises them when they come back.
//!
//! - `List-Id` (RFC 2919): `"Name" <id.domain>`;
//! - `mailto:` URIs (RFC 6068) for `List-Unsubscribe`, `List-Post`, `List-Subscribe`, with
//!   lowercase percent-encoding: a spam filter reads upper-case `%BB` sequences in a header
//!   as an unresolved template placeholder (SpamAssassin's UNRESOLVED_TEMPLATE, +3.0);
//! - `Auto-Submitted` (RFC 3834) with its two values;
//! - the loop header, and `X-Loop` with the no-reply address.

use email_encoding::headers::{quoted_string, writer::EmailWriter};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use std::fmt::Write;

/// The system's own loop header: its value is the site's domain.
pub const LOOP_HEADER: &str = "X-Nhomthu-Loop";

/// The conventional loop header of list managers (SmartList, Mailman, Sympa): its value is
/// the address the system sends from.
pub const X_LOOP: &str = "X-Loop";

/// The subject of the mailto links that ask to leave by mail: "hủy đăng ký" as written
/// without diacritics, which the classifier reads as "leave" and which stays short and
/// plain in a percent-encoded URI, so the field folds within 78 characters.
pub const LEAVE_SUBJECT: &str = "huy dang ky";

/// `Auto-Submitted` (RFC 3834 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoSubmitted {
    /// `auto-replied`: an automatic answer to a person's message.
    Replied,
    /// `auto-generated`: a message nobody's message asked for (a notice).
    Generated,
}

impl AutoSubmitted {
    /// The field's value.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoSubmitted::Replied => "auto-replied",
            AutoSubmitted::Generated => "auto-generated",
        }
    }
}

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        match s.trim() {
            "auto-replied" => Ok(AutoSubmitted::Replied),
            "auto-generated" => Ok(AutoSubmitted::Generated),
            other => Err(format!("not a value this system writes: {other}").into()),
        }
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.as_str().into())
    }
}

/// A plain header field whose value is printable ASCII chosen by the system (`List-Post`,
/// `Precedence`, the loop headers, …), produced through lettre so it is folded and encoded
/// like every other field.
#[derive(Debug, Clone)]
pub struct Plain {
    /// The field name.
    pub name: &'static str,
    /// The value.
    pub value: String,
}

impl Plain {
    /// `name: value`.
    pub fn new(name: &'static str, value: impl Into<String>) -> Plain {
        Plain {
            name,
            value: value.into(),
        }
    }

    /// The lettre header value.
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::new(
            HeaderName::new_from_ascii_str(self.name),
            self.value.clone(),
        )
    }
}

/// `List-Id: "Name" <id.domain>` (RFC 2919), produced as lettre produces its mailbox
/// fields: the phrase by email-encoding's quoted-string encoder (a quoted string when the
/// name is ASCII, RFC 2047 encoded words otherwise, never a bare CR or LF), folded.
#[derive(Debug, Clone)]
pub struct ListId {
    name: String,
    id: String,
}

impl ListId {
    /// The List-Id of list `list_id` named `name` on the site's `domain`.
    pub fn new(name: &str, list_id: &str, domain: &str) -> ListId {
        ListId {
            name: name.to_string(),
            id: format!("{}.{}", dot_atom(list_id), dot_atom(domain)),
        }
    }
}

impl Header for ListId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Id")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Err("List-Id is only written".into())
    }

    fn display(&self) -> HeaderValue {
        let mut encoded = String::new();
        {
            let mut w = EmailWriter::new(&mut encoded, "List-Id: ".len(), 0, false);
            let name = self.name.trim();
            if !name.is_empty() {
                quoted_string::encode(name, &mut w).expect("writing to a String");
                w.space();
            }
            w.folding()
                .write_str(&format!("<{}>", self.id))
                .expect("writing to a String");
        }
        HeaderValue::dangerous_new_pre_encoded(
            Self::name(),
            format!("{} <{}>", self.name, self.id),
            encoded,
        )
    }
}

/// `s` reduced to dot-atom text for the `<id.domain>` of List-Id: lowercase ASCII letters,
/// digits and `-`, `.`, `_`; anything else becomes `-`.
pub fn dot_atom(s: &str) -> String {
    s.trim()
        .trim_matches('.')
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.' | '_') => c,
            _ => '-',
        })
        .collect()
}

/// A `mailto:` URI (RFC 6068) for `address`, with an optional subject, percent-encoded in
/// lowercase hex. `None` when lettre does not take the address as valid.
pub fn mailto(address: &str, subject: Option<&str>) -> Option<String> {
    let address: lettre::Address = address.trim().parse().ok()?;
    let mut uri = String::from("mailto:");
    percent_encode(address.as_ref(), |b| b"-._~!$'*+@".contains(&b), &mut uri);
    if let Some(subject) = subject {
        uri.push_str("?subject=");
        percent_encode(subject, |b| b"-._~".contains(&b), &mut uri);
    }
    Some(uri)
}

/// Percent-encode every byte but ASCII letters, digits and those `keep` accepts, in
/// lowercase hex (RFC 3986 §2.1 makes both cases equivalent).
fn percent_encode(s: &str, keep: impl Fn(u8) -> bool, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
}

/// `<URI>, <URI>`: the value of a List-* field with these URIs, in order.
pub fn uris<'a>(uris: impl IntoIterator<Item = &'a str>) -> String {
    uris.into_iter()
        .map(|u| format!("<{u}>"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailto_is_percent_encoded_in_lowercase() {
        assert_eq!(
            mailto("a.b+c@d.vn", Some("hủy đăng ký")).unwrap(),
            "mailto:a.b+c@d.vn?subject=h%e1%bb%a7y%20%c4%91%c4%83ng%20k%c3%bd"
        );
        assert!(mailto("not an address", None).is_none());
        assert!(mailto("a@b.vn>\r\nBcc: x@y.z", None).is_none());
    }

    #[test]
    fn auto_submitted_values_are_rfc_3834s() {
        assert_eq!(AutoSubmitted::Replied.as_str(), "auto-replied");
        assert_eq!(AutoSubmitted::Generated.as_str(), "auto-generated");
        assert_eq!(
            AutoSubmitted::parse(" auto-generated").unwrap(),
            AutoSubmitted::Generated
        );
        assert!(AutoSubmitted::parse("no").is_err());
    }

    #[test]
    fn uris_are_bracketed_and_joined() {
        assert_eq!(
            uris(["https://a.vn/u", "mailto:b@a.vn"]),
            "<https://a.vn/u>, <mailto:b@a.vn>"
        );
    }
}
