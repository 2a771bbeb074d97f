//! DKIM signing with the site's key (`[dkim]`), by mail-auth on ring (RSA-SHA256 and
//! Ed25519-SHA256, RFC 6376 and RFC 8463), relaxed/relaxed canonicalization.
//!
//! Signed fields (absent ones are signed as absent, so nobody can add them later): From,
//! Sender, Reply-To, To, Cc, Subject, Date, Message-ID, In-Reply-To, References,
//! MIME-Version, Content-Type, Content-Transfer-Encoding, Auto-Submitted and every List-*
//! field the system writes, List-Id, List-Unsubscribe and List-Unsubscribe-Post included
//! (Gmail's one-click unsubscribe requires both signed). From and Subject are over-signed:
//! listed once more than they occur, so a second From or Subject added on the way breaks
//! the signature instead of being shown.
//!
//! Cost per copy: one canonicalization and hash of the copy (each personalised copy has
//! its own footer, so its own body hash) and one signature.
//!
//! The key is read and parsed once per prepared list copy ([`SiteKey`]) and shared with
//! the ARC sealer (`arc.rs`), which signs with the same key, domain and selector.

use super::HandlerError;
use crate::config::{self, Config};
use mail_auth::common::crypto::{Algorithm, DkimKey, Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::PrivateKeyDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

/// The fields covered by the signature.
pub(super) const SIGNED: &[&str] = &[
    "From",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Auto-Submitted",
    "List-Id",
    "List-Post",
    "List-Help",
    "List-Subscribe",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Archive",
];

/// The site's signer for one prepared list copy (one body).
pub(super) struct Signer {
    inner: DkimSigner<SiteKey, Done>,
}

/// The site's `[dkim]` key, read and parsed once and shared by the DKIM signer and the
/// ARC sealer of a list copy.
#[derive(Clone)]
pub(super) struct SiteKey(Arc<DkimKey>);

impl SiteKey {
    /// Load the key of `[dkim]` (a PEM file: RSA in PKCS#1 or PKCS#8, Ed25519 in PKCS#8).
    pub(super) fn load(dkim: &config::Dkim, config: &Config) -> Result<SiteKey, HandlerError> {
        let path = config.path(dkim.private_key.get_ref());
        std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|pem| key_from_pem(&pem))
            .map(|key| SiteKey(Arc::new(key)))
            .map_err(|reason| HandlerError::DkimKey { path, reason })
    }
}

impl SigningKey for SiteKey {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.sign(input)
    }

    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

impl Signer {
    /// Load the key of `[dkim]` and make its signer.
    pub(super) fn load(dkim: &config::Dkim, config: &Config) -> Result<Signer, HandlerError> {
        Ok(Signer::new(SiteKey::load(dkim, config)?, dkim))
    }

    /// The signer of `[dkim]` with a key already loaded.
    pub(super) fn new(key: SiteKey, dkim: &config::Dkim) -> Signer {
        let inner = DkimSigner::from_key(key)
            .domain(dkim.domain.trim())
            .selector(dkim.selector.trim())
            .headers(SIGNED.iter().copied())
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
        Signer { inner }
    }

    /// The `DKIM-Signature` field (ending in CRLF) for the message made of `parts`: header
    /// fields, then the blank line and the body, in one final part. Every copy signed by
    /// one `Signer` must carry the same body.
    pub(super) fn sign(&self, parts: &[&[u8]]) -> Result<Vec<u8>, HandlerError> {
        let signature = self
            .inner
            .sign_chained(parts.iter().copied())
            .map_err(|e| HandlerError::DkimSign(e.to_string()))?;
        let mut field = Vec::with_capacity(600);
        signature.write_header(&mut field);
        Ok(field)
    }
}

/// A DKIM key from PEM text.
pub(super) fn key_from_pem(pem: &[u8]) -> Result<DkimKey, String> {
    let der = PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| format!("no PEM private key in the file ({e})"))?;
    let rsa = |der: PrivateKeyDer<'_>| {
        RsaKey::<Sha256>::from_key_der(der)
            .map(DkimKey::Rsa)
            .map_err(|e| format!("not a usable RSA key (2048 to 8192 bits): {e}"))
    };
    match der {
        PrivateKeyDer::Pkcs1(_) => rsa(der),
        PrivateKeyDer::Pkcs8(ref pkcs8) => {
            match Ed25519Key::from_pkcs8_maybe_unchecked_der(pkcs8.secret_pkcs8_der()) {
                Ok(key) => Ok(DkimKey::Ed25519(key)),
                Err(_) => rsa(der.clone_key()),
            }
        }
        _ => Err("an EC (SEC1) key: DKIM signs with RSA or Ed25519".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::arc::Chain;
    use super::super::testing::*;
    use super::super::{ListCopy, Personal, find, prepare};
    use super::*;
    use mail_auth::DkimResult;
    use std::path::Path;

    const RSA_PKCS1: &str = include_str!("testdata/dkim-rsa2048.pem");
    const RSA_PKCS8: &str = include_str!("testdata/dkim-rsa2048-pkcs8.pem");

    fn circular_copy(dir: &Path, pem_text: &str, list: &str) -> ListCopy {
        let config = signing_config(dir, pem_text);
        prepare(
            &circular(&pdf_bytes(60 * 1024)),
            config.list(list).unwrap(),
            &config,
            &templates(),
            &Default::default(),
            Chain::None,
        )
        .unwrap()
    }

    /// The `h=` tag of the output's signature, lowercased names.
    fn signed_names(out: &[u8]) -> Vec<String> {
        let msg = parse(out);
        let value = msg
            .header_raw("DKIM-Signature")
            .unwrap()
            .replace(['\r', '\n', '\t', ' '], "");
        let h = value
            .split(';')
            .find_map(|tag| tag.strip_prefix("h="))
            .unwrap()
            .to_ascii_lowercase();
        h.split(':').map(str::to_string).collect()
    }

    #[tokio::test]
    async fn ed25519_copies_verify_and_tampering_fails() {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_pem();
        let zone = zone(&record(&key));
        let copy = circular_copy(dir.path(), &key, "thpt");

        let first = copy.personal(&personal()).unwrap();
        assert!(
            first.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256; s=s2026; d=moet.edu.vn")
        );
        assert_eq!(verify(&first, &zone).await, DkimResult::Pass);
        let names = signed_names(&first);
        for name in [
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "mime-version",
            "content-type",
            "list-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} signed: {names:?}");
        }

        // Every copy is signed whole and verifies.
        let second = copy
            .personal(&Personal {
                unsubscribe_url: Some("https://moet.example/u/xyz"),
                unsubscribe_mailto: "norply+u-xyz@moet.edu.vn",
                member_url: None,
            })
            .unwrap();
        assert_eq!(verify(&second, &zone).await, DkimResult::Pass);
        let shared = copy.shared().unwrap();
        assert_eq!(verify(&shared, &zone).await, DkimResult::Pass);

        // One changed byte in the PDF's base64.
        let mut tampered = second.clone();
        let at = find(&tampered, b"Content-Type: application/pdf").unwrap() + 200;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        // mail-auth reports a body hash mismatch as neutral (RFC 6376 6.3: not a pass).
        assert!(matches!(
            verify(&tampered, &zone).await,
            DkimResult::Neutral(mail_auth::Error::Dkim(
                mail_auth::dkim::DkimError::FailedBodyHashMatch
            ))
        ));

        // Someone else's unsubscribe link (in List-Unsubscribe and in the footer).
        let forged = String::from_utf8(second).unwrap().replace("u/xyz", "u/abc");
        assert_ne!(verify(forged.as_bytes(), &zone).await, DkimResult::Pass);
    }

    #[tokio::test]
    async fn rsa_keys_in_both_pem_forms_sign() {
        for key in [RSA_PKCS1, RSA_PKCS8] {
            let dir = tempfile::tempdir().unwrap();
            let zone = zone(&record(key));
            let copy = circular_copy(dir.path(), key, "thaoluan");
            let out = copy.personal(&personal()).unwrap();
            assert!(out.starts_with(b"DKIM-Signature: v=1; a=rsa-sha256;"));
            assert_eq!(verify(&out, &zone).await, DkimResult::Pass);
            let out = copy.shared().unwrap();
            assert_eq!(verify(&out, &zone).await, DkimResult::Pass);
        }
    }

    #[test]
    fn each_copy_hashes_its_own_footer() {
        let dir = tempfile::tempdir().unwrap();
        let copy = circular_copy(dir.path(), &ed25519_pem(), "thpt");
        let a = copy.personal(&personal()).unwrap();
        let b = copy
            .personal(&Personal {
                unsubscribe_url: Some("https://moet.example/u/xyz"),
                unsubscribe_mailto: "norply+u-xyz@moet.edu.vn",
                member_url: None,
            })
            .unwrap();
        let c = copy.shared().unwrap();
        let bh = |out: &[u8]| {
            let v = parse(out)
                .header_raw("DKIM-Signature")
                .unwrap()
                .replace(['\r', '\n', '\t', ' '], "");
            v.split(';')
                .find_map(|t| t.strip_prefix("bh=").map(str::to_string))
                .unwrap()
        };
        assert_ne!(bh(&a), bh(&b), "each member's footer has their own link");
        assert_ne!(bh(&a), bh(&c));
        assert_eq!(
            bh(&c),
            bh(&copy.shared().unwrap()),
            "batch copies are alike"
        );
    }

    #[test]
    fn from_and_subject_are_over_signed() {
        let dir = tempfile::tempdir().unwrap();
        let copy = circular_copy(dir.path(), &ed25519_pem(), "thpt");
        let names = signed_names(&copy.personal(&personal()).unwrap());
        let count = |name: &str| names.iter().filter(|n| *n == name).count();
        assert_eq!(count("from"), 2, "{names:?}");
        assert_eq!(count("subject"), 2, "{names:?}");
        assert_eq!(count("auto-submitted"), 1, "signed as absent: {names:?}");
        assert_eq!(count("list-id"), 1);
    }

    #[test]
    fn bad_key_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let config = signing_config(dir.path(), "not a key");
        let list = config.list("thpt").unwrap();
        let err = prepare(
            &plain_post(),
            list,
            &config,
            &templates(),
            &Default::default(),
            Chain::None,
        )
        .err()
        .unwrap();
        assert!(matches!(err, HandlerError::DkimKey { .. }), "{err}");

        std::fs::remove_file(dir.path().join("dkim.pem")).unwrap();
        let err = prepare(
            &plain_post(),
            list,
            &config,
            &templates(),
            &Default::default(),
            Chain::None,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("dkim.pem"), "{err}");

        let ec = pem("EC PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x01]);
        std::fs::write(dir.path().join("dkim.pem"), ec).unwrap();
        let err = prepare(
            &plain_post(),
            list,
            &config,
            &templates(),
            &Default::default(),
            Chain::None,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("RSA or Ed25519"), "{err}");
    }

    #[tokio::test]
    async fn the_systems_own_answers_are_signed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_pem();
        let config = signing_config(dir.path(), &key);
        let zone = zone(&record(&key));
        let answer = "From: Norply <norply@moet.edu.vn>\r\nTo: gv@school.test\r\nSubject: =?utf-8?b?WMOhYyBuaOG6rW4=?=\r\nMessage-ID: <a@moet.edu.vn>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0700\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBấm Trả lời để xác nhận.\r\n";
        let signed = super::super::sign_message(&config, answer.as_bytes()).unwrap();
        assert!(signed.starts_with(b"DKIM-Signature:"));
        assert_eq!(verify(&signed, &zone).await, DkimResult::Pass);
        let tampered = String::from_utf8(signed)
            .unwrap()
            .replace("xác nhận", "hủy");
        assert_ne!(verify(tampered.as_bytes(), &zone).await, DkimResult::Pass);
    }
}
