//! DMARC-safe authorship and the list's Reply-To policy.
//!
//! An author whose domain publishes `p=reject` or `p=quarantine` (`sp=` for a subdomain that
//! inherits its organizational domain's record; delivery looks it up and passes it in) would
//! have a copy still saying `From: author@that.domain` but signed by us rejected or junked.
//! Such posts go out as `From: "<display name, or local part> qua <list name>" <list
//! address>`, encoded by lettre. So do posts whose policy lookup failed (a timeout,
//! SERVFAIL: the safe side), and posts by authors in or under a domain of `[dmarc] strict`
//! whatever DNS says. `p=none` and no record keep the author's From. An author under the
//! `[dkim]` signing domain is left alone: our signature aligns with it.
//!
//! Reply-To, decided per kind of list:
//! - announce and managed lists: replies go to the author. An existing `Reply-To` is kept;
//!   when `From` was rewritten and there is none, `Reply-To` is the author.
//! - discussion lists: replies go to the list. An existing `Reply-To` is kept; otherwise
//!   `Reply-To` is the list address. When `From` was rewritten, the author's mailbox is
//!   kept in `X-Original-From` (as Google Groups does), so a private answer stays possible.

use super::{Author, Draft, Field, HandlerError, Original};
use crate::config::{Config, List, ListKind};
use crate::dns::Published;
use crate::text;
use lettre::Address;
use lettre::message::header::{From, ReplyTo};
use lettre::message::{Mailbox, Mailboxes};

/// Rewrite `From` when the author's domain requires it (`author`: its published policy), and
/// set `Reply-To` for the list.
pub(super) fn apply(
    draft: &mut Draft,
    original: &Original,
    list: &List,
    config: &Config,
    author: &Published,
) -> Result<(), HandlerError> {
    let list_address: Address =
        list.address
            .get_ref()
            .trim()
            .parse()
            .map_err(|_| HandlerError::Address {
                what: "list address",
                value: list.address.get_ref().clone(),
            })?;
    let received_from = draft.get("From").cloned();
    let munged = original
        .from
        .as_ref()
        .filter(|a| needs_rewriting(&a.address, config, author));
    if let Some(author) = munged {
        let who = author
            .name
            .clone()
            .unwrap_or_else(|| author.address.split('@').next().unwrap_or_default().into());
        let name = format!("{who} qua {}", list.name.trim());
        let from = Mailbox::new(Some(text::one_line(&name)), list_address.clone());
        draft.set(Field::from_header(&From::from(Mailboxes::from(from))));
    }

    match list.kind {
        ListKind::Discussion => {
            if !draft.has("Reply-To") {
                let to_list = Mailbox::new(Some(text::one_line(&list.name)), list_address);
                draft.set(Field::from_header(&ReplyTo::from(Mailboxes::from(to_list))));
            }
            if let Some(author) = munged
                && let Some(field) = author_field(author, received_from.as_ref())
            {
                draft.push(field.renamed("X-Original-From"));
            }
        }
        ListKind::Announce | ListKind::Managed => {
            if let Some(author) = munged
                && !draft.has("Reply-To")
                && let Some(field) = author_field(author, received_from.as_ref())
            {
                draft.set(field);
            }
        }
    }
    Ok(())
}

/// Whether mail from `address`, whose domain publishes `author`, must not go out under its
/// own From.
pub(super) fn needs_rewriting(address: &str, config: &Config, author: &Published) -> bool {
    settled(address, config).unwrap_or_else(|| author.policy.is_strict())
}

/// The rewrite decision when the configuration makes it alone, with no DNS: never under the
/// `[dkim]` domain (the site's signature aligns) or the site's own domain (the list
/// address, which a rewrite would put in From, is in that domain too), always under a
/// `[dmarc] strict` domain (and for an address with no domain, never); `None` when the
/// published policy decides.
pub fn settled(address: &str, config: &Config) -> Option<bool> {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return Some(false);
    };
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let under = |listed: &str| {
        let listed = listed.trim().trim_end_matches('.').to_ascii_lowercase();
        !listed.is_empty()
            && (domain == listed
                || domain
                    .strip_suffix(listed.as_str())
                    .is_some_and(|rest| rest.ends_with('.')))
    };
    if config.dkim.as_ref().is_some_and(|k| under(&k.domain)) || under(&config.site.domain) {
        return Some(false);
    }
    config.dmarc.strict.iter().any(|d| under(d)).then_some(true)
}

/// `Reply-To: author`, written by lettre; when lettre does not accept the address, the
/// received `From` value is reused as it came.
fn author_field(author: &Author, received_from: Option<&Field>) -> Option<Field> {
    match author.address.trim().parse::<Address>() {
        Ok(address) => {
            let mailbox = Mailbox::new(author.name.as_deref().map(text::one_line), address);
            Some(Field::from_header(&ReplyTo::from(Mailboxes::from(mailbox))))
        }
        Err(_) => received_from.map(|f| f.renamed("Reply-To")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Draft, Original};
    use super::*;
    use crate::dns::Policy;
    use crate::text::nfc;

    fn run(raw: &[u8], list: &str, config: &Config) -> Vec<u8> {
        run_with(raw, list, config, &Published::default())
    }

    fn run_with(raw: &[u8], list: &str, config: &Config, author: &Published) -> Vec<u8> {
        let mut draft = Draft::parse(raw).unwrap();
        let original = Original::read(&draft);
        apply(
            &mut draft,
            &original,
            config.list(list).unwrap(),
            config,
            author,
        )
        .unwrap();
        let mut out = draft.head();
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&draft.body);
        out
    }

    fn first(a: Option<&mail_parser::Address<'_>>) -> (Option<String>, Option<String>) {
        let a = a.and_then(|a| a.first()).expect("an address");
        (
            a.name.as_deref().map(nfc),
            a.address.as_deref().map(str::to_string),
        )
    }

    #[test]
    fn strict_authors_post_through_the_list_address() {
        let config = config("");
        let out = run(&plain_post(), "thaoluan", &config);
        let msg = parse(&out);
        assert_eq!(
            first(msg.from()),
            (
                Some("Nguyễn Văn A qua Diễn đàn giáo viên".into()),
                Some("thaoluan@moet.edu.vn".into())
            )
        );
        let raw_from = msg.header_raw("From").unwrap();
        assert!(
            raw_from.is_ascii() && raw_from.contains("=?utf-8?"),
            "{raw_from}"
        );
        // Discussion: replies go to the list; the author stays reachable.
        assert_eq!(
            first(msg.reply_to()),
            (
                Some("Diễn đàn giáo viên".into()),
                Some("thaoluan@moet.edu.vn".into())
            )
        );
        let original = msg.header_as("X-Original-From", mail_parser::HeaderForm::Addresses);
        let original = original.first().and_then(|v| v.as_address());
        assert_eq!(
            first(original),
            (
                Some("Nguyễn Văn A".into()),
                Some("nguyen.van.a@gmail.com".into())
            )
        );
        assert_eq!(count_fields(&out, "From"), 1);
        assert_eq!(count_fields(&out, "Reply-To"), 1);
    }

    #[test]
    fn announce_lists_send_replies_to_the_author() {
        let config = config("");
        let out = run(&plain_post(), "thpt", &config);
        let msg = parse(&out);
        assert_eq!(
            first(msg.from()),
            (
                Some("Nguyễn Văn A qua Trường THPT".into()),
                Some("thpt@moet.edu.vn".into())
            )
        );
        assert_eq!(
            first(msg.reply_to()),
            (
                Some("Nguyễn Văn A".into()),
                Some("nguyen.van.a@gmail.com".into())
            )
        );
        assert_eq!(count_fields(&out, "X-Original-From"), 0);
    }

    fn published(policy: Policy) -> Published {
        Published {
            policy,
            strict_dkim: false,
            detail: String::new(),
        }
    }

    fn rewrites(address: &str, config: &Config) -> bool {
        needs_rewriting(address, config, &Published::default())
    }

    #[test]
    fn subdomains_count_and_lookalikes_do_not() {
        let config = config("");
        assert!(rewrites("a@gmail.com", &config));
        assert!(rewrites("a@GMAIL.COM.", &config));
        assert!(rewrites("vanthu@hanoi.moet.gov.vn", &config));
        assert!(!rewrites("a@notgmail.com", &config));
        assert!(!rewrites("a@gmail.com.vn", &config));
        assert!(!rewrites("vanthu@moet.edu.vn", &config));
    }

    #[test]
    fn the_published_policy_decides_and_the_strict_list_overrides() {
        let config = config("");
        for (policy, rewritten) in [
            (Policy::Reject, true),
            (Policy::Quarantine, true),
            (Policy::Unknown, true),
            (Policy::None, false),
            (Policy::Absent, false),
        ] {
            let author = published(policy);
            assert_eq!(
                needs_rewriting("gv@school.test", &config, &author),
                rewritten,
                "{policy:?}"
            );
            // Listed in [dmarc] strict: rewritten whatever DNS says.
            assert!(needs_rewriting("a@gmail.com", &config, &author));
        }
        // The clerk writes from the site's own domain, the list address's domain too: a
        // rewrite would change nothing DMARC looks at, so the From stays.
        assert!(!needs_rewriting(
            "vanthu@moet.edu.vn",
            &config,
            &published(Policy::Reject)
        ));
        let out = run_with(
            &circular(b"%PDF"),
            "thpt",
            &config,
            &published(Policy::Reject),
        );
        assert_eq!(
            first(parse(&out).from()).1.as_deref(),
            Some("vanthu@moet.edu.vn")
        );
    }

    #[test]
    fn authors_under_our_signing_domain_are_left_alone() {
        let mut config =
            config("[dkim]\ndomain = \"moet.gov.vn\"\nselector = \"s\"\nprivate_key = \"k.pem\"\n");
        assert!(!rewrites("vanthu@moet.gov.vn", &config));
        assert!(!needs_rewriting(
            "vanthu@moet.gov.vn",
            &config,
            &published(Policy::Reject)
        ));
        assert!(rewrites("a@gmail.com", &config));
        config.dkim = None;
        assert!(rewrites("vanthu@moet.gov.vn", &config));
    }

    #[test]
    fn lenient_authors_keep_their_from() {
        let config = config("");
        let raw = circular(b"%PDF");
        let out = run(&raw, "thpt", &config);
        let msg = parse(&out);
        assert_eq!(
            first(msg.from()),
            (
                Some("Văn thư Bộ GD&ĐT".into()),
                Some("vanthu@moet.edu.vn".into())
            )
        );
        assert_eq!(
            count_fields(&out, "Reply-To"),
            0,
            "announce: replies to From"
        );
        // Discussion: Reply-To the list, unless the author set one.
        let out = run(&raw, "thaoluan", &config);
        assert_eq!(
            first(parse(&out).reply_to()).1.as_deref(),
            Some("thaoluan@moet.edu.vn")
        );
        let with_reply_to = String::from_utf8(raw)
            .unwrap()
            .replace("Bcc:", "Reply-To: <phong.gd@moet.edu.vn>\r\nBcc:");
        let out = run(with_reply_to.as_bytes(), "thaoluan", &config);
        assert_eq!(
            first(parse(&out).reply_to()).1.as_deref(),
            Some("phong.gd@moet.edu.vn")
        );
    }

    #[test]
    fn a_strict_author_without_a_name_is_named_by_local_part() {
        let config = config("");
        let out = run(
            b"From: nguyen.van.a@gmail.com\r\nSubject: x\r\n\r\nx\r\n",
            "thpt",
            &config,
        );
        assert_eq!(
            first(parse(&out).from()).0.as_deref(),
            Some("nguyen.van.a qua Trường THPT")
        );
    }

    #[test]
    fn a_display_name_cannot_inject_a_header() {
        let config = config("");
        let raw = format!(
            "From: {} <a@gmail.com>\r\nSubject: x\r\n\r\nx\r\n",
            b_word("Nguyễn\r\nBcc: victim@example.com\r\nX-Evil: 1")
        );
        for list in ["thpt", "thaoluan"] {
            let out = run(raw.as_bytes(), list, &config);
            assert_eq!(count_fields(&out, "Bcc"), 0);
            assert_eq!(count_fields(&out, "X-Evil"), 0);
            assert_eq!(count_fields(&out, "From"), 1);
            let name = first(parse(&out).from()).0.unwrap();
            assert!(
                name.starts_with("Nguyễn") && name.contains(" qua "),
                "{name}"
            );
        }
    }
}
