//! The file outbox: each mail becomes `<name>.eml` with `Return-Path` and one
//! `Delivered-To` per recipient prepended, as a local delivery would write it. Written to a temporary
//! name and renamed, so a reader never sees half a file.

use super::Envelope;
use super::SendError;
use std::path::{Path, PathBuf};

/// A directory of `.eml` files.
#[derive(Clone)]
pub struct FileSink {
    dir: PathBuf,
}

impl FileSink {
    /// Use (and create) `dir`.
    pub fn new(dir: &Path) -> Result<FileSink, SendError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            SendError::temporary(format!("cannot create outbox {}: {e}", dir.display()))
        })?;
        Ok(FileSink {
            dir: dir.to_path_buf(),
        })
    }

    pub(super) async fn send(&self, e: &Envelope<'_>) -> Result<(), SendError> {
        let mut bytes = format!("Return-Path: <{}>\r\n", e.from).into_bytes();
        for rcpt in e.to {
            bytes.extend_from_slice(format!("Delivered-To: {rcpt}\r\n").as_bytes());
        }
        bytes.extend_from_slice(e.raw);
        let tmp = self.dir.join(format!(".{}.tmp", e.name));
        let path = self.dir.join(format!("{}.eml", e.name));
        let write = async {
            tokio::fs::write(&tmp, &bytes).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        write
            .await
            .map_err(|err| SendError::temporary(format!("cannot write {}: {err}", path.display())))
    }
}
