//! The post pipeline's message transformation, GNU Mailman 3 style: an accepted post (its
//! raw bytes as received) becomes the message members receive through small handlers, one
//! per file, each working on the raw header block and the raw body:
//!
//! - [`headers`]: drops the fields that must not leak or would be wrong, adds the list's
//!   own (`List-Id`, `List-Post`, …, `Precedence`, the loop header);
//! - [`subject`]: the list's subject prefix, once;
//! - [`dmarc`]: `From` rewritten for authors whose domain forbids others to send in its
//!   name (its DMARC policy, looked up by delivery and passed in: the handlers stay pure),
//!   and the list's `Reply-To` policy;
//! - [`footer`]: the list's footer as its own MIME part;
//! - [`dkim`]: the site's signature, per message;
//! - [`arc`]: the site's ARC set (RFC 8617) on top of the signature, per message.
//!
//! The body and the attachments are never decoded and re-encoded: the footer is inserted
//! before the closing boundary of a multipart/mixed or the message is wrapped in a new
//! multipart/mixed whose first part is the original, byte for byte. The only change made to
//! the received bytes is that bare LF line ends become CRLF (a Maildir file written with LF
//! ends; SMTP needs CRLF anyway), which changes no decoded content of a base64,
//! quoted-printable or text part.
//!
//! Every header field added is produced by lettre's header machinery (its `Header` types,
//! `HeaderValue`, and the `email-encoding` encoders it uses), which RFC 2047-encodes
//! non-ASCII text and anything containing CR or LF, so configuration or author text cannot
//! inject a header line.
//!
//! [`prepare`] does the per-list work once; [`ListCopy::personal`] and
//! [`ListCopy::shared`] then only add the unsubscribe fields, sign and seal. `ListCopy` is
//! `Sync`: one copy can be signed for many recipients from several threads. The verdict on
//! the post's ARC chain needs DNS, so delivery finds it ([`arc::verdict`]) and hands it to
//! [`prepare`]: the handlers stay pure and synchronous.

pub mod arc;
mod dkim;
mod dmarc;
mod footer;
mod headers;
mod subject;
#[cfg(test)]
mod testing;

pub use dmarc::settled as from_rewrite_settled;

use crate::config::{Config, List};
use crate::dns::Published;
use crate::list_fields::{self, LEAVE_SUBJECT};
use crate::templates::{TemplateError, Templates};
use lettre::message::header::{Header, HeaderName, HeaderValue, Headers};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a post could not be turned into the list's message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Nothing resembling a message: no header field at all.
    #[error("the message cannot be parsed: {0}")]
    Unparseable(&'static str),
    /// The `[dkim]` private key file cannot be read or is not a usable key.
    #[error("DKIM key {}: {reason}", path.display())]
    DkimKey {
        /// The key file, resolved.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature could not be computed.
    #[error("DKIM signing failed: {0}")]
    DkimSign(String),
    /// The footer template failed.
    #[error("footer: {0}")]
    Footer(#[from] TemplateError),
    /// The ARC set could not be computed.
    #[error("ARC sealing failed: {0}")]
    ArcSeal(String),
    /// An address from the configuration or the caller is not valid.
    #[error("{what} is not a valid address: {value:?}")]
    Address {
        /// Which address.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// A one-click unsubscribe URL must be `https://` and plain printable ASCII.
    #[error("unsubscribe URL must be https:// with no spaces, controls or angle brackets: {0:?}")]
    UnsubscribeUrl(String),
}

/// The post prepared once for a list: the rewritten header block and the body around the
/// footer part, plus what each copy's footer is rendered from and the key that signs it.
pub struct ListCopy {
    /// The header fields, each ending in CRLF, without the blank line.
    head: Vec<u8>,
    /// The blank line that ends the header block, then the body up to the footer part.
    before: Vec<u8>,
    /// The body after the footer part (its closing delimiter, the epilogue).
    after: Vec<u8>,
    /// What the footer template is given besides a recipient's own links.
    footer: footer::Context,
    /// The footer template lives here.
    templates: Arc<Templates>,
    /// The footer part of batch copies (no recipient named), rendered once.
    shared_footer: Vec<u8>,
    /// `List-Unsubscribe` for batch mode, when the list has a registration address.
    shared_unsubscribe: Option<Field>,
    /// The site's signer, when `[dkim]` is configured.
    signer: Option<dkim::Signer>,
    /// The site's ARC sealer, when the `[dkim]` key is RSA.
    sealer: Option<arc::Sealer>,
}

/// What differs from one recipient to the next in personalised mode.
#[derive(Debug, Clone, Copy)]
pub struct Personal<'a> {
    /// Per-recipient one-click unsubscribe URL (https://…), if the site has a base_url.
    pub unsubscribe_url: Option<&'a str>,
    /// Per-recipient unsubscribe mailto address (e.g. norply+u-…@domain).
    pub unsubscribe_mailto: &'a str,
    /// The member's own page (their lists, leave, pause), when the site's web side runs.
    pub member_url: Option<&'a str>,
}

/// DKIM-sign one complete message of the system's own (a confirmation, a notice) when
/// `[dkim]` is configured; unchanged otherwise. Each message has its own body, so the key
/// is used afresh: fine at the rate answers are sent.
pub fn sign_message(config: &Config, raw: &[u8]) -> Result<Vec<u8>, HandlerError> {
    let Some(dkim) = &config.dkim else {
        return Ok(raw.to_vec());
    };
    let mut out = dkim::Signer::load(dkim, config)?.sign(&[raw])?;
    out.extend_from_slice(raw);
    Ok(out)
}

/// Prepare `raw` (a post accepted for `list`, as received) for delivery: every handler runs
/// once here. `author` is the DMARC policy the author's From domain publishes (delivery
/// looks it up: `dns::Resolver::published`); `chain` is how the post's ARC chain
/// validated ([`arc::verdict`]). The result is completed, signed and sealed per copy by
/// [`ListCopy::personal`] or [`ListCopy::shared`].
pub fn prepare(
    raw: &[u8],
    list: &List,
    config: &Config,
    templates: &Arc<Templates>,
    author: &Published,
    chain: arc::Chain,
) -> Result<ListCopy, HandlerError> {
    let raw = crlf(raw);
    let mut draft = Draft::parse(&raw)?;
    let original = Original::read(&draft);
    let results = arc::received_results(&draft, config);
    headers::apply(&mut draft, list, config)?;
    subject::apply(&mut draft, &original, list);
    dmarc::apply(&mut draft, &original, list, config, author)?;
    let slot = footer::apply(&mut draft, &original);
    let footer = footer::Context::new(list, config);
    let shared_footer = footer::part(&footer.render(templates, None, None, None)?);

    let (signer, sealer) = match &config.dkim {
        Some(d) => {
            let key = dkim::SiteKey::load(d, config)?;
            let domain = &config.site.domain;
            let sealer = arc::Sealer::new(key.clone(), d, domain, results, chain);
            (Some(dkim::Signer::new(key, d)), sealer)
        }
        None => (None, None),
    };
    let shared_unsubscribe = match list.registration.first() {
        Some(r) => Some(list_unsubscribe(None, r.get_ref(), Some(LEAVE_SUBJECT))?),
        None => None,
    };
    let mut before = Vec::with_capacity(slot + 2);
    before.extend_from_slice(b"\r\n");
    before.extend_from_slice(&draft.body[..slot]);
    Ok(ListCopy {
        head: draft.head(),
        before,
        after: draft.body[slot..].to_vec(),
        footer,
        templates: templates.clone(),
        shared_footer,
        shared_unsubscribe,
        signer,
        sealer,
    })
}

/// Render the footer of `list`'s copies once for a personalised and once for a batch copy,
/// so that a broken template shows at `nhomthu check` time.
pub fn render_footers(
    list: &List,
    config: &Config,
    templates: &Templates,
) -> Result<(), HandlerError> {
    let footer = footer::Context::new(list, config);
    footer.render(templates, None, None, None)?;
    footer.render(
        templates,
        Some("https://example.edu.vn/u/sample"),
        Some(config.site.noreply.get_ref()),
        Some("https://example.edu.vn/m/sample/code"),
    )?;
    Ok(())
}

impl ListCopy {
    /// The message for one recipient (personalised mode): the list copy plus
    /// List-Unsubscribe (the https URL when given, then the mailto) and, with an https URL,
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058); the footer part
    /// shows the same two ways to leave. DKIM-signed when [dkim] is configured.
    pub fn personal(&self, p: &Personal) -> Result<Vec<u8>, HandlerError> {
        let mut extra = list_unsubscribe(p.unsubscribe_url, p.unsubscribe_mailto, None)?.raw;
        if p.unsubscribe_url.is_some() {
            extra.extend_from_slice(
                &Field::text("List-Unsubscribe-Post", "List-Unsubscribe=One-Click").raw,
            );
        }
        let text = self.footer.render(
            &self.templates,
            p.unsubscribe_url,
            Some(p.unsubscribe_mailto),
            p.member_url,
        )?;
        self.assemble(&extra, &footer::part(&text))
    }

    /// The message for many recipients at once (batch mode): List-Unsubscribe is the list's
    /// plain mailto (its first registration address with subject "hủy đăng ký"; none when
    /// the list has no registration address), no List-Unsubscribe-Post; the footer part
    /// says how to leave by mail. DKIM-signed.
    pub fn shared(&self) -> Result<Vec<u8>, HandlerError> {
        let extra = self
            .shared_unsubscribe
            .as_ref()
            .map(|f| f.raw.as_slice())
            .unwrap_or_default();
        self.assemble(extra, &self.shared_footer)
    }

    /// ARC set, signature, header block, `extra` fields, blank line, body with `footer` in
    /// its slot.
    fn assemble(&self, extra: &[u8], footer: &[u8]) -> Result<Vec<u8>, HandlerError> {
        let mut body = Vec::with_capacity(self.before.len() + footer.len() + self.after.len());
        body.extend_from_slice(&self.before);
        body.extend_from_slice(footer);
        body.extend_from_slice(&self.after);
        // The signer reads the body from the last part only: it must be one slice.
        let parts: [&[u8]; 3] = [&self.head, extra, &body];
        let signature = match &self.signer {
            Some(signer) => signer.sign(&parts)?,
            None => Vec::new(),
        };
        let seal = match &self.sealer {
            Some(sealer) => sealer.seal(&[&signature, &self.head, extra], &body)?,
            None => Vec::new(),
        };
        let len = seal.len() + signature.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&seal);
        out.extend_from_slice(&signature);
        for part in parts {
            out.extend_from_slice(part);
        }
        Ok(out)
    }
}

/// `List-Unsubscribe: <url>, <mailto:…>`. A member's own unsubscribe address needs no
/// subject (the address says it all); the list's registration address is given the leave
/// phrase as its subject.
fn list_unsubscribe(
    url: Option<&str>,
    mailto_address: &str,
    subject: Option<&str>,
) -> Result<Field, HandlerError> {
    let mailto = mailto(mailto_address, subject, "unsubscribe mailto")?;
    let value = match url {
        Some(url) => {
            let ok = url.starts_with("https://")
                && url.len() > "https://".len()
                && url
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>' && b != b'"');
            if !ok {
                return Err(HandlerError::UnsubscribeUrl(url.to_string()));
            }
            format!("<{url}>, <{mailto}>")
        }
        None => format!("<{mailto}>"),
    };
    Ok(Field::text("List-Unsubscribe", &value))
}

/// A `mailto:` URI for `address` (see [`list_fields::mailto`]); `what` names the address
/// in the error.
fn mailto(
    address: &str,
    subject: Option<&str>,
    what: &'static str,
) -> Result<String, HandlerError> {
    list_fields::mailto(address, subject).ok_or_else(|| HandlerError::Address {
        what,
        value: address.to_string(),
    })
}

/// Turn bare LF line ends into CRLF; a message already in CRLF is borrowed unchanged.
fn crlf(raw: &[u8]) -> Cow<'_, [u8]> {
    let bare_lf = |i: usize| raw[i] == b'\n' && (i == 0 || raw[i - 1] != b'\r');
    if !(0..raw.len()).any(bare_lf) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for (i, &b) in raw.iter().enumerate() {
        if bare_lf(i) {
            out.push(b'\r');
        }
        out.push(b);
    }
    Cow::Owned(out)
}

/// One header field: its name and its raw bytes (name, colon, value, folded lines, CRLF).
#[derive(Debug, Clone)]
pub(crate) struct Field {
    name: String,
    raw: Vec<u8>,
}

impl Field {
    /// A field rendered by lettre from one of its typed headers.
    pub(crate) fn from_header<H: Header>(header: &H) -> Field {
        Field::from_value(header.display())
    }

    /// An unstructured field: lettre RFC 2047-encodes what is not plain ASCII (CR and LF
    /// included) and folds long lines.
    pub(crate) fn text(name: &'static str, value: &str) -> Field {
        Field::from_value(HeaderValue::new(
            HeaderName::new_from_ascii_str(name),
            value.to_string(),
        ))
    }

    /// Render a lettre header value as a field.
    pub(crate) fn from_value(value: HeaderValue) -> Field {
        let mut headers = Headers::new();
        headers.insert_raw(value);
        let rendered = headers.to_string();
        let name = rendered.split(':').next().unwrap_or_default().to_string();
        Field {
            name,
            raw: rendered.into_bytes(),
        }
    }

    /// Whether the field is named `name` (case-insensitive).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The same value under another name (the value's bytes unchanged).
    pub(crate) fn renamed(&self, name: &'static str) -> Field {
        let mut raw = name.as_bytes().to_vec();
        raw.extend_from_slice(&self.raw[self.name.len()..]);
        Field {
            name: name.to_string(),
            raw,
        }
    }
}

/// The message being transformed: its header fields in order and its body.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) fields: Vec<Field>,
    pub(crate) body: Vec<u8>,
}

impl Draft {
    /// Split CRLF text into header fields and body. Lines that are not fields (an mbox
    /// `From ` line, a name with spaces, no colon) are dropped with their continuation
    /// lines; a message with no field at all is an error.
    pub(crate) fn parse(raw: &[u8]) -> Result<Draft, HandlerError> {
        if raw.starts_with(b"\r\n") || raw.is_empty() {
            return Err(HandlerError::Unparseable("no header fields"));
        }
        let (head, body) = match find(raw, b"\r\n\r\n") {
            Some(i) => (&raw[..i + 2], &raw[i + 4..]),
            None => (raw, &[][..]),
        };
        let mut fields: Vec<Field> = Vec::new();
        let mut dropping = false;
        for line in head.split_inclusive(|&b| b == b'\n') {
            let mut line = line.to_vec();
            if !line.ends_with(b"\r\n") {
                line.extend_from_slice(b"\r\n");
            }
            if line.starts_with(b" ") || line.starts_with(b"\t") {
                match fields.last_mut() {
                    Some(field) if !dropping => field.raw.extend_from_slice(&line),
                    _ => {}
                }
                continue;
            }
            let name = line
                .iter()
                .position(|&b| b == b':')
                .map(|colon| &line[..colon])
                .filter(|name| !name.is_empty())
                .filter(|name| name.iter().all(|&b| b.is_ascii_graphic() && b != b':'));
            match name {
                Some(name) => {
                    dropping = false;
                    fields.push(Field {
                        name: String::from_utf8_lossy(name).into_owned(),
                        raw: line,
                    });
                }
                None => dropping = true,
            }
        }
        if fields.is_empty() {
            return Err(HandlerError::Unparseable("no header fields"));
        }
        Ok(Draft {
            fields,
            body: body.to_vec(),
        })
    }

    /// The header block: every field, without the blank line.
    pub(crate) fn head(&self) -> Vec<u8> {
        self.fields
            .iter()
            .flat_map(|f| f.raw.iter().copied())
            .collect()
    }

    /// The first field named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.is(name))
    }

    /// Whether a field named `name` is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Drop every field whose (lowercased) name `drop` selects.
    pub(crate) fn remove(&mut self, drop: impl Fn(&str) -> bool) {
        self.fields.retain(|f| !drop(&f.name.to_ascii_lowercase()));
    }

    /// Put `field` in place of the first field of its name (dropping any others of that
    /// name), or at the end.
    pub(crate) fn set(&mut self, field: Field) {
        match self.fields.iter().position(|f| f.is(&field.name)) {
            Some(i) => {
                let name = field.name.clone();
                self.fields[i] = field;
                let mut index = 0;
                self.fields.retain(|f| {
                    index += 1;
                    index - 1 == i || !f.is(&name)
                });
            }
            None => self.fields.push(field),
        }
    }

    /// Add `field` at the end of the header block.
    pub(crate) fn push(&mut self, field: Field) {
        self.fields.push(field);
    }
}

/// What the handlers read of the post as received, decoded once by mail-parser.
#[derive(Debug, Default)]
pub(crate) struct Original {
    /// The subject, decoded (RFC 2047 or raw 8-bit, any charset `charset` reads), NFC,
    /// control characters as spaces.
    pub(crate) subject: Option<String>,
    /// The first author of `From`.
    pub(crate) from: Option<Author>,
    /// The top-level content type.
    pub(crate) content_type: Option<MimeType>,
    /// The top-level Content-Transfer-Encoding, lowercased.
    pub(crate) transfer_encoding: Option<String>,
}

/// An author: the decoded display name (NFC) and the address.
#[derive(Debug, Clone)]
pub(crate) struct Author {
    pub(crate) name: Option<String>,
    pub(crate) address: String,
}

/// A content type: lowercased type and subtype, and the boundary of a multipart.
#[derive(Debug, Clone)]
pub(crate) struct MimeType {
    pub(crate) ctype: String,
    pub(crate) subtype: String,
    pub(crate) boundary: Option<String>,
}

impl Original {
    /// Decode what the handlers need from the header block.
    pub(crate) fn read(draft: &Draft) -> Original {
        use mail_parser::MimeHeaders;
        let mut head = draft.head();
        head.extend_from_slice(b"\r\n");
        let Some(mut msg) = mail_parser::MessageParser::default().parse_headers(&head) else {
            return Original::default();
        };
        crate::charset::repair(&mut msg);
        if msg.parts.is_empty() {
            return Original::default();
        }
        let clean = |s: &str| -> String {
            crate::text::nfc(s)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        };
        let from = msg.from().and_then(|a| a.first()).and_then(|a| {
            let address = a.address.as_deref()?.trim();
            address.contains('@').then(|| Author {
                name: a
                    .name
                    .as_deref()
                    .map(|n| clean(n).trim().to_string())
                    .filter(|n| !n.is_empty()),
                address: address.to_string(),
            })
        });
        let content_type = msg.content_type().map(|ct| MimeType {
            ctype: ct.ctype().to_ascii_lowercase(),
            subtype: ct.subtype().unwrap_or_default().to_ascii_lowercase(),
            boundary: ct.attribute("boundary").map(str::to_string),
        });
        Original {
            subject: msg.subject().map(clean),
            from,
            content_type,
            transfer_encoding: msg
                .content_transfer_encoding()
                .map(|e| e.trim().to_ascii_lowercase()),
        }
    }
}

/// The first position of `needle` in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use mail_parser::MimeHeaders;

    #[test]
    fn a_circular_goes_out_whole() {
        let config = config("");
        let list = config.list("thpt").unwrap();
        let pdf = pdf_bytes(60 * 1024);
        let raw = circular(&pdf);
        let copy = prepare(
            &raw,
            list,
            &config,
            &templates(),
            &Published::default(),
            arc::Chain::None,
        )
        .unwrap();
        let out = copy.personal(&personal()).unwrap();
        let msg = parse(&out);

        assert_eq!(
            msg.subject(),
            Some("[THPT] Công văn số 123/BGDĐT-GDTrH về việc hướng dẫn thực hiện nhiệm vụ năm học")
        );
        assert_eq!(count_fields(&out, "List-Id"), 1);
        assert_eq!(count_fields(&out, "Delivered-To"), 0);
        assert_eq!(count_fields(&out, "Bcc"), 0);
        assert_eq!(count_fields(&out, "X-Original-To"), 0);
        assert_eq!(count_fields(&out, "Return-Path"), 0);
        assert_eq!(
            count_fields(&out, "DKIM-Signature"),
            0,
            "no [dkim]: unsigned"
        );
        let attachment = msg
            .attachments()
            .find(|a| a.attachment_name() == Some("cv123.pdf"));
        assert_eq!(attachment.map(|a| a.contents()), Some(pdf.as_slice()));
        assert!(footer_texts(&msg).iter().any(|t| t.contains("Để rời nhóm")));
        assert_eq!(
            msg.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );
        let unsubscribe = msg.header_raw("List-Unsubscribe").unwrap();
        assert!(
            unsubscribe.contains("<https://moet.example/u/abc>"),
            "{unsubscribe}"
        );
        assert!(
            unsubscribe.contains("<mailto:norply+u-abc@moet.edu.vn>"),
            "{unsubscribe}"
        );
    }

    #[test]
    fn shared_copies_carry_the_plain_mailto() {
        let config = config("");
        let list = config.list("thpt").unwrap();
        let copy = prepare(
            &plain_post(),
            list,
            &config,
            &templates(),
            &Published::default(),
            arc::Chain::None,
        )
        .unwrap();
        let out = copy.shared().unwrap();
        let msg = parse(&out);
        assert_eq!(
            msg.header_raw("List-Unsubscribe").map(str::trim),
            Some("<mailto:dangky@moet.edu.vn?subject=huy%20dang%20ky>")
        );
        assert_eq!(count_fields(&out, "List-Unsubscribe-Post"), 0);
        assert_eq!(count_fields(&out, "List-Id"), 1);
    }

    #[test]
    fn personal_without_url_has_no_one_click() {
        let config = config("");
        let copy = prepare(
            &plain_post(),
            config.list("thpt").unwrap(),
            &config,
            &templates(),
            &Published::default(),
            arc::Chain::None,
        )
        .unwrap();
        let out = copy
            .personal(&Personal {
                unsubscribe_url: None,
                unsubscribe_mailto: "norply+u-abc@moet.edu.vn",
                member_url: None,
            })
            .unwrap();
        assert_eq!(count_fields(&out, "List-Unsubscribe"), 1);
        assert_eq!(count_fields(&out, "List-Unsubscribe-Post"), 0);
    }

    #[test]
    fn bad_unsubscribe_inputs_are_refused() {
        let config = config("");
        let copy = prepare(
            &plain_post(),
            config.list("thpt").unwrap(),
            &config,
            &templates(),
            &Published::default(),
            arc::Chain::None,
        )
        .unwrap();
        for url in [
            "http://moet.example/u/abc",
            "https://moet.example/u/abc>\r\nBcc: x@y.z",
            "https://moet.example/u/a b",
            "https://",
        ] {
            let p = Personal {
                unsubscribe_url: Some(url),
                unsubscribe_mailto: "norply+u-abc@moet.edu.vn",
                member_url: None,
            };
            assert!(
                matches!(copy.personal(&p), Err(HandlerError::UnsubscribeUrl(_))),
                "{url:?}"
            );
        }
        let p = Personal {
            unsubscribe_url: None,
            unsubscribe_mailto: "norply@moet.edu.vn>\r\nBcc: x@y.z",
            member_url: None,
        };
        assert!(matches!(
            copy.personal(&p),
            Err(HandlerError::Address { .. })
        ));
    }

    #[test]
    fn lf_only_posts_come_out_in_crlf() {
        let config = config("");
        let raw = String::from_utf8(plain_post())
            .unwrap()
            .replace("\r\n", "\n");
        let copy = prepare(
            raw.as_bytes(),
            config.list("thpt").unwrap(),
            &config,
            &templates(),
            &Published::default(),
            arc::Chain::None,
        )
        .unwrap();
        let out = copy.shared().unwrap();
        assert!(
            !(0..out.len()).any(|i| out[i] == b'\n' && (i == 0 || out[i - 1] != b'\r')),
            "bare LF left"
        );
        assert!(parse(&out).body_text(0).is_some());
    }

    #[test]
    fn garbage_is_an_error() {
        let config = config("");
        let list = config.list("thpt").unwrap();
        for raw in [
            &b""[..],
            b"\r\n\r\nbody",
            b"just some words\r\nand more\r\n",
        ] {
            assert!(
                matches!(
                    prepare(
                        raw,
                        list,
                        &config,
                        &templates(),
                        &Published::default(),
                        arc::Chain::None
                    ),
                    Err(HandlerError::Unparseable(_))
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn non_fields_are_dropped_with_their_continuations() {
        let draft = Draft::parse(
            b"From sender@example.com Mon Jan  1 00:00:00 2026\r\n\
              Subject: x\r\n\
              bad line\r\n \tcontinued\r\n\
              To: a@b.c\r\n\r\nbody",
        )
        .unwrap();
        let names: Vec<&str> = draft.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Subject", "To"]);
        assert_eq!(draft.body, b"body");
    }

    #[test]
    fn mailto_is_percent_encoded() {
        assert_eq!(
            mailto("a.b+c@d.vn", Some("hủy đăng ký"), "x").unwrap(),
            "mailto:a.b+c@d.vn?subject=h%e1%bb%a7y%20%c4%91%c4%83ng%20k%c3%bd"
        );
        assert!(mailto("not an address", None, "x").is_err());
    }

    #[test]
    fn the_original_is_read_in_any_vietnamese_charset() {
        // A VPS encoded word in From, a raw VISCII subject in a VISCII message.
        let mut raw = b"From: =?x-viet-vps?Q?Nguy=CDn_V=E6n_=F1=D9c?= <gv@school.test>\r\n\
Subject: H\xfcy \xf0\xe5ng k\xfd\r\n\
Content-Type: text/plain; charset=VISCII\r\n\r\n"
            .to_vec();
        raw.extend_from_slice(b"body\r\n");
        let original = Original::read(&Draft::parse(&raw).unwrap());
        assert_eq!(original.subject.as_deref(), Some("Hủy đăng ký"));
        let from = original.from.unwrap();
        assert_eq!(from.name.as_deref(), Some("Nguyễn Văn Đức"));
        assert_eq!(from.address, "gv@school.test");
    }

    #[test]
    fn copies_can_be_shared_between_threads() {
        fn sync<T: Send + Sync>() {}
        sync::<ListCopy>();
    }
}
