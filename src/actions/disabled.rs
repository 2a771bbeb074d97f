//! Members whose mail bounces: disabling at the threshold, the notices that follow ("reply
//! to resume", a token like any confirmation) and removal when nobody replies. The notices
//! and removals are due by time, so the daemon calls [`tick`] now and then.

use super::ActionError;
use super::answer::{self, Env};
use crate::compose::Kind;
use crate::config::Config;
use crate::store::members::{self, Change, Status};
use crate::store::tokens::Action;
use crate::store::{self, Store, bounces};
use crate::templates::Templates;
use sqlx::AnyConnection;

const DAY: f64 = 86_400.0;

/// Disable delivery to a member and send the first notice.
pub async fn disable(
    conn: &mut AnyConnection,
    env: &Env<'_>,
    list_id: &str,
    address: &str,
    why: &str,
) -> Result<(), ActionError> {
    let actor = match env.inbound_id {
        Some(id) => format!("mail:{id}"),
        None => "bounces".into(),
    };
    members::apply(
        &mut *conn,
        &Change {
            list_id,
            address,
            display_name: None,
            status: Status::Disabled,
            source: "bounces",
            action: "disable",
            actor: &actor,
            inbound_id: env.inbound_id,
            reason: why,
        },
    )
    .await?;
    if env.config.bounces.notices == 0 {
        return Ok(());
    }
    notify(
        conn,
        env.config,
        env.templates,
        env.inbound_id,
        list_id,
        address,
    )
    .await
}

/// Send a disabled member the notice, within the per-address caps.
async fn notify(
    conn: &mut AnyConnection,
    config: &Config,
    templates: &Templates,
    inbound_id: Option<i64>,
    list_id: &str,
    address: &str,
) -> Result<(), ActionError> {
    let Some(list) = config.list(list_id) else {
        return Ok(());
    };
    // Not threaded on the bounce, and not addressed to whoever sent it.
    let env = Env {
        config,
        templates,
        inbound_id,
        from: None,
        in_reply_to: None,
    };
    let sent = answer::notice(
        &mut *conn,
        &env,
        Kind::Disabled,
        list,
        address,
        Some(Action::Subscribe),
        true,
    )
    .await?;
    bounces::noticed(conn, list_id, address, store::now()).await?;
    tracing::info!(list = list_id, address, sent, "disabled-delivery notice");
    Ok(())
}

/// What a [`tick`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// Notices queued.
    pub notices: usize,
    /// Members removed.
    pub removed: usize,
}

/// Remove the members disabled `remove_after_days` ago, and send the notices due.
pub async fn tick(
    config: &Config,
    templates: &Templates,
    store: &Store,
) -> Result<Tick, ActionError> {
    let policy = &config.bounces;
    let now = store::now();
    let mut done = Tick::default();
    let cutoff = now - (policy.remove_after_days.get_ref() * DAY) as i64;
    for (list_id, address, score) in bounces::due_removals(store.pool(), cutoff).await? {
        let reason = format!(
            "removed: delivery was disabled {} days ago after bounces (score {score:.2}) and nobody replied to the notices",
            policy.remove_after_days.get_ref()
        );
        let mut tx = store.begin().await?;
        members::apply(
            &mut tx,
            &Change {
                list_id: &list_id,
                address: &address,
                display_name: None,
                status: Status::Unsubscribed,
                source: "bounces",
                action: "remove",
                actor: "bounces",
                inbound_id: None,
                reason: &reason,
            },
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        tracing::info!(list = %list_id, %address, "removed after bounces");
        done.removed += 1;
    }
    let interval = (policy.notice_interval_days.get_ref() * DAY) as i64;
    for (list_id, address) in
        bounces::due_notices(store.pool(), policy.notices, interval, now).await?
    {
        let mut tx = store.begin().await?;
        notify(&mut tx, config, templates, None, &list_id, &address).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        done.notices += 1;
    }
    Ok(done)
}
