//! The command line: `run`, `check`, `lists`, `members`, `audit`, `quarantine`, `inspect`.

use crate::classify;
use crate::config::{self, Config, Verify};
use crate::dns::Resolver;
use crate::message::Inbound;
use crate::pipeline::Runtime;
use crate::store::members::{self, Change, Status};
use crate::store::{Store, audit, inbound};
use crate::templates::Templates;
use crate::{address, compose, daemon, shutdown};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Print a line to stdout; a closed pipe (`| head`) ends the command quietly.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod posts;

/// nhomthu: mailing lists with registration by email.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "lists.toml",
        env = "NHOMTHU_CONFIG"
    )]
    pub config: PathBuf,
    /// Log as JSON lines instead of readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Poll the mailboxes and deliver mail until SIGTERM.
    Run {
        /// Process everything waiting in every mailbox, deliver what is due, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Validate the configuration file.
    Check,
    /// Show the lists with their member counts.
    Lists {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show or change members (operator actions, audited, no confirmation).
    #[command(subcommand)]
    Members(MembersCommand),
    /// Show the membership changes of a list.
    Audit {
        /// List id.
        list: String,
        /// Only this address.
        address: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show quarantined messages with their reasons.
    Quarantine {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show posts with their delivery summary.
    #[command(subcommand)]
    Posts(posts::PostsCommand),
    /// Show, approve or reject held posts (operator actions).
    #[command(subcommand)]
    Held(posts::HeldCommand),
    /// Explain how a raw message would be classified, acting on nothing.
    Inspect {
        /// The .eml file.
        file: PathBuf,
        /// Classify as read from this mailbox (default: the one that reads its recipient).
        #[arg(long)]
        mailbox: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `members …`.
#[derive(Subcommand)]
pub enum MembersCommand {
    /// List the members of a list.
    List {
        /// List id.
        list: String,
        /// Only members with this status: pending, confirmed, unsubscribed, disabled.
        #[arg(long)]
        status: Option<String>,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// One member: status, bounce score, every bounce or complaint, every change.
    Show {
        /// List id.
        list: String,
        /// The address.
        address: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a confirmed member.
    Add {
        /// List id.
        list: String,
        /// The address.
        address: String,
    },
    /// Remove a member (status unsubscribed).
    Remove {
        /// List id.
        list: String,
        /// The address.
        address: String,
    },
    /// Add confirmed members from a file: one `address` or `address,name` per line (CSV
    /// saved from Excel works; lines without an address, such as a header, are skipped).
    Import {
        /// List id.
        list: String,
        /// The file.
        file: PathBuf,
    },
}

/// The resolver `[dns]` describes.
fn resolver(config: &Config) -> Result<Resolver> {
    Resolver::new(&config.dns).context("setting up DNS ([dns] in the configuration)")
}

fn load(path: &Path) -> Result<Config> {
    config::load(path).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        anyhow::anyhow!(
            "{} configuration error(s) in {}",
            errors.len(),
            path.display()
        )
    })
}

async fn open_store(config: &Config) -> Result<Store> {
    let url = config.database_url();
    Store::open(&url)
        .await
        .with_context(|| format!("opening the database {url}"))
}

/// Run a command.
pub async fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Check => {
            let config = load(&cli.config)?;
            for w in &config.warnings {
                eprintln!("{w}");
            }
            check_templates(&config)?;
            out!(
                "{}: ok ({} lists, {} mailboxes, {} warning(s))",
                cli.config.display(),
                config.lists.len(),
                config.mailboxes.len(),
                config.warnings.len()
            );
            Ok(())
        }
        Command::Run { once } => {
            let config = load(&cli.config)?;
            for w in &config.warnings {
                tracing::warn!(warning = %w, "configuration");
            }
            let dns = resolver(&config)?;
            let store = open_store(&config).await?;
            let templates = Templates::new(&config.templates_dir());
            let rt = Arc::new(Runtime {
                config,
                store: store.clone(),
                templates: Arc::new(templates),
                dns,
            });
            let result = if once {
                daemon::run_once(rt).await
            } else {
                let (trigger, listener) = shutdown::channel();
                tokio::spawn(async move {
                    wait_for_signal().await;
                    tracing::info!("shutdown requested: finishing the work in hand");
                    trigger.fire();
                });
                daemon::run(rt, listener).await
            };
            store.close().await;
            result
        }
        Command::Lists { json } => {
            let config = load(&cli.config)?;
            let store = open_store(&config).await?;
            for list in &config.lists {
                let counts = members::counts(store.pool(), list.id()).await?;
                let count = |s: Status| {
                    counts
                        .iter()
                        .find(|(k, _)| k == s.as_str())
                        .map_or(0, |(_, n)| *n)
                };
                if json {
                    let row = serde_json::json!({
                        "id": list.id(),
                        "address": list.address.get_ref(),
                        "name": list.name,
                        "kind": list.kind.as_str(),
                        "registration": list.registration.iter().map(|r| r.get_ref()).collect::<Vec<_>>(),
                        "confirmed": count(Status::Confirmed),
                        "pending": count(Status::Pending),
                    });
                    out!("{row}");
                } else {
                    out!(
                        "{:<12} {:<10} {:>8} confirmed {:>6} pending  {}  {}",
                        list.id(),
                        list.kind.as_str(),
                        count(Status::Confirmed),
                        count(Status::Pending),
                        list.address.get_ref(),
                        list.name
                    );
                }
            }
            Ok(())
        }
        Command::Members(cmd) => members_command(&cli.config, cmd).await,
        Command::Audit {
            list,
            address,
            json,
        } => {
            let config = load(&cli.config)?;
            known_list(&config, &list)?;
            let store = open_store(&config).await?;
            let address = address.map(|a| address::normalize(&a));
            for e in audit::history(store.pool(), &list, address.as_deref()).await? {
                if json {
                    out!("{}", serde_json::to_string(&e)?);
                } else {
                    out!("{}", change_line(&e));
                }
            }
            Ok(())
        }
        Command::Quarantine { json } => {
            let config = load(&cli.config)?;
            let store = open_store(&config).await?;
            for q in inbound::quarantined(store.pool()).await? {
                if json {
                    out!("{}", serde_json::to_string(&q)?);
                } else {
                    out!(
                        "#{} {} from {} {:?}: {}",
                        q.id,
                        q.mailbox,
                        q.sender.as_deref().unwrap_or("-"),
                        q.subject.as_deref().unwrap_or(""),
                        q.reason
                    );
                }
            }
            Ok(())
        }
        Command::Posts(cmd) => {
            let config = load(&cli.config)?;
            let store = open_store(&config).await?;
            posts::posts(&config, &store, cmd).await
        }
        Command::Held(cmd) => {
            let config = load(&cli.config)?;
            let store = open_store(&config).await?;
            posts::held(&config, &store, cmd).await
        }
        Command::Inspect {
            file,
            mailbox,
            json,
        } => inspect(&cli.config, &file, mailbox.as_deref(), json).await,
    }
}

/// Render every answer of every list once, so a broken template shows at `check` time.
fn check_templates(config: &Config) -> Result<()> {
    let templates = Templates::new(&config.templates_dir());
    let mut failures = 0;
    for list in &config.lists {
        for kind in compose::Kind::ALL {
            let sample = compose::Answer {
                kind,
                list,
                to: "giaovien@example.edu.vn",
                to_name: Some("Giáo viên"),
                token: Some("nt-aaaaaaaaaaaaaaaaaaaaaaaaaa"),
                expires_at: 0,
                in_reply_to: None,
                held: Some(&compose::Held {
                    post_id: 1,
                    sender: "vanthu@example.edu.vn",
                    subject: "Công văn",
                    cause: "not_poster",
                    reason: "the sender is not a poster",
                }),
                link: Some("https://example.edu.vn/c/nt-aaaaaaaaaaaaaaaaaaaaaaaaaa"),
            };
            if let Err(e) = compose::build(config, &templates, &sample) {
                eprintln!("list {}: {}: {e}", list.id(), kind.name());
                failures += 1;
            }
        }
        if let Err(e) = crate::handlers::render_footers(list, config, &templates) {
            eprintln!("list {}: {e}", list.id());
            failures += 1;
        }
    }
    if failures > 0 {
        bail!("{failures} template error(s)");
    }
    Ok(())
}

fn known_list(config: &Config, id: &str) -> Result<()> {
    if config.list(id).is_none() {
        let ids: Vec<&str> = config.lists.iter().map(|l| l.id()).collect();
        bail!("no list {id:?}; lists are: {}", ids.join(", "));
    }
    Ok(())
}

async fn members_command(path: &Path, cmd: MembersCommand) -> Result<()> {
    let config = load(path)?;
    let store = open_store(&config).await?;
    let operator = format!(
        "operator:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let (list, address, status, action, reason) = match cmd {
        MembersCommand::List { list, status, json } => {
            known_list(&config, &list)?;
            let status = match status {
                Some(s) => Some(Status::parse(&s).with_context(|| {
                    format!(
                        "unknown status {s:?}: use pending, confirmed, unsubscribed or disabled"
                    )
                })?),
                None => None,
            };
            let mut rows = members::stream(store.pool(), &list, status);
            while let Some(m) = rows.next().await {
                let m = m?;
                if json {
                    out!("{}", serde_json::to_string(&m)?);
                } else {
                    out!(
                        "{:<40} {:<12} {:<8} {}",
                        m.address,
                        m.status,
                        m.source,
                        m.display_name.as_deref().unwrap_or("")
                    );
                }
            }
            return Ok(());
        }
        MembersCommand::Show {
            list,
            address,
            json,
        } => {
            known_list(&config, &list)?;
            return show_member(&store, &list, &address::normalize(&address), json).await;
        }
        MembersCommand::Import { list, file } => {
            known_list(&config, &list)?;
            let (added, skipped) = import(&store, &list, &file, &operator).await?;
            out!("{added} added to {list}, {skipped} lines skipped");
            return Ok(());
        }
        MembersCommand::Add { list, address } => (
            list,
            address,
            Status::Confirmed,
            "add",
            "added by an operator",
        ),
        MembersCommand::Remove { list, address } => (
            list,
            address,
            Status::Unsubscribed,
            "remove",
            "removed by an operator",
        ),
    };
    known_list(&config, &list)?;
    if address.parse::<lettre::Address>().is_err() {
        bail!("{address:?} is not an email address");
    }
    let address = address::normalize(&address);
    let mut tx = store.begin().await?;
    let before = members::apply(
        &mut tx,
        &Change {
            list_id: &list,
            address: &address,
            display_name: None,
            status,
            source: "operator",
            action,
            actor: &operator,
            inbound_id: None,
            reason,
        },
    )
    .await?;
    tx.commit().await?;
    match before {
        Some(s) if s == status => out!("{address} was already {status} on {list}"),
        _ => out!("{address} is now {status} on {list}"),
    }
    Ok(())
}

/// Members written per transaction by `members import`.
const IMPORT_BATCH: usize = 5000;

/// Stream a member file into the list; returns (added or changed, lines skipped). Lines
/// are read a batch at a time and written with `members::apply_many`: a few multi-row
/// statements per batch, one audit row per member, one transaction per batch.
async fn import(store: &Store, list: &str, file: &Path, operator: &str) -> Result<(usize, usize)> {
    use tokio::io::AsyncBufReadExt;
    let f = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("reading {}", file.display()))?;
    let mut lines = tokio::io::BufReader::new(f).lines();
    let reason = format!("imported from {}", file.display());
    let (mut added, mut skipped) = (0, 0);
    let mut batch: Vec<(String, Option<String>)> = Vec::with_capacity(IMPORT_BATCH);
    let mut done = false;
    while !done {
        match lines.next_line().await? {
            Some(line) => {
                let mut fields = line
                    .split([',', ';', '\t'])
                    .map(|f| f.trim().trim_matches('"'));
                let address = fields.next().unwrap_or("");
                if address.parse::<lettre::Address>().is_err() {
                    skipped += 1;
                    continue;
                }
                let name = fields.next().filter(|n| !n.is_empty()).map(str::to_string);
                batch.push((address::normalize(address), name));
                if batch.len() < IMPORT_BATCH {
                    continue;
                }
            }
            None => done = true,
        }
        if batch.is_empty() {
            continue;
        }
        let changes: Vec<Change<'_>> = batch
            .iter()
            .map(|(address, name)| Change {
                list_id: list,
                address,
                display_name: name.as_deref(),
                status: Status::Confirmed,
                source: "operator",
                action: "import",
                actor: operator,
                inbound_id: None,
                reason: &reason,
            })
            .collect();
        let mut tx = store.begin().await?;
        let before = members::apply_many(&mut tx, &changes).await?;
        tx.commit().await?;
        added += before
            .iter()
            .filter(|b| **b != Some(Status::Confirmed))
            .count();
        drop(changes);
        batch.clear();
    }
    Ok((added, skipped))
}

/// `inspect`: classify and explain, acting on nothing. With `verify = "self"` it asks DNS
/// (through `[dns]`) for the From domain's DMARC policy and DKIM keys, exactly as the
/// pipeline would, and shows the result; it also shows the policy that decides whether
/// list copies of a post keep the author's From.
async fn inspect(path: &Path, file: &Path, mailbox: Option<&str>, json: bool) -> Result<()> {
    let config = load(path)?;
    let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let Some(mut msg) = Inbound::parse(&raw) else {
        let reason = "unparseable: no header fields found (would be quarantined)";
        if json {
            out!(
                "{}",
                serde_json::json!({"class": "invalid", "reason": reason})
            );
        } else {
            out!("class:  invalid\nreason: {reason}");
        }
        return Ok(());
    };
    let chosen = match mailbox {
        Some(name) => config
            .mailboxes
            .iter()
            .find(|m| m.name() == name)
            .with_context(|| format!("no mailbox {name:?}"))?,
        None => config
            .mailboxes
            .iter()
            .find(|m| msg.recipients.iter().any(|r| m.reads(r)))
            .or(config.mailboxes.first())
            .context("the configuration has no [[mailbox]]")?,
    };
    let decision = classify::classify(&msg, &config, chosen);
    let looks_up = config.site.verify == Verify::Itself
        || matches!(decision.class, classify::Class::Post { .. });
    let dns = if looks_up {
        Some(resolver(&config)?)
    } else {
        None
    };
    let from_domain = msg
        .from
        .as_ref()
        .and_then(|f| f.address.rsplit_once('@'))
        .map(|(_, d)| d.to_string());
    if config.site.verify == Verify::Itself
        && let (Some(dns), Some(from)) = (&dns, &msg.from)
    {
        msg.verified = Some(dns.self_check(&raw, &from.address).await);
    }
    let published = match (&decision.class, &dns, &from_domain) {
        (classify::Class::Post { .. }, Some(dns), Some(domain)) => {
            Some(dns.published(domain).await)
        }
        _ => None,
    };
    let authentication = crate::rules::auth::check(&msg, &config);
    let forged = crate::rules::auth::forged(&msg, &config);
    if json {
        let out = serde_json::json!({
            "mailbox": chosen.name(),
            "decision": decision,
            "authentication": authentication,
            "verified": msg.verified,
            "forged": forged,
            "author_policy": published,
            "from": msg.from,
            "recipients": msg.recipients,
            "subject": msg.subject,
            "message_id": msg.message_id,
        });
        out!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        out!("mailbox:    {}", chosen.name());
        out!("class:      {}", decision.class.name());
        out!("reason:     {}", decision.reason);
        match &decision.class {
            classify::Class::Registration { lists } | classify::Class::Unsubscribe { lists } => {
                out!("lists:      {}", lists.join(", "));
            }
            classify::Class::Confirmation { tokens } => {
                out!("tokens:     {}", tokens.join(", "));
            }
            classify::Class::Post { lists } => {
                out!("lists:      {}", lists.join(", "));
                out!("sender:     {}", serde_json::to_string(&authentication)?);
                if let Some(p) = &published {
                    out!("dmarc:      {:?}: {}", p.policy, p.detail);
                }
            }
            classify::Class::Bounce { report, verp } => {
                if let Some(v) = verp {
                    out!("verp:       {}", serde_json::to_string(v)?);
                }
                if let Some(report) = report {
                    print_report(report)?;
                }
            }
            classify::Class::Complaint { report, verp } => {
                if let Some(v) = verp {
                    out!("verp:       {}", serde_json::to_string(v)?);
                }
                print_report(report)?;
            }
            _ => {}
        }
        if let Some(v) = &msg.verified {
            out!("verified:   {}", serde_json::to_string(v)?);
        }
        if let Some(why) = &forged {
            out!("forged:     {why}");
        }
        out!(
            "from:       {}",
            msg.from.as_ref().map_or("-", |f| f.address.as_str())
        );
        out!("recipients: {}", msg.recipients.join(", "));
        out!("subject:    {}", msg.subject);
    }
    Ok(())
}

/// `members show`.
async fn show_member(store: &Store, list: &str, address: &str, json: bool) -> Result<()> {
    let member = members::get(&mut *store.pool().acquire().await?, list, address).await?;
    let score = crate::store::bounces::score(store.pool(), list, address).await?;
    let events = crate::store::bounces::of_member(store.pool(), list, address).await?;
    let history = crate::store::audit::history(store.pool(), list, Some(address)).await?;
    if json {
        let out = serde_json::json!({
            "member": member,
            "bounce_score": score,
            "bounces": events,
            "history": history,
        });
        out!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let Some(m) = member else {
        bail!("{address} has never been a member of {list}");
    };
    out!(
        "{} on {}: {} (source {})",
        m.address,
        m.list_id,
        m.status,
        m.source
    );
    out!("bounce score: {:.2}", score.unwrap_or(0.0));
    for e in events.iter().rev() {
        out!(
            "bounce  {} {} {} {}: {}",
            jiff::Timestamp::from_second(e.at).unwrap_or_default(),
            e.kind,
            e.status.as_deref().unwrap_or("-"),
            e.verp.as_deref().unwrap_or("-"),
            e.effect
        );
    }
    for h in &history {
        out!("change  {}", change_line(h));
    }
    Ok(())
}

/// One audit entry as `nhomthu audit` prints it.
fn change_line(e: &crate::store::audit::Entry) -> String {
    format!(
        "{} {} {} {} -> {} by {}: {}",
        jiff::Timestamp::from_second(e.at).unwrap_or_default(),
        e.address,
        e.action,
        e.old_status.as_deref().unwrap_or("-"),
        e.new_status.as_deref().unwrap_or("-"),
        e.actor,
        e.reason
    )
}

/// A report's format and every recipient it names, one line each.
fn print_report(report: &crate::bounce::Report) -> Result<()> {
    out!("format:     {} ({:?})", report.format, report.kind);
    for r in &report.recipients {
        out!(
            "address:    {} {} {}{}",
            r.address,
            if r.permanent {
                "permanent"
            } else {
                "temporary"
            },
            r.status.as_deref().unwrap_or("-"),
            r.diagnostic
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    if let Some(rp) = &report.original.return_path {
        out!("original:   return path {rp}");
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
