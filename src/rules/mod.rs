//! Posting rules (GNU Mailman 3 style): small pure predicates, one per file, and the
//! chain in [`decide`] that combines them into a [`Verdict`] for a post to a list.
//!
//! Place in the flow: `classify` → **rules decide accept/hold** → post pipeline. Like
//! `classify`, everything here is pure and synchronous: it reads the message, the
//! configuration and what the caller looked up (membership), so `nhomthu inspect` can
//! explain a verdict without acting on it. Nothing is rejected here: a post that does not
//! pass goes to the list's moderators.
//!
//! The chain, in order:
//! 1. [`auth`]: the From address must be authenticated (a trusted server's
//!    Authentication-Results) — otherwise anyone could write `From: vanthu@moet.edu.vn`.
//! 2. [`poster`]: the sender's role must allow posting to the list.

pub mod auth;
pub mod poster;

#[cfg(test)]
mod fixtures;

use crate::config::{Config, List};
use crate::message::Inbound;
use crate::store::members::Status;
use auth::Authentication;
use poster::Permission;
use serde::Serialize;

/// What happens to a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Distribute it to the list.
    Accept {
        /// One sentence: who the sender is and how they were authenticated.
        reason: String,
    },
    /// Hold it for the list's moderators.
    Hold {
        /// Why, as the moderators' notice says it in the list's language.
        cause: HoldCause,
        /// One sentence saying why, for logs and operators.
        reason: String,
    },
}

/// Why a post is held: a closed set, so the moderators' notice can say it in the list's
/// language (the `moderate` template names each by [`HoldCause::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldCause {
    /// The message has no From address.
    NoFrom,
    /// The From address is not authenticated.
    NotAuthenticated,
    /// The sender is not among the list's posters.
    NotPoster,
    /// A member's first post to a discussion list.
    FirstPost,
    /// The sender has not confirmed membership yet.
    NotConfirmed,
    /// The sender has left the list.
    Left,
    /// The sender's delivery is disabled (bounces).
    Disabled,
    /// The sender is not a member of the discussion list.
    NotMember,
}

impl HoldCause {
    /// The name templates know it by.
    pub fn name(self) -> &'static str {
        match self {
            HoldCause::NoFrom => "no_from",
            HoldCause::NotAuthenticated => "not_authenticated",
            HoldCause::NotPoster => "not_poster",
            HoldCause::FirstPost => "first_post",
            HoldCause::NotConfirmed => "not_confirmed",
            HoldCause::Left => "left",
            HoldCause::Disabled => "disabled",
            HoldCause::NotMember => "not_member",
        }
    }

    /// Every cause, for checking that templates render them all.
    pub const ALL: [HoldCause; 8] = [
        HoldCause::NoFrom,
        HoldCause::NotAuthenticated,
        HoldCause::NotPoster,
        HoldCause::FirstPost,
        HoldCause::NotConfirmed,
        HoldCause::Left,
        HoldCause::Disabled,
        HoldCause::NotMember,
    ];
}

impl Verdict {
    /// The reason, for logs and operators.
    pub fn reason(&self) -> &str {
        match self {
            Verdict::Accept { reason } | Verdict::Hold { reason, .. } => reason,
        }
    }
}

/// Decide a post `msg` to `list`. `member` is the sender's membership status in the list,
/// if any; `first_post` is true when no earlier post of the sender was accepted.
pub fn decide(
    msg: &Inbound,
    list: &List,
    config: &Config,
    member: Option<Status>,
    first_post: bool,
) -> Verdict {
    let Some(from) = &msg.from else {
        return Verdict::Hold {
            cause: HoldCause::NoFrom,
            reason: "the message has no From address".into(),
        };
    };
    let sender = &from.address;
    let method = match auth::check(msg, config) {
        Authentication::Pass { method, .. } => method,
        Authentication::Fail { reason } => {
            return Verdict::Hold {
                cause: HoldCause::NotAuthenticated,
                reason: format!("the From address {sender} is not authenticated: {reason}"),
            };
        }
    };
    match poster::check(list, sender, member, first_post) {
        Permission::Allowed { reason } => Verdict::Accept {
            reason: format!("{reason}, authenticated by {method}"),
        },
        Permission::NotAllowed { cause, reason } => Verdict::Hold { cause, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::{config, message};

    const GOOGLE_DKIM: &str = "Authentication-Results: mx.google.com;\r\n dkim=pass header.d=moet.edu.vn header.s=google header.b=AbCd1234;\r\n spf=softfail smtp.mailfrom=relay.example\r\n";

    fn verdict(
        list: &str,
        from: &str,
        headers: &str,
        member: Option<Status>,
        first: bool,
    ) -> Verdict {
        let c = config();
        decide(
            &message(from, headers),
            c.list(list).unwrap(),
            &c,
            member,
            first,
        )
    }

    #[test]
    fn an_authenticated_poster_is_accepted_with_a_full_reason() {
        let v = verdict("thpt", "vanthu@moet.edu.vn", GOOGLE_DKIM, None, true);
        assert_eq!(
            v,
            Verdict::Accept {
                reason: "vanthu@moet.edu.vn is a poster of thpt, authenticated by dkim=pass header.d=moet.edu.vn".into()
            }
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["verdict"], "accept");
    }

    #[test]
    fn a_forged_from_is_held_before_its_role_is_looked_at() {
        let forged = "Authentication-Results: evil.example; dmarc=pass header.from=moet.edu.vn\r\n";
        let v = verdict("thpt", "vanthu@moet.edu.vn", forged, None, true);
        assert!(matches!(v, Verdict::Hold { .. }));
        assert!(v.reason().starts_with("the From address vanthu@moet.edu.vn is not authenticated: no Authentication-Results from a trusted server (mx.google.com, mx.moet.edu.vn)"), "{v:?}");
    }

    #[test]
    fn an_authenticated_non_poster_is_held_by_role() {
        let v = verdict("thpt", "gv@moet.edu.vn", GOOGLE_DKIM, None, true);
        assert_eq!(
            v.reason(),
            "gv@moet.edu.vn is not among the posters of announce list thpt"
        );
        let m = verdict(
            "hieutruong",
            "ht@thpt-a.edu.vn",
            "Authentication-Results: mx.google.com; dmarc=pass header.from=thpt-a.edu.vn\r\n",
            Some(Status::Confirmed),
            false,
        );
        assert!(matches!(m, Verdict::Hold { .. }), "{m:?}");
    }

    #[test]
    fn discussion_members_and_first_posts() {
        let h =
            "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=gv@thpt-a.edu.vn\r\n";
        let ok = verdict(
            "thaoluan",
            "gv@thpt-a.edu.vn",
            h,
            Some(Status::Confirmed),
            false,
        );
        assert_eq!(
            ok.reason(),
            "gv@thpt-a.edu.vn is a confirmed member of thaoluan, authenticated by spf=pass smtp.mailfrom=gv@thpt-a.edu.vn"
        );
        let first = verdict(
            "thaoluan",
            "gv@thpt-a.edu.vn",
            h,
            Some(Status::Confirmed),
            true,
        );
        assert!(matches!(first, Verdict::Hold { .. }));
        let pending = verdict(
            "thaoluan",
            "gv@thpt-a.edu.vn",
            h,
            Some(Status::Pending),
            false,
        );
        assert!(matches!(pending, Verdict::Hold { .. }));
        let unmoderated = verdict("tudo", "gv@thpt-a.edu.vn", h, Some(Status::Confirmed), true);
        assert!(matches!(unmoderated, Verdict::Accept { .. }));
    }

    #[test]
    fn no_from_is_held() {
        let c = config();
        let msg = Inbound::parse(b"Subject: x\r\nTo: thpt@moet.edu.vn\r\n\r\nhi\r\n").unwrap();
        let v = decide(&msg, c.list("thpt").unwrap(), &c, None, true);
        assert_eq!(v.reason(), "the message has no From address");
    }
}
