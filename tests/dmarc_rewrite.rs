//! The From of list copies follows the author domain's DMARC policy, looked up in a real
//! DNS server (dnsmasq on loopback, `scripts/dns`), through the real pipeline and delivery
//! into the file outbox, on SQLite and PostgreSQL: p=reject and p=quarantine are
//! rewritten `"Name qua List" <list address>`, p=none and no record are kept, a subdomain
//! follows its organizational domain's sp=, and a lookup that fails is rewritten; an
//! author at the site's own domain is decided without DNS and kept.

#[path = "common/pipeline.rs"]
mod pipeline;

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
posters = ["*@moet.test", "*@reject.test", "*@quarantine.test", "*@none.test", "*@mail.org.test", "*@org.test", "*@nopolicy.test"]
"#;

/// A post by `from`, vouched for by the trusted receiving server.
fn post(from: &str, n: usize) -> String {
    let domain = from.rsplit_once('@').unwrap().1;
    format!(
        "Authentication-Results: mx.moet.test; dkim=pass header.d={domain}; dmarc=pass header.from={domain}\n\
From: Nguyễn Văn A <{from}>\nTo: thpt@moet.test\nSubject: Công văn {n}\nMessage-ID: <cv{n}@{domain}>\n\
Content-Type: text/plain; charset=utf-8\n\nKính gửi các trường.\n"
    )
}

/// (subject, From address, From display name) of each copy delivered.
fn froms(copies: &[String]) -> Vec<(String, String, String)> {
    copies
        .iter()
        .map(|raw| {
            let msg = mail_parser::MessageParser::default()
                .parse(raw.as_bytes())
                .unwrap();
            let from = msg.from().and_then(|a| a.first()).unwrap();
            (
                msg.subject().unwrap_or_default().to_string(),
                from.address.as_deref().unwrap_or_default().to_string(),
                from.name.as_deref().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn run(site: &Site, authors: &[&str]) -> Vec<(String, String, String)> {
    site.add("thpt", "gv@school.test").await;
    for (n, author) in authors.iter().enumerate() {
        site.receive(&post(author, n)).await;
    }
    for p in posts::list(site.rt.store.pool(), None, 100).await.unwrap() {
        assert_eq!(p.status, PostStatus::Accepted, "{}: {}", p.sender, p.reason);
    }
    let mut copies = froms(&site.deliver_posts().await);
    copies.sort();
    copies
}

#[tokio::test]
async fn the_authors_published_policy_decides_the_from() {
    let config = format!("{CONFIG}{}", dns::dns());
    let authors = [
        "a@reject.test",
        "b@quarantine.test",
        "c@none.test",
        "d@mail.org.test",
        "e@org.test",
        "f@nopolicy.test",
    ];
    for site in Site::both("dmarcdns", &config).await {
        let copies = run(&site, &authors).await;
        let rewritten = |addr: &str, name: &str| {
            addr == "thpt@moet.test" && name == "Nguyễn Văn A qua Trường THPT"
        };
        assert_eq!(copies.len(), authors.len(), "{copies:?}");
        for ((subject, addr, name), author) in copies.iter().zip(authors) {
            let strict = ["reject", "quarantine", "mail.org"]
                .iter()
                .any(|d| author.contains(&format!("@{d}.test")));
            if strict {
                assert!(rewritten(addr, name), "{author} ({subject}): {addr} {name}");
            } else {
                assert_eq!(addr, author, "{subject}: kept");
                assert_eq!(name, "Nguyễn Văn A");
            }
        }
    }
}

#[tokio::test]
async fn a_policy_that_cannot_be_looked_up_is_rewritten() {
    let config = format!("{CONFIG}{}", dns::dead_dns());
    for site in Site::both("dmarcdead", &config).await {
        let copies = run(&site, &["c@none.test"]).await;
        assert_eq!(
            copies,
            [(
                "Công văn 0".to_string(),
                "thpt@moet.test".to_string(),
                "Nguyễn Văn A qua Trường THPT".to_string()
            )]
        );
    }
}

#[tokio::test]
async fn the_sites_own_clerk_needs_no_lookup() {
    // Every lookup would fail, and a failed lookup rewrites: a kept From shows none was made.
    let config = format!("{CONFIG}{}", dns::dead_dns());
    for site in Site::both("dmarcown", &config).await {
        let copies = run(&site, &["vanthu@moet.test"]).await;
        assert_eq!(copies[0].1, "vanthu@moet.test", "{copies:?}");
    }
}
