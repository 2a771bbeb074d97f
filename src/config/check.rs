//! Checks that TOML alone cannot express: unique ids and addresses, every registration
//! address read by some mailbox, passwords present in the environment, kinds that fit.
//! Errors keep the file from loading; warnings (a trust that anyone can forge, bulk mail
//! without one-click unsubscribe) are kept in `Config::warnings` and printed by
//! `nhomthu check`.

use super::{Config, ListKind, TransportKind, Verify};
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One problem in the configuration, located in its file: an error, or a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// An error (the file does not load) or a warning (it loads; the hint says why not
    /// to leave it so).
    pub severity: Severity,
    /// The file.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl ConfigError {
    pub(super) fn at(
        file: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        ConfigError {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub(super) fn whole_file(
        file: &Path,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        ConfigError {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// How serious a [`ConfigError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The configuration does not load.
    Error,
    /// The configuration loads, but is probably not what the operator wants.
    Warning,
}

impl ConfigError {
    fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line == 0 {
            write!(f, "{}: {severity}: {}", self.file.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {severity}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )?;
        }
        write!(f, "\n  hint: {}", self.hint)
    }
}

struct Checker<'a> {
    text: &'a str,
    file: &'a Path,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String, hint: &str) {
        self.errors
            .push(ConfigError::at(self.file, self.text, span, message, hint));
    }

    fn pattern(&mut self, s: &Spanned<String>) {
        let pattern = s.get_ref();
        let ok = match pattern.strip_prefix("*@") {
            Some(domain) => !domain.is_empty() && !domain.contains('@'),
            None => pattern.parse::<lettre::Address>().is_ok(),
        };
        if !ok {
            self.error(
                s.span(),
                format!("{pattern:?} is neither an address nor a `*@domain` pattern"),
                "write local-part@domain or *@domain",
            );
        }
    }

    fn address(&mut self, s: &Spanned<String>, what: &str) {
        if s.get_ref().parse::<lettre::Address>().is_err() {
            self.error(
                s.span(),
                format!("{what} {:?} is not an email address", s.get_ref()),
                "write it as local-part@domain, without a display name",
            );
        }
    }
}

/// Every semantic problem in an already parsed configuration.
pub(super) fn validate(config: &Config, text: &str, file: &Path) -> Vec<ConfigError> {
    let mut c = Checker {
        text,
        file,
        errors: Vec::new(),
    };
    let site = &config.site;
    c.address(&site.noreply, "the no-reply address");
    for lang in std::iter::once(&site.language)
        .chain(config.lists.iter().filter_map(|l| l.language.as_ref()))
    {
        if !matches!(lang.get_ref().as_str(), "vi" | "en") {
            c.error(
                lang.span(),
                format!("unknown language {:?}", lang.get_ref()),
                "templates ship for \"vi\" (Vietnamese) and \"en\" (English)",
            );
        }
    }

    // Each address has exactly one role: no-reply, a list alias, or one registration address.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut claim = |c: &mut Checker, s: &Spanned<String>, role: String| {
        let key = s.get_ref().to_lowercase();
        if let Some(first) = seen.get(&key) {
            c.error(
                s.span(),
                format!(
                    "address {:?} is used twice: {first} and {role}",
                    s.get_ref()
                ),
                "every alias, registration and no-reply address must be distinct",
            );
        } else {
            seen.insert(key, role);
        }
    };
    claim(&mut c, &site.noreply, "the no-reply address".into());

    let mut ids: HashMap<&str, ()> = HashMap::new();
    for list in &config.lists {
        let id = list.id.get_ref();
        let valid_id = !id.is_empty()
            && id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_');
        if !valid_id {
            c.error(
                list.id.span(),
                format!("list id {id:?} is not a short lowercase name"),
                "use lowercase letters, digits, '-' and '_', e.g. \"thpt\"",
            );
        }
        if ids.insert(id, ()).is_some() {
            c.error(
                list.id.span(),
                format!("duplicate list id {id:?}"),
                "each [[list]] needs its own id",
            );
        }
        c.address(&list.address, "the list address");
        claim(&mut c, &list.address, format!("the address of list {id:?}"));
        for r in &list.registration {
            c.address(r, "the registration address");
            claim(&mut c, r, format!("a registration address of list {id:?}"));
            if !config.mailboxes.iter().any(|m| m.reads(r.get_ref())) {
                c.error(
                    r.span(),
                    format!(
                        "no mailbox reads the registration address {:?}",
                        r.get_ref()
                    ),
                    "add it to the `addresses` of a [[mailbox]], or a `*@domain` pattern",
                );
            }
        }
        match list.kind {
            ListKind::Managed => {
                if let Some(r) = list.registration.first() {
                    c.error(
                        r.span(),
                        format!("managed list {id:?} has a registration address"),
                        "members of a managed list come from `members = [...]` only: remove `registration`, or make the list kind = \"announce\"",
                    );
                }
            }
            ListKind::Announce | ListKind::Discussion => {
                if let Some(m) = list.members.first() {
                    c.error(
                        m.span(),
                        format!("list {id:?} is not managed but lists members"),
                        "`members` is for kind = \"managed\"; others join by mail or `nhomthu members add`",
                    );
                }
            }
        }
        for m in &list.members {
            c.address(m, "the member address");
        }
        for p in &list.posters {
            c.pattern(p);
        }
        for m in &list.moderators {
            c.address(m, "the moderator address");
        }
        for inc in &list.include {
            if config.list(inc.get_ref()).is_none() {
                c.error(
                    inc.span(),
                    format!(
                        "list {id:?} includes {:?}, which is not a list",
                        inc.get_ref()
                    ),
                    "name the id of another [[list]]",
                );
            } else if reaches(config, inc.get_ref(), id) {
                c.error(
                    inc.span(),
                    format!(
                        "list {id:?} includes {:?}, which includes {id:?} again",
                        inc.get_ref()
                    ),
                    "umbrella lists must not include each other in a circle",
                );
            }
        }
    }
    let has_registration = config.lists.iter().any(|l| !l.registration.is_empty());
    if has_registration
        && !config
            .mailboxes
            .iter()
            .any(|m| m.reads(site.noreply.get_ref()))
    {
        c.error(
            site.noreply.span(),
            format!(
                "no mailbox reads the no-reply address {:?}",
                site.noreply.get_ref()
            ),
            "replies to confirmations go there: add it to the `addresses` of a [[mailbox]]",
        );
    }

    let mut names: HashMap<&str, ()> = HashMap::new();
    for m in &config.mailboxes {
        if names.insert(m.name(), ()).is_some() {
            c.error(
                m.name.span(),
                format!("duplicate mailbox name {:?}", m.name()),
                "each [[mailbox]] needs its own name",
            );
        }
        for a in &m.addresses {
            c.pattern(a);
        }
        match (&m.maildir, &m.imap) {
            (Some(_), Some(_)) | (None, None) => c.error(
                m.name.span(),
                format!("mailbox {:?} needs exactly one source", m.name()),
                "give either `maildir = \"PATH\"` or an [mailbox.imap] table",
            ),
            (None, Some(imap)) => check_env(&mut c, &imap.password_env),
            (Some(_), None) => {}
        }
    }

    if site.listen.is_some()
        && !site
            .base_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    {
        c.errors.push(ConfigError::whole_file(
            file,
            "`listen` is set but `base_url` is not an https:// URL",
            "one-click unsubscribe links must be https (RFC 8058): set base_url to the public https address that forwards /u/ to `listen`",
        ));
    }

    let delivery = &config.delivery;
    if *delivery.transport.get_ref() == TransportKind::Smtp {
        if delivery.relays.is_empty() {
            c.error(
                delivery.transport.span(),
                "transport = \"smtp\" but there is no [[delivery.relay]]".into(),
                "add a [[delivery.relay]] with host, port, tls, user and password_env",
            );
        }
        for relay in &delivery.relays {
            if let Some(env) = &relay.password_env {
                check_env(&mut c, env);
            }
        }
    }

    let share = &delivery.answers_share;
    let v = *share.get_ref();
    if !(0.0..1.0).contains(&v) {
        c.error(
            share.span(),
            format!("answers_share = {v} is not a share from 0 up to, not including, 1"),
            "write the share of each relay's rate and daily quota kept for answers, e.g. 0.1 (posts then use 90%)",
        );
    }

    check_bounces(&mut c, &config.bounces);

    let timeout = &config.dns.timeout_seconds;
    if *timeout.get_ref() == 0 {
        c.error(
            timeout.span(),
            "[dns] timeout_seconds = 0 would fail every lookup".into(),
            "write a number of seconds, e.g. 5",
        );
    }

    let templates = config.templates_dir();
    if !templates.is_dir() {
        let message = format!("template directory {} does not exist", templates.display());
        let hint = "set [site] templates to the directory holding vi/ and en/";
        let span = site.templates.span();
        if span.is_empty() {
            // The default, written nowhere in the file.
            c.errors.push(ConfigError::whole_file(file, message, hint));
        } else {
            c.error(span, message, hint);
        }
    }
    c.errors
}

/// Mail hosts whose receiving servers write trustworthy Authentication-Results: they
/// verify every message and replace what the sender wrote (Google, Microsoft, Yahoo, Zoho,
/// Fastmail, iCloud). An IMAP mailbox elsewhere is taken as self-hosted.
const HOSTED_IMAP: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "office365.com",
    "outlook.com",
    "yahoo.com",
    "zoho.com",
    "fastmail.com",
    "me.com",
];

/// What loads but is probably not meant: a trust anyone can forge, bulk mail without
/// one-click unsubscribe.
pub(super) fn warnings(config: &Config, text: &str, file: &Path) -> Vec<ConfigError> {
    let mut out = Vec::new();
    let site = &config.site;
    let hosted = |host: &str| {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        HOSTED_IMAP
            .iter()
            .any(|h| host == *h || host.strip_suffix(h).is_some_and(|rest| rest.ends_with('.')))
    };
    let maildir = config.mailboxes.iter().any(|m| m.maildir.is_some());
    let hosted_imap = config
        .mailboxes
        .iter()
        .filter_map(|m| m.imap.as_ref())
        .any(|imap| hosted(&imap.host));
    if site.verify == Verify::Authserv
        && let Some(id) = site.authserv_ids.first()
        && (maildir || !hosted_imap)
    {
        let source = if maildir {
            "a Maildir mailbox"
        } else {
            "no IMAP mailbox at a hosted provider"
        };
        out.push(
            ConfigError::at(
                file,
                text,
                id.span(),
                format!(
                    "authserv_ids trusts {:?} on a self-hosted site ({source}): anyone can write `Authentication-Results: {}; dmarc=pass` into a message",
                    id.get_ref(),
                    id.get_ref()
                ),
                "set [site] verify = \"self\" (nhomthu checks DKIM itself through [dns]), or make the MTA strip incoming Authentication-Results (Postfix: `header_checks = pcre:/etc/postfix/header_checks` holding `/^Authentication-Results:/ IGNORE`; headers added by milters are not subject to it) and run OpenDMARC",
            )
            .warning(),
        );
    }

    let delivery = &config.delivery;
    let one_click = site.listen.is_some()
        && site
            .base_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
    if *delivery.transport.get_ref() == TransportKind::Smtp && !one_click {
        let message = "posts go out over SMTP without one-click unsubscribe: Gmail and Yahoo require RFC 8058 (List-Unsubscribe-Post) of bulk senders and may refuse or junk the copies";
        let hint = "set [site] listen (the address of nhomthu's unsubscribe endpoint) and an https:// base_url whose web server forwards /u/ to it";
        let span = delivery.transport.span();
        let warning = if span.is_empty() {
            ConfigError::whole_file(file, message, hint)
        } else {
            ConfigError::at(file, text, span, message, hint)
        };
        out.push(warning.warning());
    }
    out
}

fn check_bounces(c: &mut Checker, b: &crate::config::Bounces) {
    for (name, value) in [
        ("hard_weight", &b.hard_weight),
        ("soft_weight", &b.soft_weight),
        ("half_life_days", &b.half_life_days),
        ("notice_interval_days", &b.notice_interval_days),
        ("remove_after_days", &b.remove_after_days),
    ] {
        let v = *value.get_ref();
        if !v.is_finite() || v < 0.0 {
            c.error(
                value.span(),
                format!("{name} = {v} is not a number of zero or more"),
                "write a non-negative number",
            );
        }
    }
    let t = *b.threshold.get_ref();
    if !t.is_finite() || t <= 0.0 {
        c.error(
            b.threshold.span(),
            format!("threshold = {t} would disable members who never bounced"),
            "write a positive score, e.g. 3 (three hard bounces on three days)",
        );
    }
}

/// Whether list `from` includes list `to`, directly or through other lists.
fn reaches(config: &Config, from: &str, to: &str) -> bool {
    let mut stack = vec![from];
    let mut seen = Vec::new();
    while let Some(id) = stack.pop() {
        if id == to {
            return true;
        }
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        if let Some(list) = config.list(id) {
            stack.extend(list.include.iter().map(|i| i.get_ref().as_str()));
        }
    }
    false
}

fn check_env(c: &mut Checker, var: &Spanned<String>) {
    if std::env::var_os(var.get_ref()).is_none() {
        c.error(
            var.span(),
            format!("environment variable {} is not set", var.get_ref()),
            "export the password in that variable before starting nhomthu (an app password for Gmail)",
        );
    }
}
