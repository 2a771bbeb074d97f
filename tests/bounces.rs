//! Bounces and complaints through the real pipeline on SQLite and PostgreSQL: what scores
//! a member, what disables and removes one, and everything that must touch nobody.

#[path = "common/pipeline.rs"]
mod pipeline;

use nhomthu::actions::disabled;
use nhomthu::store::members::Status;
use nhomthu::store::{audit, bounces, posts, settings};
use nhomthu::verp::Verp;
use pipeline::Site;
use sqlx::Row;

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

[bounces]
hard_weight = 1.0
soft_weight = 0.5
threshold = 1.0
notices = 2
notice_interval_days = 0
remove_after_days = 30

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
"#;

const A: &str = "a@school.test";
const B: &str = "b@school.test";
const C: &str = "c@school.test";

/// Members a, b and c, and one accepted circular to them: returns the post id.
async fn circular(site: &Site) -> i64 {
    for m in [A, B, C] {
        site.add("thpt", m).await;
    }
    site.receive(
        "Authentication-Results: mx.moet.test; dkim=pass header.d=moet.test; dmarc=pass header.from=moet.test\n\
From: Văn thư <vanthu@moet.test>\nTo: thpt@moet.test\nSubject: Công văn 42\n\
Message-ID: <cv42@moet.test>\nContent-Type: text/plain; charset=utf-8\n\nKính gửi các trường.\n",
    )
    .await;
    let posts = posts::list(site.rt.store.pool(), None, 10).await.unwrap();
    assert_eq!(posts.len(), 1, "the circular is accepted");
    posts[0].id
}

async fn secret(site: &Site) -> String {
    let mut conn = site.rt.store.pool().acquire().await.unwrap();
    settings::secret(&mut conn).await.unwrap()
}

/// The VERP return path of `rcpt`'s copy of the post.
async fn return_path(site: &Site, rcpt: &str) -> String {
    let row = sqlx::query("SELECT id FROM deliveries WHERE rcpt = $1")
        .bind(rcpt)
        .fetch_one(site.rt.store.pool())
        .await
        .unwrap();
    Verp::Delivery(row.get(0)).address("norply@moet.test", &secret(site).await)
}

/// A Postfix-style RFC 3464 report sent to `to` about `rcpts`.
fn dsn(to: &str, rcpts: &[&str], action: &str, status: &str) -> String {
    let per_rcpt: String = rcpts
        .iter()
        .map(|r| {
            format!(
                "\nFinal-Recipient: rfc822; {r}\nOriginal-Recipient: rfc822;{r}\nAction: {action}\nStatus: {status}\nRemote-MTA: dns; mx.school.test\nDiagnostic-Code: smtp; {code} {status} <{r}>: Recipient address rejected\n",
                code = if status.starts_with('5') { 550 } else { 450 }
            )
        })
        .collect();
    format!(
        "Return-Path: <>\nDelivered-To: {to}\nFrom: MAILER-DAEMON@mx.moet.test (Mail Delivery System)\n\
To: {to}\nSubject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n\
Message-ID: <dsn-{n}@mx.moet.test>\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n\
--B\nContent-Type: text/plain; charset=us-ascii\n\nThis is the mail system at host mx.moet.test.\n\n\
--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.moet.test\n{per_rcpt}\n\
--B\nContent-Type: text/rfc822-headers\n\nReturn-Path: <{to}>\nFrom: vanthu@moet.test\nSubject: Công văn 42\n\n--B--\n",
        n = rcpts.join("-").len() + action.len() + status.len() + to.len()
    )
}

/// An abuse report (ARF) about a copy sent with `return_path` and `unsubscribe`.
fn arf(rcpt: &str, return_path: &str, unsubscribe: &str) -> String {
    format!(
        "From: feedback@fbl.mail.test\nTo: abuse@moet.test\nSubject: Abuse report\n\
Message-ID: <arf-{rcpt}-{}@fbl.mail.test>\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n\n\
--F\nContent-Type: text/plain\n\nThis is an email abuse report.\n\n\
--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: FBL/1.0\nVersion: 1\n\
Original-Mail-From: <{return_path}>\nOriginal-Rcpt-To: <{rcpt}>\n\n\
--F\nContent-Type: message/rfc822\n\nReturn-Path: <{return_path}>\nFrom: vanthu@moet.test\nTo: thpt@moet.test\n\
List-Id: <thpt.moet.test>\nList-Unsubscribe: <mailto:{unsubscribe}?subject=unsubscribe>\nSubject: Công văn 42\n\n\
Kính gửi các trường.\n\n--F--\n",
        return_path.len()
    )
}

async fn effects(site: &Site, address: &str) -> Vec<String> {
    bounces::of_member(site.rt.store.pool(), "thpt", address)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.effect)
        .collect()
}

#[tokio::test]
async fn a_soft_then_a_hard_bounce_disable_and_a_reply_resumes() {
    for site in Site::both("bouncescore", CONFIG).await {
        circular(&site).await;
        let path = return_path(&site, A).await;
        site.receive(&dsn(&path, &[A], "failed", "4.2.2")).await;
        assert_eq!(site.status("thpt", A).await, Some(Status::Confirmed));
        assert_eq!(effects(&site, A).await, ["scored 0.50"]);
        // A second soft bounce the same day counts nothing; a hard one the difference.
        site.receive(&dsn(&path, &[A], "failed", "4.4.1")).await;
        assert_eq!(effects(&site, A).await[1], "scored 0.50");
        site.receive(&dsn(&path, &[A], "failed", "5.1.1")).await;
        assert_eq!(site.status("thpt", A).await, Some(Status::Disabled));
        assert_eq!(effects(&site, A).await[2], "disabled (score 1.00)");
        let history = audit::history(site.rt.store.pool(), "thpt", Some(A))
            .await
            .unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.action, "disable");
        assert!(last.reason.contains("5.1.1"), "{}", last.reason);

        // The member is told, with a code; a reply resumes delivery and clears the score.
        let answers = site.answers().await;
        let notice = answers
            .iter()
            .find(|(to, raw)| to == A && raw.contains("Subject: =?utf-8?"))
            .map(|(_, raw)| raw.clone())
            .expect("a notice to the disabled member");
        let token = nhomthu::token::find_all(&notice)[0].clone();
        assert_eq!(site.status("thpt", B).await, Some(Status::Confirmed));
        site.receive(&format!(
            "From: {A}\nTo: norply+{token}@moet.test\nSubject: Re: [{token}]\n\nok\n"
        ))
        .await;
        assert_eq!(site.status("thpt", A).await, Some(Status::Confirmed));
        let row = sqlx::query("SELECT bounce_score FROM members WHERE address = $1")
            .bind(A)
            .fetch_one(site.rt.store.pool())
            .await
            .unwrap();
        assert_eq!(row.get::<f64, _>(0), 0.0);
    }
}

#[tokio::test]
async fn reports_that_prove_nothing_touch_nobody() {
    for site in Site::both("bouncenothing", CONFIG).await {
        circular(&site).await;
        let path = return_path(&site, A).await;
        // A forged code, one character changed.
        let mut forged = path.clone().into_bytes();
        let at = path.find('@').unwrap() - 1;
        forged[at] = if forged[at] == b'a' { b'b' } else { b'a' };
        let forged = String::from_utf8(forged).unwrap();
        site.receive(&dsn(&forged, &[A], "failed", "5.1.1")).await;
        // A delay warning: still being retried.
        site.receive(&dsn(&path, &[A], "delayed", "4.4.7")).await;
        // A bounce to the plain no-reply address, naming a member.
        site.receive(&dsn("norply@moet.test", &[A], "failed", "5.1.1"))
            .await;
        assert_eq!(site.status("thpt", A).await, Some(Status::Confirmed));
        let seen = effects(&site, A).await;
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen[0].contains("not genuine"), "{seen:?}");
        assert!(seen[1].contains("delay"), "{seen:?}");
        assert!(seen[2].contains("no delivery"), "{seen:?}");

        // A bounce of a confirmation request leaves the pending registration as it is.
        site.receive("From: d@school.test\nTo: dangky-thpt@moet.test\nSubject: dang ky\n\nx\n")
            .await;
        assert_eq!(
            site.status("thpt", "d@school.test").await,
            Some(Status::Pending)
        );
        let row = sqlx::query("SELECT id FROM outbound WHERE rcpt = 'd@school.test'")
            .fetch_one(site.rt.store.pool())
            .await
            .unwrap();
        let answer = Verp::Answer(row.get(0)).address("norply@moet.test", &secret(&site).await);
        site.receive(&dsn(&answer, &["d@school.test"], "failed", "5.1.1"))
            .await;
        assert_eq!(
            site.status("thpt", "d@school.test").await,
            Some(Status::Pending)
        );
        let d = effects(&site, "d@school.test").await;
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("own answer"), "{d:?}");
        let history = audit::history(site.rt.store.pool(), "thpt", Some("d@school.test"))
            .await
            .unwrap();
        assert_eq!(history.len(), 1, "only the request: {history:?}");
    }
}

#[tokio::test]
async fn a_batch_bounce_scores_only_recipients_of_that_post() {
    for site in Site::both("bouncebatch", CONFIG).await {
        let post = circular(&site).await;
        let path = Verp::Post(post).address("norply@moet.test", &secret(&site).await);
        site.receive(&dsn(&path, &[B, "stranger@school.test"], "failed", "5.1.1"))
            .await;
        assert_eq!(site.status("thpt", B).await, Some(Status::Disabled));
        assert_eq!(site.status("thpt", A).await, Some(Status::Confirmed));
        let row = sqlx::query("SELECT effect FROM bounces WHERE address = 'stranger@school.test'")
            .fetch_one(site.rt.store.pool())
            .await
            .unwrap();
        let effect: String = row.get(0);
        assert!(effect.contains("not a recipient of post"), "{effect}");
    }
}

#[tokio::test]
async fn complaints_unsubscribe_only_the_proven_member() {
    for site in Site::both("complaints", CONFIG).await {
        circular(&site).await;
        let secret = secret(&site).await;
        // Proven by the original's return path.
        let path = return_path(&site, A).await;
        site.receive(&arf(A, &path, "norply@moet.test")).await;
        assert_eq!(site.status("thpt", A).await, Some(Status::Unsubscribed));
        let history = audit::history(site.rt.store.pool(), "thpt", Some(A))
            .await
            .unwrap();
        assert_eq!(history.last().unwrap().action, "complaint");
        assert!(history.last().unwrap().reason.contains("abuse report"));
        // Proven by the unsubscribe code of the reported recipient (no VERP).
        let tag = nhomthu::unsubscribe::tag(&secret, "thpt", B);
        let mailto = format!("norply+{tag}@moet.test");
        site.receive(&arf(B, "vanthu@moet.test", &mailto)).await;
        assert_eq!(site.status("thpt", B).await, Some(Status::Unsubscribed));
        // B's code does not unsubscribe C, whatever the report claims.
        site.receive(&arf(C, "vanthu@moet.test", &mailto)).await;
        assert_eq!(site.status("thpt", C).await, Some(Status::Confirmed));
        assert!(
            site.answers()
                .await
                .iter()
                .all(|(to, _)| to != A && to != B)
        );
    }
}

#[tokio::test]
async fn disabled_members_get_their_notices_then_are_removed() {
    for mut site in Site::both("bounceremove", CONFIG).await {
        circular(&site).await;
        let path = return_path(&site, C).await;
        site.receive(&dsn(&path, &[C], "failed", "5.1.1")).await;
        assert_eq!(site.status("thpt", C).await, Some(Status::Disabled));
        let notices =
            |answers: Vec<(String, String)>| answers.iter().filter(|(to, _)| to == C).count();
        assert_eq!(notices(site.answers().await), 1);
        let rt = &site.rt;
        // notice_interval_days = 0: the second notice is due at once, and it is the last.
        let t = disabled::tick(&rt.config, &rt.templates, &rt.store)
            .await
            .unwrap();
        assert_eq!((t.notices, t.removed), (1, 0));
        let t = disabled::tick(&rt.config, &rt.templates, &rt.store)
            .await
            .unwrap();
        assert_eq!((t.notices, t.removed), (0, 0));
        assert_eq!(notices(site.answers().await), 2);
        assert_eq!(site.status("thpt", C).await, Some(Status::Disabled));

        site.rt.config.bounces.remove_after_days = toml::Spanned::new(0..0, 0.0);
        let rt = &site.rt;
        let t = disabled::tick(&rt.config, &rt.templates, &rt.store)
            .await
            .unwrap();
        assert_eq!(t.removed, 1);
        assert_eq!(site.status("thpt", C).await, Some(Status::Unsubscribed));
        let history = audit::history(rt.store.pool(), "thpt", Some(C))
            .await
            .unwrap();
        assert_eq!(history.last().unwrap().action, "remove");
        assert_eq!(site.status("thpt", A).await, Some(Status::Confirmed));
    }
}

#[tokio::test]
async fn a_forged_registration_gets_no_confirmation() {
    for site in Site::both("forged", CONFIG).await {
        let request = |auth: &str, who: &str| {
            format!("{auth}From: {who}\nTo: dangky-thpt@moet.test\nSubject: dang ky\n\nx\n")
        };
        // The trusted server says the From is forged: nothing is sent, nobody is added.
        site.receive(&request(
            "Authentication-Results: mx.moet.test; spf=fail smtp.mailfrom=spam.test; dmarc=fail header.from=victim.test\n",
            "victim@victim.test",
        ))
        .await;
        assert!(site.answers().await.is_empty());
        assert_eq!(site.status("thpt", "victim@victim.test").await, None);
        // The same verdict from a server the site does not trust is not believed, and an
        // honest request is answered.
        site.receive(&request(
            "Authentication-Results: mx.spam.test; dmarc=fail header.from=school.test\n",
            "gv@school.test",
        ))
        .await;
        site.receive(&request(
            "Authentication-Results: mx.moet.test; dmarc=pass header.from=school.test\n",
            "gv2@school.test",
        ))
        .await;
        let to: Vec<String> = site.answers().await.into_iter().map(|(t, _)| t).collect();
        assert_eq!(to, ["gv@school.test", "gv2@school.test"]);
    }
}

#[tokio::test]
async fn refusals_at_smtp_time_score_like_bounces_once_a_day() {
    use nhomthu::actions::bounce::{Refused, refused};
    for site in Site::both("bouncerefused", CONFIG).await {
        circular(&site).await;
        let delivery: i64 = sqlx::query("SELECT id FROM deliveries WHERE rcpt = $1")
            .bind(A)
            .fetch_one(site.rt.store.pool())
            .await
            .unwrap()
            .get(0);
        let refuse = |permanent: bool, reply: &str| Refused {
            delivery,
            list_id: "thpt".into(),
            address: A.into(),
            permanent,
            reply: reply.into(),
        };
        let rt = &site.rt;
        // A 4xx that outlived the lifetime is a soft bounce, and counts once a day.
        let soft = refuse(false, "450 4.2.1 <a@school.test>: Mailbox busy");
        refused(&rt.store, &rt.config, &rt.templates, &soft)
            .await
            .unwrap();
        refused(&rt.store, &rt.config, &rt.templates, &soft)
            .await
            .unwrap();
        assert_eq!(effects(&site, A).await, ["scored 0.50", "scored 0.50"]);
        assert_eq!(site.status("thpt", A).await, Some(Status::Confirmed));
        // A 5xx is a hard one: the difference counts, and reaches the threshold.
        let hard = refuse(true, "550 5.1.1 <a@school.test>: User unknown");
        refused(&rt.store, &rt.config, &rt.templates, &hard)
            .await
            .unwrap();
        assert_eq!(site.status("thpt", A).await, Some(Status::Disabled));
        let events = bounces::of_member(rt.store.pool(), "thpt", A)
            .await
            .unwrap();
        assert_eq!(events[0].effect, "disabled (score 1.00)");
        assert_eq!(events[0].kind, "refused");
        assert_eq!(events[0].inbound_id, None);
        assert_eq!(events[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(events[0].verp, Some(Verp::Delivery(delivery).to_string()));
        let history = audit::history(rt.store.pool(), "thpt", Some(A))
            .await
            .unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.action, "disable");
        assert!(
            last.reason.starts_with(
                "refused by the receiving server: 550 5.1.1 <a@school.test>: User unknown"
            ),
            "{}",
            last.reason
        );
        // A refusal of someone no longer a member touches nothing.
        refused(&rt.store, &rt.config, &rt.templates, &hard)
            .await
            .unwrap();
        assert!(effects(&site, A).await[3].starts_with("none:"));
        assert_eq!(site.status("thpt", B).await, Some(Status::Confirmed));
        assert!(effects(&site, B).await.is_empty());
    }
}
