//! ARC (RFC 8617): the site's ARC set on every list copy, sealed by mail-auth with the
//! `[dkim]` key, domain and selector.
//!
//! Place in the flow: delivery reads the post's chain once ([`verdict`], which needs DNS
//! for the earlier sealers' keys) and hands the verdict to [`super::prepare`]; there the
//! trusted `Authentication-Results` are read ([`received_results`]) before `headers`
//! drops them, and a [`Sealer`] is made once per list copy; each copy is then sealed
//! after it is DKIM-signed.
//!
//! The set, on top of the message:
//! - `ARC-Authentication-Results`: the results of the topmost `Authentication-Results`
//!   from a trusted server (`[site] authserv_ids`, found as the posting rules find it),
//!   written afresh under the site's own authserv-id (its domain), plus `arc=` when the
//!   post carried a chain; `none` when no trusted server reported anything;
//! - `ARC-Message-Signature`: the fields DKIM signs and the `DKIM-Signature` itself
//!   (RFC 8617 4.1.2: the AMS SHOULD cover the DKIM signatures already present), relaxed/
//!   relaxed, the body hash computed once per list copy;
//! - `ARC-Seal`: `i=` one above the post's last set, `cv=none` for the first set,
//!   `cv=pass` when the post's chain validated, `cv=fail` when it did not (or could not be
//!   checked).
//!
//! Order: DKIM signs first and the ARC set goes on top of the `DKIM-Signature`. That is
//! the only order in which the AMS can cover the signature (a field added later would
//! not be signed) and the one receivers see from forwarders such as Google Groups; both
//! mail-auth's verifiers find their fields wherever they are.
//!
//! No set is added to a post whose ARC fields cannot be extended: a field that does not
//! parse, sets missing a field, instances not numbered 1…N, 50 sets already, or a last
//! set that says `cv=fail` (RFC 8617 5.1: nothing more to seal). Receivers then judge the
//! chain failed, as they would a `cv=fail` set. The received fields are kept as they
//! were.
//!
//! Cost per copy: one parse of the header block (not the body), one AMS and one seal
//! signature, on top of the DKIM signature.

use super::dkim::{self, SiteKey};
use super::{Draft, HandlerError, crlf, find};
use crate::config::{self, Config};
use mail_auth::arc::{ArcError, ArcSealer, Set};
use mail_auth::common::cache::NoCache;
use mail_auth::common::crypto::HashAlgorithm;
use mail_auth::common::headers::{Header, HeaderWriter};
use mail_auth::dkim::{Canonicalization, Done};
use mail_auth::{
    ArcOutput, AuthenticatedMessage, AuthenticationResults, DkimResult, MessageAuthenticator,
    Parameters, ResolverCache, Txt,
};

/// RFC 8617 5.2: a chain has at most 50 sets.
const MAX_SETS: usize = 50;

/// How the received post's ARC chain validated, decided once per post by [`verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// The post carries no ARC field: each copy starts a chain (`i=1; cv=none`).
    None,
    /// The post's `sets` ARC sets validate: each copy adds `i=sets+1; cv=pass`.
    Pass {
        /// The number of sets, which is the last instance.
        sets: u32,
    },
    /// The post's ARC fields do not validate, or could not be checked: each copy adds
    /// `cv=fail` above the last set, when the chain can be extended at all.
    Fail {
        /// The highest instance among the post's ARC-Seal fields (0 when none parses).
        last: u32,
    },
}

/// Whether the post carries any ARC field (read in its header block only): without one
/// the verdict is [`Chain::None`] and needs no lookup.
pub fn has_chain(raw: &[u8]) -> bool {
    const NAMES: [&[u8]; 3] = [
        b"arc-seal",
        b"arc-message-signature",
        b"arc-authentication-results",
    ];
    raw.split(|&b| b == b'\n')
        .take_while(|line| !line.is_empty() && *line != b"\r")
        .filter_map(|line| line.iter().position(|&b| b == b':').map(|i| &line[..i]))
        .any(|name| NAMES.iter().any(|n| name.eq_ignore_ascii_case(n)))
}

/// Validate the post's ARC chain with the earlier sealers' keys from DNS. A post with no
/// ARC field is [`Chain::None`] with no lookup; with no resolver (`None`) a chain cannot
/// be checked and is [`Chain::Fail`].
pub async fn verdict(authenticator: Option<&MessageAuthenticator>, raw: &[u8]) -> Chain {
    verdict_cached(authenticator, None::<&NoCache<Box<str>, Txt>>, raw).await
}

/// [`verdict`], with DNS answers taken from `txt` first when given.
pub async fn verdict_cached<C: ResolverCache<Box<str>, Txt>>(
    authenticator: Option<&MessageAuthenticator>,
    txt: Option<&C>,
    raw: &[u8],
) -> Chain {
    if !has_chain(raw) {
        return Chain::None;
    }
    let raw = crlf(raw);
    let Some(message) = AuthenticatedMessage::parse(&raw) else {
        return Chain::Fail { last: 0 };
    };
    let last = message
        .as_headers
        .iter()
        .map(|h| h.header.i)
        .max()
        .unwrap_or(0);
    let Some(authenticator) = authenticator else {
        return Chain::Fail { last };
    };
    let output = match txt {
        Some(txt) => {
            authenticator
                .verify_arc(Parameters::new(&message).with_txt_cache(txt))
                .await
        }
        None => authenticator.verify_arc(Parameters::new(&message)).await,
    };
    match output.result() {
        DkimResult::Pass => Chain::Pass {
            sets: output.sets().len() as u32,
        },
        // Anything else, `none` included: there are ARC fields, yet no chain (say, a
        // seal without its message signature).
        _ => Chain::Fail { last },
    }
}

/// The results of the post's topmost trusted `Authentication-Results`, read before the
/// `headers` handler drops the field; `None` when no trusted server wrote one.
pub(super) fn received_results(draft: &Draft, config: &Config) -> Option<Vec<String>> {
    let values: Vec<String> = draft
        .fields
        .iter()
        .filter(|f| f.is("Authentication-Results"))
        .map(|f| String::from_utf8_lossy(&f.raw[f.name.len() + 1..]).into_owned())
        .collect();
    crate::rules::auth::trusted_results(values.iter().map(String::as_str), config)
}

/// The site's ARC sealer for one prepared list copy (one body).
pub(super) struct Sealer {
    /// mail-auth's sealer: the site key, domain and selector, relaxed/relaxed, signing
    /// the fields DKIM signs and the `DKIM-Signature`.
    inner: ArcSealer<SiteKey, Done>,
    /// The relaxed SHA-256 hash of the body, the same for every copy.
    body_hash: Vec<u8>,
    /// The `ARC-Authentication-Results` payload after `i=N; `: the site's authserv-id and
    /// the results, on one line with single spaces, which is the form mail-auth signs.
    results: String,
    /// The verdict on the post's chain.
    chain: Chain,
}

impl Sealer {
    /// The sealer of a list copy whose body (after the blank line) is `body`, recording
    /// `results` (from [`received_results`]) under the authserv-id `authserv_id`.
    pub(super) fn new(
        key: SiteKey,
        dkim: &config::Dkim,
        authserv_id: &str,
        results: Option<Vec<String>>,
        chain: Chain,
        body: &[u8],
    ) -> Sealer {
        let inner = ArcSealer::from_key(key)
            .domain(dkim.domain.trim())
            .selector(dkim.selector.trim())
            .headers(dkim::SIGNED.iter().copied().chain(["DKIM-Signature"]))
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
        let body_hash = HashAlgorithm::Sha256
            .hash(Canonicalization::Relaxed.canonical_body(body, 0))
            .as_ref()
            .to_vec();
        let mut results = results.unwrap_or_default();
        let arc = match chain {
            Chain::None => None,
            Chain::Pass { .. } => Some("arc=pass"),
            Chain::Fail { .. } => Some("arc=fail"),
        };
        if let Some(arc) = arc
            && !results.iter().any(|r| r.starts_with("arc="))
        {
            results.push(arc.to_string());
        }
        if results.is_empty() {
            results.push("none".to_string());
        }
        let authserv_id: String = authserv_id.chars().filter(char::is_ascii_graphic).collect();
        Sealer {
            inner,
            body_hash,
            results: format!("{authserv_id}; {}", results.join("; ")),
            chain,
        }
    }

    /// The ARC set (three fields, each ending in CRLF; seal first) for the message whose
    /// header fields are `parts`, in order, without the blank line; empty when the
    /// received chain cannot be extended. The body must be the one given to [`Sealer::new`].
    pub(super) fn seal(&self, parts: &[&[u8]]) -> Result<Vec<u8>, HandlerError> {
        let mut head: Vec<u8> =
            Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 2);
        for part in parts {
            head.extend_from_slice(part);
        }
        head.extend_from_slice(b"\r\n");
        let Some(mut message) = AuthenticatedMessage::parse_with_opts(&head, None, true) else {
            return Err(HandlerError::ArcSeal("no header fields".into()));
        };
        // The sealer takes a body hash it finds here instead of hashing the body.
        message.body_hashes = vec![(
            Canonicalization::Relaxed,
            HashAlgorithm::Sha256,
            0,
            self.body_hash.clone(),
        )];
        let Some(received) = received_chain(&message, self.chain) else {
            return Ok(Vec::new());
        };
        if !received.can_be_sealed() {
            return Ok(Vec::new());
        }
        let results = AuthenticationResults::new(&self.results);
        let set = self
            .inner
            .seal(&message, &results, &received)
            .map_err(|e| HandlerError::ArcSeal(e.to_string()))?;
        let mut fields = Vec::with_capacity(1600);
        set.write_header(&mut fields);
        Ok(fold_results(fields))
    }
}

/// The received sets as mail-auth's sealer takes them, with the verdict; `None` when they
/// cannot be extended (see the module documentation).
fn received_chain<'x>(
    message: &'x AuthenticatedMessage<'x>,
    chain: Chain,
) -> Option<ArcOutput<'x>> {
    let n = message.as_headers.len();
    let numbered = |i: usize| {
        message.as_headers[i].header.i as usize == i + 1
            && message.ams_headers[i].header.i as usize == i + 1
            && message.aar_headers[i].header.i as usize == i + 1
    };
    if message.has_arc_errors
        || message.ams_headers.len() != n
        || message.aar_headers.len() != n
        || n >= MAX_SETS
        || !(0..n).all(numbered)
    {
        return None;
    }
    if n == 0 {
        return Some(ArcOutput::default());
    }
    let result = if chain == (Chain::Pass { sets: n as u32 }) {
        DkimResult::Pass
    } else {
        DkimResult::Fail(mail_auth::Error::Arc(ArcError::BrokenChain))
    };
    let sets = message
        .as_headers
        .iter()
        .zip(&message.ams_headers)
        .zip(&message.aar_headers);
    Some(sets.fold(
        ArcOutput::default().with_result(result),
        |output, ((seal, signature), results)| {
            output.with_set(Set {
                signature: Header::new(signature.name, signature.value, &signature.header),
                seal: Header::new(seal.name, seal.value, &seal.header),
                results: Header::new(results.name, results.value, &results.header),
            })
        },
    ))
}

/// mail-auth writes `ARC-Authentication-Results` (the last of the three fields) on one
/// line: fold it at its spaces into lines of 78 characters where the words allow. The
/// relaxed canonical form, which the seal signs, is unchanged.
fn fold_results(mut fields: Vec<u8>) -> Vec<u8> {
    let Some(start) = find(&fields, b"ARC-Authentication-Results:") else {
        return fields;
    };
    let line = fields.split_off(start);
    let line = line.strip_suffix(b"\r\n").unwrap_or(&line);
    let mut width = 0;
    for (n, word) in line.split(|&b| b == b' ').enumerate() {
        if n > 0 {
            if width + 1 + word.len() > 78 {
                fields.extend_from_slice(b"\r\n\t");
                width = 1;
            } else {
                fields.push(b' ');
                width += 1;
            }
        }
        fields.extend_from_slice(word);
        width += word.len();
    }
    fields.extend_from_slice(b"\r\n");
    fields
}
