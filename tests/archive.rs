//! The archive of posts on the web, on SQLite and PostgreSQL: posts arrive through the
//! real pipeline and the pages are asked of the site's router in process. A Vietnamese
//! circular is shown, its HTML without scripts or handlers, its attachment byte-identical;
//! search finds it typed without diacritics; the feed is Atom; `members` archives open
//! only through a member's link, `off` ones never; held posts and addresses appear nowhere.

#[path = "common/pipeline.rs"]
mod pipeline;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use nhomthu::pipeline::Runtime;
use nhomthu::store::posts::{self, PostStatus};
use nhomthu::store::{Store, settings};
use nhomthu::templates::Templates;
use nhomthu::web::archive::member_link;
use pipeline::Site;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const CONFIG: &str = r#"
[site]
domain = "moet.test"
name = "Bộ GD&ĐT"
noreply = "norply@moet.test"
database = "DATABASE"
templates = "TEMPLATES"
authserv_ids = ["mx.moet.test"]
base_url = "https://nhomthu.moet.test"
listen = "127.0.0.1:9"

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
posters = ["vanthu@moet.test"]
moderators = ["kiemduyet@moet.test"]

[[list]]
id = "gopy"
address = "gopy@moet.test"
name = "Góp ý dự thảo"
kind = "discussion"
registration = ["dangky-gopy@moet.test"]
moderate_first_posts = false

[[list]]
id = "noibo"
address = "noibo@moet.test"
name = "Nội bộ"
kind = "managed"
posters = ["vanthu@moet.test"]
members = ["ketoan@moet.test"]

[[list]]
id = "kin"
address = "kin@moet.test"
name = "Không lưu"
registration = ["dangky-kin@moet.test"]
posters = ["vanthu@moet.test"]
archive = "off"
"#;

const AUTH: &str = "Authentication-Results: mx.moet.test; dkim=pass header.d=moet.test; dmarc=pass header.from=moet.test\n";
const SCHOOL_AUTH: &str = "Authentication-Results: mx.moet.test; dkim=pass header.d=school.test; dmarc=pass header.from=school.test\n";

/// Every address the test uses: none may appear on a public page.
const ADDRESSES: &[&str] = &[
    "gv.nguyen@school.test",
    "gv.tran@school.test",
    "gv.le@school.test",
    "vanthu@moet.test",
    "ketoan@moet.test",
];

/// The attachment: every byte value, so any transcoding shows.
fn attachment_bytes() -> Vec<u8> {
    (0..=255u8).cycle().take(3000).collect()
}

/// A text attachment in Windows-1258 ("Hủy đăng ký"): served as sent, not transcoded.
const NOTE: &[u8] = b"Hu\xd2y \xf0\xe3ng ky\xec\r\n";

fn circular() -> String {
    let pdf = data_encoding::BASE64.encode(&attachment_bytes());
    let pdf: Vec<&str> = pdf
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "{AUTH}From: =?utf-8?B?{name}?= <vanthu@moet.test>\n\
To: thpt@moet.test\n\
Subject: =?utf-8?B?{subject}?=\n\
Message-ID: <cv12@moet.test>\n\
MIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"outer\"\n\
\n\
--outer\n\
Content-Type: multipart/alternative; boundary=\"alt\"\n\
\n\
--alt\n\
Content-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: 8bit\n\
\n\
Kính gửi các trường. Hướng dẫn tổ chức kỳ thi tốt nghiệp năm 2026.\n\
--alt\n\
Content-Type: text/html; charset=utf-8\n\
Content-Transfer-Encoding: 8bit\n\
\n\
<p onclick=\"steal()\">Kính gửi <b>các trường</b>.</p><script>alert('pwned')</script><img src=\"https://tracker.example/p.gif\">\n\
--alt--\n\
--outer\n\
Content-Type: application/pdf; name=\"cv.pdf\"\n\
Content-Disposition: attachment; filename*=utf-8''C%C3%B4ng%20v%C4%83n%2012.pdf\n\
Content-Transfer-Encoding: base64\n\
\n\
{pdf}\n\
--outer\n\
Content-Type: text/plain; charset=windows-1258; name=\"ghichu.txt\"\n\
Content-Disposition: attachment; filename=\"ghichu.txt\"\n\
Content-Transfer-Encoding: base64\n\
\n\
{note}\n\
--outer--\n",
        name = data_encoding::BASE64.encode("Văn thư Bộ".as_bytes()),
        subject =
            data_encoding::BASE64.encode("Công văn số 12/BGDĐT về kỳ thi tốt nghiệp".as_bytes()),
        pdf = pdf.join("\n"),
        note = data_encoding::BASE64.encode(NOTE),
    )
}

fn plain(
    auth: &str,
    from: &str,
    to: &str,
    subject: &str,
    id: &str,
    extra: &str,
    body: &str,
) -> String {
    format!(
        "{auth}From: {from}\nTo: {to}\nSubject: {subject}\nMessage-ID: <{id}>\n{extra}Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    )
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    /// The body, with the slashes minijinja escapes read back.
    fn text(&self) -> String {
        String::from_utf8(self.body.clone())
            .unwrap()
            .replace("&#x2f;", "/")
    }
}

async fn get(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// The site's router over the same configuration and database.
async fn router(site: &Site) -> Router {
    let config = nhomthu::config::load(&site.rt.config.base_dir.join("lists.toml")).unwrap();
    let store = Store::open(&config.database_url()).await.unwrap();
    let templates = Templates::new(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")));
    let dns = nhomthu::dns::Resolver::new(&config.dns).unwrap();
    nhomthu::web::router(Arc::new(Runtime {
        config,
        store,
        templates: templates.into(),
        dns,
    }))
}

/// The Atom feed's root is `feed` in the Atom namespace, with id, title, updated and at
/// least one entry, each with id, title, updated, author/name, an alternate link and a
/// summary; returns the entries' alternate links.
fn check_atom(xml: &str) -> Vec<String> {
    use quick_xml::events::{BytesStart, Event};
    let attr = |e: &BytesStart, k: &str| {
        e.attributes()
            .map(|a| a.unwrap())
            .find(|a| a.key.0 == k)
            .map(|a| a.value.to_string())
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut links = Vec::new();
    let mut entries = 0;
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                path.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = e.name().0.to_string();
        if path.is_empty() {
            assert_eq!(name, "feed");
            assert_eq!(
                attr(&e, "xmlns").as_deref(),
                Some("http://www.w3.org/2005/Atom")
            );
        }
        if name == "entry" {
            entries += 1;
        }
        if name == "link"
            && path.last().is_some_and(|p| p == "entry")
            && attr(&e, "rel").as_deref() == Some("alternate")
        {
            links.push(attr(&e, "href").unwrap());
        }
        seen.push(format!("{}/{name}", path.join("/")));
        if !empty {
            path.push(name);
        }
    }
    for required in ["feed/id", "feed/title", "feed/updated", "feed/author/name"] {
        assert!(seen.iter().any(|s| *s == required), "{required} in {xml}");
    }
    assert!(entries >= 1);
    for required in [
        "entry/id",
        "entry/title",
        "entry/updated",
        "entry/author/name",
        "entry/link",
        "entry/summary",
    ] {
        let n = seen
            .iter()
            .filter(|s| **s == format!("feed/{required}"))
            .count();
        assert_eq!(n, entries, "{required} in every entry: {xml}");
    }
    links
}

async fn archive_on(site: Site) {
    site.add("thpt", "gv.nguyen@school.test").await;
    site.add("gopy", "gv.tran@school.test").await;
    site.add("gopy", "gv.le@school.test").await;
    site.receive(&circular()).await;
    // From someone who may not post: held, never shown.
    site.receive(&plain(
        SCHOOL_AUTH,
        "gv.nguyen@school.test",
        "thpt@moet.test",
        "Bí mật nội bộ",
        "held@school.test",
        "",
        "Không được công bố.",
    ))
    .await;
    site.receive(&plain(
        SCHOOL_AUTH,
        "Trần Thị Hoa <gv.tran@school.test>",
        "gopy@moet.test",
        "Góp ý dự thảo thông tư",
        "d1@school.test",
        "",
        "Đề nghị bổ sung điều 5.",
    ))
    .await;
    site.receive(&plain(
        SCHOOL_AUTH,
        "Lê Văn Nam <gv.le@school.test>",
        "gopy@moet.test",
        "Re: Góp ý dự thảo thông tư",
        "d2@school.test",
        "In-Reply-To: <d1@school.test>\nReferences: <d1@school.test>\n",
        "Đồng ý với chị Hoa.",
    ))
    .await;
    site.receive(&plain(
        AUTH,
        "vanthu@moet.test",
        "noibo@moet.test",
        "Lịch họp nội bộ",
        "nb@moet.test",
        "",
        "Họp lúc 8 giờ.",
    ))
    .await;
    site.receive(&plain(
        AUTH,
        "vanthu@moet.test",
        "kin@moet.test",
        "Không lưu trữ",
        "kin@moet.test",
        "",
        "Không lưu.",
    ))
    .await;
    let all = posts::list(site.rt.store.pool(), None, 100).await.unwrap();
    let id_of = |subject: &str| all.iter().find(|p| p.subject == subject).unwrap();
    let cv = id_of("Công văn số 12/BGDĐT về kỳ thi tốt nghiệp");
    assert_eq!(cv.status, PostStatus::Accepted);
    let held = id_of("Bí mật nội bộ");
    assert_eq!(held.status, PostStatus::Held);
    let (d1, d2) = (
        id_of("Góp ý dự thảo thông tư"),
        id_of("Re: Góp ý dự thảo thông tư"),
    );
    assert_eq!(d2.status, PostStatus::Accepted, "{}", d2.reason);
    let app = router(&site).await;
    let mut public: Vec<String> = Vec::new();

    // The index lists the public archive only.
    let index = get(&app, "/archive", &[]).await;
    assert_eq!(index.status, StatusCode::OK);
    let text = index.text();
    assert!(text.contains("<html lang=\"vi\""), "{text}");
    assert!(text.contains("/archive/thpt") && text.contains("Trường THPT"));
    for hidden in ["/archive/gopy", "/archive/noibo", "/archive/kin"] {
        assert!(!text.contains(hidden), "{hidden} listed");
    }
    public.push(text);

    // Months, newest first, with counts; the month's circulars without the held one.
    let list = get(&app, "/archive/thpt", &[]).await;
    assert_eq!(list.status, StatusCode::OK);
    let month = jiff::Timestamp::from_second(cv.created_at)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(7)))
        .strftime("%Y-%m")
        .to_string();
    let text = list.text();
    assert!(text.contains(&format!("/archive/thpt/{month}")), "{text}");
    assert!(text.contains("(1 văn bản)"), "{text}");
    public.push(text);
    let page = get(&app, &format!("/archive/thpt/{month}"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains("Công văn số 12/BGDĐT về kỳ thi tốt nghiệp"),
        "{text}"
    );
    assert!(text.contains(&format!("/archive/thpt/post/{}", cv.id)));
    assert!(!text.contains("Bí mật"), "{text}");
    public.push(text);

    // The circular: Vietnamese subject and body, the author's name, the HTML without
    // script, handlers or remote images, the attachment listed.
    let post = get(&app, &format!("/archive/thpt/post/{}", cv.id), &[]).await;
    assert_eq!(post.status, StatusCode::OK);
    let text = post.text();
    assert!(
        text.contains("<h1>Công văn số 12/BGDĐT về kỳ thi tốt nghiệp</h1>"),
        "{text}"
    );
    assert!(text.contains("Hướng dẫn tổ chức kỳ thi tốt nghiệp năm 2026."));
    assert!(text.contains("Văn thư Bộ"));
    assert!(text.contains("<b>các trường</b>"), "{text}");
    for bad in [
        "<script",
        "alert(",
        "onclick",
        "steal()",
        "tracker.example",
        "<img",
    ] {
        assert!(!text.contains(bad), "{bad} on the page: {text}");
    }
    assert!(text.contains("Công văn 12.pdf"), "{text}");
    assert!(
        post.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(post.headers.contains_key("last-modified"));
    let etag = post.headers["etag"].to_str().unwrap().to_string();
    let again = get(
        &app,
        &format!("/archive/thpt/post/{}", cv.id),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    public.push(text);

    // English on request.
    let en = get(
        &app,
        &format!("/archive/thpt/post/{}", cv.id),
        &[("accept-language", "en-US,en;q=0.8")],
    )
    .await;
    assert!(en.text().contains("<html lang=\"en\"") && en.text().contains("Attachments"));
    let en = get(&app, "/archive?lang=en", &[]).await;
    assert!(en.text().contains("Archive of circulars"));

    // The attachment, byte for byte, under its name.
    let file = get(
        &app,
        &format!("/archive/thpt/post/{}/attachment/0", cv.id),
        &[],
    )
    .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, attachment_bytes());
    assert_eq!(file.headers["content-type"], "application/pdf");
    let disposition = file.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''C%C3%B4ng%20v%C4%83n%2012.pdf"),
        "{disposition}"
    );
    let note = get(
        &app,
        &format!("/archive/thpt/post/{}/attachment/1", cv.id),
        &[],
    )
    .await;
    assert_eq!(note.body, NOTE);
    let disposition = note.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.contains("ghichu.txt"), "{disposition}");
    let missing = get(
        &app,
        &format!("/archive/thpt/post/{}/attachment/2", cv.id),
        &[],
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Held posts do not exist here.
    for uri in [
        format!("/archive/thpt/post/{}", held.id),
        format!("/archive/thpt/post/{}", d1.id),
        "/archive/thpt/2000-01".to_string(),
    ] {
        assert_eq!(
            get(&app, &uri, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }

    // Search without diacritics, on the list and across lists; held posts are not found.
    let found = get(&app, "/archive/thpt/search?q=ky+thi+tot+nghiep", &[]).await;
    assert_eq!(found.status, StatusCode::OK);
    let text = found.text();
    assert!(
        text.contains(&format!("/archive/thpt/post/{}", cv.id)),
        "{text}"
    );
    assert!(text.contains("1 kết quả"), "{text}");
    public.push(text);
    let found = get(&app, "/search?q=HUONG%20DAN%20to%20chuc", &[]).await;
    let text = found.text();
    assert!(
        text.contains(&format!("/archive/thpt/post/{}", cv.id)),
        "{text}"
    );
    public.push(text);
    for q in ["bi+mat", "cong+khong+duoc", "gop+y", "lich+hop"] {
        let text = get(&app, &format!("/search?q={q}"), &[]).await.text();
        assert!(text.contains("0 kết quả"), "{q}: {text}");
        public.push(text);
    }

    // The feed.
    let feed = get(&app, "/archive/thpt/feed.atom", &[]).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(
        feed.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let links = check_atom(&feed.text());
    assert_eq!(
        links,
        [format!(
            "https://nhomthu.moet.test/archive/thpt/post/{}",
            cv.id
        )]
    );
    public.push(feed.text());

    // Members only: 404 without the link, with a wrong or a non-member's link; the
    // member's link opens it, threads shown.
    let secret = {
        let mut conn = site.rt.store.pool().acquire().await.unwrap();
        settings::secret(&mut conn).await.unwrap()
    };
    // Without a link, a members' archive leads to where a member asks for theirs.
    let bare = get(&app, "/archive/gopy", &[]).await;
    assert_eq!(bare.status, StatusCode::SEE_OTHER);
    assert_eq!(bare.headers["location"], "/archive/gopy/link");
    let form = get(&app, "/archive/gopy/link", &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("name=\"address\""), "{}", form.text());
    assert!(!form.text().contains("@school.test"));
    let asked = |address: &'static str| {
        let app = app.clone();
        async move {
            let request = Request::builder()
                .method("POST")
                .uri("/archive/gopy/link")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "address={}",
                    address.replace('@', "%40")
                )))
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let links_sent = || async {
        let rows = sqlx::query("SELECT rcpt, raw FROM outbound WHERE kind = 'archive_link'")
            .fetch_all(site.rt.store.pool())
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                use sqlx::Row;
                let raw: Vec<u8> = r.get(1);
                let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
                (r.get::<String, _>(0), msg.body_text(0).unwrap().to_string())
            })
            .collect::<Vec<_>>()
    };
    let (member_status, member_page) = asked("gv.tran@school.test").await;
    let (stranger_status, stranger_page) = asked("gv.nguyen@school.test").await;
    // The same answer for a member and a stranger; only the member is mailed.
    assert_eq!(
        (member_status, stranger_status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(member_page, stranger_page);
    let sent = links_sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "gv.tran@school.test");
    let link = member_link(
        "https://nhomthu.moet.test",
        &secret,
        "gopy",
        "gv.tran@school.test",
    );
    assert!(sent[0].1.contains(&link), "the mailed link: {}", sent[0].1);
    let path = link.strip_prefix("https://nhomthu.moet.test").unwrap();
    let opened = get(&app, path, &[]).await;
    assert_eq!(opened.status, StatusCode::OK);
    assert!(
        opened.headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private")
    );
    let stranger = member_link("https://x", &secret, "gopy", "gv.nguyen@school.test");
    let stranger = stranger.strip_prefix("https://x").unwrap();
    assert_eq!(get(&app, stranger, &[]).await.status, StatusCode::NOT_FOUND);
    let forged = member_link("https://x", "not the secret", "gopy", "gv.tran@school.test");
    assert_eq!(
        get(&app, forged.strip_prefix("https://x").unwrap(), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let key = path.split_once("?k=").unwrap().1;
    let month_page = get(&app, &format!("/archive/gopy/{month}?k={key}"), &[]).await;
    let text = month_page.text();
    assert_eq!(month_page.status, StatusCode::OK);
    let (first, reply) = (
        text.find(&format!("/archive/gopy/post/{}?k=", d1.id))
            .unwrap(),
        text.find(&format!(
            "<li class=\"d1\"><a href=\"/archive/gopy/post/{}?k=",
            d2.id
        )),
    );
    assert!(
        reply.is_some_and(|r| r > first),
        "the reply under its post: {text}"
    );
    assert!(text.contains("Trần Thị Hoa") && text.contains("Lê Văn Nam"));
    for address in ADDRESSES {
        assert!(!text.contains(address), "{address} on a members' page");
    }
    // A post without a link leads to the form too.
    assert_eq!(
        get(&app, &format!("/archive/gopy/post/{}", d1.id), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        get(&app, &format!("/archive/gopy/post/{}?k={key}", d1.id), &[])
            .await
            .status,
        StatusCode::OK
    );
    let search = get(&app, &format!("/archive/gopy/search?q=dong+y&k={key}"), &[]).await;
    assert!(
        search
            .text()
            .contains(&format!("/archive/gopy/post/{}?k=", d2.id))
    );
    // No longer a member: the link is stale.
    {
        let mut conn = site.rt.store.pool().acquire().await.unwrap();
        nhomthu::store::members::apply(
            &mut conn,
            &nhomthu::store::members::Change {
                list_id: "gopy",
                address: "gv.tran@school.test",
                display_name: None,
                status: nhomthu::store::members::Status::Unsubscribed,
                source: "operator",
                action: "remove",
                actor: "test",
                inbound_id: None,
                reason: "test",
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(get(&app, path, &[]).await.status, StatusCode::NOT_FOUND);

    // Off: managed lists by default, and any list that says so.
    for uri in [
        "/archive/noibo",
        "/archive/kin",
        "/archive/kin/feed.atom",
        "/archive/nosuch",
    ] {
        assert_eq!(
            get(&app, uri, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }

    // No address on any public page.
    for page in &public {
        for address in ADDRESSES {
            assert!(
                !page.contains(address),
                "{address} on a public page: {page}"
            );
        }
        assert!(!page.contains('@'), "an address on a public page: {page}");
    }
}

#[tokio::test]
async fn archive_on_sqlite_and_postgres() {
    for site in Site::both("archive", CONFIG).await {
        archive_on(site).await;
    }
}
