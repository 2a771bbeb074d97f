//! A local Maildir: the embedded default, so a fresh checkout runs with no mail server.
//! New mail is in `new/`; a processed message moves to `cur/` flagged Seen; a quarantined
//! one moves to the `.Quarantine` folder. A rename is atomic, so a crash leaves each
//! message either waiting or done.

use super::{Ack, Fetched, Source, SourceError};
use crate::shutdown::Shutdown;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often `new/` is looked at when waiting.
pub const POLL: Duration = Duration::from_secs(2);

/// A Maildir directory.
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// Open a Maildir, creating its folders when missing.
    pub fn open(root: &Path) -> Result<Maildir, SourceError> {
        for dir in [
            "new",
            "cur",
            "tmp",
            ".Quarantine/new",
            ".Quarantine/cur",
            ".Quarantine/tmp",
        ] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        Ok(Maildir {
            root: root.to_path_buf(),
        })
    }
}

/// The unique part of a Maildir file name (before the `:2,` flags).
fn unique(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

impl Source for Maildir {
    async fn fetch(&mut self, limit: usize) -> Result<Vec<Fetched>, SourceError> {
        let mut names = Vec::new();
        let mut dir = tokio::fs::read_dir(self.root.join("new")).await?;
        while let Some(entry) = dir.next_entry().await? {
            if let Some(name) = entry.file_name().to_str()
                && !name.starts_with('.')
            {
                names.push(name.to_string());
            }
        }
        // Maildir names begin with the delivery time: sorting gives arrival order.
        names.sort();
        let mut out = Vec::with_capacity(limit.min(names.len()));
        for name in names {
            if out.len() == limit {
                break;
            }
            match tokio::fs::read(self.root.join("new").join(&name)).await {
                Ok(raw) => out.push(Fetched {
                    key: format!("maildir:{}", unique(&name)),
                    locator: name,
                    raw,
                }),
                // Taken by another reader in the meantime.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // One entry that cannot be read (permissions, a directory) must not hold
                // up the messages behind it: it stays in new/ and is tried again next round.
                Err(e) => {
                    tracing::warn!(file = %name, error = %e, "cannot read message; left in new/")
                }
            }
        }
        Ok(out)
    }

    async fn ack(&mut self, msg: &Fetched, ack: Ack) -> Result<(), SourceError> {
        let from = self.root.join("new").join(&msg.locator);
        let base = unique(&msg.locator);
        let to = match ack {
            Ack::Processed => self.root.join("cur").join(format!("{base}:2,S")),
            Ack::Quarantined => self.root.join(".Quarantine/cur").join(format!("{base}:2,")),
        };
        match tokio::fs::rename(&from, &to).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn wait(&mut self, shutdown: &mut Shutdown) -> Result<(), SourceError> {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.wait() => {}
        }
        Ok(())
    }
}
