//! VERP: every message the system sends has its own envelope sender on the no-reply
//! address, so whatever comes back to it names what it is about without reading a word
//! of the bounce. `norply+b<delivery>-<code>@` is one member's copy of a post,
//! `norply+p<post>-<code>@` a batch of copies of a post, `norply+a<outbound>-<code>@` one
//! of the system's answers. The code is a MAC under the site secret, so a bounce cannot
//! be forged to push a member out: only the system can name a delivery.

use crate::address;

/// Base32 characters of the code: 50 bits.
const CODE_CHARS: usize = 10;

/// What a return path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "of", content = "id", rename_all = "snake_case")]
pub enum Verp {
    /// One member's copy of a post: a `deliveries` row.
    Delivery(i64),
    /// A batch of copies of a post: a `posts` row.
    Post(i64),
    /// One of the system's answers: an `outbound` row.
    Answer(i64),
}

impl Verp {
    fn letter(self) -> (char, i64) {
        match self {
            Verp::Delivery(id) => ('b', id),
            Verp::Post(id) => ('p', id),
            Verp::Answer(id) => ('a', id),
        }
    }

    /// The plus-tag, e.g. `b42-k3j…`.
    pub fn tag(self, secret: &str) -> String {
        let (letter, id) = self.letter();
        let body = format!("{letter}{id}");
        let code = crate::mac::code(secret, &["verp", &body], CODE_CHARS);
        format!("{body}-{code}")
    }

    /// The envelope sender on `noreply` for this.
    pub fn address(self, noreply: &str, secret: &str) -> String {
        address::with_tag(noreply, &self.tag(secret))
    }

    /// Read a plus-tag, without checking its code: `(what, code)`.
    pub fn parse(tag: &str) -> Option<(Verp, &str)> {
        let (body, code) = tag.split_once('-')?;
        let mut chars = body.chars();
        let letter = chars.next()?;
        let digits = chars.as_str();
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let id: i64 = digits.parse().ok()?;
        let verp = match letter.to_ascii_lowercase() {
            'b' => Verp::Delivery(id),
            'p' => Verp::Post(id),
            'a' => Verp::Answer(id),
            _ => return None,
        };
        (code.len() == CODE_CHARS && code.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then_some((verp, code))
    }

    /// Whether `code` is this one's genuine code.
    pub fn genuine(self, secret: &str, code: &str) -> bool {
        let (letter, id) = self.letter();
        crate::mac::verify(secret, &["verp", &format!("{letter}{id}")], code)
    }
}

impl std::fmt::Display for Verp {
    /// `delivery 42`, `post 7`, `answer 9`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verp::Delivery(id) => write!(f, "delivery {id}"),
            Verp::Post(id) => write!(f, "post {id}"),
            Verp::Answer(id) => write!(f, "answer {id}"),
        }
    }
}

/// A VERP tag as found, its code not yet checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    /// What it names.
    #[serde(flatten)]
    pub verp: Verp,
    /// Its code.
    #[serde(skip)]
    pub code: String,
}

impl Found {
    /// What it names, if its code is genuine.
    pub fn verified(&self, secret: &str) -> Option<Verp> {
        self.verp.genuine(secret, &self.code).then_some(self.verp)
    }
}

/// The VERP tag carried by one of `addresses` on the no-reply address.
pub fn find<'a>(noreply: &str, addresses: impl IntoIterator<Item = &'a str>) -> Option<Found> {
    addresses.into_iter().find_map(|a| {
        if !address::same(a, noreply) {
            return None;
        }
        let a = address::normalize(a);
        let (local, _) = a.split_once('@')?;
        let (_, tag) = local.split_once('+')?;
        Verp::parse(tag).map(|(verp, code)| Found {
            verp,
            code: code.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_only_genuine_codes_verify() {
        for v in [Verp::Delivery(42), Verp::Post(7), Verp::Answer(123_456)] {
            let a = v.address("norply@moet.test", "s3cret");
            let found = find("norply@moet.test", [a.as_str()]).unwrap();
            assert_eq!(found.verp, v);
            assert_eq!(found.verified("s3cret"), Some(v), "{a}");
            assert_eq!(found.verified("other"), None, "{a}");
        }
        let a = Verp::Delivery(42).address("norply@moet.test", "s3cret");
        let forged = a.replace("+b42-", "+b43-");
        let found = find("norply@moet.test", [forged.as_str()]).unwrap();
        assert_eq!(found.verified("s3cret"), None);
        assert!(find("norply@moet.test", ["norply+b42@moet.test"]).is_none());
        assert!(find("other@moet.test", [a.as_str()]).is_none());
        assert!(find("norply@moet.test", ["norply+u-thpt-abc@moet.test"]).is_none());
        assert!(find("norply@moet.test", ["norply+bxx-abcdefghij@moet.test"]).is_none());
        assert_eq!(
            find("norply@moet.test", [a.to_uppercase().as_str()]).map(|f| f.verp),
            Some(Verp::Delivery(42))
        );
    }
}
