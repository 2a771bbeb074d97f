//! The long-running job: one task per mailbox (fetch → pipeline → ack, then IDLE or wait)
//! and one delivery task per lane, answers and posts, side by side on one sink: a
//! registration read during a fan-out is confirmed while the fan-out goes on. Every task
//! stops on the shutdown signal after the message in hand. `--once` runs the same steps a
//! single time and returns.

use crate::actions::disabled;
use crate::config::Mailbox;
use crate::delivery::{self, Lane, Sink};
use crate::pipeline::{self, Runtime};
use crate::shutdown::Shutdown;
use crate::source::imap::Imap;
use crate::source::maildir::Maildir;
use crate::source::{Source, SourceError};
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Messages fetched per round from one mailbox.
const FETCH_BATCH: usize = 100;
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How often the delivery task looks for retries that came due.
const DELIVERY_TICK: Duration = Duration::from_secs(5);

/// Either kind of mailbox, opened from its configuration.
enum AnySource {
    Maildir(Maildir),
    Imap(Box<Imap>),
}

fn open(rt: &Runtime, mailbox: &Mailbox) -> Result<AnySource, SourceError> {
    if let Some(path) = &mailbox.maildir {
        return Ok(AnySource::Maildir(Maildir::open(&rt.config.path(path))?));
    }
    let imap = mailbox
        .imap
        .as_ref()
        .expect("checked: a mailbox has one source");
    let ca = imap.ca_file.as_deref().map(|p| rt.config.path(p));
    let var = imap.password_env.get_ref();
    let password = std::env::var(var)
        .map_err(|_| SourceError::Imap(format!("environment variable {var} is not set")))?;
    Ok(AnySource::Imap(Box::new(Imap::new(imap, password, ca))))
}

/// Process everything waiting in `src`, stopping between messages once `shutdown` is
/// set; returns how many messages were acknowledged.
async fn drain<S: Source>(
    rt: &Runtime,
    mailbox: &Mailbox,
    src: &mut S,
    shutdown: &Shutdown,
) -> Result<usize, SourceError> {
    let mut done = 0;
    let mut failed: HashSet<String> = HashSet::new();
    loop {
        let batch = src.fetch(FETCH_BATCH).await?;
        let fresh: Vec<_> = batch
            .into_iter()
            .filter(|m| !failed.contains(&m.key))
            .collect();
        if fresh.is_empty() {
            return Ok(done);
        }
        for msg in fresh {
            if shutdown.is_set() {
                return Ok(done);
            }
            match pipeline::process(rt, mailbox, &msg).await {
                Ok(ack) => {
                    src.ack(&msg, ack).await?;
                    done += 1;
                }
                Err(e) => {
                    // Nothing was committed: leave the message for the next round.
                    tracing::error!(mailbox = mailbox.name(), key = %msg.key, error = %e, "cannot record message; will retry");
                    failed.insert(msg.key.clone());
                }
            }
        }
    }
}

async fn drain_any(
    rt: &Runtime,
    mailbox: &Mailbox,
    src: &mut AnySource,
    shutdown: &Shutdown,
) -> Result<usize, SourceError> {
    match src {
        AnySource::Maildir(s) => drain(rt, mailbox, s, shutdown).await,
        AnySource::Imap(s) => drain(rt, mailbox, s.as_mut(), shutdown).await,
    }
}

async fn wait_any(src: &mut AnySource, shutdown: &mut Shutdown) -> Result<(), SourceError> {
    match src {
        AnySource::Maildir(s) => s.wait(shutdown).await,
        AnySource::Imap(s) => s.as_mut().wait(shutdown).await,
    }
}

/// Process every mailbox once, then deliver everything due.
pub async fn run_once(rt: Arc<Runtime>) -> Result<()> {
    let sink =
        Sink::from_config(&rt.config).map_err(|e| anyhow::anyhow!("outbound transport: {e}"))?;
    crate::actions::sync::managed_members(&rt.config, &rt.store).await?;
    // Nothing asks a single pass to stop early.
    let (_trigger, never) = crate::shutdown::channel();
    let jobs = rt.config.mailboxes.iter().map(|mailbox| {
        let rt = rt.clone();
        let never = never.clone();
        async move {
            let mut src = open(&rt, mailbox)?;
            let n = drain_any(&rt, mailbox, &mut src, &never).await?;
            tracing::info!(mailbox = mailbox.name(), messages = n, "mailbox drained");
            Ok::<_, SourceError>(())
        }
    });
    let results = futures::future::join_all(jobs).await;
    // Both lanes at once, as the daemon runs them: answers do not wait for the fan-out.
    let (answers, posts) = tokio::join!(
        deliver(&rt, &sink, Lane::Answers),
        deliver(&rt, &sink, Lane::Posts)
    );
    let mut pass = answers?;
    pass.add(posts?);
    tracing::info!(
        sent = pass.sent,
        deferred = pass.deferred,
        failed = pass.failed,
        "delivery pass"
    );
    for (mailbox, r) in rt.config.mailboxes.iter().zip(results) {
        r.with_context(|| format!("mailbox {}", mailbox.name()))?;
    }
    Ok(())
}

/// Run until shutdown.
pub async fn run(rt: Arc<Runtime>, shutdown: Shutdown) -> Result<()> {
    let sink =
        Sink::from_config(&rt.config).map_err(|e| anyhow::anyhow!("outbound transport: {e}"))?;
    let (added, removed) = crate::actions::sync::managed_members(&rt.config, &rt.store).await?;
    tracing::info!(added, removed, "managed lists in line with lists.toml");
    crate::telemetry::install();
    let queued = Arc::new(Queued::default());
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..rt.config.mailboxes.len() {
        tasks.spawn(mailbox_task(
            rt.clone(),
            index,
            shutdown.clone(),
            queued.clone(),
        ));
    }
    for lane in [Lane::Answers, Lane::Posts] {
        tasks.spawn(delivery_task(
            rt.clone(),
            sink.clone(),
            lane,
            shutdown.clone(),
            queued.clone(),
        ));
    }
    if let Some(addr) = rt.config.site.listen {
        let (rt, shutdown) = (rt.clone(), shutdown.clone());
        tasks.spawn(async move {
            if let Err(e) = crate::web::serve(rt, addr, shutdown).await {
                tracing::error!(%addr, error = %e, "web server stopped");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("a task panicked")?;
    }
    tracing::info!("all tasks finished");
    Ok(())
}

/// Wakes the delivery lanes when a mailbox task has committed new work.
#[derive(Default)]
struct Queued {
    answers: Notify,
    posts: Notify,
}

impl Queued {
    fn notify(&self) {
        self.answers.notify_one();
        self.posts.notify_one();
    }

    fn lane(&self, lane: Lane) -> &Notify {
        match lane {
            Lane::Answers => &self.answers,
            Lane::Posts => &self.posts,
        }
    }
}

async fn mailbox_task(rt: Arc<Runtime>, index: usize, mut shutdown: Shutdown, queued: Arc<Queued>) {
    let mailbox = &rt.config.mailboxes[index];
    let name = mailbox.name();
    let mut src = match open(&rt, mailbox) {
        Ok(s) => s,
        Err(e) => {
            crate::health::polls().failed(name, &e);
            tracing::error!(mailbox = name, error = %e, "cannot open mailbox");
            return;
        }
    };
    let mut backoff = Duration::from_secs(1);
    while !shutdown.is_set() {
        let step = async {
            let n = drain_any(&rt, mailbox, &mut src, &shutdown).await?;
            crate::health::polls().ok(name);
            if n > 0 {
                queued.notify();
                tracing::info!(mailbox = name, messages = n, "processed");
            }
            if shutdown.is_set() {
                return Ok(());
            }
            wait_any(&mut src, &mut shutdown).await
        };
        match step.await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => {
                crate::health::polls().failed(name, &e);
                tracing::warn!(mailbox = name, error = %e, retry_in = ?backoff, "mailbox error");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    tracing::info!(mailbox = name, "mailbox task stopped");
}

/// One lane's passes, one after the other: after each, wait for new work, for the next
/// tick (retries that came due) or for shutdown.
async fn delivery_task(
    rt: Arc<Runtime>,
    sink: Sink,
    lane: Lane,
    mut shutdown: Shutdown,
    queued: Arc<Queued>,
) {
    while !shutdown.is_set() {
        match deliver(&rt, &sink, lane).await {
            Ok(pass) if pass != delivery::Pass::default() => {
                tracing::info!(
                    ?lane,
                    sent = pass.sent,
                    deferred = pass.deferred,
                    failed = pass.failed,
                    "delivery pass"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!(?lane, error = %e, "delivery pass failed"),
        }
        tokio::select! {
            _ = queued.lane(lane).notified() => {}
            _ = tokio::time::sleep(DELIVERY_TICK) => {}
            _ = shutdown.wait() => {}
        }
    }
    tracing::info!(?lane, "delivery task stopped");
}

/// One delivery pass over one lane's queue. The answers' lane first makes the bounce
/// notices and removals that came due (notices are answers); the posts' lane pages
/// through the recipients due.
async fn deliver(
    rt: &Runtime,
    sink: &Sink,
    lane: Lane,
) -> Result<delivery::Pass, crate::store::StoreError> {
    let secret = crate::store::settings::secret(&mut *rt.store.pool().acquire().await?).await?;
    match lane {
        Lane::Answers => {
            match disabled::tick(&rt.config, &rt.templates, &rt.store).await {
                Ok(t) if t != disabled::Tick::default() => {
                    tracing::info!(notices = t.notices, removed = t.removed, "bounce upkeep");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "bounce upkeep failed"),
            }
            delivery::deliver_answers(&rt.config, &rt.store, sink, &secret).await
        }
        Lane::Posts => {
            delivery::deliver_posts(&rt.config, &rt.templates, &rt.store, sink, &secret, &rt.dns)
                .await
        }
    }
}
