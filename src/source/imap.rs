//! An IMAP mailbox (Google Workspace, Gmail, Dovecot, …): TLS via rustls, implicit or
//! STARTTLS; IDLE where the server offers it, interval polling otherwise. A message is
//! flagged, moved or deleted only when `ack` is called, after its effects are committed.
//! Any error drops the connection; the next call reconnects.

use super::{Ack, Fetched, Source, SourceError};
use crate::config::{self, Processed, Tls};
use crate::shutdown::Shutdown;
use async_imap::{Client, Session};
use futures::TryStreamExt;
use std::fmt::Debug;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;

/// Longest wait for any single network step.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(60);

/// Any byte stream the session can run over: plain TCP or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync + Debug> Io for T {}
type Stream = Box<dyn Io>;

/// One IMAP account and folder.
pub struct Imap {
    cfg: config::Imap,
    password: String,
    ca_file: Option<PathBuf>,
    session: Option<Connected>,
}

struct Connected {
    session: Session<Stream>,
    uid_validity: u32,
    idle: bool,
    mv: bool,
}

impl From<async_imap::error::Error> for SourceError {
    fn from(e: async_imap::error::Error) -> Self {
        SourceError::Imap(e.to_string())
    }
}

async fn timed<T, E: Into<SourceError>>(
    what: &str,
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, SourceError> {
    match tokio::time::timeout(NETWORK_TIMEOUT, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(SourceError::Imap(format!("{what}: timed out"))),
    }
}

impl Imap {
    /// A mailbox that connects on first use, trusting the extra CAs in `ca_file`.
    pub fn new(cfg: &config::Imap, password: String, ca_file: Option<PathBuf>) -> Imap {
        Imap {
            cfg: cfg.clone(),
            password,
            ca_file,
            session: None,
        }
    }

    async fn tls(&self, tcp: TcpStream) -> Result<Stream, SourceError> {
        let connector = crate::tls::connector(self.ca_file.as_deref()).map_err(SourceError::Tls)?;
        let name = ServerName::try_from(self.cfg.host.clone())
            .map_err(|e| SourceError::Tls(e.to_string()))?;
        let stream = timed("TLS handshake", connector.connect(name, tcp)).await?;
        Ok(Box::new(stream))
    }

    async fn connect(&self) -> Result<Connected, SourceError> {
        let c = &self.cfg;
        let tcp = timed("connect", TcpStream::connect((c.host.as_str(), c.port))).await?;
        let stream: Stream = match c.tls {
            Tls::Implicit => self.tls(tcp).await?,
            Tls::None => Box::new(tcp),
            Tls::Starttls => {
                let mut client = Client::new(tcp);
                timed("greeting", client.read_response()).await?;
                timed(
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?;
                self.tls(client.into_inner()).await?
            }
        };
        let mut client = Client::new(stream);
        if c.tls != Tls::Starttls {
            timed("greeting", client.read_response()).await?;
        }
        let mut session = timed("login", async {
            client
                .login(&c.user, &self.password)
                .await
                .map_err(|(e, _)| e)
        })
        .await?;
        let caps = timed("CAPABILITY", session.capabilities()).await?;
        let mut wanted = vec![c.quarantine_folder.as_str()];
        if c.processed == Processed::Move {
            wanted.push(c.processed_folder.as_str());
        }
        for folder in wanted {
            // CREATE fails when the folder exists, which is the usual case.
            let _ = timed("CREATE", session.create(folder)).await;
        }
        let mailbox = timed("SELECT", session.select(&c.folder)).await?;
        tracing::info!(host = %c.host, user = %c.user, folder = %c.folder, exists = mailbox.exists, "imap connected");
        Ok(Connected {
            session,
            uid_validity: mailbox.uid_validity.unwrap_or(0),
            idle: caps.has_str("IDLE"),
            mv: caps.has_str("MOVE"),
        })
    }

    async fn connected(&mut self) -> Result<&mut Connected, SourceError> {
        if self.session.is_none() {
            self.session = Some(self.connect().await?);
        }
        Ok(self.session.as_mut().expect("just connected"))
    }

    /// Run a step; on failure drop the connection so the next step reconnects.
    fn forget_on_error<T>(&mut self, r: Result<T, SourceError>) -> Result<T, SourceError> {
        if r.is_err() {
            self.session = None;
        }
        r
    }

    async fn fetch_inner(&mut self, limit: usize) -> Result<Vec<Fetched>, SourceError> {
        let query = match self.cfg.processed {
            Processed::Seen => "UNSEEN",
            Processed::Move | Processed::Delete => "UNDELETED",
        };
        let conn = self.connected().await?;
        let mut uids: Vec<u32> = timed("SEARCH", conn.session.uid_search(query))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        uids.truncate(limit);
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let validity = conn.uid_validity;
        let fetches: Vec<_> = timed("FETCH", async {
            conn.session
                .uid_fetch(&set, "(UID BODY.PEEK[])")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        let mut out: Vec<Fetched> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid?;
                Some(Fetched {
                    key: format!("imap:{validity}:{uid}"),
                    locator: uid.to_string(),
                    raw: f.body().unwrap_or_default().to_vec(),
                })
            })
            .collect();
        out.sort_by_key(|f| f.locator.parse::<u32>().unwrap_or(0));
        Ok(out)
    }

    async fn ack_inner(&mut self, uid: &str, ack: Ack) -> Result<(), SourceError> {
        let processed = self.cfg.processed;
        let target = match ack {
            Ack::Quarantined => Some(self.cfg.quarantine_folder.clone()),
            Ack::Processed if processed == Processed::Move => {
                Some(self.cfg.processed_folder.clone())
            }
            Ack::Processed => None,
        };
        let conn = self.connected().await?;
        let session = &mut conn.session;
        match (target, processed) {
            (Some(folder), _) if conn.mv => timed("MOVE", session.uid_mv(uid, &folder)).await?,
            (Some(folder), _) => {
                timed("COPY", session.uid_copy(uid, &folder)).await?;
                delete(session, uid).await?;
            }
            (None, Processed::Seen) => {
                timed("STORE", async {
                    session
                        .uid_store(uid, "+FLAGS (\\Seen)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
            }
            (None, _) => delete(session, uid).await?,
        }
        Ok(())
    }

    async fn wait_inner(&mut self, shutdown: &mut Shutdown) -> Result<(), SourceError> {
        let poll = Duration::from_secs(self.cfg.poll_seconds.max(1));
        let idle = self.connected().await?.idle;
        if !idle {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.wait() => {}
            }
            return Ok(());
        }
        let Connected {
            session,
            uid_validity,
            idle,
            mv,
        } = self.session.take().expect("connected above");
        let mut handle = session.idle();
        timed("IDLE", handle.init()).await?;
        let (waiting, _stop) = handle.wait_with_timeout(poll);
        let stopped = tokio::select! {
            r = waiting => { r?; false }
            _ = shutdown.wait() => true,
        };
        if stopped {
            return Ok(());
        }
        let session = timed("DONE", handle.done()).await?;
        self.session = Some(Connected {
            session,
            uid_validity,
            idle,
            mv,
        });
        Ok(())
    }
}

/// Flag a message deleted and expunge it.
async fn delete(session: &mut Session<Stream>, uid: &str) -> Result<(), SourceError> {
    timed("STORE", async {
        session
            .uid_store(uid, "+FLAGS (\\Deleted)")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    timed("EXPUNGE", async {
        session.expunge().await?.try_collect::<Vec<_>>().await
    })
    .await?;
    Ok(())
}

impl Source for Imap {
    async fn fetch(&mut self, limit: usize) -> Result<Vec<Fetched>, SourceError> {
        let r = self.fetch_inner(limit).await;
        self.forget_on_error(r)
    }

    async fn ack(&mut self, msg: &Fetched, ack: Ack) -> Result<(), SourceError> {
        let r = self.ack_inner(&msg.locator, ack).await;
        self.forget_on_error(r)
    }

    async fn wait(&mut self, shutdown: &mut Shutdown) -> Result<(), SourceError> {
        let r = self.wait_inner(shutdown).await;
        self.forget_on_error(r)
    }
}
