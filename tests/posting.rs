//! Posting through the real pipeline on SQLite and PostgreSQL: who may post, what is held,
//! moderation by reply, and the fan-out to each distinct recipient once.

#[path = "common/pipeline.rs"]
mod pipeline;

use nhomthu::store::members::Status;
use nhomthu::store::posts::{self, PostStatus};
use nhomthu::store::{deliveries, settings};
use pipeline::Site;

const CONFIG: &str = r#"
[site]
domain = "moet.test"
name = "Bộ GD&ĐT"
noreply = "norply@moet.test"
database = "DATABASE"
templates = "TEMPLATES"
authserv_ids = ["mx.moet.test"]

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
id = "thcs"
address = "thcs@moet.test"
name = "Trường THCS"
registration = ["dangky-thcs@moet.test"]
posters = ["vanthu@moet.test"]
moderators = ["kiemduyet@moet.test"]

[[list]]
id = "tatca"
address = "tatca@moet.test"
name = "Tất cả các trường"
posters = ["vanthu@moet.test"]
include = ["thpt", "thcs"]

[[list]]
id = "gopy"
address = "gopy@moet.test"
name = "Góp ý dự thảo"
kind = "discussion"
registration = ["dangky-gopy@moet.test"]
moderators = ["kiemduyet@moet.test"]
"#;

/// A trusted receiving server's verdict on a message from `domain`.
fn authenticated(domain: &str) -> String {
    format!(
        "Authentication-Results: mx.moet.test; dkim=pass header.d={domain}; dmarc=pass header.from={domain}\n"
    )
}

fn post(from: &str, to: &str, id: &str, auth: &str) -> String {
    format!(
        "{auth}From: Văn thư <{from}>\nTo: {to}\nSubject: Công văn số 123/BGDĐT\nMessage-ID: <{id}@moet.test>\nContent-Type: text/plain; charset=utf-8\n\nKính gửi các trường.\n"
    )
}

async fn all_posts(site: &Site) -> Vec<posts::Post> {
    posts::list(site.rt.store.pool(), None, 100).await.unwrap()
}

/// Recipients queued for a post, per status.
async fn queued(site: &Site, post: i64) -> i64 {
    deliveries::summary(site.rt.store.pool(), post)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}

async fn members_of(site: &Site) {
    site.add("thpt", "a@school.test").await;
    site.add("thcs", "b@school.test").await;
    site.add("thpt", "c@school.test").await;
    site.add("thcs", "c@school.test").await;
    site.add("gopy", "d@school.test").await;
}

#[tokio::test]
async fn a_circular_to_two_aliases_reaches_each_person_once() {
    for site in Site::both("twoaliases", CONFIG).await {
        members_of(&site).await;
        let raw = post(
            "vanthu@moet.test",
            "thpt@moet.test, thcs@moet.test",
            "cv123",
            &authenticated("moet.test"),
        );
        site.receive(&raw).await;
        // The same message read again from a second alias's mailbox is the same post.
        site.receive(&raw).await;
        let posts = all_posts(&site).await;
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].status, PostStatus::Accepted, "{}", posts[0].reason);
        assert_eq!(posts[0].lists, ["thpt", "thcs"]);
        assert_eq!(posts[0].recipients, 3, "a, b and c once");
        assert_eq!(queued(&site, posts[0].id).await, 3);
        assert!(site.answers().await.is_empty(), "the poster gets no notice");
    }
}

#[tokio::test]
async fn an_umbrella_list_reaches_the_members_of_the_lists_it_includes() {
    for site in Site::both("umbrella", CONFIG).await {
        members_of(&site).await;
        site.receive(&post(
            "vanthu@moet.test",
            "tatca@moet.test",
            "all1",
            &authenticated("moet.test"),
        ))
        .await;
        let posts = all_posts(&site).await;
        assert_eq!(posts[0].status, PostStatus::Accepted);
        assert_eq!(posts[0].recipients, 3);
    }
}

#[tokio::test]
async fn unauthenticated_or_unauthorised_posts_are_held_for_the_moderator() {
    for site in Site::both("held", CONFIG).await {
        members_of(&site).await;
        // A poster's address without any authentication: anyone can write that From.
        site.receive(&post("vanthu@moet.test", "thpt@moet.test", "spoof1", ""))
            .await;
        // A verdict from a server that is not trusted.
        site.receive(&post(
            "vanthu@moet.test",
            "thpt@moet.test",
            "spoof2",
            "Authentication-Results: evil.test; dkim=pass header.d=moet.test; dmarc=pass header.from=moet.test\n",
        ))
        .await;
        // Authenticated, but not a poster.
        site.receive(&post(
            "giaovien@school.test",
            "thpt@moet.test",
            "notposter",
            &authenticated("school.test"),
        ))
        .await;
        let posts = all_posts(&site).await;
        assert_eq!(posts.len(), 3);
        for p in &posts {
            assert_eq!(p.status, PostStatus::Held, "{}: {}", p.sender, p.reason);
            assert_eq!(queued(&site, p.id).await, 0);
        }
        let notices = site.answers().await;
        assert_eq!(notices.len(), 3);
        assert!(
            notices
                .iter()
                .all(|(rcpt, _)| rcpt == "kiemduyet@moet.test")
        );
    }
}

fn token_of(raw: &str) -> String {
    regex::Regex::new(r"nt-[a-z2-7]{26}")
        .unwrap()
        .find(raw)
        .unwrap()
        .as_str()
        .to_string()
}

#[tokio::test]
async fn a_moderator_approves_or_rejects_by_replying() {
    for site in Site::both("moderate", CONFIG).await {
        members_of(&site).await;
        site.receive(&post("vanthu@moet.test", "thpt@moet.test", "m1", ""))
            .await;
        site.receive(&post("vanthu@moet.test", "thcs@moet.test", "m2", ""))
            .await;
        let notices = site.answers().await;
        let (approve, reject) = (token_of(&notices[0].1), token_of(&notices[1].1));

        site.receive(&format!(
            "From: kiemduyet@moet.test\nTo: norply+{approve}@moet.test\nSubject: Re: Thư chờ duyệt\n\nĐồng ý\n"
        ))
        .await;
        site.receive(&format!(
            "From: kiemduyet@moet.test\nTo: norply@moet.test\nSubject: Re: Thư chờ duyệt [{reject}]\n\nTừ chối, sai số hiệu văn bản.\n"
        ))
        .await;
        let posts = all_posts(&site).await;
        let by_id = |id: &str| {
            posts
                .iter()
                .find(|p| p.message_id.as_deref() == Some(&format!("{id}@moet.test")))
                .unwrap()
                .clone()
        };
        let (m1, m2) = (by_id("m1"), by_id("m2"));
        assert_eq!(m1.status, PostStatus::Accepted);
        assert_eq!(m1.recipients, 2, "a and c");
        assert_eq!(
            m1.decided_by.as_deref(),
            Some("moderator:kiemduyet@moet.test")
        );
        assert_eq!(m2.status, PostStatus::Rejected);
        assert_eq!(queued(&site, m2.id).await, 0);

        // A second approval of the same post does nothing more.
        site.receive(&format!(
            "From: kiemduyet@moet.test\nTo: norply+{approve}@moet.test\nSubject: Re: again\n\nok\n"
        ))
        .await;
        assert_eq!(queued(&site, m1.id).await, 2);
    }
}

#[tokio::test]
async fn a_first_post_to_a_discussion_is_held_and_later_ones_flow() {
    for site in Site::both("discussion", CONFIG).await {
        members_of(&site).await;
        let auth = authenticated("school.test");
        site.receive(&post("d@school.test", "gopy@moet.test", "g1", &auth))
            .await;
        let first = all_posts(&site).await[0].clone();
        assert_eq!(first.status, PostStatus::Held, "{}", first.reason);
        let approve = token_of(&site.answers().await[0].1);
        site.receive(&format!(
            "From: kiemduyet@moet.test\nTo: norply+{approve}@moet.test\nSubject: ok\n\nok\n"
        ))
        .await;
        site.receive(&post("d@school.test", "gopy@moet.test", "g2", &auth))
            .await;
        let second = all_posts(&site).await[0].clone();
        assert_eq!(second.status, PostStatus::Accepted, "{}", second.reason);
        // Non-members are held even when authenticated.
        site.receive(&post("x@school.test", "gopy@moet.test", "g3", &auth))
            .await;
        assert_eq!(all_posts(&site).await[0].status, PostStatus::Held);
    }
}

#[tokio::test]
async fn a_list_unsubscribe_mail_leaves_at_once_only_with_the_right_code() {
    for site in Site::both("oneclick", CONFIG).await {
        members_of(&site).await;
        let secret = {
            let mut conn = site.rt.store.pool().acquire().await.unwrap();
            settings::secret(&mut conn).await.unwrap()
        };
        let tag = nhomthu::unsubscribe::tag(&secret, "thpt", "a@school.test");
        // Someone else using a's address code: the confirm-by-reply flow instead.
        site.receive(&format!(
            "From: c@school.test\nTo: norply+{tag}@moet.test\nSubject: unsubscribe\n\n\n"
        ))
        .await;
        assert_eq!(
            site.status("thpt", "c@school.test").await,
            Some(Status::Confirmed)
        );
        assert_eq!(site.answers().await.len(), 1, "a leave confirmation to c");

        site.receive(&format!(
            "From: a@school.test\nTo: norply+{tag}@moet.test\nSubject: unsubscribe\n\n\n"
        ))
        .await;
        assert_eq!(
            site.status("thpt", "a@school.test").await,
            Some(Status::Unsubscribed)
        );
        assert_eq!(
            site.status("thcs", "c@school.test").await,
            Some(Status::Confirmed)
        );
    }
}
