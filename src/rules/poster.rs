//! Rule: may this sender post to this list, by role?
//!
//! Place in the flow: `classify` → **rules decide accept/hold** (this rule runs after
//! `auth`, on an authenticated sender) → post pipeline.
//!
//! - `announce` and `managed`: the sender must match one of `list.posters`: an address
//!   (case and `+tag` ignored) or a `*@domain` pattern. A pattern matches that domain
//!   exactly and NOT its subdomains: `*@hanoi.edu.vn` does not admit
//!   `x@thpt.hanoi.edu.vn`; list each subdomain that may post. Being a member of a
//!   managed list gives no right to post: posting is for authorised accounts.
//! - `discussion`: the sender must be a confirmed member. With `moderate_first_posts`, the
//!   first post of a member (none of theirs accepted before) is held for a moderator.

use super::HoldCause;
use crate::address;
use crate::config::{List, ListKind};
use crate::store::members::Status;
use serde::Serialize;

/// Whether the sender may post, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "permission", rename_all = "snake_case")]
pub enum Permission {
    /// May post, e.g. "vanthu@moet.edu.vn is a poster of thpt".
    Allowed {
        /// One sentence.
        reason: String,
    },
    /// The post goes to the moderators.
    NotAllowed {
        /// Why, as the moderators are told.
        cause: HoldCause,
        /// One sentence.
        reason: String,
    },
}

/// Whether `sender` may post to `list`. `member` is the sender's membership status in the
/// list, if any; `first_post` is true when no earlier post of the sender was accepted.
pub fn check(list: &List, sender: &str, member: Option<Status>, first_post: bool) -> Permission {
    let id = list.id();
    let allowed = |reason: String| Permission::Allowed { reason };
    let not = |cause: HoldCause, reason: String| Permission::NotAllowed { cause, reason };
    match list.kind {
        ListKind::Announce | ListKind::Managed => {
            let poster = list
                .posters
                .iter()
                .map(|p| p.get_ref().as_str())
                .find(|p| matches(p, sender));
            match poster {
                Some(p) if p.starts_with("*@") => {
                    allowed(format!("{sender} is a poster of {id} (by {p})"))
                }
                Some(_) => allowed(format!("{sender} is a poster of {id}")),
                None if list.kind == ListKind::Managed
                    && list
                        .members
                        .iter()
                        .any(|m| address::same(m.get_ref(), sender)) =>
                {
                    not(
                        HoldCause::NotPoster,
                        format!(
                            "{sender} is a member of managed list {id} but not one of its posters"
                        ),
                    )
                }
                None => not(
                    HoldCause::NotPoster,
                    format!(
                        "{sender} is not among the posters of {} list {id}",
                        list.kind.as_str()
                    ),
                ),
            }
        }
        ListKind::Discussion => match member {
            Some(Status::Confirmed) if first_post && list.moderate_first_posts => not(
                HoldCause::FirstPost,
                format!(
                    "{sender} is a confirmed member of {id}, but a first post is held for a moderator"
                ),
            ),
            Some(Status::Confirmed) => allowed(format!("{sender} is a confirmed member of {id}")),
            Some(Status::Pending) => not(
                HoldCause::NotConfirmed,
                format!("{sender} has not yet confirmed membership of {id}"),
            ),
            Some(Status::Unsubscribed) => not(HoldCause::Left, format!("{sender} has left {id}")),
            Some(Status::Disabled) => not(
                HoldCause::Disabled,
                format!("{sender}'s membership of {id} is disabled"),
            ),
            None => not(
                HoldCause::NotMember,
                format!("{sender} is not a member of discussion list {id}"),
            ),
        },
    }
}

/// Whether `sender` matches a poster entry: an address (case and `+tag` ignored) or
/// `*@domain`, which matches that domain exactly (case-insensitive), not its subdomains.
pub fn matches(pattern: &str, sender: &str) -> bool {
    match pattern.trim().strip_prefix("*@") {
        Some(domain) => address::normalize(sender)
            .rsplit_once('@')
            .is_some_and(|(_, d)| !d.is_empty() && d.eq_ignore_ascii_case(domain)),
        None => address::same(pattern, sender),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::config;

    fn allowed(list: &str, sender: &str, member: Option<Status>, first: bool) -> bool {
        let c = config();
        match check(c.list(list).unwrap(), sender, member, first) {
            Permission::Allowed { .. } => true,
            Permission::NotAllowed { .. } => false,
        }
    }

    #[test]
    fn poster_addresses_ignore_case_and_plus_tags() {
        assert!(allowed("thpt", "vanthu@moet.edu.vn", None, true));
        assert!(allowed("thpt", "VANTHU+cv123@Moet.Edu.Vn", None, true));
        assert!(!allowed("thpt", "vanthu2@moet.edu.vn", None, true));
        assert!(!allowed(
            "thpt",
            "vanthu@evil.example",
            Some(Status::Confirmed),
            false
        ));
    }

    #[test]
    fn domain_patterns_match_the_domain_exactly_not_subdomains() {
        assert!(allowed("thpt", "so@hanoi.edu.vn", None, true));
        assert!(allowed("thpt", "So@HANOI.edu.vn", None, true));
        assert!(!allowed("thpt", "gv@thpt.hanoi.edu.vn", None, true));
        assert!(!allowed("thpt", "x@evilhanoi.edu.vn", None, true));
        assert!(!matches("*@hanoi.edu.vn", "hanoi.edu.vn"));
    }

    #[test]
    fn managed_members_are_not_posters() {
        let c = config();
        let list = c.list("hieutruong").unwrap();
        let p = check(list, "ht@thpt-a.edu.vn", Some(Status::Confirmed), false);
        assert_eq!(
            p,
            Permission::NotAllowed {
                cause: HoldCause::NotPoster,
                reason: "ht@thpt-a.edu.vn is a member of managed list hieutruong but not one of its posters".into()
            }
        );
        assert!(allowed("hieutruong", "vanthu@moet.edu.vn", None, true));
        assert!(!allowed("hieutruong", "x@other.edu.vn", None, true));
    }

    #[test]
    fn discussion_needs_a_confirmed_member() {
        for list in ["thaoluan", "tudo"] {
            assert!(allowed(
                list,
                "gv@thpt-a.edu.vn",
                Some(Status::Confirmed),
                false
            ));
            assert!(!allowed(
                list,
                "gv@thpt-a.edu.vn",
                Some(Status::Pending),
                false
            ));
            assert!(!allowed(
                list,
                "gv@thpt-a.edu.vn",
                Some(Status::Unsubscribed),
                false
            ));
            assert!(!allowed(
                list,
                "gv@thpt-a.edu.vn",
                Some(Status::Disabled),
                false
            ));
            assert!(!allowed(list, "gv@thpt-a.edu.vn", None, false));
        }
        // Posters of other lists have no say on a discussion list.
        assert!(!allowed("thaoluan", "vanthu@moet.edu.vn", None, false));
    }

    #[test]
    fn first_posts_are_held_only_where_moderated() {
        assert!(!allowed(
            "thaoluan",
            "gv@thpt-a.edu.vn",
            Some(Status::Confirmed),
            true
        ));
        assert!(allowed(
            "tudo",
            "gv@thpt-a.edu.vn",
            Some(Status::Confirmed),
            true
        ));
    }
}
