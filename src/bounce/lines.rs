//! The ways plain-text bounces lay out their failed addresses, read line by line:
//! `<address>:` paragraphs (Postfix, qmail, Yahoo), indented lists under a heading (Exim,
//! Gmail, GroupWise, Domino, Exchange 2003), an address and the lines after it (Exchange),
//! and the words after a heading ("The response from the remote server was:").

use super::{MAX_RECIPIENTS, normalize_address};
use regex::Regex;
use std::sync::LazyLock;

/// The words kept for one address grow no longer than this many bytes.
const MAX_WORDS: usize = 2000;

/// An address pattern for finding addresses in running text.
pub(super) const ADDRESS: &str =
    r"[A-Za-z0-9!#$%&*+/=?^_`{|}~.\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+";

/// [`ADDRESS`], compiled.
pub(super) static ANY_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(ADDRESS).expect("valid regex"));

/// One failed address a bounce names, with the words it gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    /// Normalised address.
    pub address: String,
    /// The bounce's words for it, as found (several lines joined).
    pub diagnostic: Option<String>,
}

impl Found {
    pub(super) fn new(address: String, words: Option<&str>) -> Found {
        let mut f = Found {
            address,
            diagnostic: None,
        };
        if let Some(w) = words {
            f.add_words(w);
        }
        f
    }

    /// Append `words` (trimmed) to the diagnostic, within the size cap.
    pub(super) fn add_words(&mut self, words: &str) {
        let words = words.trim();
        if words.is_empty() {
            return;
        }
        let d = self.diagnostic.get_or_insert_with(String::new);
        if d.len() >= MAX_WORDS {
            return;
        }
        if !d.is_empty() {
            d.push(' ');
        }
        d.push_str(super::cut(words, MAX_WORDS - d.len()));
    }
}

/// Add `more` to `into`: new addresses at the end; words for a known address fill its
/// empty diagnostic, or replace it when `replace` (more technical words).
pub(super) fn merge(into: &mut Vec<Found>, more: Vec<Found>, replace: bool) {
    for m in more {
        if let Some(f) = into.iter_mut().find(|f| f.address == m.address) {
            if m.diagnostic.is_some() && (replace || f.diagnostic.is_none()) {
                f.diagnostic = m.diagnostic;
            }
        } else if into.len() < MAX_RECIPIENTS {
            into.push(m);
        }
    }
}

/// The first address in `text`.
pub(super) fn first_address(text: &str) -> Option<String> {
    ANY_ADDRESS
        .find_iter(text)
        .find_map(|m| normalize_address(m.as_str()))
}

/// Every address in `text`, in order.
pub(super) fn addresses(text: &str) -> Vec<String> {
    ANY_ADDRESS
        .find_iter(text)
        .filter_map(|m| normalize_address(m.as_str()))
        .collect()
}

/// Leading whitespace of `line`, in characters.
fn indent(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// `<address>: words` paragraphs (Postfix, qmail, Yahoo): a paragraph whose first line
/// starts with an address in angle brackets then a colon (Postfix may put
/// ` (expanded from <address>)` between: the address the sender used wins). The rest
/// of the paragraph is the words.
pub(super) fn angle_paragraphs(lines: &[&str]) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut open = false;
    for line in lines {
        if line.trim().is_empty() {
            open = false;
            continue;
        }
        let t = line.trim_start();
        if indent(line) <= 1
            && let Some((address, rest)) = angle_head(t)
        {
            if out.len() < MAX_RECIPIENTS {
                out.push(Found::new(address, Some(rest)));
            }
            open = true;
            continue;
        }
        if open && let Some(last) = out.last_mut() {
            last.add_words(line);
        }
    }
    out
}

/// `<a@b>: rest` or `<a@b> (expanded from <c@d>): rest`: the address and the rest.
fn angle_head(t: &str) -> Option<(String, &str)> {
    let inner = t.strip_prefix('<')?;
    let (address, after) = inner.split_once('>')?;
    let mut address = normalize_address(address)?;
    let mut after = after.trim_start();
    if let Some(expanded) = after.strip_prefix("(expanded from") {
        let (from, rest) = expanded.split_once(')')?;
        if let Some(original) = normalize_address(from) {
            address = original;
        }
        after = rest.trim_start();
    }
    let rest = after.strip_prefix(':')?;
    Some((address, rest))
}

/// The indented list after `lines[start - 1]` (Exim, Gmail, GroupWise, Domino): blank
/// lines are skipped; a line whose first word is an address, indented no deeper than
/// the first such line, names a recipient (a `(reason)` or `: reason` after it on the
/// line is its words); deeper or other indented lines are the words of the last one;
/// the first unindented line ends the list.
pub(super) fn indented_entries(lines: &[&str], start: usize) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut entry_indent: Option<usize> = None;
    for line in lines.iter().skip(start) {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let depth = indent(line);
        if depth == 0 {
            break;
        }
        let first = t.split_whitespace().next().unwrap_or("");
        let shallow = entry_indent.is_none_or(|e| depth <= e);
        if shallow && let Some(address) = normalize_address(first) {
            entry_indent.get_or_insert(depth);
            let rest = t.get(first.len()..).unwrap_or("").trim();
            let words = rest
                .strip_prefix('(')
                .map(|r| r.strip_suffix(')').unwrap_or(r))
                .or_else(|| rest.strip_prefix(':'));
            if out.len() >= MAX_RECIPIENTS {
                break;
            }
            out.push(Found::new(address, words));
        } else if let Some(last) = out.last_mut() {
            last.add_words(t);
        }
    }
    out
}

/// The index just after the first line whose lowercase trimmed text satisfies `pred`.
pub(super) fn after_line(lines: &[&str], pred: impl Fn(&str) -> bool) -> Option<usize> {
    lines
        .iter()
        .position(|l| pred(&l.trim().to_ascii_lowercase()))
        .map(|i| i + 1)
}

/// The paragraph starting at `lines[start]` (leading blank lines skipped), joined.
pub(super) fn paragraph(lines: &[&str], start: usize) -> Option<String> {
    let mut found = Found::new(String::new(), None);
    for line in lines.iter().skip(start).skip_while(|l| l.trim().is_empty()) {
        if line.trim().is_empty() {
            break;
        }
        found.add_words(line);
    }
    found.diagnostic
}

/// Exim's preamble to a server's words: `SMTP error from remote mail server after RCPT
/// TO:<a@b>:`.
static EXIM_PREAMBLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)smtp error from remote (?:mail server|host) after [^:<]*(?::\s*<[^>]{0,300}>)?:",
    )
    .expect("valid regex")
});

/// The remote server's words in a bounce's account of one address: what follows
/// `said:` (or Exim's "SMTP error from remote mail server after …:"), without
/// Postfix's `(in reply to … command)` and qmail's `Giving up on …`.
pub(super) fn server_words(words: &str) -> &str {
    let lower = words.to_ascii_lowercase();
    let start = match lower.find("said:") {
        Some(i) => i + "said:".len(),
        None => EXIM_PREAMBLE.find(words).map_or(0, |m| m.end()),
    };
    let mut end = words.len();
    for tail in ["(in reply to ", "giving up on "] {
        if let Some(i) = lower.rfind(tail)
            && i >= start
        {
            end = end.min(i);
        }
    }
    words.get(start..end).unwrap_or(words).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_paragraphs_take_the_expanded_from_address() {
        let lines = [
            "intro <not@this.test>: no, indented 2",
            "",
            "<Final@X.test> (expanded from <orig@y.test>): host x said: 550",
            "    unknown (in reply to RCPT TO command)",
            "<b@y.test>:",
            "Remote host said: 451 later",
            "",
            "  <not@an.entry>: deeper indent",
        ];
        let f = angle_paragraphs(&lines);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].address, "orig@y.test");
        assert_eq!(
            f[0].diagnostic.as_deref(),
            Some("host x said: 550 unknown (in reply to RCPT TO command)")
        );
        assert_eq!(
            server_words(f[0].diagnostic.as_deref().unwrap()),
            "550 unknown"
        );
        assert_eq!(f[1].address, "b@y.test");
    }

    #[test]
    fn indented_entries_stop_at_unindented_text() {
        let lines = [
            "The following address(es) failed:",
            "",
            "  a@x.test",
            "    host mx [1.2.3.4]",
            "    550 5.1.1 unknown",
            "  b@y.test (mailbox full)",
            "",
            "After: c@z.test",
        ];
        let f = indented_entries(&lines, 1);
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].diagnostic.as_deref(),
            Some("host mx [1.2.3.4] 550 5.1.1 unknown")
        );
        assert_eq!(f[1].address, "b@y.test");
        assert_eq!(f[1].diagnostic.as_deref(), Some("mailbox full"));
    }

    #[test]
    fn merge_fills_or_replaces_words() {
        let mut a = vec![Found::new("a@x.test".into(), None)];
        merge(
            &mut a,
            vec![Found::new("a@x.test".into(), Some("w1"))],
            false,
        );
        merge(
            &mut a,
            vec![Found::new("a@x.test".into(), Some("w2"))],
            false,
        );
        assert_eq!(a[0].diagnostic.as_deref(), Some("w1"));
        merge(
            &mut a,
            vec![Found::new("a@x.test".into(), Some("w3"))],
            true,
        );
        merge(&mut a, vec![Found::new("b@x.test".into(), None)], true);
        assert_eq!(a[0].diagnostic.as_deref(), Some("w3"));
        assert_eq!(a.len(), 2);
    }
}
