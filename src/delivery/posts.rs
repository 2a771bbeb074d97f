//! Accepted posts to their recipients. The queue is paged along its index (memory stays flat
//! however many recipients wait); each post is prepared once per list (headers, prefix,
//! footer), then either personalised (one message per recipient with its own
//! unsubscribe address and a VERP return path `norply+b<delivery id>-<code>@`, so a bounce
//! names its member) or batched (one copy for up to `max_recipients` recipients).
//! Before a post is prepared, the DMARC policy of its author's domain is looked up once
//! (through the process's resolver and its cache) and handed to the pure handlers, which
//! rewrite `From` when the domain's policy is strict.

use super::record::{self, Done, Recorder};
use super::{Envelope, Lane, Pass, SendError, Sink, backoff};
use crate::actions::bounce::Refused;
use crate::config::{Config, Mode};
use crate::dns::{Published, Resolver};
use crate::handlers::{self, ListCopy, Personal, arc};
use crate::shutdown::Shutdown;
use crate::store::deliveries::{self, Due, Outcome};
use crate::store::{self, Store, StoreError, posts};
use crate::templates::Templates;
use crate::verp::Verp;
use crate::{address, unsubscribe};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;

/// DNS lookups one ARC chain may take (a key per earlier sealer and signer).
const ARC_LOOKUPS: u32 = 8;
/// Recipients read from the queue per round.
const PAGE: i64 = 1000;
/// Prepared copies kept at once (posts × lists): a few, since the queue is ordered by post.
const COPIES: usize = 64;
/// Recipients per transaction in batch mode through the file outbox.
const FILE_BATCH: usize = 100;

type Copies = HashMap<(i64, String), Result<Arc<ListCopy>, String>>;

/// Attempt every post recipient due now; `dns` looks up the authors' DMARC policies.
/// Once `shutdown` is set no copy starts: the copies in flight end, their outcomes are
/// written, and the rest stays queued for the next run.
pub async fn deliver_posts(
    config: &Config,
    templates: &Arc<Templates>,
    store: &Store,
    sink: &Sink,
    secret: &str,
    dns: &Resolver,
    shutdown: &Shutdown,
) -> Result<Pass, StoreError> {
    // Posts leave in their lane: the relays keep the answers' share of rate and quota.
    let sink = &sink.lane(Lane::Posts);
    if let Sink::Relays(relays) = sink {
        relays.refresh(store).await?;
    }
    let mut copies: Copies = HashMap::new();
    let mut policies: HashMap<i64, Published> = HashMap::new();
    let mut pass = Pass::default();
    let mut cursor = deliveries::Cursor::new();
    loop {
        if shutdown.is_set() {
            return Ok(pass);
        }
        let due = deliveries::due(store.pool(), &mut cursor, PAGE).await?;
        if due.is_empty() {
            return Ok(pass);
        }
        if copies.len() > COPIES {
            copies.clear();
            policies.clear();
        }
        for d in &due {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                copies.entry((d.post_id, d.list_id.clone()))
            {
                slot.insert(
                    prepare(
                        config,
                        templates,
                        store,
                        dns,
                        &mut policies,
                        d.post_id,
                        &d.list_id,
                    )
                    .await?,
                );
            }
        }
        // Each outcome is written as it comes back, beside the sends (see `record`).
        let (recorder, writer) = record::recorder(store, config, templates);
        let copies = &copies;
        let sends = async move {
            let recorder = recorder;
            match config.delivery.mode {
                Mode::Personalised => {
                    personalised(config, sink, secret, copies, due, &recorder, shutdown).await
                }
                Mode::Batch => {
                    // The large providers' members get their own copy, with their own link.
                    let (own, shared): (Vec<Due>, Vec<Due>) = due
                        .into_iter()
                        .partition(|d| config.delivery.personal_domain(&d.rcpt));
                    let mut outcomes =
                        personalised(config, sink, secret, copies, own, &recorder, shutdown).await;
                    outcomes.extend(
                        batched(config, sink, secret, copies, shared, &recorder, shutdown).await,
                    );
                    outcomes
                }
            }
        };
        let (written, outcomes) = tokio::join!(writer, sends);
        written?;
        for (_, o) in &outcomes {
            match o {
                Outcome::Sent { .. } => pass.sent += 1,
                Outcome::Deferred { .. } | Outcome::Postponed { .. } => pass.deferred += 1,
                Outcome::Failed { .. } => pass.failed += 1,
            }
        }
        if outcomes
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Postponed { .. }))
        {
            // Every relay's quota is spent: the rest of the queue waits too.
            return Ok(pass);
        }
    }
}

/// The list copy of a post, or why it cannot be made (then its recipients fail). The
/// author's DMARC policy is looked up once per post (kept in `policies`).
async fn prepare(
    config: &Config,
    templates: &Arc<Templates>,
    store: &Store,
    dns: &Resolver,
    policies: &mut HashMap<i64, Published>,
    post_id: i64,
    list_id: &str,
) -> Result<Result<Arc<ListCopy>, String>, StoreError> {
    let Some(raw) = posts::raw(store.pool(), post_id).await? else {
        return Ok(Err(format!("post {post_id} is gone")));
    };
    let Some(list) = config.list(list_id) else {
        return Ok(Err(format!("list {list_id} is no longer configured")));
    };
    let author = match policies.get(&post_id) {
        Some(author) => author.clone(),
        None => {
            // The configuration may decide alone (the site's own domain, `[dmarc] strict`).
            let author = match author_address(&raw) {
                Some(address) if handlers::from_rewrite_settled(&address, config).is_none() => {
                    let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
                    dns.published(domain).await
                }
                _ => Published::default(),
            };
            tracing::debug!(post = post_id, policy = ?author.policy, detail = %author.detail, "author's DMARC policy");
            policies.insert(post_id, author.clone());
            author
        }
    };
    let chain = match config.dkim {
        Some(_) => arc_chain(dns, &raw).await,
        None => arc::Chain::None,
    };
    Ok(
        handlers::prepare(&raw, list, config, templates, &author, chain)
            .map(Arc::new)
            .map_err(|e| format!("cannot prepare post {post_id} for {list_id}: {e}")),
    )
}

/// The post's first From address, read as the handlers read it.
fn author_address(raw: &[u8]) -> Option<String> {
    let head = mail_parser::MessageParser::default().parse_headers(raw)?;
    let address = head.from()?.first()?.address.as_deref()?.trim().to_string();
    address.contains('@').then_some(address)
}

/// How the post's ARC chain validates, for the ARC set its copies get. A post without ARC
/// fields needs no lookup; a chain whose keys cannot be had in time cannot be checked
/// (cv=fail).
async fn arc_chain(dns: &Resolver, raw: &[u8]) -> arc::Chain {
    if !arc::has_chain(raw) {
        return arc::Chain::None;
    }
    let check = arc::verdict_cached(Some(dns.authenticator()), Some(dns.txt_cache()), raw);
    match dns.within("the post's ARC chain", ARC_LOOKUPS, check).await {
        Ok(chain) => chain,
        Err(e) => {
            tracing::warn!(error = %e, "a post's ARC chain could not be checked: its copies say cv=fail");
            arc::verdict(None, raw).await
        }
    }
}

/// An attempt's result as the recorder takes it: the row's outcome, and the refusal to
/// score when the receiving server refused the copy for good.
fn attempt(config: &Config, d: &Due, result: Result<String, SendError>) -> Done {
    let reply = result.as_ref().err().and_then(|e| e.reply.clone());
    let permanent = result.as_ref().is_err_and(|e| e.permanent);
    let outcome = outcome(config, d.attempts, result);
    let refused = match (&outcome, reply) {
        (Outcome::Failed { .. }, Some(reply)) => Some(Refused {
            delivery: d.id,
            list_id: d.list_id.clone(),
            address: d.rcpt.clone(),
            permanent,
            reply,
        }),
        _ => None,
    };
    Done {
        id: d.id,
        outcome,
        refused,
    }
}

/// What an attempt's result means for the row.
fn outcome(config: &Config, attempts: i64, result: Result<String, SendError>) -> Outcome {
    match result {
        Ok(relay) => Outcome::Sent { relay },
        Err(SendError {
            retry_at: Some(until),
            message,
            ..
        }) => Outcome::Postponed {
            until,
            error: message,
        },
        Err(e) => {
            let attempts = attempts + 1;
            // Time spent retrying so far: retry_seconds × (2^attempts − 1).
            let waited: i64 = (0..attempts).map(|k| backoff(config, k)).sum();
            let lifetime = (config.delivery.lifetime_hours * 3600) as i64;
            if e.permanent || waited >= lifetime {
                Outcome::Failed { error: e.message }
            } else {
                Outcome::Deferred {
                    next_attempt_at: store::now() + backoff(config, attempts),
                    error: e.message,
                }
            }
        }
    }
}

/// One member's copy. Signing (DKIM, and ARC with an RSA key: three RSA signatures a
/// copy) runs on the blocking pool, so that the copies in flight are signed on every core
/// while the runtime's threads keep the SMTP connections busy.
async fn personal_copy(
    config: &Config,
    copy: &Arc<ListCopy>,
    url: Option<String>,
    mailto: String,
    member: Option<String>,
) -> Result<Vec<u8>, String> {
    let make = move |copy: &ListCopy| {
        copy.personal(&Personal {
            unsubscribe_url: url.as_deref(),
            unsubscribe_mailto: &mailto,
            member_url: member.as_deref(),
        })
        .map_err(|e| e.to_string())
    };
    if config.dkim.is_none() {
        return make(copy);
    }
    let copy = copy.clone();
    tokio::task::spawn_blocking(move || make(&copy))
        .await
        .unwrap_or_else(|e| Err(format!("signing the copy failed: {e}")))
}

async fn personalised(
    config: &Config,
    sink: &Sink,
    secret: &str,
    copies: &Copies,
    due: Vec<Due>,
    recorder: &Recorder,
    shutdown: &Shutdown,
) -> Vec<(i64, Outcome)> {
    futures::stream::iter(due)
        .map(|d| async move {
            // Between two sends: after shutdown, the row stays queued.
            if shutdown.is_set() {
                return None;
            }
            let done = personal(config, sink, secret, copies, d).await;
            let kept = (done.id, done.outcome.clone());
            recorder.push(done).await;
            Some(kept)
        })
        .buffer_unordered(sink.concurrency())
        .filter_map(std::future::ready)
        .collect()
        .await
}

/// One member's copy, made and sent.
async fn personal(config: &Config, sink: &Sink, secret: &str, copies: &Copies, d: Due) -> Done {
    let noreply = config.site.noreply.get_ref();
    let copy = match &copies[&(d.post_id, d.list_id.clone())] {
        Ok(copy) => copy,
        Err(e) => return attempt(config, &d, Err(SendError::permanent(e.clone()))),
    };
    let mailto = address::with_tag(noreply, &unsubscribe::tag(secret, &d.list_id, &d.rcpt));
    // An https link only where the endpoint that answers it runs.
    let url = match (&config.site.base_url, config.site.listen) {
        (Some(base), Some(_)) if base.starts_with("https://") => {
            Some(unsubscribe::url(base, secret, &d.list_id, &d.rcpt))
        }
        _ => None,
    };
    let member = crate::links::base(config).map(|base| crate::links::member(base, secret, &d.rcpt));
    let raw = match personal_copy(config, copy, url, mailto, member).await {
        Ok(raw) => raw,
        Err(error) => return attempt(config, &d, Err(SendError::permanent(error))),
    };
    let from = Verp::Delivery(d.id).address(noreply, secret);
    let to = [d.rcpt.as_str()];
    let envelope = Envelope {
        from: &from,
        to: &to,
        raw: &raw,
        name: format!("p{}-{:010}", d.post_id, d.id),
    };
    let result = sink.send(&envelope).await;
    attempt(config, &d, result)
}

async fn batched(
    config: &Config,
    sink: &Sink,
    secret: &str,
    copies: &Copies,
    due: Vec<Due>,
    recorder: &Recorder,
    shutdown: &Shutdown,
) -> Vec<(i64, Outcome)> {
    let per_message = match sink {
        Sink::File(_) => FILE_BATCH,
        Sink::Relays(_) => config
            .delivery
            .relays
            .iter()
            .map(|r| r.max_recipients.max(1) as usize)
            .min()
            .unwrap_or(FILE_BATCH),
    };
    // Consecutive rows of the same post and list share one message.
    let mut groups: Vec<Vec<Due>> = Vec::new();
    for d in due {
        match groups.last_mut() {
            Some(g)
                if g.len() < per_message
                    && g[0].post_id == d.post_id
                    && g[0].list_id == d.list_id =>
            {
                g.push(d)
            }
            _ => groups.push(vec![d]),
        }
    }
    let noreply = config.site.noreply.get_ref();
    let results: Vec<Vec<(i64, Outcome)>> = futures::stream::iter(groups)
        .map(|g| async move {
            let mut kept = Vec::with_capacity(g.len());
            if shutdown.is_set() {
                return kept;
            }
            for done in group(config, sink, secret, copies, noreply, g).await {
                kept.push((done.id, done.outcome.clone()));
                recorder.push(done).await;
            }
            kept
        })
        .buffer_unordered(sink.concurrency())
        .collect()
        .await;
    results.into_iter().flatten().collect()
}

/// One batch: a shared copy to the recipients of one post and list.
async fn group(
    config: &Config,
    sink: &Sink,
    secret: &str,
    copies: &Copies,
    noreply: &str,
    g: Vec<Due>,
) -> Vec<Done> {
    let first = &g[0];
    let raw = match &copies[&(first.post_id, first.list_id.clone())] {
        Err(e) => Err(e.clone()),
        Ok(copy) => copy.shared().map_err(|e| e.to_string()),
    };
    let raw = match raw {
        Ok(raw) => raw,
        Err(error) => {
            return g
                .iter()
                .map(|d| attempt(config, d, Err(SendError::permanent(error.clone()))))
                .collect();
        }
    };
    let from = Verp::Post(first.post_id).address(noreply, secret);
    let to: Vec<&str> = g.iter().map(|d| d.rcpt.as_str()).collect();
    let all = Envelope {
        from: &from,
        to: &to,
        raw: &raw,
        name: format!("p{}-{:010}", first.post_id, first.id),
    };
    match sink.send_many(&all).await {
        // Each recipient as the server answered its RCPT TO: the refused ones are
        // recorded refused, the others got the message in the same transaction.
        Ok((relay, each)) => g
            .iter()
            .zip(each)
            .map(|(d, result)| attempt(config, d, result.map(|()| relay.clone())))
            .collect(),
        Err(e) => g
            .iter()
            .map(|d| attempt(config, d, Err(e.clone())))
            .collect(),
    }
}
