//! The real DNS server for tests: `scripts/dns` starts dnsmasq on 127.0.0.1:5354 once per
//! test binary, serving `tests/dns/zones.conf` (DMARC policies of reject.test,
//! quarantine.test, none.test, org.test, sgd.test, strict.test; DKIM keys `s2026` of
//! sgd.test, strict.test and evil.test, whose private key is `CLERK_KEY`).
#![allow(dead_code)]

use std::process::Command;
use std::sync::Once;

/// The private key of the `s2026` DKIM keys in the test zones.
pub const CLERK_KEY: &str = include_str!("../../src/handlers/testdata/dkim-rsa2048.pem");

/// The selector of those keys.
pub const SELECTOR: &str = "s2026";

/// Where the server listens.
pub fn server() -> String {
    let port = std::env::var("DNS_PORT").unwrap_or_else(|_| "5354".into());
    format!("127.0.0.1:{port}")
}

/// Start the server once for this test binary (the script is idempotent) and return the
/// `[dns]` table that points at it.
pub fn dns() -> String {
    static START: Once = Once::new();
    START.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/dns");
        let status = Command::new(script)
            .arg("start")
            .status()
            .expect("run scripts/dns");
        assert!(status.success(), "scripts/dns start failed");
    });
    format!("[dns]\nservers = [\"{}\"]\ntimeout_seconds = 2\n", server())
}

/// A `[dns]` table pointing at a port where nothing listens: every lookup fails.
pub fn dead_dns() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    drop(socket);
    format!("[dns]\nservers = [\"127.0.0.1:{port}\"]\ntimeout_seconds = 1\n")
}

/// `raw` (CRLF) DKIM-signed with the test key as `d=domain`, `s=s2026`: the signature
/// field prepended, as the author's mail server would.
pub fn sign(raw: &[u8], domain: &str) -> Vec<u8> {
    use mail_auth::common::crypto::{RsaKey, Sha256};
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::dkim::DkimSigner;
    use tokio_rustls::rustls::pki_types::PrivateKeyDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let der = PrivateKeyDer::from_pem_slice(CLERK_KEY.as_bytes()).expect("a PEM key");
    let key = RsaKey::<Sha256>::from_key_der(der).expect("the test key");
    let signature = DkimSigner::from_key(key)
        .domain(domain)
        .selector(SELECTOR)
        .headers(["From", "To", "Subject", "Message-ID", "Date"])
        .sign(raw)
        .expect("a signature");
    let mut out = Vec::new();
    signature.write_header(&mut out);
    out.extend_from_slice(raw);
    out
}
