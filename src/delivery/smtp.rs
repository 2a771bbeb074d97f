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
//! only after a transaction that ended cleanly. 5xx answers are permanent; every other
//! failure (4xx, a dead or garbled connection, a timeout, a refused login) is retried later.
//!
//! Each recipient's `RCPT TO` answer is kept: in a transaction to several recipients, the
//! ones refused get the server's reply while the others get the message, and when all are
//! refused the transaction is reset (`RSET`) with no `DATA`. A refusal (a negative reply
//! to `RCPT TO` or `DATA`) carries the server's words in `SendError::reply`.

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

    /// One transaction: `MAIL FROM`, a `RCPT TO` per recipient, `DATA`; returns each
    /// recipient's fate, in order. A recipient refused at `RCPT TO` gets the server's
    /// reply while the others get the message; when every one is refused, the
    /// transaction is reset (`RSET`) and no `DATA` is sent. An error is the whole
    /// transaction's: nothing was delivered.
    pub(super) async fn send(
        &self,
        e: &Envelope<'_>,
    ) -> Result<Vec<Result<(), SendError>>, SendError> {
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
                    Ok(ended) => {
                        if ended.reusable {
                            self.checkin(conn);
                        }
                        return Ok(ended.each);
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

    /// Return a connection after a transaction that ended cleanly.
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

/// A transaction that ended: each recipient's fate, and whether the session may take
/// the next one.
struct Ended {
    each: Vec<Result<(), SendError>>,
    reusable: bool,
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

impl ReplyError {
    /// As a send error for a refused recipient or message: a negative reply (but 421,
    /// the server closing) is the server's refusal, kept with its words.
    fn refusal(self, step: &str) -> SendError {
        let reply = match &self {
            ReplyError::Negative(r) if u16::from(r.code()) != 421 => Some(self.to_string()),
            _ => None,
        };
        SendError {
            reply,
            ..self.during(step)
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

    /// MAIL FROM and RCPT TO (`commands`, pipelined when offered), then DATA and the
    /// message to the recipients accepted, or RSET when none was.
    async fn transaction(&mut self, commands: &[String], raw: &[u8]) -> Result<Ended, Failure> {
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
        // Each recipient's answer: refused ones keep the server's reply.
        let mut each = Vec::with_capacity(commands.len() - 1);
        for rcpt in &commands[1..] {
            let step = rcpt.trim_end();
            if !self.pipelining {
                self.write(rcpt.as_bytes())
                    .await
                    .map_err(|e| failed(step, e))?;
            }
            match self.positive().await {
                Ok(_) => each.push(Ok(())),
                Err(ReplyError::Negative(r)) if u16::from(r.code()) != 421 => {
                    each.push(Err(ReplyError::Negative(r).refusal(step)))
                }
                Err(e) => return Err(failed(step, e)),
            }
        }
        if each.iter().all(Result::is_err) {
            // Nobody to send to: end the transaction without DATA.
            let reset = async {
                self.write(b"RSET\r\n").await?;
                self.expect("RSET", 250).await
            };
            let reusable = reset.await.is_ok();
            return Ok(Ended { each, reusable });
        }
        // The accepted recipients share the rest of the transaction's fate: a refusal of
        // the message is the server's reply to each of them.
        let data = async {
            self.write(Data.to_string().as_bytes())
                .await
                .map_err(|e| e.during("DATA"))?;
            self.expect("DATA", 354)
                .await
                .map_err(|e| e.refusal("DATA"))?;
            let mut out = std::mem::take(&mut self.out);
            dot_stuff(raw, &mut out);
            let written = self.write(&out).await;
            self.out = out;
            written.map_err(|e| e.during("message"))?;
            self.positive()
                .await
                .map_err(|e| e.refusal("end of message"))?;
            Ok::<(), SendError>(())
        };
        let mut result = data.await;
        let reusable = result.is_ok();
        let accepted = each.iter().filter(|r| r.is_ok()).count();
        if let Err(e) = &mut result
            && accepted > 1
        {
            // The message refused for several recipients at once: that is about the
            // message, not about any one address.
            e.reply = None;
        }
        for r in each.iter_mut().filter(|r| r.is_ok()) {
            *r = result.clone();
        }
        Ok(Ended { each, reusable })
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

/// A transaction to several recipients against a small SMTP server on loopback that
/// refuses some of them at `RCPT TO`.
#[cfg(test)]
mod rcpt_tests {
    use super::{Envelope, SmtpSink};
    use crate::config::Config;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// Refuses `no…@` with 550 and `busy…@` with 450 at RCPT TO; records every command
    /// (the message's lines excluded) and counts the connections.
    async fn server() -> (u16, Arc<Mutex<Vec<String>>>, Arc<Mutex<usize>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let connections: Arc<Mutex<usize>> = Arc::default();
        let (log, count) = (seen.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                *count.lock().unwrap() += 1;
                let log = log.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut read = BufReader::new(read);
                    write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                    let mut line = String::new();
                    let mut in_data = false;
                    loop {
                        line.clear();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if in_data {
                            if line == ".\r\n" {
                                in_data = false;
                                write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                            }
                            continue;
                        }
                        let command = line.trim_end().to_string();
                        log.lock().unwrap().push(command.clone());
                        let upper = command.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO:<NO") {
                            b"550 5.1.1 <no>: Recipient address rejected: User unknown\r\n"
                        } else if upper.starts_with("RCPT TO:<BUSY") {
                            b"450 4.2.1 <busy>: Mailbox busy, try later\r\n"
                        } else if upper.starts_with("DATA") {
                            in_data = true;
                            b"354 go ahead\r\n"
                        } else if upper.starts_with("QUIT") {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        } else {
                            b"250 2.0.0 ok\r\n"
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        (port, seen, connections)
    }

    fn sink(port: u16) -> SmtpSink {
        let config: Config = toml::from_str(&format!(
            "[site]\ndomain = \"moet.test\"\nname = \"Bộ\"\nnoreply = \"norply@moet.test\"\n\n\
             [delivery]\ntransport = \"smtp\"\n\n[[delivery.relay]]\nhost = \"127.0.0.1\"\n\
             port = {port}\ntls = \"none\"\nconnections = 1\n"
        ))
        .expect("configuration");
        SmtpSink::new(&config.delivery.relays[0], &config).expect("sink")
    }

    fn count(seen: &Mutex<Vec<String>>, prefix: &str) -> usize {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|c| c.to_ascii_uppercase().starts_with(prefix))
            .count()
    }

    #[tokio::test]
    async fn refused_recipients_fail_while_the_others_get_the_message_in_one_transaction() {
        let (port, seen, connections) = server().await;
        let sink = sink(port);
        let to = [
            "a@school.test",
            "no-one@school.test",
            "busy@school.test",
            "c@school.test",
        ];
        let e = Envelope {
            from: "norply+p1-abc@moet.test",
            to: &to,
            raw: b"Subject: x\r\n\r\nbody\r\n",
            name: "p1".into(),
        };
        let each = sink.send(&e).await.expect("the transaction ends");
        assert_eq!(each.len(), 4);
        assert!(each[0].is_ok() && each[3].is_ok(), "{each:?}");
        let refused = each[1].as_ref().unwrap_err();
        assert!(refused.permanent, "{refused:?}");
        assert!(
            refused
                .reply
                .as_deref()
                .is_some_and(|r| r.starts_with("550 5.1.1")),
            "{refused:?}"
        );
        let busy = each[2].as_ref().unwrap_err();
        assert!(!busy.permanent, "{busy:?}");
        assert!(busy.reply.as_deref().is_some_and(|r| r.starts_with("450")));
        assert_eq!(count(&seen, "MAIL FROM"), 1);
        assert_eq!(count(&seen, "RCPT TO"), 4);
        assert_eq!(count(&seen, "DATA"), 1, "{:?}", seen.lock().unwrap());

        // The session is reused for the next transaction.
        let one = ["d@school.test"];
        let e = Envelope { to: &one, ..e };
        let each = sink.send(&e).await.expect("the transaction ends");
        assert!(each[0].is_ok());
        assert_eq!(*connections.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn when_every_recipient_is_refused_no_data_is_sent() {
        let (port, seen, connections) = server().await;
        let sink = sink(port);
        let to = ["no-a@school.test", "no-b@school.test", "busy@school.test"];
        let e = Envelope {
            from: "norply+p1-abc@moet.test",
            to: &to,
            raw: b"Subject: x\r\n\r\nbody\r\n",
            name: "p1".into(),
        };
        let each = sink.send(&e).await.expect("the transaction ends");
        assert!(each.iter().all(Result::is_err), "{each:?}");
        assert_eq!(count(&seen, "DATA"), 0, "{:?}", seen.lock().unwrap());
        assert_eq!(count(&seen, "RSET"), 1, "{:?}", seen.lock().unwrap());
        // Reset, the session takes the next transaction.
        let one = ["d@school.test"];
        let e = Envelope { to: &one, ..e };
        assert!(sink.send(&e).await.expect("the transaction ends")[0].is_ok());
        assert_eq!(count(&seen, "DATA"), 1);
        assert_eq!(*connections.lock().unwrap(), 1);
    }
}
