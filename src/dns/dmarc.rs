//! The DMARC policy an author domain publishes, found as RFC 7489 §6.6.3 says: the TXT
//! record at `_dmarc.<From domain>`; when that name has no DMARC record, the one at
//! `_dmarc.<organizational domain>` (the registrable domain by the Public Suffix List, the
//! `psl` crate), whose `sp=` then applies to the subdomain.
//!
//! Asked by delivery (does a list copy of this author's post need `From` rewritten?) and by
//! the self-verification (is DKIM alignment strict, and is an unsigned request forged?).
//! A lookup that fails is [`Policy::Unknown`]: the callers treat it as strict.

use super::{Answer, Resolver};
use mail_auth::dmarc::{Alignment, Dmarc};
use serde::Serialize;

/// What the author domain asks receivers to do with mail that fails DMARC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// `p=reject` (or `sp=reject` for a subdomain).
    Reject,
    /// `p=quarantine`.
    Quarantine,
    /// `p=none`: monitoring only.
    None,
    /// No DMARC record at the domain nor at its organizational domain.
    Absent,
    /// The lookup failed (timeout, SERVFAIL): nothing is known.
    Unknown,
}

impl Policy {
    /// Whether receivers would reject or junk mail in the domain's name that fails DMARC,
    /// or may (the lookup failed).
    pub fn is_strict(self) -> bool {
        matches!(self, Policy::Reject | Policy::Quarantine | Policy::Unknown)
    }
}

/// A domain's policy, with how it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// The policy that applies to the domain.
    pub policy: Policy,
    /// `adkim=s`: a DKIM signature must be by the From domain itself, not a relative.
    pub strict_dkim: bool,
    /// One sentence: where the record was found, or why there is none.
    pub detail: String,
}

impl Default for Published {
    /// No policy: what a domain without a DMARC record publishes.
    fn default() -> Self {
        Published {
            policy: Policy::Absent,
            strict_dkim: false,
            detail: "no DMARC record looked up".into(),
        }
    }
}

/// The organizational domain of `domain`: its registrable domain by the Public Suffix List,
/// or the domain itself when it is a public suffix (or the list does not know it).
pub fn org_domain(domain: &str) -> &str {
    psl::domain_str(domain).unwrap_or(domain)
}

/// `domain` lowercased, without a trailing dot or surrounding space.
fn normalize(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl Resolver {
    /// The DMARC policy that applies to mail from `domain`.
    pub async fn published(&self, domain: &str) -> Published {
        let domain = normalize(domain);
        if domain.is_empty() || !domain.contains('.') {
            return Published {
                detail: format!("{domain:?} is not a domain that can publish DMARC"),
                ..Published::default()
            };
        }
        let own = format!("_dmarc.{domain}.");
        let first = match self.txt::<Dmarc>(&own).await {
            Err(e) => return unknown(e),
            Ok(Answer::Found(record)) => return applied(&record, false, &own),
            Ok(Answer::Absent(why)) => why,
        };
        let org = org_domain(&domain);
        if org == domain {
            return Published {
                detail: first,
                ..Published::default()
            };
        }
        let parent = format!("_dmarc.{org}.");
        match self.txt::<Dmarc>(&parent).await {
            Err(e) => unknown(e),
            Ok(Answer::Found(record)) => applied(&record, true, &parent),
            Ok(Answer::Absent(why)) => Published {
                detail: format!("{first}; {why}"),
                ..Published::default()
            },
        }
    }
}

fn unknown(e: super::DnsError) -> Published {
    Published {
        policy: Policy::Unknown,
        strict_dkim: false,
        detail: e.to_string(),
    }
}

/// The policy a record sets: `sp=` for a subdomain (it defaults to `p=`), `p=` otherwise.
fn applied(record: &Dmarc, subdomain: bool, name: &str) -> Published {
    use mail_auth::dmarc::Policy as P;
    let (tag, value) = if subdomain {
        ("sp", record.sp)
    } else {
        ("p", record.p)
    };
    let policy = match value {
        P::Reject => Policy::Reject,
        P::Quarantine => Policy::Quarantine,
        // A record without a policy asks nothing of receivers.
        P::None | P::Unspecified => Policy::None,
    };
    let word = match policy {
        Policy::Reject => "reject",
        Policy::Quarantine => "quarantine",
        _ => "none",
    };
    Published {
        policy,
        strict_dkim: record.adkim == Alignment::Strict,
        detail: format!("{tag}={word} at {}", name.trim_end_matches('.')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_auth::common::parse::TxtRecordParser;

    fn record(text: &str) -> Dmarc {
        Dmarc::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn p_applies_to_the_domain_and_sp_to_its_subdomains() {
        let r = record("v=DMARC1; p=none; sp=reject; adkim=s");
        let own = applied(&r, false, "_dmarc.org.test.");
        assert_eq!(own.policy, Policy::None);
        assert!(own.strict_dkim);
        assert_eq!(own.detail, "p=none at _dmarc.org.test");
        let sub = applied(&r, true, "_dmarc.org.test.");
        assert_eq!(sub.policy, Policy::Reject);
        assert_eq!(sub.detail, "sp=reject at _dmarc.org.test");
        // sp= defaults to p=.
        let q = record("v=DMARC1; p=quarantine");
        assert_eq!(applied(&q, true, "x").policy, Policy::Quarantine);
        assert!(!applied(&q, true, "x").strict_dkim);
    }

    #[test]
    fn strictness() {
        assert!(Policy::Reject.is_strict());
        assert!(Policy::Quarantine.is_strict());
        assert!(
            Policy::Unknown.is_strict(),
            "a failed lookup is treated as strict"
        );
        assert!(!Policy::None.is_strict());
        assert!(!Policy::Absent.is_strict());
    }

    #[test]
    fn organizational_domains() {
        assert_eq!(org_domain("mail.org.test"), "org.test");
        assert_eq!(org_domain("a.b.moet.edu.vn"), "moet.edu.vn");
        assert_eq!(org_domain("gmail.com"), "gmail.com");
        assert_eq!(org_domain("edu.vn"), "edu.vn");
    }
}
