//! The file outbox: each mail becomes `<row id>.eml` with `Return-Path` and
//! `Delivered-To` prepended, as a local delivery would write it. Written to a temporary
//! name and renamed, so a reader never sees half a file.

use super::SendError;
use crate::store::outbound::Due;
use std::path::{Path, PathBuf};

/// A directory of `.eml` files.
pub struct FileSink {
    dir: PathBuf,
}

impl FileSink {
    /// Use (and create) `dir`.
    pub fn new(dir: &Path) -> Result<FileSink, SendError> {
        std::fs::create_dir_all(dir).map_err(|e| SendError {
            permanent: false,
            message: format!("cannot create outbox {}: {e}", dir.display()),
        })?;
        Ok(FileSink {
            dir: dir.to_path_buf(),
        })
    }

    pub(super) async fn send(&self, m: &Due) -> Result<(), SendError> {
        let mut bytes = format!(
            "Return-Path: <{}>\r\nDelivered-To: {}\r\n",
            m.mail_from, m.rcpt
        )
        .into_bytes();
        bytes.extend_from_slice(&m.raw);
        let tmp = self.dir.join(format!(".{:010}.tmp", m.id));
        let path = self.dir.join(format!("{:010}.eml", m.id));
        let write = async {
            tokio::fs::write(&tmp, &bytes).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        write.await.map_err(|e| SendError {
            permanent: false,
            message: format!("cannot write {}: {e}", path.display()),
        })
    }
}
