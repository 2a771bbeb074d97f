//! `lists.toml`: the site, the mailboxes the poller reads, the outbound transport and the
//! lists. Everything about lists is data here, never code. `load` parses and validates;
//! every problem becomes a [`ConfigError`] pointing at file:line:column with a hint.

mod check;
mod load;

pub use check::{ConfigError, Severity};
pub use load::load;

use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// The whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Who the site is and where its state lives.
    pub site: Site,
    /// Caps that keep an open registration address from becoming a spam cannon.
    #[serde(default)]
    pub limits: Limits,
    /// What bounces do to membership.
    #[serde(default)]
    pub bounces: Bounces,
    /// How outgoing mail leaves the system.
    pub delivery: Delivery,
    /// DKIM signing of outgoing mail; unsigned when absent.
    #[serde(default)]
    pub dkim: Option<Dkim>,
    /// Authors' domains whose DMARC policy forbids others to send in their name.
    #[serde(default)]
    pub dmarc: Dmarc,
    /// The DNS servers asked for DMARC policies and DKIM keys.
    #[serde(default)]
    pub dns: Dns,
    /// The inboxes the poller reads: registration addresses, the no-reply address.
    #[serde(default, rename = "mailbox")]
    pub mailboxes: Vec<Mailbox>,
    /// The groups.
    #[serde(default, rename = "list")]
    pub lists: Vec<List>,
    /// Directory holding the file; relative paths in the file are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// What `load` found questionable without refusing the file (`nhomthu check` prints
    /// them; `nhomthu run` logs them).
    #[serde(skip)]
    pub warnings: Vec<ConfigError>,
}

/// `[site]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The mail domain the site speaks for, e.g. `moet.edu.vn`.
    pub domain: String,
    /// Human name of the organisation, used in mail text.
    pub name: String,
    /// The no-reply address confirmations come from ("Norply"); replies to it are read.
    pub noreply: Spanned<String>,
    /// Display name of the no-reply address. Default: "Norply".
    #[serde(default = "default_noreply_name")]
    pub noreply_name: String,
    /// Database URL. Default: `sqlite://var/nhomthu.db` (created on first run, WAL).
    #[serde(default = "default_database")]
    pub database: String,
    /// Public base URL of the site, shown in mail text.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Default language of the system's mail: "vi" or "en". Default: "vi".
    #[serde(default = "default_language")]
    pub language: Spanned<String>,
    /// Directory of mail templates. Default: `templates`.
    #[serde(default = "default_templates")]
    pub templates: Spanned<PathBuf>,
    /// Hours a confirmation token stays valid. Default: 168 (a week).
    #[serde(default = "default_token_ttl_hours")]
    pub token_ttl_hours: u32,
    /// Put the token in the Reply-To address as `norply+TOKEN@domain`, so a reply carries it
    /// even when the client strips everything else. Needs plus-addressing on the mailbox
    /// (Gmail, Google Workspace, Postfix with `recipient_delimiter = +`). Default: true.
    #[serde(default = "yes")]
    pub plus_address_tokens: bool,
    /// The authserv-ids of the receiving servers whose Authentication-Results headers are
    /// believed (RFC 8601), e.g. `["mx.google.com"]`, with `verify = "authserv"`. Results
    /// from any other id are ignored, so a sender cannot vouch for itself. Default: none
    /// (every post to an announce list is then held for a moderator).
    #[serde(default)]
    pub authserv_ids: Vec<Spanned<String>>,
    /// Who vouches for a From address: `"authserv"` (the receiving server's
    /// Authentication-Results, from an `authserv_ids` server: hosted mail whose server is
    /// trusted) or `"self"` (nhomthu verifies DKIM itself, keys from `[dns]`, and ignores
    /// every Authentication-Results header). Default: authserv.
    #[serde(default)]
    pub verify: Verify,
    /// Address of the built-in HTTP endpoint for one-click unsubscribe (RFC 8058), e.g.
    /// `127.0.0.1:8025`, behind the web server that serves `base_url`. With it and a
    /// `base_url`, list mail carries an https unsubscribe link and
    /// `List-Unsubscribe-Post`. Default: none (mailto only).
    #[serde(default)]
    pub listen: Option<std::net::SocketAddr>,
}

/// Who vouches for the From address of a post or a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verify {
    /// The receiving server's `Authentication-Results`, when its authserv-id is trusted.
    #[default]
    Authserv,
    /// nhomthu's own DKIM verification, aligned with the From domain (DMARC's DKIM path).
    #[serde(rename = "self")]
    Itself,
}

/// `[dns]`: the resolver for DMARC policies and DKIM keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// Nameservers as `ip:port`, asked over UDP and TCP, e.g. `["127.0.0.1:53"]`.
    /// Default: those of the system (`/etc/resolv.conf`).
    #[serde(default)]
    pub servers: Vec<std::net::SocketAddr>,
    /// Seconds one lookup may take in all before it counts as failed. Default: 5.
    #[serde(default = "default_dns_timeout_seconds")]
    pub timeout_seconds: Spanned<u64>,
}

impl Default for Dns {
    fn default() -> Self {
        Dns {
            servers: Vec::new(),
            timeout_seconds: default_dns_timeout_seconds(),
        }
    }
}

/// `[dkim]`: the site's signing key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    /// The signing domain (`d=`), normally the site's domain.
    pub domain: String,
    /// The selector (`s=`): the key is published at `SELECTOR._domainkey.DOMAIN`.
    pub selector: String,
    /// PEM file of the private key (RSA PKCS#1/PKCS#8 or Ed25519 PKCS#8).
    pub private_key: Spanned<PathBuf>,
}

/// `[dmarc]`: the From rewrite of list copies follows the author domain's published DMARC
/// policy (looked up through `[dns]`); these domains are rewritten whatever DNS says.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dmarc {
    /// Domains (and their subdomains) whose authors' posts always go out
    /// `From: "Author qua List" <list address>` with `Reply-To` the author, even when DNS
    /// shows no strict policy. Default: none.
    #[serde(default)]
    pub strict: Vec<String>,
}

/// `[limits]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Automatic answers (confirmations, notices) one address may receive in 24 hours.
    /// Default: 5.
    #[serde(default = "default_per_address_per_day")]
    pub answers_per_address_per_day: u32,
    /// Automatic answers the whole site may send in one hour. Default: 2000.
    #[serde(default = "default_per_hour")]
    pub answers_per_hour: u32,
    /// Automatic answers the addresses of one domain (the part after `@`) may receive in
    /// one hour, so forged requests cannot flood one organisation or burn the site's
    /// reputation at one provider. Raise it before inviting a whole provider's users at
    /// once. Default: 200.
    #[serde(default = "default_per_domain_per_hour")]
    pub answers_per_domain_per_hour: u32,
    /// Largest inbound message accepted, in bytes; larger ones are quarantined.
    /// Default: 25 MiB.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            answers_per_address_per_day: default_per_address_per_day(),
            answers_per_hour: default_per_hour(),
            answers_per_domain_per_hour: default_per_domain_per_hour(),
            max_message_bytes: default_max_message_bytes(),
        }
    }
}

/// `[bounces]`: a score per member per list. Each bounce adds its weight to the score,
/// which halves every `half_life_days`, and counts at most once a day (a harder bounce on
/// the same day adds the difference). At `threshold` delivery is disabled and the member
/// is sent a notice (reply to resume); `notices` are sent `notice_interval_days` apart,
/// and a member still disabled `remove_after_days` after disabling is removed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounces {
    /// Weight of a permanent failure (5.x.x). Default: 1.
    #[serde(default = "one")]
    pub hard_weight: Spanned<f64>,
    /// Weight of a temporary failure reported as final (4.x.x, over quota). Default: 0.5.
    #[serde(default = "half")]
    pub soft_weight: Spanned<f64>,
    /// Days for a score to halve. Default: 7.
    #[serde(default = "seven")]
    pub half_life_days: Spanned<f64>,
    /// Score at which delivery to the member is disabled. Default: 3.
    #[serde(default = "three")]
    pub threshold: Spanned<f64>,
    /// Notices sent to a disabled member, the first when it is disabled. Default: 3.
    #[serde(default = "three_notices")]
    pub notices: u32,
    /// Days between notices. Default: 7.
    #[serde(default = "seven")]
    pub notice_interval_days: Spanned<f64>,
    /// Days after disabling at which a member who has not resumed is removed. Default: 21.
    #[serde(default = "twenty_one")]
    pub remove_after_days: Spanned<f64>,
}

impl Default for Bounces {
    fn default() -> Self {
        Bounces {
            hard_weight: one(),
            soft_weight: half(),
            half_life_days: seven(),
            threshold: three(),
            notices: three_notices(),
            notice_interval_days: seven(),
            remove_after_days: twenty_one(),
        }
    }
}

fn tenth() -> Spanned<f64> {
    Spanned::new(0..0, 0.1)
}
fn one() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}
fn half() -> Spanned<f64> {
    Spanned::new(0..0, 0.5)
}
fn three() -> Spanned<f64> {
    Spanned::new(0..0, 3.0)
}
fn seven() -> Spanned<f64> {
    Spanned::new(0..0, 7.0)
}
fn twenty_one() -> Spanned<f64> {
    Spanned::new(0..0, 21.0)
}
fn three_notices() -> u32 {
    3
}

/// `[delivery]`: the outbound transport.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// `file` (write `.eml` files into `outbox`: the embedded default) or `smtp` (send
    /// through the relays of `[[delivery.relay]]`). Default: file.
    #[serde(default = "default_transport")]
    pub transport: Spanned<TransportKind>,
    /// The outbox directory of the file transport. Default: `var/outbox`.
    #[serde(default = "default_outbox")]
    pub outbox: PathBuf,
    /// The relays of the smtp transport, `[[delivery.relay]]`: work is spread over them
    /// within each one's rate and quota.
    #[serde(default, rename = "relay")]
    pub relays: Vec<Relay>,
    /// How list posts are sent. Default: personalised.
    #[serde(default)]
    pub mode: Mode,
    /// In batch mode, recipients at these mailbox providers still get personalised copies:
    /// Gmail, Yahoo and Outlook.com require bulk mail to carry the recipient's own one-click
    /// unsubscribe (RFC 8058), which a copy for many recipients cannot. A domain matches
    /// itself and its subdomains. Default: Gmail, Yahoo (with yahoo.com.vn), Outlook,
    /// Hotmail, Live, MSN, iCloud and AOL.
    #[serde(default = "default_personal_domains")]
    pub personal_domains: Vec<String>,
    /// Hours a deferred recipient is retried before it is marked failed. Default: 120.
    #[serde(default = "default_lifetime_hours")]
    pub lifetime_hours: u64,
    /// Attempts before a message is marked failed. Default: 8.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// First retry delay in seconds; doubles with each attempt. Default: 60.
    #[serde(default = "default_retry_seconds")]
    pub retry_seconds: u64,
    /// The share of each relay's `rate_per_second` and `daily_quota` that posts may not
    /// use: it is kept for the system's answers (confirmations, welcomes, notices), so
    /// that they leave within seconds during a fan-out and after one has spent the rest of
    /// the day's quota. From 0 up to, not including, 1. Default: 0.1.
    #[serde(default = "tenth")]
    pub answers_share: Spanned<f64>,
}

/// Which outbound transport is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// `.eml` files in a directory.
    File,
    /// The SMTP relays of `[[delivery.relay]]`.
    Smtp,
}

/// How list posts are sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One message per recipient, each with its own unsubscribe link and a VERP return
    /// path naming the member, so a bounce says who bounced.
    #[default]
    Personalised,
    /// Many recipients per SMTP transaction (up to the relay's `max_recipients`), one
    /// copy of the message: far fewer bytes, no per-recipient headers.
    Batch,
}

/// An SMTP relay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relay {
    /// Name used in logs and `nhomthu posts show`. Default: the host.
    #[serde(default)]
    pub name: Option<String>,
    /// Relay host name.
    pub host: String,
    /// Relay port. Default: 587.
    #[serde(default = "default_submission_port")]
    pub port: u16,
    /// TLS mode. Default: starttls.
    #[serde(default = "default_starttls")]
    pub tls: Tls,
    /// Login name; no authentication when absent.
    #[serde(default)]
    pub user: Option<String>,
    /// Name of the environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<Spanned<String>>,
    /// PEM file of extra trusted CA certificates (a private relay); the public roots are
    /// always trusted.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// SMTP connections kept open at once. Default: 4.
    #[serde(default = "default_connections")]
    pub connections: u32,
    /// Messages per second this relay accepts. Default: no limit.
    #[serde(default)]
    pub rate_per_second: Option<f64>,
    /// Messages per day (a rolling 24 hours) this relay accepts. Default: no limit.
    #[serde(default)]
    pub daily_quota: Option<u64>,
    /// Recipients per message (RCPT TO per transaction) in batch mode. Default: 100.
    #[serde(default = "default_max_recipients")]
    pub max_recipients: u32,
}

impl Delivery {
    /// Whether a copy to `address` is personalised in batch mode.
    pub fn personal_domain(&self, address: &str) -> bool {
        let Some((_, domain)) = address.rsplit_once('@') else {
            return false;
        };
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.personal_domains.iter().any(|d| {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            domain == d
                || domain
                    .strip_suffix(d.as_str())
                    .is_some_and(|p| p.ends_with('.'))
        })
    }
}

impl Relay {
    /// The relay's name.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.host)
    }
}

/// TLS on a mail connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS (IMAP 143, submission 587).
    Starttls,
    /// No TLS at all: only for loopback test servers.
    None,
}

/// `[[mailbox]]`: one inbox the poller reads: either `maildir = PATH` or an
/// `[mailbox.imap]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    /// Short name used in logs and the database (the idempotence key includes it).
    pub name: Spanned<String>,
    /// The addresses whose mail lands in this inbox: exact addresses, or `*@domain` for a
    /// whole domain. Tells which registration address a message was sent to.
    pub addresses: Vec<Spanned<String>>,
    /// A local Maildir (the embedded default), created if missing: processed mail moves to
    /// `cur/`, quarantined mail to the `.Quarantine` folder.
    #[serde(default)]
    pub maildir: Option<PathBuf>,
    /// An IMAP account (Google Workspace, Gmail, Dovecot, …).
    #[serde(default)]
    pub imap: Option<Imap>,
}

/// An IMAP account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imap {
    /// Server host name.
    pub host: String,
    /// Server port. Default: 993.
    #[serde(default = "default_imaps_port")]
    pub port: u16,
    /// TLS mode. Default: implicit.
    #[serde(default = "default_implicit")]
    pub tls: Tls,
    /// Login name.
    pub user: String,
    /// Name of the environment variable holding the password (an app password on Gmail).
    pub password_env: Spanned<String>,
    /// Folder to read. Default: INBOX.
    #[serde(default = "default_inbox")]
    pub folder: String,
    /// What to do with a processed message. Default: move.
    #[serde(default = "default_processed")]
    pub processed: Processed,
    /// Folder processed mail is moved to when `processed = "move"`. Default: Processed.
    #[serde(default = "default_processed_folder")]
    pub processed_folder: String,
    /// Folder quarantined mail is moved to. Default: Quarantine.
    #[serde(default = "default_quarantine_folder")]
    pub quarantine_folder: String,
    /// Seconds between polls when the server lacks IDLE, and the longest IDLE before it is
    /// renewed. Default: 60.
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: u64,
    /// PEM file of extra trusted CA certificates (a private server).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// What happens to a processed message on the IMAP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Processed {
    /// Move it to `processed_folder` (safe even when people also read the inbox).
    Move,
    /// Flag it \Seen and leave it (only for inboxes nobody else reads).
    Seen,
    /// Delete it.
    Delete,
}

/// `[[list]]`: one group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    /// Short identifier used on the command line and in the database, e.g. `thpt`.
    pub id: Spanned<String>,
    /// The group alias members receive from, e.g. `thpt@moet.edu.vn`.
    pub address: Spanned<String>,
    /// Display name, e.g. "Trường THPT".
    pub name: String,
    /// Who the group is for, shown in confirmation mail.
    #[serde(default)]
    pub audience: String,
    /// Registration addresses: mail to one of them asks to join.
    #[serde(default)]
    pub registration: Vec<Spanned<String>>,
    /// How the group works. Default: announce.
    #[serde(default = "default_kind")]
    pub kind: ListKind,
    /// Members of a managed list, kept in sync with the database at start.
    #[serde(default)]
    pub members: Vec<Spanned<String>>,
    /// Language of this list's system mail; default: the site's.
    #[serde(default)]
    pub language: Option<Spanned<String>>,
    /// Who may post to an announce or managed list: addresses or `*@domain` patterns (in
    /// the documents, only the clerk account of a unit issues official documents).
    #[serde(default)]
    pub posters: Vec<Spanned<String>>,
    /// Who approves or rejects held posts, by replying to the notice.
    #[serde(default)]
    pub moderators: Vec<Spanned<String>>,
    /// Ids of lists whose members also receive this list's posts (an umbrella list).
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    /// Put before the subject of posts, e.g. "[THPT]". Default: none.
    #[serde(default)]
    pub subject_prefix: Option<String>,
    /// Text added to every post as its own MIME part. Default: none.
    #[serde(default)]
    pub footer: Option<String>,
    /// Hold the first post of each member of a discussion list for a moderator.
    /// Default: true.
    #[serde(default = "yes")]
    pub moderate_first_posts: bool,
    /// Who may read the list's archive on the web (`/archive/LIST`): `"public"`,
    /// `"members"` (through a member's signed link) or `"off"`. Default: public for
    /// announce lists, members for discussion lists, off for managed lists.
    #[serde(default)]
    pub archive: Option<Archive>,
}

/// Who may read a list's archive of posts on the web.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Archive {
    /// Anyone.
    Public,
    /// Confirmed members, through a link signed for them.
    Members,
    /// Nobody: the archive pages answer 404.
    Off,
}

/// How a group works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    /// Only authorised senders post; anyone may register.
    Announce,
    /// Members post and discuss; anyone may register.
    Discussion,
    /// Members come from `lists.toml` only; nobody registers by mail.
    Managed,
}

impl ListKind {
    /// The name used in `lists.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Announce => "announce",
            ListKind::Discussion => "discussion",
            ListKind::Managed => "managed",
        }
    }
}

impl Config {
    /// The list with this id.
    pub fn list(&self, id: &str) -> Option<&List> {
        self.lists.iter().find(|l| l.id.get_ref() == id)
    }

    /// The lists whose members receive a post to `lists`: those lists and, through
    /// `include`, every list they take in, each once.
    pub fn expand(&self, lists: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut stack: Vec<&str> = lists.iter().map(String::as_str).collect();
        while let Some(id) = stack.pop() {
            if out.iter().any(|o| o == id) {
                continue;
            }
            if let Some(list) = self.list(id) {
                out.push(id.to_string());
                stack.extend(list.include.iter().map(|i| i.get_ref().as_str()));
            }
        }
        out
    }

    /// Resolve a path from the file against the file's directory.
    pub fn path(&self, p: &std::path::Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The template directory, resolved.
    pub fn templates_dir(&self) -> PathBuf {
        self.path(self.site.templates.get_ref())
    }

    /// The database URL, with a relative SQLite path resolved against the file's directory.
    pub fn database_url(&self) -> String {
        let url = &self.site.database;
        match url.strip_prefix("sqlite://") {
            Some(rest) if !rest.starts_with('/') && !rest.starts_with(":memory:") => {
                format!("sqlite://{}", self.base_dir.join(rest).display())
            }
            _ => url.clone(),
        }
    }

    /// Every address the system itself sends from or answers at: never answered.
    pub fn own_addresses(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.site.noreply.get_ref().as_str()).chain(self.lists.iter().flat_map(
            |l| {
                std::iter::once(l.address.get_ref().as_str())
                    .chain(l.registration.iter().map(|r| r.get_ref().as_str()))
            },
        ))
    }
}

impl List {
    /// The list id.
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    /// Who may read the list's archive, with the default of its kind.
    pub fn archive(&self) -> Archive {
        self.archive.unwrap_or(match self.kind {
            ListKind::Announce => Archive::Public,
            ListKind::Discussion => Archive::Members,
            ListKind::Managed => Archive::Off,
        })
    }

    /// The list's language, falling back to the site's.
    pub fn language<'a>(&'a self, site: &'a Site) -> &'a str {
        self.language.as_ref().unwrap_or(&site.language).get_ref()
    }
}

impl Mailbox {
    /// The mailbox name.
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    /// Whether mail to `address` (normalised) lands in this inbox.
    pub fn reads(&self, address: &str) -> bool {
        self.addresses.iter().any(|a| {
            let a = a.get_ref().to_lowercase();
            match a.strip_prefix("*@") {
                Some(domain) => address
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain)),
                None => crate::address::same(&a, address),
            }
        })
    }
}

fn default_noreply_name() -> String {
    "Norply".into()
}
fn default_database() -> String {
    "sqlite://var/nhomthu.db".into()
}
fn default_language() -> Spanned<String> {
    Spanned::new(0..0, "vi".into())
}
fn default_templates() -> Spanned<PathBuf> {
    Spanned::new(0..0, "templates".into())
}
fn default_token_ttl_hours() -> u32 {
    168
}
fn yes() -> bool {
    true
}
fn default_per_address_per_day() -> u32 {
    5
}
fn default_per_hour() -> u32 {
    2000
}
fn default_per_domain_per_hour() -> u32 {
    200
}
fn default_dns_timeout_seconds() -> Spanned<u64> {
    Spanned::new(0..0, 5)
}
fn default_max_message_bytes() -> usize {
    25 * 1024 * 1024
}
fn default_max_attempts() -> u32 {
    8
}
fn default_retry_seconds() -> u64 {
    60
}
fn default_transport() -> Spanned<TransportKind> {
    Spanned::new(0..0, TransportKind::File)
}
fn default_lifetime_hours() -> u64 {
    120
}
fn default_personal_domains() -> Vec<String> {
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.com.vn",
        "ymail.com",
        "rocketmail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
    ]
    .map(String::from)
    .to_vec()
}
fn default_max_recipients() -> u32 {
    100
}
fn default_outbox() -> PathBuf {
    "var/outbox".into()
}
fn default_submission_port() -> u16 {
    587
}
fn default_starttls() -> Tls {
    Tls::Starttls
}
fn default_connections() -> u32 {
    4
}
fn default_imaps_port() -> u16 {
    993
}
fn default_implicit() -> Tls {
    Tls::Implicit
}
fn default_inbox() -> String {
    "INBOX".into()
}
fn default_processed() -> Processed {
    Processed::Move
}
fn default_processed_folder() -> String {
    "Processed".into()
}
fn default_quarantine_folder() -> String {
    "Quarantine".into()
}
fn default_poll_seconds() -> u64 {
    60
}
fn default_kind() -> ListKind {
    ListKind::Announce
}
