//! Rule: is the From address authenticated?
//!
//! Place in the flow: `classify` → **rules decide accept/hold** (this rule first) → post
//! pipeline. Two sources of truth, chosen by `[site] verify`:
//!
//! - `"self"`: nhomthu verified the DKIM signatures itself (`dns::dkim`, run by the
//!   pipeline, result in `Inbound::verified`): a valid signature aligned with the From
//!   domain authenticates; every `Authentication-Results` header is ignored.
//! - `"authserv"` (the default, for hosted mail whose receiving server is trusted): what
//!   that server wrote in its RFC 8601 `Authentication-Results` header, as follows.
//!
//! Trust: anyone can write an `Authentication-Results` header into a message, so only a
//! header whose authserv-id is listed in `[site] authserv_ids` is believed. A sender can
//! still forge a header *with* a trusted id, but the receiving server prepends its own
//! header above everything that arrived with the message, so among the trusted headers
//! only the TOPMOST one (headers are kept in message order, first = most recent hop) is
//! read; anything below it is ignored. The trusted server must therefore be the one that
//! delivered the message to our mailbox. Where one server writes several headers
//! (OpenDKIM, then OpenDMARC on top), the topmost is OpenDMARC's and its `dmarc=` decides.
//!
//! Authenticated means, in that header: `dmarc=pass` for the From domain; or `dkim=pass`
//! whose `header.d` (or `header.i` domain) is aligned with the From domain; or `spf=pass`
//! whose `smtp.mailfrom` domain is aligned. Aligned is DMARC's relaxed alignment: the same
//! organizational domain by the Public Suffix List (the `psl` crate, list compiled in), so
//! `mail.moet.edu.vn` aligns with `moet.edu.vn` but `other.edu.vn` does not. An explicit
//! `dmarc=fail` for the From domain wins over the rest: the domain's own policy (say,
//! strict alignment) has spoken. Note that this vouches for the *domain* only: the
//! domain's mail server is trusted to keep its users from using each other's addresses.
//!
//! Parsing is lenient and never panics: comments, quoted strings, any case, stray `;`,
//! `=` padding in `header.b`; whatever cannot be read is simply not a pass.

use crate::config::{Config, Verify};
use crate::dns::{SelfCheck, org_domain};
use crate::message::Inbound;
use serde::Serialize;

/// The `authserv_id` of a pass that nhomthu verified itself.
pub const SELF: &str = "self";

/// Whether the From address is authenticated, and how or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Authentication {
    /// Authenticated.
    Pass {
        /// The result that vouches, e.g. "dkim=pass header.d=moet.edu.vn".
        method: String,
        /// The trusted server that reported it, e.g. "mx.google.com", or [`SELF`] when
        /// nhomthu verified it.
        authserv_id: String,
    },
    /// Not authenticated.
    Fail {
        /// One sentence for operators, e.g. "dmarc=fail for moet.edu.vn (mx.google.com)".
        reason: String,
    },
}

impl Authentication {
    fn fail(reason: impl Into<String>) -> Self {
        Authentication::Fail {
            reason: reason.into(),
        }
    }
}

/// Whether the From of `msg` is authenticated: by nhomthu's own DKIM check
/// (`verify = "self"`), or by the topmost trusted `Authentication-Results` header.
pub fn check(msg: &Inbound, config: &Config) -> Authentication {
    let Some(from) = &msg.from else {
        return Authentication::fail("the message has no From address");
    };
    if config.site.verify == Verify::Itself {
        return match &msg.verified {
            Some(SelfCheck::Pass { method }) => Authentication::Pass {
                method: method.clone(),
                authserv_id: SELF.into(),
            },
            Some(SelfCheck::Fail { reason, .. }) => Authentication::fail(reason.clone()),
            None => Authentication::fail("the DKIM signatures were not verified"),
        };
    }
    let Some((_, from_domain)) = from.address.rsplit_once('@') else {
        return Authentication::fail(format!("the From address {} has no domain", from.address));
    };
    let from_domain = normalize_domain(from_domain);
    let trusted = trusted(config);
    if trusted.is_empty() {
        return Authentication::fail(
            "no trusted authserv-id is configured ([site] authserv_ids is empty)",
        );
    }

    let mut others = Vec::new();
    for value in msg.header("authentication-results") {
        match parse(value) {
            Some(h) if trusted.contains(&normalize_domain(&h.authserv_id)) => {
                return evaluate(&h, &from_domain);
            }
            Some(h) => others.push(h.authserv_id),
            None if starts_with_result(value) => {
                others.push("one without an authserv-id (as Microsoft 365 writes them)".into())
            }
            None => others.push("a malformed one".into()),
        }
    }
    let mut reason = format!(
        "no Authentication-Results from a trusted server ({})",
        trusted.join(", ")
    );
    if !others.is_empty() {
        others.dedup();
        reason.push_str(&format!(", only from {}", others.join(", ")));
    }
    Authentication::fail(reason)
}

/// Why the From address is forged, if the topmost trusted `Authentication-Results` says
/// so (DMARC fails for the From domain), or, with `verify = "self"`, if the From domain
/// publishes `p=reject` or `p=quarantine` and no valid aligned DKIM signature is present.
/// Mail without such a verdict is not forged, only unauthenticated.
pub fn forged(msg: &Inbound, config: &Config) -> Option<String> {
    if config.site.verify == Verify::Itself {
        return msg.verified.as_ref()?.forged();
    }
    let from = msg.from.as_ref()?;
    let (_, from_domain) = from.address.rsplit_once('@')?;
    let from_domain = normalize_domain(from_domain);
    let h = topmost(msg.header("authentication-results"), config)?;
    h.of("dmarc")
        .find(|r| {
            r.result == "fail"
                && r.prop("header.from")
                    .is_none_or(|d| domain_of(d) == from_domain)
        })
        .map(|_| format!("dmarc=fail for {from_domain} ({})", h.authserv_id))
}

/// The results of the topmost trusted `Authentication-Results` among `values` (field
/// values in message order), each written afresh as one RFC 8601 resinfo, such as
/// `dkim=pass header.d=moet.edu.vn header.s=google`: comments dropped, one space between
/// words, values quoted where RFC 8601 needs it and cleared of control characters (no
/// value can start a line), and left out: a result whose method or result is not a
/// keyword of at most 64 characters, a property that is neither `reason` nor
/// `ptype.property`, a value longer than 256 bytes (longer than any address: it could not
/// be folded into a line). `None` when no header comes from a trusted server; empty when
/// the trusted one reports nothing.
pub fn trusted_results<'a>(
    values: impl IntoIterator<Item = &'a str>,
    config: &Config,
) -> Option<Vec<String>> {
    let h = topmost(values, config)?;
    Some(h.results.iter().filter_map(Res::render).collect())
}

/// The topmost of `values` whose authserv-id is trusted, parsed.
fn topmost<'a>(values: impl IntoIterator<Item = &'a str>, config: &Config) -> Option<Header> {
    let trusted = trusted(config);
    values
        .into_iter()
        .filter_map(parse)
        .find(|h| trusted.contains(&normalize_domain(&h.authserv_id)))
}

/// The configured authserv-ids, normalised.
fn trusted(config: &Config) -> Vec<String> {
    config
        .site
        .authserv_ids
        .iter()
        .map(|id| normalize_domain(id.get_ref()))
        .filter(|id| !id.is_empty())
        .collect()
}

/// Whether two domains align under relaxed DMARC alignment: the same organizational
/// domain (registrable domain by the Public Suffix List). A domain that is itself a public
/// suffix is its own organizational domain.
pub fn aligned(a: &str, b: &str) -> bool {
    let (a, b) = (normalize_domain(a), normalize_domain(b));
    !a.is_empty() && !b.is_empty() && org_domain(&a) == org_domain(&b)
}

fn normalize_domain(d: &str) -> String {
    d.trim()
        .trim_matches(|c| c == '<' || c == '>')
        .trim_end_matches('.')
        .to_lowercase()
}

/// The domain of an address, of `@domain` (DKIM `header.i`), or a bare domain.
fn domain_of(value: &str) -> String {
    let v = value.trim().trim_matches(|c| c == '<' || c == '>');
    normalize_domain(v.rsplit_once('@').map_or(v, |(_, d)| d))
}

/// What a trusted header says about `from_domain`.
fn evaluate(h: &Header, from_domain: &str) -> Authentication {
    let id = &h.authserv_id;
    let pass = |method: String| Authentication::Pass {
        method,
        authserv_id: id.clone(),
    };
    let for_from = |r: &Res| {
        r.prop("header.from")
            .is_none_or(|d| domain_of(d) == from_domain)
    };
    if let Some(r) = h.of("dmarc").find(|r| r.result == "fail" && for_from(r)) {
        return Authentication::fail(format!("{}=fail for {from_domain} ({id})", r.method));
    }
    // Explanations of passes that do not count, the first of which becomes the reason.
    let mut why_not = Vec::new();
    for r in h.of("dmarc").filter(|r| r.result == "pass") {
        if for_from(r) {
            return pass(format!("dmarc=pass header.from={from_domain}"));
        }
        let other = domain_of(r.prop("header.from").unwrap_or_default());
        why_not.push(format!(
            "dmarc=pass for {other}, not the From domain {from_domain}"
        ));
    }
    for r in h.of("dkim").filter(|r| r.result == "pass") {
        let Some((key, value)) = r
            .prop_entry("header.d")
            .or_else(|| r.prop_entry("header.i"))
        else {
            why_not.push("dkim=pass without header.d".into());
            continue;
        };
        let d = domain_of(value);
        if aligned(&d, from_domain) {
            return pass(format!("dkim=pass {key}={value}"));
        }
        why_not.push(format!("dkim=pass for {d}, not aligned with {from_domain}"));
    }
    for r in h.of("spf").filter(|r| r.result == "pass") {
        let Some(mailfrom) = r.prop("smtp.mailfrom") else {
            why_not.push("spf=pass without smtp.mailfrom".into());
            continue;
        };
        let d = domain_of(mailfrom);
        if aligned(&d, from_domain) {
            return pass(format!("spf=pass smtp.mailfrom={mailfrom}"));
        }
        why_not.push(format!("spf=pass for {d}, not aligned with {from_domain}"));
    }
    if let Some(first) = why_not.into_iter().next() {
        return Authentication::fail(format!("{first} ({id})"));
    }
    if h.results.is_empty() {
        return Authentication::fail(format!("{id} reports no authentication results"));
    }
    let seen: Vec<String> = h
        .results
        .iter()
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    Authentication::fail(format!(
        "{id} reports {}: nothing passes for {from_domain}",
        seen.join(", ")
    ))
}

/// One parsed `Authentication-Results` header.
#[derive(Debug)]
struct Header {
    authserv_id: String,
    results: Vec<Res>,
}

/// One resinfo: `method=result` and its properties (`header.d=…`, `reason=…`).
#[derive(Debug)]
struct Res {
    /// Lowercased, without a `/version`.
    method: String,
    /// Lowercased.
    result: String,
    /// Keys lowercased, values as written.
    props: Vec<(String, String)>,
}

impl Header {
    fn of<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a Res> {
        self.results.iter().filter(move |r| r.method == method)
    }
}

impl Res {
    fn prop_entry(&self, key: &str) -> Option<(&str, &str)> {
        self.props
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn prop(&self, key: &str) -> Option<&str> {
        self.prop_entry(key).map(|(_, v)| v)
    }

    /// `method=result key=value …` (RFC 8601 resinfo), or `None` when the method or the
    /// result is not a keyword; properties whose names are not `reason` or
    /// `ptype.property` are left out.
    fn render(&self) -> Option<String> {
        if !keyword(&self.method) || !keyword(&self.result) {
            return None;
        }
        let mut out = format!("{}={}", self.method, self.result);
        for (key, value) in &self.props {
            let named = key == "reason"
                || key
                    .split_once('.')
                    .is_some_and(|(ptype, property)| keyword(ptype) && keyword(property));
            let value = pvalue(value);
            if named && !value.is_empty() {
                out.push_str(&format!(" {key}={value}"));
            }
        }
        Some(out)
    }
}

/// The longest property value [`trusted_results`] copies, in bytes: an RFC 5321 path.
const MAX_VALUE: usize = 256;

/// RFC 8601 `Keyword`: letters, digits and hyphens (RFC 5321 `Ldh-str`), 64 at most.
fn keyword(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A property value as RFC 8601 writes it: bare when it is a token or an address, else a
/// quoted string; control characters become spaces and runs of spaces one space. Empty
/// when nothing is left or the value is longer than [`MAX_VALUE`].
fn pvalue(value: &str) -> String {
    let cleaned: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let value = cleaned.join(" ");
    if value.len() > MAX_VALUE {
        return String::new();
    }
    let bare = value
        .chars()
        .all(|c| c.is_ascii_graphic() && !"()<>,;:\\\"/[]?=".contains(c));
    if bare {
        value
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Lexical tokens once comments and whitespace are gone.
#[derive(Debug, PartialEq)]
enum Tok {
    /// Plain text and quoted strings written together (quotes removed).
    Word(String),
    Eq,
    Semi,
}

fn tokenize(s: &str) -> Vec<Tok> {
    fn flush(word: &mut String, started: &mut bool, toks: &mut Vec<Tok>) {
        if std::mem::take(started) {
            toks.push(Tok::Word(std::mem::take(word)));
        }
    }
    let (mut toks, mut word, mut started) = (Vec::new(), String::new(), false);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            // A comment, possibly nested; unterminated runs to the end.
            '(' => {
                flush(&mut word, &mut started, &mut toks);
                let mut depth = 1;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '(' => depth += 1,
                        ')' if depth == 1 => break,
                        ')' => depth -= 1,
                        _ => {}
                    }
                }
            }
            '"' => {
                started = true;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => word.extend(chars.next()),
                        '"' => break,
                        c => word.push(c),
                    }
                }
            }
            ';' | '=' => {
                flush(&mut word, &mut started, &mut toks);
                toks.push(if c == ';' { Tok::Semi } else { Tok::Eq });
            }
            c if c.is_whitespace() => flush(&mut word, &mut started, &mut toks),
            c => {
                started = true;
                word.push(c);
            }
        }
    }
    flush(&mut word, &mut started, &mut toks);
    toks
}

/// Parse a header value; `None` when it has no authserv-id.
fn parse(value: &str) -> Option<Header> {
    let toks = tokenize(value);
    let mut segments = toks.split(|t| *t == Tok::Semi);
    // authserv-id [version] — a first word followed by `=` is a result, not an id.
    let authserv_id = match segments.next()? {
        [Tok::Word(id), rest @ ..] if rest.first() != Some(&Tok::Eq) => id.clone(),
        _ => return None,
    };
    let results = segments.filter_map(resinfo).collect();
    Some(Header {
        authserv_id,
        results,
    })
}

/// A value that begins `method=…` with no authserv-id (Microsoft 365 does this).
fn starts_with_result(value: &str) -> bool {
    matches!(tokenize(value).as_slice(), [Tok::Word(_), Tok::Eq, ..])
}

/// `method[/version]=result key=value …`; `None` for `none` or a segment with no result.
fn resinfo(seg: &[Tok]) -> Option<Res> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < seg.len() {
        match (&seg[i], seg.get(i + 1), seg.get(i + 2)) {
            (Tok::Word(k), Some(Tok::Eq), Some(Tok::Word(v))) => {
                let mut v = v.clone();
                i += 3;
                // Unquoted base64 padding: `header.b=abc=`.
                while seg.get(i) == Some(&Tok::Eq) {
                    v.push('=');
                    i += 1;
                }
                pairs.push((k.to_lowercase(), v));
            }
            _ => i += 1,
        }
    }
    let mut pairs = pairs.into_iter();
    let (method, result) = pairs.next()?;
    let method = method
        .split('/')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    Some(Res {
        method,
        result: result.to_lowercase(),
        props: pairs.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::{config, message};

    fn auth(headers: &str) -> Authentication {
        check(&message("vanthu@moet.edu.vn", headers), &config())
    }

    fn method(a: &Authentication) -> &str {
        match a {
            Authentication::Pass { method, .. } => method,
            Authentication::Fail { reason } => panic!("expected a pass, got: {reason}"),
        }
    }

    fn reason(a: &Authentication) -> &str {
        match a {
            Authentication::Fail { reason } => reason,
            Authentication::Pass { method, .. } => panic!("expected a failure, got {method}"),
        }
    }

    const GMAIL: &str = "Authentication-Results: mx.google.com;\r\n       dkim=pass header.i=@moet.edu.vn header.s=google header.b=\"Xy/Z+ab1\";\r\n       spf=pass (google.com: domain of vanthu@moet.edu.vn designates 203.162.1.2 as permitted sender) smtp.mailfrom=vanthu@moet.edu.vn;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=moet.edu.vn\r\n";

    #[test]
    fn gmail_dmarc_pass_is_authenticated() {
        let a = auth(GMAIL);
        assert_eq!(method(&a), "dmarc=pass header.from=moet.edu.vn");
        assert!(
            matches!(a, Authentication::Pass { ref authserv_id, .. } if authserv_id == "mx.google.com")
        );
    }

    #[test]
    fn untrusted_authserv_id_is_ignored() {
        let forged = "Authentication-Results: evil.example; dmarc=pass header.from=moet.edu.vn; dkim=pass header.d=moet.edu.vn\r\n";
        let r = auth(forged);
        assert!(reason(&r).contains("no Authentication-Results from a trusted server"));
        assert!(reason(&r).contains("evil.example"), "{r:?}");
    }

    #[test]
    fn topmost_trusted_header_wins_over_a_forged_lower_one() {
        let h = "Authentication-Results: mx.google.com; dkim=none; spf=softfail smtp.mailfrom=x@evil.example; dmarc=fail (p=NONE) header.from=moet.edu.vn\r\n\
Received: from evil.example by mx.google.com\r\n\
Authentication-Results: mx.google.com; dmarc=pass header.from=moet.edu.vn\r\n";
        assert!(reason(&auth(h)).contains("dmarc=fail"));
        // An untrusted header above the trusted one does not hide it.
        let h2 = format!("Authentication-Results: evil.example; dmarc=fail\r\n{GMAIL}");
        assert_eq!(method(&auth(&h2)), "dmarc=pass header.from=moet.edu.vn");
    }

    #[test]
    fn dmarc_fail_is_not_authenticated() {
        let h = "Authentication-Results: mx.google.com; dkim=fail header.d=moet.edu.vn; spf=fail smtp.mailfrom=moet.edu.vn; dmarc=fail (p=REJECT) header.from=moet.edu.vn\r\n";
        assert_eq!(
            reason(&auth(h)),
            "dmarc=fail for moet.edu.vn (mx.google.com)"
        );
    }

    #[test]
    fn dkim_must_be_aligned() {
        let h = "Authentication-Results: mx.google.com; dkim=pass header.d=evil.example header.s=s1; spf=neutral\r\n";
        assert_eq!(
            reason(&auth(h)),
            "dkim=pass for evil.example, not aligned with moet.edu.vn (mx.google.com)"
        );
        let sub = "Authentication-Results: mx.google.com; dkim=pass header.d=mail.moet.edu.vn\r\n";
        assert_eq!(method(&auth(sub)), "dkim=pass header.d=mail.moet.edu.vn");
        let i =
            "Authentication-Results: mx.google.com; dkim=pass header.i=@Moet.EDU.vn header.s=x\r\n";
        assert_eq!(method(&auth(i)), "dkim=pass header.i=@Moet.EDU.vn");
    }

    #[test]
    fn spf_pass_counts_when_aligned() {
        let h = "Authentication-Results: mx.google.com; spf=pass (google.com: domain of bounce@bounces.moet.edu.vn designates 1.2.3.4) smtp.mailfrom=bounce@bounces.moet.edu.vn\r\n";
        assert_eq!(
            method(&auth(h)),
            "spf=pass smtp.mailfrom=bounce@bounces.moet.edu.vn"
        );
        let other =
            "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=list@other.edu.vn\r\n";
        assert!(reason(&auth(other)).contains("spf=pass for other.edu.vn, not aligned"));
    }

    #[test]
    fn microsoft_365_with_and_without_an_authserv_id() {
        let ms = "spf=pass (sender IP is 40.107.1.2) smtp.mailfrom=moet.edu.vn; dkim=pass (signature was verified) header.d=moet.edu.vn;dmarc=pass action=none header.from=moet.edu.vn;compauth=pass reason=100";
        let with_id = format!("Authentication-Results: mx.moet.edu.vn; {ms}\r\n");
        assert_eq!(
            method(&auth(&with_id)),
            "dmarc=pass header.from=moet.edu.vn"
        );
        // Exchange Online omits the authserv-id: nothing says who wrote it.
        let r = auth(&format!("Authentication-Results: {ms}\r\n"));
        assert!(reason(&r).contains("without an authserv-id"), "{r:?}");
    }

    #[test]
    fn postfix_opendkim_opendmarc_topmost_decides() {
        let h = "Authentication-Results: MX.moet.edu.vn; dmarc=none (p=none dis=none) header.from=moet.edu.vn\r\n\
Authentication-Results: mx.moet.edu.vn;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=moet.edu.vn header.i=@moet.edu.vn header.b=Ab3dEf1=\r\n";
        assert_eq!(
            reason(&auth(h)),
            "MX.moet.edu.vn reports dmarc=none: nothing passes for moet.edu.vn"
        );
        let dkim_only = "Authentication-Results: mx.moet.edu.vn 1; DKIM/1 = Pass (good \"sig\" (nested)) header.d=\"moet.edu.vn\" header.b=Ab3dEf1=\r\n";
        assert_eq!(method(&auth(dkim_only)), "dkim=pass header.d=moet.edu.vn");
    }

    #[test]
    fn public_suffix_alignment() {
        assert!(aligned("moet.edu.vn", "mail.moet.edu.vn"));
        assert!(aligned("MOET.edu.vn.", "moet.edu.vn"));
        assert!(!aligned("moet.edu.vn", "other.edu.vn"));
        assert!(!aligned("edu.vn", "moet.edu.vn"));
        assert!(aligned("a.gmail.com", "gmail.com"));
        assert!(!aligned("", ""));
    }

    #[test]
    fn none_and_garbage_are_not_authenticated_and_never_panic() {
        let none = auth("Authentication-Results: mx.google.com 1; none\r\n");
        assert_eq!(
            reason(&none),
            "mx.google.com reports no authentication results"
        );
        let dmarc_pass_other =
            "Authentication-Results: mx.google.com; dmarc=pass header.from=evil.example\r\n";
        assert!(reason(&auth(dmarc_pass_other)).contains("not the From domain"));
        for garbage in [
            "",
            ";;;",
            "mx.google.com; =pass; dkim=; =; header.d=moet.edu.vn",
            "mx.google.com; dkim=pass (unterminated comment header.d=moet.edu.vn",
            "mx.google.com; dkim=\"pass header.d=moet.edu.vn",
            "mx.google.com; dkim=pass header.d",
            "mx.google.com; spf=pass",
            "(only a comment)",
            "\u{1}\u{7f}é=ü;;==",
            "mx.google.com; dkim=pass header.d=edu.vn",
        ] {
            let h = format!("Authentication-Results: {garbage}\r\n");
            assert!(
                matches!(auth(&h), Authentication::Fail { .. }),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn in_self_mode_only_the_own_check_counts() {
        use crate::dns::Policy;
        let mut c = config();
        c.site.verify = Verify::Itself;
        // A trusted id's dmarc=pass, written by anyone: ignored.
        let mut msg = message("vanthu@moet.edu.vn", GMAIL);
        assert!(reason(&check(&msg, &c)).contains("not verified"));
        assert_eq!(forged(&msg, &c), None);
        msg.verified = Some(SelfCheck::Fail {
            reason: "no DKIM signature".into(),
            policy: Policy::Reject,
            policy_detail: "p=reject at _dmarc.moet.edu.vn".into(),
        });
        assert_eq!(reason(&check(&msg, &c)), "no DKIM signature");
        assert!(forged(&msg, &c).unwrap().contains("p=reject"));
        msg.verified = Some(SelfCheck::Pass {
            method: "dkim=pass header.d=moet.edu.vn (relaxed alignment)".into(),
        });
        let a = check(&msg, &c);
        assert_eq!(
            method(&a),
            "dkim=pass header.d=moet.edu.vn (relaxed alignment)"
        );
        assert!(matches!(a, Authentication::Pass { ref authserv_id, .. } if authserv_id == SELF));
        assert_eq!(forged(&msg, &c), None);
        // The same verdict means nothing in authserv mode.
        c.site.verify = Verify::Authserv;
        let forged_header = message(
            "vanthu@moet.edu.vn",
            "Authentication-Results: evil.example; dmarc=pass header.from=moet.edu.vn\r\n",
        );
        let mut with_check = forged_header.clone();
        with_check.verified = msg.verified.clone();
        assert!(matches!(
            check(&with_check, &c),
            Authentication::Fail { .. }
        ));
    }

    #[test]
    fn trusted_results_are_written_afresh() {
        let c = config();
        let values = [
            "evil.example; dmarc=pass header.from=moet.edu.vn",
            "mx.google.com;\r\n       dkim=pass header.i=@moet.edu.vn header.s=google header.b=\"Xy/Z+ab1\";\r\n       spf=pass (google.com: domain of vanthu@moet.edu.vn designates 203.162.1.2 as permitted sender) smtp.mailfrom=vanthu@moet.edu.vn;\r\n       DMARC/1=Pass (p=REJECT sp=REJECT dis=NONE) header.from=moet.edu.vn action=none",
            "mx.google.com; dmarc=fail header.from=moet.edu.vn",
        ];
        assert_eq!(
            trusted_results(values, &c).unwrap(),
            [
                "dkim=pass header.i=@moet.edu.vn header.s=google header.b=\"Xy/Z+ab1\"",
                "spf=pass smtp.mailfrom=vanthu@moet.edu.vn",
                "dmarc=pass header.from=moet.edu.vn",
            ]
        );
        assert_eq!(trusted_results(["mx.google.com 1; none"], &c), Some(vec![]));
        assert_eq!(trusted_results(["evil.example; dkim=pass"], &c), None);
        // Names that are not keywords are left out; values cannot carry a line break.
        let odd = trusted_results(
            ["mx.google.com; d\u{e9}kim=pass; spf=pa$$; dkim=fail reason=\"a\r\nBcc: x\" header.d=\"a\\\"b\" x.y\u{7}z=1 bad=1"],
            &c,
        )
        .unwrap();
        assert_eq!(odd, ["dkim=fail reason=\"a Bcc: x\" header.d=\"a\\\"b\""]);
        let long = format!(
            "mx.google.com; dkim=pass header.d={} header.s=s; {}=pass",
            "x".repeat(257),
            "y".repeat(65)
        );
        assert_eq!(
            trusted_results([long.as_str()], &c).unwrap(),
            ["dkim=pass header.s=s"]
        );
    }

    #[test]
    fn no_configured_ids_means_nothing_is_believed() {
        let mut c = config();
        c.site.authserv_ids.clear();
        let r = check(&message("vanthu@moet.edu.vn", GMAIL), &c);
        assert!(reason(&r).contains("authserv_ids is empty"));
    }
}
