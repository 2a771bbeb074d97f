//! Email addresses as the system compares them: lowercased, with the `+tag` of a
//! plus-address split off.

/// Trim and lowercase an address. Mailbox providers treat local parts case-insensitively,
/// and one person must not become two members by changing case.
pub fn normalize(address: &str) -> String {
    address
        .trim()
        .trim_matches(|c| c == '<' || c == '>')
        .to_lowercase()
}

/// The address without its `+tag`: `norply+x@d` → `norply@d`.
pub fn base(address: &str) -> String {
    let address = normalize(address);
    match address.split_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            format!("{local}@{domain}")
        }
        None => address,
    }
}

/// Whether two addresses reach the same mailbox (case and `+tag` ignored).
pub fn same(a: &str, b: &str) -> bool {
    base(a) == base(b)
}

/// A display-less form with the tag replaced: `with_tag("norply@d", "t")` → `norply+t@d`.
pub fn with_tag(address: &str, tag: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => format!("{local}+{tag}@{domain}"),
        None => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_tags_and_case_are_ignored_in_comparison() {
        assert!(same("Norply+nt-abc@MOET.edu.vn", "norply@moet.edu.vn"));
        assert!(!same("norply@moet.edu.vn", "norplyx@moet.edu.vn"));
        assert_eq!(with_tag("a@b", "t"), "a+t@b");
        assert_eq!(normalize(" <Teacher@School.VN> "), "teacher@school.vn");
    }
}
