//! Short message authentication codes in addresses and links: HMAC-SHA256 under the site
//! secret, base32, truncated, lowercase (local parts are compared without case).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The code of `parts` (each separated by a NUL), `chars` base32 characters long (5 bits each).
pub fn code(secret: &str, parts: &[&str], chars: usize) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(&[0]);
        }
        mac.update(part.as_bytes());
    }
    let code = data_encoding::BASE32_NOPAD.encode(&mac.finalize().into_bytes());
    code[..chars.min(code.len())].to_ascii_lowercase()
}

/// Whether `given` is the code of `parts`, compared without regard to case.
pub fn verify(secret: &str, parts: &[&str], given: &str) -> bool {
    let expected = code(secret, parts, given.len().max(1));
    given.len() >= 10 && expected.eq_ignore_ascii_case(given)
}
