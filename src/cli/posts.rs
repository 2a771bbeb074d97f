//! `posts list|show` and `held list|show|approve|reject`: what was sent, to how many, who
//! did not get it and why, and the operator's hand on held posts.

use crate::actions::post;
use crate::config::{Config, TransportKind};
use crate::delivery;
use crate::store::posts::{self, Post, PostStatus};
use crate::store::{Store, deliveries};
use anyhow::{Context, Result, bail};
use clap::Subcommand;

/// `posts …`.
#[derive(Subcommand)]
pub enum PostsCommand {
    /// The latest posts.
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// One post: counts per state, each failed or deferred address with the server's
    /// answer, and the expected completion time.
    Show {
        /// Post id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `held …`.
#[derive(Subcommand)]
pub enum HeldCommand {
    /// Posts waiting for a moderator.
    List {
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// One held post with its headers and reason.
    Show {
        /// Post id.
        id: i64,
    },
    /// Send a held post to its lists.
    Approve {
        /// Post id.
        id: i64,
    },
    /// Refuse a held post.
    Reject {
        /// Post id.
        id: i64,
    },
}

fn line(p: &Post) -> String {
    format!(
        "#{:<6} {:<9} {:>8} recipients  {:<24} {}  {:?}",
        p.id,
        p.status.as_str(),
        p.recipients,
        p.lists.join(","),
        p.sender,
        p.subject
    )
}

async fn get(store: &Store, id: i64) -> Result<Post> {
    let mut conn = store.pool().acquire().await?;
    posts::get(&mut conn, id)
        .await?
        .with_context(|| format!("no post #{id}"))
}

/// Run a `posts` command.
pub async fn posts(config: &Config, store: &Store, cmd: PostsCommand) -> Result<()> {
    match cmd {
        PostsCommand::List { limit, json } => {
            for p in posts::list(store.pool(), None, limit).await? {
                if json {
                    out!("{}", serde_json::to_string(&p)?);
                } else {
                    out!("{}", line(&p));
                }
            }
        }
        PostsCommand::Show { id, json } => {
            let p = get(store, id).await?;
            let counts = deliveries::summary(store.pool(), id).await?;
            let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
            let waiting = (count("queued") + count("deferred")) as u64;
            let eta = expected_seconds(config, store, waiting).await?;
            let problems = deliveries::problems(store.pool(), id).await?;
            if json {
                let problems: Vec<_> = problems
                    .iter()
                    .map(|(rcpt, status, error)| {
                        serde_json::json!({"rcpt": rcpt, "status": status, "error": error})
                    })
                    .collect();
                let out = serde_json::json!({
                    "post": p,
                    "sent": count("sent"),
                    "queued": count("queued"),
                    "deferred": count("deferred"),
                    "failed": count("failed"),
                    "expected_seconds": eta,
                    "problems": problems,
                });
                out!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                out!("{}", line(&p));
                out!("reason:   {}", p.reason);
                out!(
                    "sent {}, queued {}, deferred {}, failed {}",
                    count("sent"),
                    count("queued"),
                    count("deferred"),
                    count("failed")
                );
                match eta {
                    _ if waiting == 0 => out!("complete"),
                    Some(s) => out!("expected to complete in {}", human(s)),
                    None => out!("{waiting} waiting; the relays set no rate, so no estimate"),
                }
                for (rcpt, status, error) in problems {
                    out!("{status:<9} {rcpt}: {error}");
                }
            }
        }
    }
    Ok(())
}

/// Seconds until `waiting` messages are sent within the relays' rates and quotas.
async fn expected_seconds(config: &Config, store: &Store, waiting: u64) -> Result<Option<u64>> {
    if *config.delivery.transport.get_ref() == TransportKind::File {
        return Ok(Some(0));
    }
    let share = *config.delivery.answers_share.get_ref();
    let mut left: Option<u64> = Some(0);
    for r in &config.delivery.relays {
        // Posts may use the quota less the answers' share.
        left = match (left, r.daily_quota) {
            (Some(l), Some(q)) => {
                let used = delivery::used_today(store, r.name()).await?;
                Some(l + delivery::posts_quota(q, share).saturating_sub(used))
            }
            _ => None,
        };
    }
    Ok(delivery::estimate_seconds(config, waiting, left))
}

fn human(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{:.1} h", s as f64 / 3600.0),
        s => format!("{:.1} days", s as f64 / 86_400.0),
    }
}

/// Run a `held` command.
pub async fn held(config: &Config, store: &Store, cmd: HeldCommand) -> Result<()> {
    let operator = format!(
        "operator:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let (id, approve) = match cmd {
        HeldCommand::List { json } => {
            for p in posts::list(store.pool(), Some(PostStatus::Held), i64::MAX).await? {
                if json {
                    out!("{}", serde_json::to_string(&p)?);
                } else {
                    out!("{}", line(&p));
                    out!("        held: {}", p.reason);
                }
            }
            return Ok(());
        }
        HeldCommand::Show { id } => {
            let p = get(store, id).await?;
            out!("{}", line(&p));
            out!("held: {}", p.reason);
            let raw = posts::raw(store.pool(), id).await?.unwrap_or_default();
            let text = String::from_utf8_lossy(&raw);
            let head = text.split("\r\n\r\n").next().unwrap_or("");
            out!("\n{}", head.split("\n\n").next().unwrap_or(head));
            return Ok(());
        }
        HeldCommand::Approve { id } => (id, true),
        HeldCommand::Reject { id } => (id, false),
    };
    let p = get(store, id).await?;
    if p.status != PostStatus::Held {
        bail!("post #{id} is {}, not held", p.status.as_str());
    }
    let mut tx = store.begin().await?;
    post::decide(&mut tx, config, id, approve, &operator).await?;
    tx.commit().await?;
    let p = get(store, id).await?;
    out!("{}", line(&p));
    Ok(())
}
