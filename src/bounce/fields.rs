//! Blocks of `Name: value` fields as reports write them: the groups of a
//! message/delivery-status part (RFC 3464), the fields of a message/feedback-report
//! part (RFC 5965) and the header block of a returned message. Lenient: lines that are
//! not fields are skipped, folded values are unfolded, sizes are capped.

/// At most this many fields are kept from one text.
const MAX_FIELDS: usize = 4096;
/// A value grows no longer than this many bytes.
const MAX_VALUE: usize = 4096;

/// One group of fields, names lowercased, values unfolded and trimmed, in order.
#[derive(Debug, Default)]
pub(super) struct Group {
    fields: Vec<(String, String)>,
}

impl Group {
    /// The first value of field `name` (lowercase).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of field `name` (lowercase), in order.
    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the group has field `name` (lowercase).
    pub(super) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the group has no field.
    pub(super) fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Add the fields of `other` after these.
    pub(super) fn extend(&mut self, other: Group) {
        self.fields.extend(other.fields);
    }

    /// The group split before each field of `repeats` that the part before already has:
    /// `["original-recipient", "final-recipient"]` splits recipients a report ran
    /// together without blank lines, whichever of the two it writes first.
    pub(super) fn split_before(self, repeats: &[&str]) -> Vec<Group> {
        let mut out = Vec::new();
        let mut current = Group::default();
        for (name, value) in self.fields {
            if repeats.contains(&name.as_str()) && current.has(&name) {
                out.push(std::mem::take(&mut current));
            }
            current.fields.push((name, value));
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    fn push_continuation(&mut self, text: &str) {
        if let Some((_, value)) = self.fields.last_mut()
            && value.len() < MAX_VALUE
        {
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(super::cut(text.trim(), MAX_VALUE - value.len()));
        }
    }
}

/// The groups of `text`: runs of fields separated by blank lines.
pub(super) fn groups(text: &str) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut current = Group::default();
    let mut count = 0usize;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if !current.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            current.push_continuation(line);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            continue;
        }
        count += 1;
        if count > MAX_FIELDS {
            break;
        }
        current.fields.push((
            name.to_ascii_lowercase(),
            super::cut(value.trim(), MAX_VALUE).to_string(),
        ));
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// The header block at the start of `text` (up to its first blank line) as one group.
pub(super) fn header_block(text: &str) -> Group {
    let text = text.trim_start_matches(['\r', '\n']);
    groups(text).into_iter().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_split_on_blank_lines_and_unfold() {
        let text = "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b.test\r\n\
Diagnostic-Code: smtp; 550 5.1.1\r\n    user unknown\r\nnot a field\r\n\r\n\r\n\
Final-Recipient: rfc822; c@d.test\r\n";
        let g = groups(text);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].get("reporting-mta"), Some("dns; mx"));
        assert_eq!(
            g[1].get("diagnostic-code"),
            Some("smtp; 550 5.1.1 user unknown")
        );
        assert!(!g[1].has("not a field"));
        assert_eq!(g[2].get("final-recipient"), Some("rfc822; c@d.test"));
    }

    #[test]
    fn run_together_recipients_are_split() {
        let g = header_block(
            "Original-Recipient: rfc822;a@x.test\nFinal-Recipient: rfc822;a@x.test\nAction: failed\n\
Original-Recipient: rfc822;b@x.test\nFinal-Recipient: rfc822;b@x.test\nAction: failed\n\
Final-Recipient: rfc822;c@x.test\nOriginal-Recipient: rfc822;cc@x.test\nAction: delayed\n",
        );
        let parts = g.split_before(&["original-recipient", "final-recipient"]);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].get("original-recipient"), Some("rfc822;a@x.test"));
        assert_eq!(parts[0].get("final-recipient"), Some("rfc822;a@x.test"));
        assert_eq!(parts[1].get("original-recipient"), Some("rfc822;b@x.test"));
        assert_eq!(parts[1].get("final-recipient"), Some("rfc822;b@x.test"));
        assert_eq!(parts[2].get("original-recipient"), Some("rfc822;cc@x.test"));
        assert_eq!(parts[2].get("action"), Some("delayed"));
    }

    #[test]
    fn header_block_stops_at_the_body() {
        let g = header_block("\nReturn-Path: <a@b.test>\nSubject: x\n\nBody: not a header\n");
        assert_eq!(g.get("return-path"), Some("<a@b.test>"));
        assert!(!g.has("body"));
    }
}
