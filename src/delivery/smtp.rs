//! An SMTP relay: a pool of client connections, each one SMTP session at a time.
//!
//! The protocol is small and spoken here directly, with lettre's command and reply types
//! (`Mail`, `Rcpt`, `Auth`, `Response`, `ServerInfo`), because the hot path of a fan-out
//! is this loop and lettre's client costs three things a million times over:
//!
//! - its sockets are not `TCP_NODELAY`, and it writes a message and the closing `.` in two
//!   writes: Nagle's algorithm holds the second until the server's delayed ACK (40 ms on
//!   Linux), about 25 messages per second per connection;
//! - it dot-stuffs byte by byte (a third of the CPU time of a personalised fan-out);
//! - it sends `NOOP` before reusing a connection and one command per round trip.
//!
//! Here `MAIL FROM` and every `RCPT TO` go out in one write when the server offers
//! PIPELINING (RFC 2920), then `DATA`, then the message, dot-stuffed by slices and closed in
//! the same write. A pooled connection used within the last few seconds goes straight to
//! `MAIL FROM`; if the server closed it meanwhile (or answers 421), nothing was accepted,
//! and the transaction starts again on a new connection. A connection goes back to the pool
//! only after a transaction that succeeded. 5xx answers are permanent; every other failure
//! (4xx, a dead or garbled connection, a timeout, a refused login) is retried later.

use super::{Envelope, SendError};
use crate::config::{Config, Relay, Tls};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::commands::{Auth, Data, Ehlo, Mail, Rcpt, Starttls};
use lettre::transport::smtp::extension::{
    ClientId, Extension, MailBodyParameter, MailParameter, ServerInfo,
};
use lettre::transport::smtp::response::{Response, Severity};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

/// Longest wait for a connection: TCP, TLS, greeting, EHLO, STARTTLS, AUTH.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest one transaction may take (RFC 5321 §4.5.3.2 allows 10 minutes after the data).
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(600);
/// A pooled connection idle longer than this is closed rather than reused (servers drop
/// idle clients after a few minutes; RFC 5321 asks at least 5).
const IDLE_MAX: Duration = Duration::from_secs(60);
/// Longest reply accepted, in bytes (an EHLO reply is a few hundred).
const MAX_REPLY: usize = 64 * 1024;

/// A byte stream to the server: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How the connection is secured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Security {
    None,
    Starttls,
    Implicit,
}

/// A pool of connections to one relay.
pub struct SmtpSink {
    host: String,
    port: u16,
    security: Security,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// Connections waiting for the next transaction.
    idle: Mutex<Vec<Connection>>,
    /// Connections kept in the pool at most.
    max_idle: usize,
    /// One permit per connection the relay allows open at once (`connections`).
    open: tokio::sync::Semaphore,
}

fn setup_error(message: String) -> SendError {
    SendError::permanent(message)
}

impl SmtpSink {
    /// Prepare the connections to one `[[delivery.relay]]`; nothing is connected yet.
    pub fn new(smtp: &Relay, config: &Config) -> Result<SmtpSink, SendError> {
        let security = match smtp.tls {
            Tls::None => Security::None,
            Tls::Starttls => Security::Starttls,
            Tls::Implicit => Security::Implicit,
        };
        let tls = match security {
            Security::None => None,
            Security::Starttls | Security::Implicit => {
                let ca = smtp.ca_file.as_ref().map(|p| config.path(p));
                let connector = crate::tls::connector(ca.as_deref()).map_err(setup_error)?;
                let name = ServerName::try_from(smtp.host.clone())
                    .map_err(|e| setup_error(format!("{}: {e}", smtp.host)))?;
                Some((connector, name))
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
            tls,
            credentials,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            max_idle: smtp.connections.max(1) as usize,
            open: tokio::sync::Semaphore::new(smtp.connections.max(1) as usize),
        })
    }

    /// One transaction: `MAIL FROM`, a `RCPT TO` per recipient, `DATA`.
    pub(super) async fn send(&self, e: &Envelope<'_>) -> Result<(), SendError> {
        let bad = |err: lettre::address::AddressError| {
            SendError::permanent(format!("invalid address: {err}"))
        };
        let from: lettre::Address = e.from.parse().map_err(bad)?;
        let mut commands = Vec::with_capacity(1 + e.to.len());
        let mut params = Vec::new();
        if !e.from.is_ascii() || e.to.iter().any(|t| !t.is_ascii()) {
            params.push(MailParameter::SmtpUtfEight);
        }
        if !e.raw.is_ascii() {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        commands.push(Mail::new(Some(from), params).to_string());
        for rcpt in e.to {
            let rcpt: lettre::Address = rcpt.parse().map_err(bad)?;
            commands.push(Rcpt::new(rcpt, vec![]).to_string());
        }
        if commands.len() == 1 {
            return Err(SendError::permanent("no recipient"));
        }
        // More senders than `connections` (several relays share the work) wait here.
        let _permit = self
            .open
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let transaction = async {
            let (mut conn, mut reused) = self.checkout().await?;
            loop {
                match conn.transaction(&commands, e.raw).await {
                    Ok(()) => {
                        self.checkin(conn);
                        return Ok(());
                    }
                    // The pooled connection was closed under us before anything was
                    // accepted: start again on a new one.
                    Err(Failure::Stale(_)) if reused => {
                        conn = self.connect().await?;
                        reused = false;
                    }
                    Err(Failure::Stale(e) | Failure::Failed(e)) => return Err(e),
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
    async fn checkout(&self) -> Result<(Connection, bool), SendError> {
        loop {
            let pooled = self.idle.lock().expect("smtp pool").pop();
            match pooled {
                Some(conn) if conn.used.elapsed() > IDLE_MAX => continue,
                Some(conn) => return Ok((conn, true)),
                None => return Ok((self.connect().await?, false)),
            }
        }
    }

    /// Return a connection after a successful transaction.
    fn checkin(&self, mut conn: Connection) {
        conn.used = Instant::now();
        let mut idle = self.idle.lock().expect("smtp pool");
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    /// Connect, secure, greet and log in. Every failure here is the relay's, not the
    /// message's: it is temporary, whatever the server answered.
    async fn connect(&self) -> Result<Connection, SendError> {
        let open = async {
            let at = format!("{}:{}", self.host, self.port);
            let fail = |what: &str, e: &dyn std::fmt::Display| {
                SendError::temporary(format!("{at}: {what}: {e}"))
            };
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| fail("connect", &e))?;
            tcp.set_nodelay(true).map_err(|e| fail("TCP_NODELAY", &e))?;
            let mut conn = match (self.security, &self.tls) {
                (Security::Implicit, Some((connector, name))) => {
                    let tls = connector
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| fail("TLS handshake", &e))?;
                    Connection::new(Box::new(tls))
                }
                _ => Connection::new(Box::new(tcp)),
            };
            conn.expect("greeting", 220)
                .await
                .map_err(|e| fail("greeting", &e))?;
            conn.ehlo(&self.hello).await.map_err(|e| fail("EHLO", &e))?;
            if let (Security::Starttls, Some((connector, name))) = (self.security, &self.tls) {
                if !conn.info.supports_feature(Extension::StartTls) {
                    return Err(fail("STARTTLS", &"not offered by the server"));
                }
                conn.write(Starttls.to_string().as_bytes())
                    .await
                    .map_err(|e| fail("STARTTLS", &e))?;
                conn.expect("STARTTLS", 220)
                    .await
                    .map_err(|e| fail("STARTTLS", &e))?;
                if !conn.stream.buffer().is_empty() {
                    // Anything sent before the handshake could be an injection.
                    return Err(fail("STARTTLS", &"the server sent data before TLS"));
                }
                let plain = conn.stream.into_inner();
                let tls = connector
                    .connect(name.clone(), plain)
                    .await
                    .map_err(|e| fail("TLS handshake", &e))?;
                conn = Connection::new(Box::new(tls));
                conn.ehlo(&self.hello).await.map_err(|e| fail("EHLO", &e))?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(credentials).await.map_err(|e| fail("AUTH", &e))?;
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

/// Why a transaction did not go through.
enum Failure {
    /// Nothing was accepted and the connection is gone (closed, or 421 to MAIL FROM):
    /// on a pooled connection, worth a new one.
    Stale(SendError),
    /// Anything else.
    Failed(SendError),
}

/// A reply that is not the expected one, or no reply.
#[derive(Debug)]
enum ReplyError {
    /// The server answered, negatively.
    Negative(Response),
    /// The connection failed or the reply made no sense.
    Io(String),
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyError::Negative(r) => {
                write!(f, "{}", u16::from(r.code()))?;
                for line in r.message() {
                    write!(f, " {line}")?;
                }
                Ok(())
            }
            ReplyError::Io(e) => f.write_str(e),
        }
    }
}

impl ReplyError {
    /// As a send error, naming the step: 5xx is permanent.
    fn during(self, step: &str) -> SendError {
        let permanent = matches!(&self, ReplyError::Negative(r)
            if r.code().severity == Severity::PermanentNegativeCompletion);
        let message = format!("{step}: {self}");
        if permanent {
            SendError::permanent(message)
        } else {
            SendError::temporary(message)
        }
    }
}

impl From<std::io::Error> for ReplyError {
    fn from(e: std::io::Error) -> ReplyError {
        ReplyError::Io(e.to_string())
    }
}

/// One SMTP session.
struct Connection {
    stream: BufReader<Box<dyn Io>>,
    info: ServerInfo,
    pipelining: bool,
    /// The last time a transaction on it succeeded.
    used: Instant,
    /// Reused for each message's dot-stuffed copy.
    out: Vec<u8>,
}

impl Connection {
    fn new(stream: Box<dyn Io>) -> Connection {
        Connection {
            stream: BufReader::new(stream),
            info: ServerInfo::default(),
            pipelining: false,
            used: Instant::now(),
            out: Vec::new(),
        }
    }

    /// Write and flush.
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ReplyError> {
        let w = self.stream.get_mut();
        w.write_all(bytes).await?;
        w.flush().await?;
        Ok(())
    }

    /// Read one (possibly multi-line) reply.
    async fn reply(&mut self) -> Result<Response, ReplyError> {
        let mut text = String::new();
        loop {
            let start = text.len();
            let n = self.stream.read_line(&mut text).await?;
            if n == 0 {
                return Err(ReplyError::Io("the server closed the connection".into()));
            }
            if text.len() > MAX_REPLY {
                return Err(ReplyError::Io("reply too long".into()));
            }
            // "250-more follows", "250 last line" or a bare "250".
            let line = &text.as_bytes()[start..];
            if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
                return Err(ReplyError::Io(format!(
                    "malformed reply {:?}",
                    text.trim_end()
                )));
            }
            if line.get(3) != Some(&b'-') {
                break;
            }
        }
        text.parse::<Response>()
            .map_err(|_| ReplyError::Io(format!("malformed reply {:?}", text.trim_end())))
    }

    /// Read a reply that must have `code`.
    async fn expect(&mut self, what: &str, code: u16) -> Result<Response, ReplyError> {
        let r = self.reply().await?;
        if u16::from(r.code()) == code {
            Ok(r)
        } else if r.is_positive() {
            Err(ReplyError::Io(format!(
                "{what}: expected {code}, got {}",
                u16::from(r.code())
            )))
        } else {
            Err(ReplyError::Negative(r))
        }
    }

    /// Read a reply that must be positive (2xx or 3xx).
    async fn positive(&mut self) -> Result<Response, ReplyError> {
        let r = self.reply().await?;
        if r.is_positive() {
            Ok(r)
        } else {
            Err(ReplyError::Negative(r))
        }
    }

    async fn ehlo(&mut self, hello: &ClientId) -> Result<(), ReplyError> {
        self.write(Ehlo::new(hello.clone()).to_string().as_bytes())
            .await?;
        let r = self.expect("EHLO", 250).await?;
        self.info = ServerInfo::from_response(&r).map_err(|e| ReplyError::Io(e.to_string()))?;
        self.pipelining = r.message().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
        });
        Ok(())
    }

    async fn auth(&mut self, credentials: &Credentials) -> Result<(), ReplyError> {
        let mechanism = self
            .info
            .get_auth_mechanism(DEFAULT_MECHANISMS)
            .ok_or_else(|| ReplyError::Io("no AUTH mechanism in common".into()))?;
        let auth = Auth::new(mechanism, credentials.clone(), None)
            .map_err(|e| ReplyError::Io(e.to_string()))?;
        self.write(auth.to_string().as_bytes()).await?;
        let mut r = self.positive().await?;
        let mut challenges = 10;
        while u16::from(r.code()) == 334 {
            if challenges == 0 {
                return Err(ReplyError::Io("too many AUTH challenges".into()));
            }
            challenges -= 1;
            let next = Auth::new_from_response(mechanism, credentials.clone(), &r)
                .map_err(|e| ReplyError::Io(e.to_string()))?;
            self.write(next.to_string().as_bytes()).await?;
            r = self.positive().await?;
        }
        Ok(())
    }

    /// MAIL FROM and RCPT TO (`commands`, pipelined when offered), DATA, the message.
    async fn transaction(&mut self, commands: &[String], raw: &[u8]) -> Result<(), Failure> {
        let failed = |step: &str, e: ReplyError| Failure::Failed(e.during(step));
        let utf8 = commands[0].contains("SMTPUTF8");
        if utf8 && !self.info.supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::Failed(SendError::temporary(
                "the envelope has non-ASCII addresses but the server does not offer SMTPUTF8",
            )));
        }
        if commands[0].contains("BODY=8BITMIME")
            && !self.info.supports_feature(Extension::EightBitMime)
        {
            return Err(Failure::Failed(SendError::temporary(
                "the message has 8-bit content but the server does not offer 8BITMIME",
            )));
        }
        // MAIL FROM: a closed connection or 421 here means nothing was accepted.
        let stale = |e: ReplyError| match e {
            ReplyError::Io(_) => Failure::Stale(e.during("MAIL FROM")),
            ReplyError::Negative(ref r) if u16::from(r.code()) == 421 => {
                Failure::Stale(e.during("MAIL FROM"))
            }
            e => failed("MAIL FROM", e),
        };
        if self.pipelining {
            let batch = commands.concat();
            self.write(batch.as_bytes()).await.map_err(stale)?;
        } else {
            self.write(commands[0].as_bytes()).await.map_err(stale)?;
        }
        self.positive().await.map_err(stale)?;
        for rcpt in &commands[1..] {
            if !self.pipelining {
                self.write(rcpt.as_bytes())
                    .await
                    .map_err(|e| failed(rcpt.trim_end(), e))?;
            }
            self.positive()
                .await
                .map_err(|e| failed(rcpt.trim_end(), e))?;
        }
        self.write(Data.to_string().as_bytes())
            .await
            .map_err(|e| failed("DATA", e))?;
        self.expect("DATA", 354)
            .await
            .map_err(|e| failed("DATA", e))?;
        let mut out = std::mem::take(&mut self.out);
        dot_stuff(raw, &mut out);
        let written = self.write(&out).await;
        self.out = out;
        written.map_err(|e| failed("message", e))?;
        self.positive()
            .await
            .map_err(|e| failed("end of message", e))?;
        Ok(())
    }
}

/// The message as DATA sends it (RFC 5321 §4.5.2): a `.` doubled at the start of every
/// line, the last line ended, and the closing `.` line. Lines are found by LF, so a bare
/// LF cannot smuggle an end of data past a server that accepts one. The copy is made in
/// slices between the dots that start a line (there are none in base64).
fn dot_stuff(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(raw.len() + 8);
    let mut copied = 0;
    let mut from = 0;
    while let Some(dot) = next_dot(raw, from) {
        if dot == 0 || raw[dot - 1] == b'\n' {
            out.extend_from_slice(&raw[copied..dot]);
            out.push(b'.');
            copied = dot;
        }
        from = dot + 1;
    }
    out.extend_from_slice(&raw[copied..]);
    if !raw.is_empty() && !raw.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}

/// The first `.` in `hay` at or after `from`, looked for eight bytes at a time (a word
/// has a zero byte where it XOR eight dots has one).
fn next_dot(hay: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const DOTS: u64 = ONES * b'.' as u64;
    let mut i = from;
    while let Some(word) = hay.get(i..i + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes")) ^ DOTS;
        if x.wrapping_sub(ONES) & !x & HIGH != 0 {
            break;
        }
        i += 8;
    }
    hay.get(i..)?.iter().position(|&b| b == b'.').map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::dot_stuff;

    fn stuffed(raw: &[u8]) -> String {
        let mut out = Vec::new();
        dot_stuff(raw, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn leading_dots_are_doubled_and_the_data_closed() {
        assert_eq!(stuffed(b"a\r\n.b\r\n..\r\n"), "a\r\n..b\r\n...\r\n.\r\n");
        assert_eq!(stuffed(b".\r\n"), "..\r\n.\r\n");
        assert_eq!(stuffed(b"x.y\r\n"), "x.y\r\n.\r\n");
    }

    #[test]
    fn an_unended_last_line_is_ended() {
        assert_eq!(stuffed(b"a\r\nb"), "a\r\nb\r\n.\r\n");
        assert_eq!(stuffed(b"a\r\n."), "a\r\n..\r\n.\r\n");
        assert_eq!(stuffed(b""), ".\r\n");
    }

    #[test]
    fn a_bare_lf_cannot_end_the_data() {
        assert_eq!(stuffed(b"a\n.\nb\r\n"), "a\n..\nb\r\n.\r\n");
    }

    #[test]
    fn long_messages_are_stuffed_wherever_the_dots_fall() {
        // Dots at every offset against the eight-byte words, and none at all.
        for shift in 0..17 {
            let mut raw = "x".repeat(shift).into_bytes();
            raw.extend_from_slice(b"\r\n.a.b\r\n..\r\nno.dot\r\n");
            raw.extend_from_slice("y".repeat(40).as_bytes());
            raw.extend_from_slice(b"\r\n.\r\n");
            let expected = String::from_utf8(raw.clone())
                .unwrap()
                .replace("\n.", "\n..")
                + ".\r\n";
            assert_eq!(stuffed(&raw), expected, "shift {shift}");
        }
        let plain = "abcdefgh".repeat(1000) + "\r\n";
        assert_eq!(stuffed(plain.as_bytes()), plain.clone() + ".\r\n");
    }
}
