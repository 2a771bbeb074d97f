//! `[site] verify = "self"`: nhomthu verifies DKIM itself, keys from a real DNS server
//! (dnsmasq on loopback, `scripts/dns`), and ignores every Authentication-Results header.
//! Through the real pipeline on SQLite and PostgreSQL: a poster's From is believed only
//! with a valid signature aligned with it, and a request whose From domain publishes
//! p=reject but carries no such signature is forged and answered nothing.

#[path = "common/pipeline.rs"]
mod pipeline;

use nhomthu::source::Ack;
use nhomthu::store::posts::{self, PostStatus};
use pipeline::{Site, dns};

const CONFIG: &str = r#"
[site]
domain = "moet.test"
name = "Bộ GD&ĐT"
noreply = "norply@moet.test"
database = "DATABASE"
templates = "TEMPLATES"
authserv_ids = ["mx.moet.test"]
verify = "self"

[limits]
answers_per_hour = 10000

[delivery]
transport = "file"

[[mailbox]]
name = "all"
addresses = ["*@moet.test"]
maildir = "mail"

[[list]]
id = "thpt"
address = "thpt@moet.test"
name = "Trường THPT"
registration = ["dangky-thpt@moet.test"]
posters = ["vanthu@sgd.test"]
moderators = ["kiemduyet@moet.test"]
"#;

/// What a sender can write: the trusted server's id, claiming DMARC passed.
const FORGED_VERDICT: &str = "Authentication-Results: mx.moet.test; dkim=pass header.d=sgd.test; dmarc=pass header.from=sgd.test\r\n";

fn post(id: &str) -> String {
    format!(
        "From: Văn thư <vanthu@sgd.test>\r\nTo: thpt@moet.test\r\nSubject: Công văn {id}\r\nMessage-ID: <{id}@sgd.test>\r\nDate: Mon, 7 Sep 2026 08:00:00 +0700\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKính gửi các trường.\r\n"
    )
}

async fn site_posts(site: &Site) -> Vec<posts::Post> {
    let mut all = posts::list(site.rt.store.pool(), None, 100).await.unwrap();
    all.sort_by_key(|p| p.id);
    all
}

async fn sites(name: &str) -> [Site; 2] {
    Site::both(name, &format!("{CONFIG}{}", dns::dns())).await
}

#[tokio::test]
async fn only_an_aligned_valid_signature_lets_a_poster_post() {
    for site in sites("selfpost").await {
        site.add("thpt", "gv@school.test").await;
        // 1. The trusted id's dmarc=pass, written by the sender, and no signature.
        let forged = format!("{FORGED_VERDICT}{}", post("forged"));
        site.receive_bytes(forged.as_bytes()).await;
        // 2. Signed by the clerk's domain, its key served by the DNS server.
        site.receive_bytes(&dns::sign(post("signed").as_bytes(), "sgd.test"))
            .await;
        // 3. A valid signature, but by a domain that is not the From's.
        site.receive_bytes(&dns::sign(post("unaligned").as_bytes(), "evil.test"))
            .await;
        let all = site_posts(&site).await;
        assert_eq!(all.len(), 3);
        let (forged, signed, unaligned) = (&all[0], &all[1], &all[2]);
        assert_eq!(forged.status, PostStatus::Held, "{}", forged.reason);
        assert!(
            forged
                .reason
                .contains("not authenticated: no DKIM signature"),
            "{}",
            forged.reason
        );
        assert_eq!(signed.status, PostStatus::Accepted, "{}", signed.reason);
        assert!(
            signed
                .reason
                .ends_with("authenticated by dkim=pass header.d=sgd.test (relaxed alignment)"),
            "{}",
            signed.reason
        );
        assert_eq!(signed.recipients, 1);
        assert_eq!(unaligned.status, PostStatus::Held, "{}", unaligned.reason);
        assert!(
            unaligned.reason.contains("only by evil.test"),
            "{}",
            unaligned.reason
        );
        // The moderator hears of the two held posts.
        let notices = site.answers().await;
        assert_eq!(notices.len(), 2);
        assert!(
            notices
                .iter()
                .all(|(rcpt, _)| rcpt == "kiemduyet@moet.test")
        );
    }
}

fn request(from: &str, to: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}.{from}>\r\nDate: Mon, 7 Sep 2026 08:00:00 +0700\r\n\r\nđăng ký\r\n"
    )
}

#[tokio::test]
async fn forged_requests_get_no_answer_and_genuine_ones_do() {
    for site in sites("selfreg").await {
        let to = "dangky-thpt@moet.test";
        // From a p=reject domain with no signature, even with a "trusted" verdict: forged.
        let forged = format!(
            "Authentication-Results: mx.moet.test; dmarc=pass header.from=reject.test\r\n{}",
            request("victim@reject.test", to, "join")
        );
        assert_eq!(site.receive_bytes(forged.as_bytes()).await, Ack::Processed);
        assert_eq!(site.status("thpt", "victim@reject.test").await, None);
        let leave = request("victim@reject.test", to, "hủy đăng ký");
        site.receive_bytes(leave.as_bytes()).await;
        assert!(
            site.answers().await.is_empty(),
            "nothing aimed at the victim"
        );

        // Signed by its own domain (p=reject): genuine, answered.
        let genuine = dns::sign(
            request("vanthu@sgd.test", to, "join").as_bytes(),
            "sgd.test",
        );
        site.receive_bytes(&genuine).await;
        let answers = site.answers().await;
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].0, "vanthu@sgd.test");
        assert!(answers[0].1.contains("nt-"), "a confirmation code");

        // Unsigned from a p=none domain: not provably forged, answered as before.
        site.receive_bytes(request("gv@none.test", to, "join").as_bytes())
            .await;
        let answers = site.answers().await;
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[1].0, "gv@none.test");
        // The same leave request as the victim's, from there: answered (not a member).
        site.receive_bytes(request("gv2@none.test", to, "hủy đăng ký").as_bytes())
            .await;
        let answers = site.answers().await;
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[2].0, "gv2@none.test");
    }
}

#[test]
fn inspect_shows_the_own_verification_and_the_authors_policy() {
    let dir = tempfile::tempdir().unwrap();
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let config = format!("{CONFIG}{}", dns::dns())
        .replace(
            "DATABASE",
            &format!("sqlite://{}/nhomthu.db", dir.path().display()),
        )
        .replace("TEMPLATES", templates);
    let path = dir.path().join("lists.toml");
    std::fs::write(&path, config).unwrap();
    let inspect = |raw: &[u8]| {
        let eml = dir.path().join("post.eml");
        std::fs::write(&eml, raw).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nhomthu"))
            .arg("--config")
            .arg(&path)
            .arg("inspect")
            .arg(&eml)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let signed = inspect(&dns::sign(post("cv9").as_bytes(), "sgd.test"));
    assert!(
        signed.contains(r#"verified:   {"result":"pass","method":"dkim=pass header.d=sgd.test (relaxed alignment)"}"#),
        "{signed}"
    );
    assert!(
        signed.contains("dmarc:      Reject: p=reject at _dmarc.sgd.test"),
        "{signed}"
    );
    let forged = inspect(format!("{FORGED_VERDICT}{}", post("cv10")).as_bytes());
    assert!(
        forged.contains(r#"verified:   {"result":"fail","reason":"no DKIM signature""#),
        "{forged}"
    );
    assert!(
        forged.contains(
            "forged:     no DKIM signature, and the domain publishes p=reject at _dmarc.sgd.test"
        ),
        "{forged}"
    );
}
