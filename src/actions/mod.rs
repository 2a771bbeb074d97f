//! Handlers: one small function per class of inbound message. They decide and write
//! membership, token, audit and outbound rows inside the caller's transaction; they never
//! send mail themselves.

pub mod answer;
pub mod bounce;
mod complaint;
pub mod confirm;
pub mod disabled;
pub mod pause;
pub mod post;
mod register;
pub mod sync;
pub mod unsubscribe;

use crate::classify::{Class, Decision};
use crate::compose::ComposeError;
use crate::config::Config;
use crate::message::Inbound;
use crate::store::StoreError;
use crate::store::inbound::Disposition;
use crate::templates::Templates;
use sqlx::AnyConnection;

/// A handler failed; the message is quarantined with this reason.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An answer could not be built.
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// A step panicked; its transaction was rolled back.
    #[error("panicked: {0}")]
    Panic(String),
}

/// What a handler needs besides the transaction.
pub struct Ctx<'a> {
    /// The site configuration.
    pub config: &'a Config,
    /// The mail templates.
    pub templates: &'a Templates,
    /// The message being handled.
    pub msg: &'a Inbound,
    /// Its inbound row.
    pub inbound_id: i64,
    /// Its raw bytes (kept for posts).
    pub raw: &'a [u8],
}

impl Ctx<'_> {
    /// The audit/log actor for effects of this message.
    fn actor(&self) -> String {
        format!("mail:{}", self.inbound_id)
    }
}

/// Act on a classified message.
pub async fn handle(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    decision: &Decision,
) -> Result<Disposition, ActionError> {
    match &decision.class {
        Class::Registration { lists } => register::handle(conn, ctx, lists).await,
        Class::Confirmation { tokens } => confirm::handle(conn, ctx, tokens).await,
        Class::Unsubscribe { lists } => unsubscribe::handle(conn, ctx, lists).await,
        Class::ListUnsubscribe { list, tag } => unsubscribe::one_click(conn, ctx, list, tag).await,
        Class::Post { lists } => post::handle(conn, ctx, lists).await,
        Class::Bounce { report, verp } => {
            bounce::handle(conn, ctx, report.as_ref(), verp.as_ref()).await
        }
        Class::Complaint { report, verp } => {
            complaint::handle(conn, ctx, report, verp.as_ref()).await
        }
        Class::Invalid | Class::Loop | Class::AutoReply | Class::Unknown => {
            Ok(Disposition::Ignored)
        }
    }
}
