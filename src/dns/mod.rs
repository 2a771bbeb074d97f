//! DNS for mail authentication: one [`Resolver`] per process, built from `[dns]`: mail-auth's
//! `MessageAuthenticator` (hickory-resolver, UDP and TCP) and a cache of parsed TXT records
//! (DMARC policies, DKIM keys) whose entries expire with their records' TTLs.
//!
//! Place in the flow: asked by `pipeline` (nhomthu's own DKIM verification with
//! `[site] verify = "self"`, [`dkim`], before the rules read its result) and by `delivery`
//! (the author domain's DMARC policy before a list copy is prepared, [`dmarc`]). `classify`,
//! `rules` and `handlers` stay pure: they are handed what was found.
//!
//! Every lookup has a time limit (`[dns] timeout_seconds`); a timeout, SERVFAIL or refused
//! connection is a [`DnsError`] value, never a panic, and NXDOMAIN or a name without a
//! record of the kind asked is an answer ([`Answer::Absent`]), not an error.
//!
//! Other verifiers (an incoming ARC chain, say) use [`Resolver::authenticator`] with
//! [`Resolver::parameters`] (the shared cache) inside [`Resolver::within`] (the limit).

mod cache;
pub mod dkim;
pub mod dmarc;

pub use cache::TtlCache;
pub use dkim::SelfCheck;
pub use dmarc::{Policy, Published, org_domain};

use crate::config;
use mail_auth::common::cache::NoCache;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::resolver::UnwrapTxtRecord;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{MX, MessageAuthenticator, Parameters, RecordSet, Txt};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

/// Parsed TXT records kept at once (DMARC records and DKIM keys of recent senders).
const CACHED_RECORDS: u64 = 10_000;

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// `[dns] servers` is empty and the system's resolver configuration cannot be read.
    #[error("cannot read the system's DNS configuration ({0}): set [dns] servers")]
    SystemConf(String),
    /// The resolver could not be built from the configuration.
    #[error("cannot set up the DNS resolver: {0}")]
    Setup(String),
    /// No answer within `[dns] timeout_seconds`.
    #[error("no answer for {name} within {seconds} s")]
    Timeout {
        /// What was asked.
        name: String,
        /// The limit.
        seconds: u64,
    },
    /// The servers answered with an error (SERVFAIL, REFUSED) or could not be reached.
    #[error("lookup of {name} failed: {reason}")]
    Lookup {
        /// What was asked.
        name: String,
        /// What the resolver said.
        reason: String,
    },
}

/// What a TXT lookup found.
#[derive(Debug, Clone)]
pub enum Answer<T> {
    /// A record of the kind asked.
    Found(Arc<T>),
    /// None: NXDOMAIN, no TXT record, or no valid record of that kind. The sentence says
    /// which.
    Absent(String),
}

/// The cache types mail-auth's [`Parameters`] carry: TXT records shared, the rest (MX, A,
/// AAAA, PTR, used by SPF only) not cached here.
pub type Params<'x, P> = Parameters<
    'x,
    P,
    TtlCache<Box<str>, Txt>,
    NoCache<Box<str>, RecordSet<MX>>,
    NoCache<Box<str>, RecordSet<Ipv4Addr>>,
    NoCache<Box<str>, RecordSet<Ipv6Addr>>,
    NoCache<IpAddr, RecordSet<Box<str>>>,
>;

/// The process's resolver: asked by the pipeline and by delivery.
pub struct Resolver {
    /// mail-auth's verifier over hickory-resolver.
    authenticator: MessageAuthenticator,
    /// Parsed TXT records, each until its TTL runs out.
    txt: TtlCache<Box<str>, Txt>,
    /// The limit of one lookup.
    timeout: Duration,
}

impl Resolver {
    /// The resolver `[dns]` describes: its `servers` (UDP and TCP each), or the system's
    /// (`/etc/resolv.conf`) when there are none.
    pub fn new(dns: &config::Dns) -> Result<Resolver, DnsError> {
        let timeout =
            Duration::from_secs(*dns.timeout_seconds.get_ref()).max(Duration::from_secs(1));
        let (servers, mut options) = if dns.servers.is_empty() {
            mail_auth::hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| DnsError::SystemConf(e.to_string()))?
        } else {
            let servers = dns
                .servers
                .iter()
                .map(|addr| {
                    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                    for connection in &mut server.connections {
                        connection.port = addr.port();
                    }
                    server
                })
                .collect();
            (
                ResolverConfig::from_name_servers(servers),
                ResolverOpts::default(),
            )
        };
        options.timeout = timeout;
        options.attempts = 2;
        let authenticator = MessageAuthenticator::new(servers, options)
            .map_err(|e| DnsError::Setup(e.to_string()))?;
        Ok(Resolver {
            authenticator,
            txt: TtlCache::new(CACHED_RECORDS),
            timeout,
        })
    }

    /// mail-auth's verifier, for checks made elsewhere (wrap them in [`Resolver::within`]).
    pub fn authenticator(&self) -> &MessageAuthenticator {
        &self.authenticator
    }

    /// mail-auth parameters around `params` that use the shared TXT cache.
    pub fn parameters<P>(&self, params: P) -> Params<'_, P> {
        Parameters::new(params).with_txt_cache(&self.txt)
    }

    /// The shared TXT cache, for mail-auth checks made elsewhere.
    pub fn txt_cache(&self) -> &TtlCache<Box<str>, Txt> {
        &self.txt
    }

    /// The limit of one lookup.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Run `work` (`lookups` lookups at most) within the limit; `what` names it in the
    /// error.
    pub async fn within<F: Future>(
        &self,
        what: &str,
        lookups: u32,
        work: F,
    ) -> Result<F::Output, DnsError> {
        let limit = self.timeout * lookups.max(1);
        tokio::time::timeout(limit, work)
            .await
            .map_err(|_| DnsError::Timeout {
                name: what.to_string(),
                seconds: limit.as_secs(),
            })
    }

    /// The TXT record of kind `T` at `name` (a DMARC record, a DKIM key), from the cache
    /// or the servers.
    pub async fn txt<T>(&self, name: &str) -> Result<Answer<T>, DnsError>
    where
        T: TxtRecordParser + Into<Txt> + UnwrapTxtRecord,
    {
        let found = self
            .within(
                name,
                1,
                self.authenticator.txt_lookup::<T>(name, Some(&self.txt)),
            )
            .await?;
        classify(name, found)
    }
}

/// Sort mail-auth's result into a record, its absence, or a failure.
fn classify<T>(name: &str, found: mail_auth::Result<Arc<T>>) -> Result<Answer<T>, DnsError> {
    use mail_auth::DnsError as E;
    use mail_auth::Error;
    match found {
        Ok(record) => Ok(Answer::Found(record)),
        Err(Error::Dns(E::RecordNotFound(ResponseCode::NXDomain))) => {
            Ok(Answer::Absent(format!("{name} does not exist")))
        }
        Err(Error::Dns(E::RecordNotFound(ResponseCode::NoError))) => {
            Ok(Answer::Absent(format!("{name} has no TXT record")))
        }
        Err(Error::Dns(E::RecordNotFound(code))) => Err(DnsError::Lookup {
            name: name.to_string(),
            reason: format!("the server answered {code}"),
        }),
        Err(Error::Dns(E::Resolver(reason))) => Err(DnsError::Lookup {
            name: name.to_string(),
            reason,
        }),
        Err(Error::Io(reason)) => Err(DnsError::Lookup {
            name: name.to_string(),
            reason,
        }),
        // A TXT record that is not (valid as) one of this kind: RFC 7489 and RFC 6376
        // treat it as no record.
        Err(e) => Ok(Answer::Absent(format!("{name} has no valid record ({e})"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_auth::dmarc::Dmarc;

    #[test]
    fn answers_are_sorted_into_found_absent_and_failed() {
        use mail_auth::DnsError as E;
        use mail_auth::Error;
        let absent = |e| {
            matches!(
                classify::<Dmarc>("_dmarc.x.test.", Err(e)),
                Ok(Answer::Absent(_))
            )
        };
        let failed = |e| {
            matches!(
                classify::<Dmarc>("_dmarc.x.test.", Err(e)),
                Err(DnsError::Lookup { .. })
            )
        };
        assert!(absent(Error::Dns(E::RecordNotFound(
            ResponseCode::NXDomain
        ))));
        assert!(absent(Error::Dns(E::RecordNotFound(ResponseCode::NoError))));
        assert!(absent(Error::Dns(E::InvalidRecordType)));
        assert!(absent(Error::ParseError));
        assert!(failed(Error::Dns(E::RecordNotFound(
            ResponseCode::ServFail
        ))));
        assert!(failed(Error::Dns(E::RecordNotFound(ResponseCode::Refused))));
        assert!(failed(Error::Dns(E::Resolver("connection refused".into()))));
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout_not_a_hang() {
        // A UDP socket that reads nothing: queries go unanswered.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dns = config::Dns {
            servers: vec![silent.local_addr().unwrap()],
            timeout_seconds: toml::Spanned::new(0..0, 1),
        };
        let resolver = Resolver::new(&dns).unwrap();
        let started = std::time::Instant::now();
        let r = resolver.txt::<Dmarc>("_dmarc.silent.test.").await;
        assert!(
            matches!(
                r,
                Err(DnsError::Timeout { .. }) | Err(DnsError::Lookup { .. })
            ),
            "{r:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
