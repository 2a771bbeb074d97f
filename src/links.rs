//! The links people click in the system's mail, beside the one-click unsubscribe link
//! (`unsubscribe.rs`): the confirmation link (`/c/TOKEN`, the code the mail already
//! carries), the member's page (`/m/ADDRESS/CODE`) and a moderator's page for a held post
//! (`/mod/POST/MODERATOR/CODE`). Addresses travel base64url-encoded beside an HMAC under
//! the site secret, so nothing per link is stored and a changed link proves nothing.
//! Links are made only where the endpoint that answers them runs: with `[site] base_url`
//! and `listen`.

use crate::config::Config;

/// The length of the codes in member and moderation links (80 bits).
const CODE_CHARS: usize = 16;

/// The site's base URL without its trailing slash, when its web side runs.
pub fn base(config: &Config) -> Option<&str> {
    match (&config.site.base_url, config.site.listen) {
        (Some(base), Some(_)) => Some(base.trim_end_matches('/')),
        _ => None,
    }
}

fn encode(address: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(crate::address::normalize(address).as_bytes())
}

fn decode(encoded: &str) -> Option<String> {
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(encoded.as_bytes())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The confirmation link for a token.
pub fn confirm(base: &str, token: &str) -> String {
    format!("{base}/c/{token}")
}

/// The path of a member's own page.
pub fn member_path(secret: &str, address: &str) -> String {
    let address = crate::address::normalize(address);
    format!(
        "/m/{}/{}",
        encode(&address),
        crate::mac::code(secret, &["member", &address], CODE_CHARS)
    )
}

/// The link to a member's own page.
pub fn member(base: &str, secret: &str, address: &str) -> String {
    format!("{base}{}", member_path(secret, address))
}

/// The address a member page's parts name, if its code is genuine.
pub fn verify_member(secret: &str, encoded: &str, code: &str) -> Option<String> {
    let address = decode(encoded)?;
    crate::mac::verify(secret, &["member", &address], code).then_some(address)
}

/// The path of a moderator's page for a held post.
pub fn moderate_path(secret: &str, post_id: i64, moderator: &str) -> String {
    let moderator = crate::address::normalize(moderator);
    let id = post_id.to_string();
    format!(
        "/mod/{id}/{}/{}",
        encode(&moderator),
        crate::mac::code(secret, &["moderate", &id, &moderator], CODE_CHARS)
    )
}

/// The link to a moderator's page for a held post.
pub fn moderate(base: &str, secret: &str, post_id: i64, moderator: &str) -> String {
    format!("{base}{}", moderate_path(secret, post_id, moderator))
}

/// The moderator a moderation page's parts name, if its code is genuine for that post.
pub fn verify_moderator(secret: &str, post_id: i64, encoded: &str, code: &str) -> Option<String> {
    let moderator = decode(encoded)?;
    let id = post_id.to_string();
    crate::mac::verify(secret, &["moderate", &id, &moderator], code).then_some(moderator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> Vec<&str> {
        path.trim_start_matches('/').split('/').collect()
    }

    #[test]
    fn member_links_verify_only_unchanged() {
        let path = member_path("s3cret", "GV@School.test");
        let p = parts(&path);
        assert_eq!(p[0], "m");
        assert_eq!(
            verify_member("s3cret", p[1], p[2]).as_deref(),
            Some("gv@school.test")
        );
        assert_eq!(verify_member("other", p[1], p[2]), None);
        let theirs = member_path("s3cret", "x@school.test");
        assert_eq!(verify_member("s3cret", parts(&theirs)[1], p[2]), None);
        assert_eq!(verify_member("s3cret", "!!", p[2]), None);
        assert_eq!(verify_member("s3cret", p[1], "short"), None);
    }

    #[test]
    fn moderation_links_verify_only_for_their_post() {
        let path = moderate_path("s3cret", 7, "kiemduyet@moet.test");
        let p = parts(&path);
        assert_eq!((p[0], p[1]), ("mod", "7"));
        assert_eq!(
            verify_moderator("s3cret", 7, p[2], p[3]).as_deref(),
            Some("kiemduyet@moet.test")
        );
        assert_eq!(verify_moderator("s3cret", 8, p[2], p[3]), None);
        assert_eq!(verify_moderator("other", 7, p[2], p[3]), None);
        // A member page's code is no moderation code, and the other way round.
        let member = member_path("s3cret", "kiemduyet@moet.test");
        assert_eq!(verify_moderator("s3cret", 7, p[2], parts(&member)[2]), None);
        assert_eq!(verify_member("s3cret", p[2], p[3]), None);
    }
}
