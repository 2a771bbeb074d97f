//! nhomthu's own verification of a From address (`[site] verify = "self"`): DMARC's DKIM
//! path. The From is believed only when a DKIM signature verifies (mail-auth, keys from DNS
//! through the [`Resolver`]) and its `d=` is aligned with the From domain: the same
//! organizational domain (relaxed), or the very domain when its DMARC record says
//! `adkim=s`. Authentication-Results headers are not read at all: anyone can write one.
//!
//! Place in the flow: the pipeline calls [`Resolver::self_check`] for posts and requests
//! once they are classified and stores the result in `Inbound::verified`; the pure rules
//! (`rules::auth`) decide from it.
//!
//! Limits against hostile mail: only signatures whose `d=` could align are verified, at
//! most [`MAX_SIGNATURES`] of them, within the lookup limit; a signature with a body
//! length `l=` vouches for nothing (what follows the signed part could be anything).

use super::Resolver;
use super::dmarc::{Policy, org_domain};
use mail_auth::{AuthenticatedMessage, DkimResult};
use serde::Serialize;
use std::borrow::Cow;

/// Signatures verified per message at most.
pub const MAX_SIGNATURES: usize = 4;

/// What nhomthu's own DKIM check found for the From address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum SelfCheck {
    /// A valid DKIM signature aligned with the From domain.
    Pass {
        /// What vouches, e.g. "dkim=pass header.d=moet.edu.vn (relaxed alignment)".
        method: String,
    },
    /// No valid aligned signature.
    Fail {
        /// One sentence for operators.
        reason: String,
        /// The From domain's published DMARC policy: with `reject` or `quarantine` the
        /// From is forged, not only unauthenticated.
        policy: Policy,
        /// Where that policy was found, or why none was.
        policy_detail: String,
    },
}

impl SelfCheck {
    /// Why the From is forged: no valid aligned signature although the domain publishes
    /// `p=reject` or `p=quarantine`. A failed policy lookup is not proof of forgery.
    pub fn forged(&self) -> Option<String> {
        match self {
            SelfCheck::Fail {
                reason,
                policy: Policy::Reject | Policy::Quarantine,
                policy_detail,
            } => Some(format!(
                "{reason}, and the domain publishes {policy_detail}"
            )),
            _ => None,
        }
    }
}

impl Resolver {
    /// Verify the DKIM signatures of `raw` for the From address `from`.
    pub async fn self_check(&self, raw: &[u8], from: &str) -> SelfCheck {
        let domain = from
            .rsplit_once('@')
            .map(|(_, d)| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .unwrap_or_default();
        if domain.is_empty() {
            return SelfCheck::Fail {
                reason: format!("the From address {from} has no domain"),
                policy: Policy::Absent,
                policy_detail: String::new(),
            };
        }
        let published = self.published(&domain).await;
        let fail = |reason: String| SelfCheck::Fail {
            reason,
            policy: published.policy,
            policy_detail: published.detail.clone(),
        };
        let raw = crlf(raw);
        let Some(mut message) = AuthenticatedMessage::parse(&raw) else {
            return fail("the message cannot be read for DKIM".into());
        };
        // Only signatures that could vouch for the From are worth a lookup.
        let mut others: Vec<String> = Vec::new();
        message.dkim_headers.retain(|h| {
            let d = h.header.d.trim().trim_end_matches('.').to_ascii_lowercase();
            let useful = aligned(&d, &domain, false) && h.header.l == 0;
            if !useful && others.len() < MAX_SIGNATURES {
                others.push(if h.header.l != 0 {
                    format!(
                        "{d} (signs only the first {} bytes of the body)",
                        h.header.l
                    )
                } else {
                    d
                });
            }
            useful
        });
        message.dkim_headers.truncate(MAX_SIGNATURES);
        if message.dkim_headers.is_empty() {
            return fail(if others.is_empty() {
                "no DKIM signature".into()
            } else {
                format!(
                    "no DKIM signature aligned with {domain}, only by {}",
                    others.join(", ")
                )
            });
        }
        let lookups = message.dkim_headers.len() as u32;
        let outputs = match self
            .within(
                &format!("the DKIM keys of {domain}"),
                lookups,
                self.authenticator.verify_dkim(self.parameters(&message)),
            )
            .await
        {
            Ok(outputs) => outputs,
            Err(e) => return fail(e.to_string()),
        };
        let mut why_not = Vec::new();
        for output in &outputs {
            let Some(signature) = output.signature() else {
                why_not.push(format!("a malformed signature ({:?})", output.result()));
                continue;
            };
            let d = signature
                .d
                .trim()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            match output.result() {
                DkimResult::Pass if aligned(&d, &domain, published.strict_dkim) => {
                    let how = if published.strict_dkim {
                        "strict"
                    } else {
                        "relaxed"
                    };
                    return SelfCheck::Pass {
                        method: format!("dkim=pass header.d={d} ({how} alignment)"),
                    };
                }
                DkimResult::Pass => why_not.push(format!(
                    "dkim=pass for {d}, but {domain} requires strict alignment (adkim=s)"
                )),
                other => why_not.push(format!("dkim={} for {d}", describe(other))),
            }
        }
        fail(why_not.join("; "))
    }
}

/// `d` aligns with the From domain: the same domain (strict), or the same organizational
/// domain (relaxed).
fn aligned(d: &str, from_domain: &str, strict: bool) -> bool {
    if d.is_empty() {
        return false;
    }
    if strict {
        d == from_domain
    } else {
        org_domain(d) == org_domain(from_domain)
    }
}

/// A DKIM result in Authentication-Results words, with mail-auth's reason.
fn describe(result: &DkimResult) -> String {
    match result {
        DkimResult::Pass => "pass".into(),
        DkimResult::Neutral(e) => format!("neutral ({e})"),
        DkimResult::Fail(e) => format!("fail ({e})"),
        DkimResult::PermError(e) => format!("permerror ({e})"),
        DkimResult::TempError(e) => format!("temperror ({e})"),
        DkimResult::None => "none".into(),
    }
}

/// Bare LF line ends as CRLF: a Maildir file is stored with LF, the signature was made
/// over CRLF.
fn crlf(raw: &[u8]) -> Cow<'_, [u8]> {
    let bare = |i: usize| raw[i] == b'\n' && (i == 0 || raw[i - 1] != b'\r');
    if !(0..raw.len()).any(bare) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for (i, &b) in raw.iter().enumerate() {
        if bare(i) {
            out.push(b'\r');
        }
        out.push(b);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_relaxed_and_strict() {
        assert!(aligned("mail.org.test", "org.test", false));
        assert!(aligned("org.test", "mail.org.test", false));
        assert!(!aligned("mail.org.test", "org.test", true));
        assert!(aligned("org.test", "org.test", true));
        assert!(!aligned("evil.test", "org.test", false));
        assert!(!aligned("", "org.test", false));
    }

    #[test]
    fn only_a_strict_policy_makes_a_failure_forged() {
        let fail = |policy| SelfCheck::Fail {
            reason: "no DKIM signature".into(),
            policy,
            policy_detail: "p=reject at _dmarc.reject.test".into(),
        };
        assert!(
            fail(Policy::Reject)
                .forged()
                .unwrap()
                .contains("no DKIM signature")
        );
        assert!(fail(Policy::Quarantine).forged().is_some());
        for policy in [Policy::None, Policy::Absent, Policy::Unknown] {
            assert_eq!(fail(policy).forged(), None, "{policy:?}");
        }
        let pass = SelfCheck::Pass {
            method: "dkim=pass".into(),
        };
        assert_eq!(pass.forged(), None);
    }

    #[test]
    fn lf_becomes_crlf_once() {
        assert_eq!(&*crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert!(matches!(crlf(b"a\r\n"), Cow::Borrowed(_)));
    }
}
