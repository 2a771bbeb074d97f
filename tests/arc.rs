//! ARC on the list copies the real binary delivers (Maildir in, file outbox out, `[dkim]`
//! with an RSA key): a post without a chain gets the site's first set, which verifies; a
//! post sealed by an earlier hop whose key no DNS publishes (`hop.test`) gets `cv=fail`
//! above that hop's set, the verdict delivery found with the system's resolver.

#[path = "common/maildir.rs"]
mod maildir;

use mail_auth::arc::{ArcSealer, ChainValidation};
use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{
    ArcOutput, AuthenticatedMessage, AuthenticationResults, DkimResult, MessageAuthenticator,
    Parameters, ResolverCache, Txt,
};
use maildir::{DOMAIN, Options, Site};
use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::pki_types::PrivateKeyDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

const KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/handlers/testdata/dkim-rsa2048.pem"
);
const HOP_KEY: &str = include_str!("../src/handlers/testdata/arc-hop-rsa2048.pem");
const ONCE: Duration = Duration::from_secs(120);

/// The site's key, the only DNS answer there is: `s1._domainkey.moet.test`.
struct Zone(Txt);

impl ResolverCache<Box<str>, Txt> for Zone {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let site: Box<str> = format!("s1._domainkey.{DOMAIN}.").into();
        (site.borrow() == name).then(|| self.0.clone())
    }
    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }
    fn insert(&self, _: Box<str>, _: Txt, _: std::time::Instant) {}
}

fn rsa(pem: &[u8]) -> RsaKey<Sha256> {
    RsaKey::from_key_der(PrivateKeyDer::from_pem_slice(pem).unwrap()).unwrap()
}

fn zone() -> Zone {
    let public = data_encoding::BASE64.encode(&rsa(&std::fs::read(KEY).unwrap()).public_key());
    let key = DomainKey::parse(format!("v=DKIM1; k=rsa; p={public}").as_bytes()).unwrap();
    Zone(Txt::DomainKey(Arc::new(key)))
}

/// How the message's chain verifies, and each set's instance and cv, oldest first.
async fn chain_of(message: &[u8]) -> (DkimResult, Vec<(u32, ChainValidation)>) {
    let authenticator = MessageAuthenticator::new(
        ResolverConfig::from_name_servers(vec![NameServerConfig::udp([127, 0, 0, 1].into())]),
        ResolverOpts::default(),
    )
    .unwrap();
    let message = AuthenticatedMessage::parse(message).unwrap();
    let zone = zone();
    let output = authenticator
        .verify_arc(Parameters::new(&message).with_txt_cache(&zone))
        .await;
    let sets = output
        .sets()
        .iter()
        .map(|s| (s.seal.header.i, s.seal.header.cv.clone()))
        .collect();
    (output.result().clone(), sets)
}

/// A circular from the clerk, as the site's receiving server delivers it.
fn circular(id: &str, sealed_by_a_hop: bool) -> Vec<u8> {
    let mut raw = format!(
        "From: vanthu@{DOMAIN}\r\nTo: thpt@{DOMAIN}\r\nSubject: Cong van {id}\r\n\
Message-ID: <{id}@{DOMAIN}>\r\nDate: Mon, 7 Sep 2026 08:00:00 +0700\r\n\r\nKinh gui cac truong.\r\n"
    )
    .into_bytes();
    if sealed_by_a_hop {
        let message = AuthenticatedMessage::parse(&raw).unwrap();
        let results = AuthenticationResults::new("mx.hop.test");
        let set = ArcSealer::from_key(rsa(HOP_KEY.as_bytes()))
            .domain("hop.test")
            .selector("arc")
            .headers(["From", "To", "Subject", "Date", "Message-ID"])
            .seal(&message, &results, &ArcOutput::default())
            .unwrap();
        let mut sealed = Vec::new();
        set.write_header(&mut sealed);
        sealed.extend_from_slice(&raw);
        raw = sealed;
    }
    let mut out = format!(
        "Authentication-Results: mx.{DOMAIN}; dkim=pass header.d={DOMAIN}; dmarc=pass header.from={DOMAIN}\r\n"
    )
    .into_bytes();
    out.extend_from_slice(&raw);
    out
}

/// The site's `ARC-Authentication-Results` (the topmost), unfolded.
fn results(text: &str) -> String {
    text.split("ARC-Authentication-Results:")
        .nth(1)
        .and_then(|t| t.split("\r\nDKIM-Signature:").next())
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The outbox's copy of post `post`.
fn copy_of(site: &Site, post: i64) -> Vec<u8> {
    let prefix = format!("p{post}-");
    let files: Vec<_> = site
        .outbox_files()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&prefix)
        })
        .collect();
    assert_eq!(files.len(), 1, "one member, one copy of post {post}");
    std::fs::read(&files[0]).unwrap()
}

#[tokio::test]
async fn delivered_copies_carry_the_sites_arc_set() {
    let site = Site::new(Options {
        site_extra: format!(
            "\n[dkim]\ndomain = \"{DOMAIN}\"\nselector = \"s1\"\nprivate_key = \"{KEY}\"\n"
        ),
        ..Options::default()
    });
    let run = site.cli(&["members", "add", "thpt", "gv@school.test"], ONCE);
    assert!(run.status.success(), "members add: {}", run.stderr);
    site.deliver(&circular("cv1", false));
    site.run_once(ONCE);
    site.deliver(&circular("cv2", true));
    site.run_once(ONCE);

    let first = copy_of(&site, 1);
    let text = String::from_utf8_lossy(&first);
    assert!(
        text.contains("\r\nARC-Seal: i=1; a=rsa-sha256; s=s1; d=moet.test; cv=none;"),
        "{text}"
    );
    assert_eq!(
        chain_of(&first).await,
        (DkimResult::Pass, vec![(1, ChainValidation::None)])
    );
    assert_eq!(
        results(&text),
        "i=1; moet.test; dkim=pass header.d=moet.test; dmarc=pass header.from=moet.test"
    );

    // The hop's key is nowhere to be found: the chain cannot pass.
    let second = copy_of(&site, 2);
    let text = String::from_utf8_lossy(&second);
    assert!(
        text.contains("\r\nARC-Seal: i=2; a=rsa-sha256; s=s1; d=moet.test; cv=fail;"),
        "{text}"
    );
    // The verdict delivery found is recorded too.
    assert_eq!(
        results(&text),
        "i=2; moet.test; dkim=pass header.d=moet.test; dmarc=pass header.from=moet.test; arc=fail"
    );
    let (result, sets) = chain_of(&second).await;
    assert!(matches!(result, DkimResult::Fail(_)), "{result:?}");
    assert_eq!(
        sets,
        [(1, ChainValidation::None), (2, ChainValidation::Fail)]
    );
}
