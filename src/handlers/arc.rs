//! ARC (RFC 8617): the site's ARC set on every list copy, sealed by mail-auth with the
//! `[dkim]` key, domain and selector.
//!
//! Place in the flow: delivery reads the post's chain once ([`verdict`], which needs DNS
//! for the earlier sealers' keys) and hands the verdict to [`super::prepare`]; there the
//! trusted `Authentication-Results` are read (`received_results`) before `headers`
//! drops them, and a `Sealer` is made once per list copy; each copy is then sealed
//! after it is DKIM-signed.
//!
//! The set, on top of the message:
//! - `ARC-Authentication-Results`: the results of the topmost `Authentication-Results`
//!   from a trusted server (`[site] authserv_ids`, found as the posting rules find it),
//!   written afresh under the site's own authserv-id (its domain), plus `arc=` when the
//!   post carried a chain; `none` when no trusted server reported anything;
//! - `ARC-Message-Signature`: the fields DKIM signs and the `DKIM-Signature` itself
//!   (RFC 8617 4.1.2: the AMS SHOULD cover the DKIM signatures already present), relaxed/
//!   relaxed, over the copy's own body (a personal copy's footer is its own);
//! - `ARC-Seal`: `i=` one above the post's last set, `cv=none` for the first set,
//!   `cv=pass` when the post's chain validated, `cv=fail` when it did not (or could not be
//!   checked).
//!
//! Only an RSA key seals. RFC 8617 allows one signing algorithm, rsa-sha256 (the draft
//! that would add others, such as the Ed25519 DKIM may use, was parked), and verifiers
//! such as dkimpy answer an `ed25519-sha256` seal with "unknown signature algorithm":
//! a set sealed with an Ed25519 `[dkim]` key would read as a failed chain everywhere, so
//! such a site's copies carry its DKIM signature and no ARC set.
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
//! Cost per copy: one parse of the header block, one hash of the body, one AMS and one
//! seal signature, on top of the DKIM signature.

use super::dkim::{self, SiteKey};
use super::{Draft, HandlerError, crlf};
use crate::config::{self, Config};
use mail_auth::arc::{ArcError, ArcSealer, Set};
use mail_auth::common::cache::NoCache;
use mail_auth::common::crypto::{Algorithm, HashAlgorithm, SigningKey};
use mail_auth::common::headers::{Header, HeaderWriter};
use mail_auth::dkim::{Canonicalization, Done};
use mail_auth::{
    ArcOutput, AuthenticatedMessage, AuthenticationResults, DkimResult, MessageAuthenticator,
    Parameters, ResolverCache, Txt,
};

/// RFC 8617 5.2: a chain has at most 50 sets.
const MAX_SETS: usize = 50;

/// How the received post's ARC chain validated, decided by delivery ([`verdict`]) before
/// the post is prepared for a list.
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
    /// The `ARC-Authentication-Results` payload after `i=N; `: the site's authserv-id and
    /// the results, on one line with single spaces, which is the form mail-auth signs.
    results: String,
    /// The verdict on the post's chain.
    chain: Chain,
}

impl Sealer {
    /// The sealer of a list copy, recording
    /// `results` (from [`received_results`]) under the authserv-id `authserv_id`; `None`
    /// when the key is not RSA (see the module documentation).
    pub(super) fn new(
        key: SiteKey,
        dkim: &config::Dkim,
        authserv_id: &str,
        results: Option<Vec<String>>,
        chain: Chain,
    ) -> Option<Sealer> {
        if key.algorithm() != Algorithm::RsaSha256 {
            return None;
        }
        let inner = ArcSealer::from_key(key)
            .domain(dkim.domain.trim())
            .selector(dkim.selector.trim())
            .headers(dkim::SIGNED.iter().copied().chain(["DKIM-Signature"]))
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
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
        Some(Sealer {
            inner,
            results: format!("{authserv_id}; {}", results.join("; ")),
            chain,
        })
    }

    /// The ARC set (three fields, each ending in CRLF; seal first) for the message whose
    /// header fields are `parts`, in order, without the blank line, and whose body (the
    /// blank line, then the body) is `body`; empty when the received chain cannot be
    /// extended. Each personal copy has its own footer, so its own body hash.
    pub(super) fn seal(&self, parts: &[&[u8]], body: &[u8]) -> Result<Vec<u8>, HandlerError> {
        let mut head: Vec<u8> =
            Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 2);
        for part in parts {
            head.extend_from_slice(part);
        }
        head.extend_from_slice(b"\r\n");
        let Some(mut message) = AuthenticatedMessage::parse_with_opts(&head, None, true) else {
            return Err(HandlerError::ArcSeal("no header fields".into()));
        };
        // The sealer takes the body hash it finds here: the header block was parsed alone.
        let body = body.strip_prefix(b"\r\n").unwrap_or(body);
        let body_hash = HashAlgorithm::Sha256
            .hash(Canonicalization::Relaxed.canonical_body(body, 0))
            .as_ref()
            .to_vec();
        message.body_hashes = vec![(
            Canonicalization::Relaxed,
            HashAlgorithm::Sha256,
            0,
            body_hash,
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

/// mail-auth writes `ARC-Authentication-Results` on one line and the first line of
/// `ARC-Message-Signature` past 78 characters: fold every line longer than that at its
/// spaces, into lines of 78 characters where the words allow. Only spaces become folds, so
/// the relaxed canonical form, which both signatures sign, is unchanged.
fn fold_results(fields: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.len() + 64);
    for line in fields.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\r\n").unwrap_or(line);
        if bare.len() <= 78 {
            out.extend_from_slice(line);
            continue;
        }
        let mut width = 0;
        for (n, word) in bare.split(|&b| b == b' ').enumerate() {
            if n > 0 {
                if width + 1 + word.len() > 78 {
                    out.extend_from_slice(b"\r\n\t");
                    width = 1;
                } else {
                    out.push(b' ');
                    width += 1;
                }
            }
            out.extend_from_slice(word);
            width += word.len();
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{ListCopy, Personal, prepare};
    use super::*;
    use crate::config::Config;
    use mail_auth::arc::ChainValidation;
    use std::path::Path;

    /// The key of an earlier hop, `arc._domainkey.truong.edu.vn`.
    const HOP_KEY: &str = include_str!("testdata/arc-hop-rsa2048.pem");
    const SITE_RSA: &str = include_str!("testdata/dkim-rsa2048.pem");
    const SITE_RSA_PKCS8: &str = include_str!("testdata/dkim-rsa2048-pkcs8.pem");

    /// What the site's receiving server wrote on the post.
    const TRUSTED: &str = "Authentication-Results: mx.moet.edu.vn;\r\n\tdkim=pass header.i=@gmail.com header.s=20230601 header.b=\"Ab3/dEf=\";\r\n\tspf=pass (mx.moet.edu.vn: domain of nguyen.van.a@gmail.com designates\r\n 209.85.1.2 as permitted sender) smtp.mailfrom=nguyen.van.a@gmail.com;\r\n\tdmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=gmail.com\r\n";

    /// The results of [`TRUSTED`] as the site records them.
    const RECORDED: &str = "moet.edu.vn; dkim=pass header.i=@gmail.com header.s=20230601 header.b=\"Ab3/dEf=\"; spf=pass smtp.mailfrom=nguyen.van.a@gmail.com; dmarc=pass header.from=gmail.com";

    /// A configuration sealing with `key`, trusting `mx.moet.edu.vn`.
    fn sealing_config(dir: &Path, key: &str) -> Config {
        let mut config = signing_config(dir, key);
        config.site.authserv_ids = vec![toml::Spanned::new(0..0, "mx.moet.edu.vn".into())];
        config
    }

    /// The site's key and the earlier hop's, published.
    fn zones(site_key: &str) -> Zone {
        zone(&record(site_key)).publish("arc._domainkey.truong.edu.vn.", &record(HOP_KEY))
    }

    /// `raw` as an earlier hop (truong.edu.vn) forwarded it: sealed above what it had.
    fn forwarded(raw: &[u8]) -> Vec<u8> {
        let message = AuthenticatedMessage::parse(raw).unwrap();
        let key = dkim::key_from_pem(HOP_KEY.as_bytes()).unwrap();
        let results =
            AuthenticationResults::new("mx.truong.edu.vn; spf=pass smtp.mailfrom=gmail.com");
        let earlier = received_chain(&message, Chain::None).unwrap();
        let earlier = match earlier.sets().len() {
            0 => earlier,
            _ => earlier.with_result(DkimResult::Pass),
        };
        let set = ArcSealer::from_key(key)
            .domain("truong.edu.vn")
            .selector("arc")
            .headers(["From", "To", "Subject", "Date", "Message-ID"])
            .seal(&message, &results, &earlier)
            .unwrap();
        let mut out = Vec::new();
        set.write_header(&mut out);
        out.extend_from_slice(raw);
        out
    }

    /// `raw` as the site's receiving server delivered it: its verdict on top.
    fn received(raw: &[u8]) -> Vec<u8> {
        let mut out = b"Received: from mail.truong.edu.vn by mx.moet.edu.vn\r\n".to_vec();
        out.splice(0..0, TRUSTED.bytes());
        out.extend_from_slice(raw);
        out
    }

    /// How the message's ARC chain verifies, and each set's instance and cv, oldest first.
    async fn chain_of(message: &[u8], zone: &Zone) -> (DkimResult, Vec<(u32, ChainValidation)>) {
        let message = AuthenticatedMessage::parse(message).expect("parses for ARC");
        let output = authenticator()
            .verify_arc(Parameters::new(&message).with_txt_cache(zone))
            .await;
        let sets = output
            .sets()
            .iter()
            .map(|s| (s.seal.header.i, s.seal.header.cv.clone()))
            .collect();
        (output.result().clone(), sets)
    }

    /// The verdict the delivery would find, with the keys of `zone`.
    async fn verdict_in(raw: &[u8], zone: &Zone) -> Chain {
        verdict_cached(Some(&authenticator()), Some(zone), raw).await
    }

    /// The value of the topmost field `name`, unfolded, single-spaced.
    fn value(out: &[u8], name: &str) -> String {
        let lines = header_lines(out);
        let prefix = format!("{name}:");
        let start = lines
            .iter()
            .position(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {name}"));
        let mut value = lines[start][prefix.len()..].to_string();
        for line in lines[start + 1..]
            .iter()
            .take_while(|l| l.starts_with([' ', '\t']))
        {
            value.push_str(line);
        }
        value.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn other_member() -> Personal<'static> {
        Personal {
            unsubscribe_url: Some("https://moet.example/u/xyz"),
            unsubscribe_mailto: "norply+u-xyz@moet.edu.vn",
            member_url: None,
        }
    }

    fn copy_of(raw: &[u8], config: &Config, chain: Chain) -> ListCopy {
        prepare(
            raw,
            config.list("thaoluan").unwrap(),
            config,
            &templates(),
            &Default::default(),
            chain,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_post_without_a_chain_starts_one_that_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let config = sealing_config(dir.path(), SITE_RSA_PKCS8);
        let zone = zones(SITE_RSA_PKCS8);
        let raw = received(&plain_post());
        // No ARC field: no lookup, not even a resolver.
        let chain = verdict(None, &raw).await;
        assert_eq!(chain, Chain::None);
        let copy = copy_of(&raw, &config, chain);

        for out in [
            copy.personal(&personal()).unwrap(),
            copy.personal(&other_member()).unwrap(),
            copy.shared().unwrap(),
        ] {
            assert!(
                out.starts_with(b"ARC-Seal: i=1; a=rsa-sha256; s=s2026; d=moet.edu.vn; cv=none;")
            );
            let names: Vec<String> = header_lines(&out)
                .iter()
                .filter(|l| !l.starts_with([' ', '\t']))
                .take(4)
                .map(|l| l.split(':').next().unwrap().to_string())
                .collect();
            assert_eq!(
                names,
                [
                    "ARC-Seal",
                    "ARC-Message-Signature",
                    "ARC-Authentication-Results",
                    "DKIM-Signature"
                ]
            );
            assert_eq!(
                chain_of(&out, &zone).await,
                (DkimResult::Pass, vec![(1, ChainValidation::None)])
            );
            assert_eq!(
                verify(&out, &zone).await,
                DkimResult::Pass,
                "DKIM alongside"
            );
            assert_eq!(count_fields(&out, "Authentication-Results"), 0);
            let ams = value(&out, "ARC-Message-Signature")
                .replace(' ', "")
                .to_ascii_lowercase();
            for name in [
                "dkim-signature",
                "from",
                "subject",
                "list-id",
                "list-unsubscribe",
            ] {
                assert!(
                    ams.split([';', '=', ':']).any(|n| n == name),
                    "{name} signed: {ams}"
                );
            }
            // One body hash for both signatures: relaxed SHA-256 of the same body.
            let bh = |v: String| {
                v.replace(' ', "")
                    .split(';')
                    .find_map(|t| t.strip_prefix("bh=").map(str::to_string))
                    .unwrap()
            };
            assert_eq!(
                bh(value(&out, "ARC-Message-Signature")),
                bh(value(&out, "DKIM-Signature"))
            );
        }
    }

    #[tokio::test]
    async fn personal_copies_are_sealed_each_and_cannot_be_swapped() {
        let dir = tempfile::tempdir().unwrap();
        let config = sealing_config(dir.path(), SITE_RSA_PKCS8);
        let zone = zones(SITE_RSA_PKCS8);
        let copy = copy_of(&received(&plain_post()), &config, Chain::None);
        let a = copy.personal(&personal()).unwrap();
        let b = copy.personal(&other_member()).unwrap();
        assert_ne!(
            value(&a, "ARC-Message-Signature"),
            value(&b, "ARC-Message-Signature")
        );
        // Another member's unsubscribe link under this member's seal.
        let forged = String::from_utf8(a).unwrap().replace("u/abc", "u/xyz");
        let (result, _) = chain_of(forged.as_bytes(), &zone).await;
        assert!(matches!(result, DkimResult::Fail(_)), "{result:?}");
    }

    #[tokio::test]
    async fn the_results_recorded_are_the_trusted_servers_under_the_sites_id() {
        let dir = tempfile::tempdir().unwrap();
        let config = sealing_config(dir.path(), SITE_RSA);
        let out = copy_of(&received(&plain_post()), &config, Chain::None)
            .personal(&personal())
            .unwrap();
        assert_eq!(
            value(&out, "ARC-Authentication-Results"),
            format!("i=1; {RECORDED}")
        );
        let lines = header_lines(&out);
        let aar = lines
            .iter()
            .position(|l| l.starts_with("ARC-Authentication-Results:"))
            .unwrap();
        assert!(lines[aar + 1].starts_with('\t'), "folded");
        for line in lines[aar..]
            .iter()
            .take_while(|l| !l.starts_with("DKIM-Signature:"))
        {
            assert!(line.len() <= 78, "{line:?} is folded");
        }

        // A forged header with the trusted id below the real one, an untrusted one above.
        let mut raw =
            b"Authentication-Results: evil.example; dkim=pass header.d=moet.edu.vn\r\n".to_vec();
        raw.extend_from_slice(&received(
            b"Authentication-Results: mx.moet.edu.vn; dmarc=pass header.from=moet.edu.vn\r\nFrom: a@gmail.com\r\nSubject: x\r\n\r\nbody\r\n",
        ));
        let out = copy_of(&raw, &config, Chain::None).shared().unwrap();
        assert_eq!(
            value(&out, "ARC-Authentication-Results"),
            format!("i=1; {RECORDED}")
        );

        // No trusted server: nothing to record.
        let out = copy_of(&plain_post(), &config, Chain::None)
            .shared()
            .unwrap();
        assert_eq!(
            value(&out, "ARC-Authentication-Results"),
            "i=1; moet.edu.vn; none"
        );
    }

    #[tokio::test]
    async fn a_valid_earlier_chain_is_extended_with_cv_pass() {
        let dir = tempfile::tempdir().unwrap();
        let config = sealing_config(dir.path(), SITE_RSA);
        let zone = zones(SITE_RSA);
        let raw = received(&forwarded(&plain_post()));
        let chain = verdict_in(&raw, &zone).await;
        assert_eq!(chain, Chain::Pass { sets: 1 });
        let copy = copy_of(&raw, &config, chain);
        for out in [copy.personal(&personal()).unwrap(), copy.shared().unwrap()] {
            assert!(
                out.starts_with(b"ARC-Seal: i=2; a=rsa-sha256; s=s2026; d=moet.edu.vn; cv=pass;")
            );
            assert_eq!(
                chain_of(&out, &zone).await,
                (
                    DkimResult::Pass,
                    vec![(1, ChainValidation::None), (2, ChainValidation::Pass)]
                )
            );
            assert_eq!(verify(&out, &zone).await, DkimResult::Pass);
            assert_eq!(
                value(&out, "ARC-Authentication-Results"),
                format!("i=2; {RECORDED}; arc=pass")
            );
            assert_eq!(count_fields(&out, "ARC-Seal"), 2, "the earlier set is kept");
        }
    }

    #[tokio::test]
    async fn a_broken_earlier_chain_gives_cv_fail_and_is_not_extended_again() {
        let dir = tempfile::tempdir().unwrap();
        let config = sealing_config(dir.path(), SITE_RSA_PKCS8);
        let zone = zones(SITE_RSA_PKCS8);
        // The hop's seal covers the subject; someone changed it afterwards.
        let post = String::from_utf8(forwarded(&plain_post())).unwrap();
        let tampered = post.replace(
            "Subject: =?UTF-8?B?",
            "Subject: =?UTF-8?B?SGk=?= =?UTF-8?B?",
        );
        assert_ne!(post, tampered);
        let raw = received(tampered.as_bytes());
        let chain = verdict_in(&raw, &zone).await;
        assert_eq!(chain, Chain::Fail { last: 1 });
        let out = copy_of(&raw, &config, chain).personal(&personal()).unwrap();
        assert!(out.starts_with(b"ARC-Seal: i=2; a=rsa-sha256; s=s2026; d=moet.edu.vn; cv=fail;"));
        let (result, sets) = chain_of(&out, &zone).await;
        assert!(matches!(result, DkimResult::Fail(_)), "{result:?}");
        assert_eq!(
            sets,
            [(1, ChainValidation::None), (2, ChainValidation::Fail)]
        );
        assert_eq!(verify(&out, &zone).await, DkimResult::Pass);
        assert!(value(&out, "ARC-Authentication-Results").ends_with("; arc=fail"));

        // That copy posted again: a chain that says fail stays as it is (RFC 8617 5.1).
        let again = received(&out);
        let chain = verdict_in(&again, &zone).await;
        assert_eq!(chain, Chain::Fail { last: 2 });
        let out = copy_of(&again, &config, chain).shared().unwrap();
        assert!(out.starts_with(b"DKIM-Signature:"));
        assert_eq!(count_fields(&out, "ARC-Seal"), 2);
        assert_eq!(verify(&out, &zone).await, DkimResult::Pass);
    }

    #[tokio::test]
    async fn malformed_arc_fields_are_kept_and_not_extended() {
        let dir = tempfile::tempdir().unwrap();
        let config = sealing_config(dir.path(), SITE_RSA_PKCS8);
        let zone = zones(SITE_RSA_PKCS8);
        // A lone ARC-Seal, with neither its message signature nor its results.
        let raw = circular(b"%PDF");
        let chain = verdict_in(&raw, &zone).await;
        assert_eq!(chain, Chain::Fail { last: 1 });
        let out = prepare(
            &raw,
            config.list("thpt").unwrap(),
            &config,
            &templates(),
            &Default::default(),
            chain,
        )
        .unwrap()
        .personal(&personal())
        .unwrap();
        assert!(out.starts_with(b"DKIM-Signature:"));
        assert_eq!(count_fields(&out, "ARC-Seal"), 1);
        assert_eq!(count_fields(&out, "ARC-Message-Signature"), 0);
        assert_eq!(verify(&out, &zone).await, DkimResult::Pass);
    }

    #[tokio::test]
    async fn a_chain_cannot_be_checked_without_a_resolver() {
        let raw = received(&forwarded(&plain_post()));
        assert_eq!(verdict(None, &raw).await, Chain::Fail { last: 1 });
        assert!(has_chain(&raw));
        assert!(!has_chain(&plain_post()));
        // A field named like ARC in the body is not a chain.
        assert!(!has_chain(b"Subject: x\r\n\r\nARC-Seal: i=1\r\n"));
    }

    #[tokio::test]
    async fn an_ed25519_key_signs_and_seals_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_pem();
        let config = sealing_config(dir.path(), &key);
        let raw = received(&forwarded(&plain_post()));
        let out = copy_of(&raw, &config, Chain::Pass { sets: 1 })
            .personal(&personal())
            .unwrap();
        assert!(out.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256;"));
        assert_eq!(count_fields(&out, "ARC-Seal"), 1, "only the earlier set");
        assert_eq!(verify(&out, &zones(&key)).await, DkimResult::Pass);
    }

    #[test]
    fn no_dkim_no_arc() {
        let config = config("");
        let raw = received(&forwarded(&plain_post()));
        let out = copy_of(&raw, &config, Chain::Pass { sets: 1 })
            .personal(&personal())
            .unwrap();
        assert_eq!(count_fields(&out, "ARC-Seal"), 1, "only the earlier set");
        assert_eq!(count_fields(&out, "DKIM-Signature"), 0);
        assert_eq!(count_fields(&out, "ARC-Authentication-Results"), 1);
    }

    #[tokio::test]
    async fn a_trusted_header_cannot_add_a_field() {
        let dir = tempfile::tempdir().unwrap();
        let config = sealing_config(dir.path(), SITE_RSA_PKCS8);
        let zone = zones(SITE_RSA_PKCS8);
        // Bare CRs and folds inside quoted values, a result named through a bare CR, and
        // a quoted string left open to the end.
        let hostile = "Authentication-Results: mx.moet.edu.vn; dkim=fail reason=\"bad\rBcc: victim@example.com\r\n X-Evil: 1\" header.d=gmail.com; x\rBcc=pass; dmarc=pass header.from=gmail.com; spf=pass smtp.mailfrom=a\"b\rc@gmail.com;\r\n\tX-Evil: 2\r\n";
        let mut raw = hostile.as_bytes().to_vec();
        raw.extend_from_slice(&plain_post());
        let out = copy_of(&raw, &config, Chain::None)
            .personal(&personal())
            .unwrap();
        assert_eq!(count_fields(&out, "Bcc"), 0);
        assert_eq!(count_fields(&out, "X-Evil"), 0);
        assert_eq!(count_fields(&out, "ARC-Authentication-Results"), 1);
        for line in header_lines(&out) {
            assert!(!line.contains('\r'), "a bare CR in {line:?}");
            assert!(
                !line.to_ascii_lowercase().starts_with("bcc"),
                "injected {line:?}"
            );
        }
        assert_eq!(
            value(&out, "ARC-Authentication-Results"),
            "i=1; moet.edu.vn; dkim=fail reason=\"bad Bcc: victim@example.com X-Evil: 1\" header.d=gmail.com; bcc=pass; dmarc=pass header.from=gmail.com; spf=pass smtp.mailfrom=\"ab c@gmail.com; X-Evil: 2\""
        );
        assert_eq!(chain_of(&out, &zone).await.0, DkimResult::Pass);
    }
}
