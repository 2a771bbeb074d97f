//! An SMTP relay: lettre's SMTP client over our own TCP sockets, kept in a small pool.
//!
//! The sockets are ours so that they can be `TCP_NODELAY`: lettre writes a message and its
//! terminating `.` in two writes, and with Nagle's algorithm the second waits for the
//! server's delayed ACK (40 ms on Linux) — a ceiling of about 25 messages per second per
//! connection, whatever the relay could take. A pooled connection used within the last
//! few seconds goes straight to `MAIL FROM` (no `NOOP` round trip first); if the server has
//! closed it meanwhile, `MAIL FROM` fails before anything was accepted, and the transaction
//! starts again on a fresh connection. lettre tells whether an error is permanent (5xx);
//! everything else is retried.

use super::{Envelope, SendError};
use crate::config::{Config, Relay, Tls};
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Mail, Noop, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

/// Longest wait for a connection, its TLS handshake and the greeting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest one transaction may take (RFC 5321 §4.5.3.2 allows 10 minutes after the data).
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(600);
/// A pooled connection idle longer than this is checked with `NOOP` before use.
const PROBE_AFTER: Duration = Duration::from_secs(5);
/// A pooled connection idle longer than this is closed rather than reused.
const IDLE_MAX: Duration = Duration::from_secs(60);

/// How the connection is secured.
enum Security {
    /// Plain text.
    None,
    /// `STARTTLS` after the greeting (lettre's handshake).
    Starttls(TlsParameters),
    /// TLS from the first byte.
    Implicit(TlsConnector, ServerName<'static>),
}

/// A pool of connections to one relay.
pub struct SmtpSink {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// Connections waiting for the next transaction, with the instant they were last used.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    /// Connections kept in the pool at most.
    max_idle: usize,
}

fn setup_error(message: String) -> SendError {
    SendError::permanent(message)
}

/// A lettre error as a send error: 5xx answers are permanent.
fn send_error(err: SmtpError) -> SendError {
    if err.is_permanent() {
        SendError::permanent(err.to_string())
    } else {
        SendError::temporary(err.to_string())
    }
}

/// Whether an error is the server's reply (rather than a dead or garbled connection).
fn is_reply(err: &SmtpError) -> bool {
    err.is_permanent() || err.is_transient()
}

impl SmtpSink {
    /// Prepare the connections to one `[[delivery.relay]]`; nothing is connected yet.
    pub fn new(smtp: &Relay, config: &Config) -> Result<SmtpSink, SendError> {
        let security = match smtp.tls {
            Tls::None => Security::None,
            Tls::Starttls => {
                let mut tls = TlsParameters::builder(smtp.host.clone());
                if let Some(ca) = &smtp.ca_file {
                    let pem = std::fs::read(config.path(ca))
                        .map_err(|e| setup_error(format!("cannot read {}: {e}", ca.display())))?;
                    let cert =
                        Certificate::from_pem(&pem).map_err(|e| setup_error(e.to_string()))?;
                    tls = tls.add_root_certificate(cert);
                }
                Security::Starttls(tls.build().map_err(|e| setup_error(e.to_string()))?)
            }
            Tls::Implicit => {
                let ca = smtp.ca_file.as_ref().map(|p| config.path(p));
                let connector = crate::tls::connector(ca.as_deref()).map_err(setup_error)?;
                let name = ServerName::try_from(smtp.host.clone())
                    .map_err(|e| setup_error(format!("{}: {e}", smtp.host)))?;
                Security::Implicit(connector, name)
            }
        };
        let credentials = smtp.user.as_ref().map(|user| {
            let password = smtp
                .password_env
                .as_ref()
                .and_then(|v| std::env::var(v.get_ref()).ok())
                .unwrap_or_default();
            Credentials::new(user.clone(), password)
        });
        Ok(SmtpSink {
            host: smtp.host.clone(),
            port: smtp.port,
            security,
            credentials,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            max_idle: smtp.connections.max(1) as usize,
        })
    }

    /// One transaction: `MAIL FROM`, a `RCPT TO` per recipient, `DATA`. A connection goes
    /// back to the pool only after a transaction that succeeded.
    pub(super) async fn send(&self, e: &Envelope<'_>) -> Result<(), SendError> {
        let bad = |err: lettre::address::AddressError| {
            SendError::permanent(format!("invalid address: {err}"))
        };
        let from: lettre::Address = e.from.parse().map_err(bad)?;
        let to =
            e.to.iter()
                .map(|t| t.parse::<lettre::Address>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(bad)?;
        if to.is_empty() {
            return Err(SendError::permanent("no recipient"));
        }
        let utf8 = !e.from.is_ascii() || e.to.iter().any(|t| !t.is_ascii());
        let eight_bit = !e.raw.is_ascii();
        let transaction = async {
            let (mut conn, mut reused) = self.checkout().await?;
            loop {
                let mut params = Vec::new();
                if utf8 {
                    if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                        conn.abort().await;
                        return Err(SendError::temporary(
                            "the envelope has non-ASCII addresses but the server does not support SMTPUTF8",
                        ));
                    }
                    params.push(MailParameter::SmtpUtfEight);
                }
                if eight_bit {
                    if !conn.server_info().supports_feature(Extension::EightBitMime) {
                        conn.abort().await;
                        return Err(SendError::temporary(
                            "the message has 8-bit content but the server does not support 8BITMIME",
                        ));
                    }
                    params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
                }
                match conn.command(Mail::new(Some(from.clone()), params)).await {
                    Ok(_) => break,
                    // The server closed the pooled connection: nothing was accepted, so the
                    // transaction starts again on a new one.
                    Err(err) if reused && !is_reply(&err) => {
                        conn.abort().await;
                        conn = self.connect().await?;
                        reused = false;
                    }
                    Err(err) => {
                        conn.abort().await;
                        return Err(send_error(err));
                    }
                }
            }
            let rest = async {
                for rcpt in &to {
                    conn.command(Rcpt::new(rcpt.clone(), vec![])).await?;
                }
                conn.command(Data).await?;
                conn.message(e.raw).await
            };
            match rest.await {
                Ok(_) => {
                    self.checkin(conn);
                    Ok(())
                }
                Err(err) => {
                    conn.abort().await;
                    Err(send_error(err))
                }
            }
        };
        match tokio::time::timeout(TRANSACTION_TIMEOUT, transaction).await {
            Ok(result) => result,
            Err(_) => Err(SendError::temporary(format!(
                "{}:{}: no answer within {} s",
                self.host,
                self.port,
                TRANSACTION_TIMEOUT.as_secs()
            ))),
        }
    }

    /// A pooled connection (true) or a new one (false).
    async fn checkout(&self) -> Result<(AsyncSmtpConnection, bool), SendError> {
        loop {
            let pooled = self.idle.lock().expect("smtp pool").pop();
            let Some((mut conn, since)) = pooled else {
                return Ok((self.connect().await?, false));
            };
            let idle = since.elapsed();
            if idle > IDLE_MAX || (idle > PROBE_AFTER && !conn.test_connected().await) {
                conn.abort().await;
                continue;
            }
            return Ok((conn, true));
        }
    }

    /// Return a connection after a successful transaction.
    fn checkin(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().expect("smtp pool");
        if idle.len() < self.max_idle {
            idle.push((conn, Instant::now()));
        }
        // Else dropped: the socket closes without QUIT, as with a surplus lettre connection.
    }

    /// Connect, secure, greet and log in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let open = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| SendError::temporary(format!("connecting: {e}")))?;
            tcp.set_nodelay(true)
                .map_err(|e| SendError::temporary(format!("TCP_NODELAY: {e}")))?;
            let stream: Box<dyn AsyncTokioStream> = match &self.security {
                Security::Implicit(connector, name) => Box::new(TlsStream(
                    connector
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| SendError::temporary(format!("TLS handshake: {e}")))?,
                )),
                Security::None | Security::Starttls(_) => Box::new(tcp),
            };
            let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
                .await
                .map_err(send_error)?;
            if let Security::Starttls(params) = &self.security {
                conn.starttls(params.clone(), &self.hello)
                    .await
                    .map_err(send_error)?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(DEFAULT_MECHANISMS, credentials)
                    .await
                    .map_err(send_error)?;
            }
            Ok(conn)
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, open).await {
            Ok(result) => result,
            Err(_) => Err(SendError::temporary(format!(
                "{}:{}: no connection within {} s",
                self.host,
                self.port,
                CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// A TLS stream as lettre takes an existing transport (implicit TLS on our own socket).
#[derive(Debug)]
struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
