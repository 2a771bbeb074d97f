//! A small Atom 1.0 writer (RFC 4287) for the archive's feeds: every text XML-escaped,
//! times in RFC 3339.

/// The feed.
pub struct Feed<'a> {
    /// Its IRI, also its `alternate` link.
    pub id: &'a str,
    /// Its own URL (`rel="self"`).
    pub self_url: &'a str,
    /// The title.
    pub title: &'a str,
    /// Unix seconds of the newest entry (or now).
    pub updated: i64,
    /// Who publishes it.
    pub author: &'a str,
}

/// One entry.
pub struct Entry<'a> {
    /// The post page: its id and `alternate` link.
    pub url: &'a str,
    /// The subject.
    pub title: &'a str,
    /// Unix seconds received.
    pub updated: i64,
    /// The author's display name.
    pub author: &'a str,
    /// The start of the text.
    pub summary: &'a str,
}

/// Text for XML content and attribute values; characters XML 1.0 forbids are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// RFC 3339 in UTC.
pub fn time(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The feed's XML.
pub fn write(feed: &Feed<'_>, entries: &[Entry<'_>]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!(
        "<id>{}</id>\n<title>{}</title>\n<updated>{}</updated>\n<author><name>{}</name></author>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape(feed.id),
        escape(feed.title),
        time(feed.updated),
        escape(feed.author),
        escape(feed.id),
        escape(feed.self_url),
    ));
    for e in entries {
        out.push_str(&format!(
            "<entry>\n<id>{}</id>\n<title>{}</title>\n<updated>{}</updated>\n<author><name>{}</name></author>\n\
             <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<summary>{}</summary>\n</entry>\n",
            escape(e.url),
            escape(e.title),
            time(e.updated),
            escape(e.author),
            escape(e.url),
            escape(e.summary),
        ));
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b>&\"'\u{1}c"), "a&lt;b&gt;&amp;&quot;&apos;c");
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
    }
}
