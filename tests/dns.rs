//! The resolver against a real DNS server (dnsmasq on loopback, `scripts/dns`): DMARC
//! policies with the organizational-domain fallback, records that are absent or not
//! DMARC, DKIM verification of a signed message, and a server that does not answer.

#[path = "common/dns.rs"]
mod dns;

use nhomthu::config::Dns;
use nhomthu::dns::{Policy, Resolver, SelfCheck};

fn resolver(table: &str) -> Resolver {
    #[derive(serde::Deserialize)]
    struct File {
        dns: Dns,
    }
    let file: File = toml::from_str(table).unwrap();
    Resolver::new(&file.dns).unwrap()
}

#[tokio::test]
async fn published_policies_follow_rfc_7489() {
    let r = resolver(&dns::dns());
    for (domain, policy) in [
        ("reject.test", Policy::Reject),
        ("quarantine.test", Policy::Quarantine),
        ("none.test", Policy::None),
        // No record of its own: the organizational domain's sp=reject applies.
        ("mail.org.test", Policy::Reject),
        // The organizational domain itself: its p=none.
        ("org.test", Policy::None),
        // Nothing anywhere, or only a TXT record that is not DMARC.
        ("nopolicy.test", Policy::Absent),
        ("a.b.nopolicy.test", Policy::Absent),
        ("other.test", Policy::Absent),
        ("SGD.test.", Policy::Reject),
    ] {
        let p = r.published(domain).await;
        assert_eq!(p.policy, policy, "{domain}: {}", p.detail);
    }
    let sub = r.published("mail.org.test").await;
    assert_eq!(sub.detail, "sp=reject at _dmarc.org.test");
    assert!(r.published("strict.test").await.strict_dkim);
    assert!(!r.published("reject.test").await.strict_dkim);
}

#[tokio::test]
async fn a_lookup_that_fails_is_unknown_and_quick() {
    let r = resolver(&dns::dead_dns());
    let started = std::time::Instant::now();
    let p = r.published("reject.test").await;
    assert_eq!(p.policy, Policy::Unknown, "{}", p.detail);
    assert!(p.policy.is_strict());
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

const MAIL: &str = "From: Văn thư <vanthu@sgd.test>\r\nTo: thpt@moet.test\r\nSubject: Công văn\r\nMessage-ID: <cv1@sgd.test>\r\nDate: Mon, 7 Sep 2026 08:00:00 +0700\r\n\r\nKính gửi các trường.\r\n";

#[tokio::test]
async fn dkim_is_verified_with_keys_from_dns_and_must_align() {
    let r = resolver(&dns::dns());
    let signed = dns::sign(MAIL.as_bytes(), "sgd.test");
    let check = r.self_check(&signed, "vanthu@sgd.test").await;
    assert_eq!(
        check,
        SelfCheck::Pass {
            method: "dkim=pass header.d=sgd.test (relaxed alignment)".into()
        }
    );
    // The same bytes stored with LF line ends (a Maildir file) still verify.
    let lf = String::from_utf8(signed.clone())
        .unwrap()
        .replace("\r\n", "\n");
    assert!(matches!(
        r.self_check(lf.as_bytes(), "vanthu@sgd.test").await,
        SelfCheck::Pass { .. }
    ));
    // One changed word in the body.
    let tampered = String::from_utf8(signed).unwrap().replace("Kính", "Kinh");
    let bad = r.self_check(tampered.as_bytes(), "vanthu@sgd.test").await;
    assert!(matches!(bad, SelfCheck::Fail { .. }), "{bad:?}");
    assert!(bad.forged().is_some(), "sgd.test publishes p=reject");

    // A valid signature by another organisation vouches for nothing here.
    let other = dns::sign(MAIL.as_bytes(), "evil.test");
    let check = r.self_check(&other, "vanthu@sgd.test").await;
    match &check {
        SelfCheck::Fail { reason, policy, .. } => {
            assert!(reason.contains("only by evil.test"), "{reason}");
            assert_eq!(*policy, Policy::Reject);
        }
        pass => panic!("{pass:?}"),
    }
    // No signature at all.
    let none = r.self_check(MAIL.as_bytes(), "vanthu@sgd.test").await;
    assert!(matches!(&none, SelfCheck::Fail { reason, .. } if reason == "no DKIM signature"));
}

#[tokio::test]
async fn strict_alignment_wants_the_very_domain() {
    let r = resolver(&dns::dns());
    let from_sub = MAIL.replace("vanthu@sgd.test", "vanthu@mail.strict.test");
    let signed = dns::sign(from_sub.as_bytes(), "strict.test");
    let check = r.self_check(&signed, "vanthu@mail.strict.test").await;
    match check {
        SelfCheck::Fail { reason, .. } => assert!(reason.contains("adkim=s"), "{reason}"),
        pass => panic!("{pass:?}"),
    }
    let from_own = MAIL.replace("vanthu@sgd.test", "vanthu@strict.test");
    let signed = dns::sign(from_own.as_bytes(), "strict.test");
    assert_eq!(
        r.self_check(&signed, "vanthu@strict.test").await,
        SelfCheck::Pass {
            method: "dkim=pass header.d=strict.test (strict alignment)".into()
        }
    );
}
