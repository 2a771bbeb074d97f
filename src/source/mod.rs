//! Sources: where inbound mail is read. A source hands out raw messages with a stable key
//! and is told afterwards what became of each; it never decides anything itself.

pub mod imap;
pub mod maildir;

use crate::shutdown::Shutdown;
use std::future::Future;

/// A message read from a source.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Stable identity within the mailbox (`imap:UIDVALIDITY:UID`, `maildir:UNIQUE`): the
    /// idempotence key.
    pub key: String,
    /// Where the source finds it again (a UID, a file name).
    pub locator: String,
    /// The message bytes.
    pub raw: Vec<u8>,
}

/// What to do with a message once its effects are committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Processed: mark or move it as the mailbox is configured.
    Processed,
    /// Quarantined: move it to the quarantine folder.
    Quarantined,
}

/// A source failed (connection, protocol, file system).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Network or file-system trouble: reconnect and try again.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The IMAP server refused or answered oddly.
    #[error("imap: {0}")]
    Imap(String),
    /// TLS setup failed.
    #[error("tls: {0}")]
    Tls(String),
}

/// A mailbox the poller reads.
pub trait Source: Send {
    /// Up to `limit` unprocessed messages, oldest first.
    fn fetch(
        &mut self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Fetched>, SourceError>> + Send;

    /// Mark or move a message after its effects are committed.
    fn ack(
        &mut self,
        msg: &Fetched,
        ack: Ack,
    ) -> impl Future<Output = Result<(), SourceError>> + Send;

    /// Wait until new mail may be there (IMAP IDLE, or the poll interval) or shutdown.
    fn wait(
        &mut self,
        shutdown: &mut Shutdown,
    ) -> impl Future<Output = Result<(), SourceError>> + Send;
}
