//! Per-recipient unsubscribe addresses for list mail: `norply+u-LIST-MAC@domain`, where
//! MAC = HMAC-SHA256(site secret, list, address), truncated to 80 bits. Pressing
//! "Unsubscribe" in a mail client sends mail there from the member's address; the MAC
//! proves the address is the one the list mail went to, so no confirmation is needed.
//! Nothing per recipient is stored.

/// The plus-tag prefix of unsubscribe addresses.
pub const PREFIX: &str = "u-";

fn mac(secret: &str, list_id: &str, address: &str) -> String {
    crate::mac::code(secret, &[list_id, &crate::address::normalize(address)], 16)
}

/// The plus-tag for `address` on `list_id`.
pub fn tag(secret: &str, list_id: &str, address: &str) -> String {
    format!("{PREFIX}{list_id}-{}", mac(secret, list_id, address))
}

/// The one-click link for `address` on `list_id` (RFC 8058): the address travels
/// base64url-encoded beside its code.
pub fn url(base_url: &str, secret: &str, list_id: &str, address: &str) -> String {
    let encoded =
        data_encoding::BASE64URL_NOPAD.encode(crate::address::normalize(address).as_bytes());
    format!(
        "{}/u/{list_id}/{encoded}/{}",
        base_url.trim_end_matches('/'),
        mac(secret, list_id, address)
    )
}

/// The list and address a one-click path (`u/LIST/ADDRESS/CODE`) unsubscribes, if genuine.
pub fn verify_path(secret: &str, path: &str) -> Option<(String, String)> {
    let mut parts = path.trim_matches('/').split('/');
    let (Some("u"), Some(list_id), Some(encoded), Some(code), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let address = String::from_utf8(
        data_encoding::BASE64URL_NOPAD
            .decode(encoded.as_bytes())
            .ok()?,
    )
    .ok()?;
    let tag = format!("{PREFIX}{list_id}-{code}");
    verify(secret, &tag, &address).map(|list| (list.to_string(), address.clone()))
}

/// The list a tag unsubscribes `address` from, if the tag is genuine for that address.
pub fn verify<'a>(secret: &str, tag: &'a str, address: &str) -> Option<&'a str> {
    let rest = tag.strip_prefix(PREFIX)?;
    let (list_id, code) = rest.rsplit_once('-')?;
    code.eq_ignore_ascii_case(&mac(secret, list_id, address))
        .then_some(list_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_verify_only_for_their_address_and_list() {
        let t = tag("s3cret", "thpt", "GV@School.test");
        assert_eq!(verify("s3cret", &t, "gv@school.test"), Some("thpt"));
        assert_eq!(verify("s3cret", &t, "other@school.test"), None);
        assert_eq!(verify("other", &t, "gv@school.test"), None);
        let forged = t.replace("thpt", "thcs");
        assert_eq!(verify("s3cret", &forged, "gv@school.test"), None);
        assert!(t.len() <= 40, "fits in a local part: {t}");
    }

    #[test]
    fn links_verify_only_unchanged() {
        let link = url("https://moet.test/", "s3cret", "thpt", "gv@school.test");
        let path = link.strip_prefix("https://moet.test").unwrap();
        assert_eq!(
            verify_path("s3cret", path),
            Some(("thpt".into(), "gv@school.test".into()))
        );
        assert_eq!(verify_path("other", path), None);
        let other = url("https://moet.test", "s3cret", "thpt", "x@school.test");
        let (_, theirs) = other.rsplit_once('/').unwrap();
        let (mine, _) = path.rsplit_once('/').unwrap();
        assert_eq!(verify_path("s3cret", &format!("{mine}/{theirs}")), None);
        assert_eq!(verify_path("s3cret", "/u/thpt"), None);
        assert_eq!(verify_path("s3cret", "/u/thpt/!!/x"), None);
    }
}
