//! Managed lists (giamdocso@, vanthuso@): membership is what `lists.toml` says. At start
//! the database is brought in line, every change audited with actor `config`.

use crate::config::{Config, ListKind};
use crate::store::members::{self, Change, Status};
use crate::store::{Store, StoreError};
use std::collections::BTreeSet;

/// Bring managed lists' members in line with the configuration; returns (added, removed).
pub async fn managed_members(config: &Config, store: &Store) -> Result<(usize, usize), StoreError> {
    let mut tx = store.begin().await?;
    let (mut added, mut removed) = (0, 0);
    for list in config.lists.iter().filter(|l| l.kind == ListKind::Managed) {
        let id = list.id();
        let wanted: BTreeSet<String> = list
            .members
            .iter()
            .map(|m| crate::address::normalize(m.get_ref()))
            .collect();
        let current: BTreeSet<String> =
            members::addresses_from(&mut tx, id, "config", Status::Confirmed)
                .await?
                .into_iter()
                .collect();
        for address in wanted.difference(&current) {
            let before = members::apply(
                &mut tx,
                &Change {
                    list_id: id,
                    address,
                    display_name: None,
                    status: Status::Confirmed,
                    source: "config",
                    action: "add",
                    actor: "config",
                    inbound_id: None,
                    reason: "listed in lists.toml",
                },
            )
            .await?;
            added += usize::from(before != Some(Status::Confirmed));
        }
        for address in current.difference(&wanted) {
            members::apply(
                &mut tx,
                &Change {
                    list_id: id,
                    address,
                    display_name: None,
                    status: Status::Unsubscribed,
                    source: "config",
                    action: "remove",
                    actor: "config",
                    inbound_id: None,
                    reason: "no longer listed in lists.toml",
                },
            )
            .await?;
            removed += 1;
        }
    }
    tx.commit().await?;
    Ok((added, removed))
}
