//! An SMTP relay through lettre's pooled async transport. lettre tells whether an error
//! is permanent (5xx); everything else is retried.

use super::{Envelope, SendError};
use crate::config::{Config, Relay, Tls};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls as LettreTls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// A pool of connections to one relay.
pub struct SmtpSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

fn setup_error(message: String) -> SendError {
    SendError::permanent(message)
}

impl SmtpSink {
    /// Build the transport to one `[[delivery.relay]]`.
    pub fn new(smtp: &Relay, config: &Config) -> Result<SmtpSink, SendError> {
        let mut tls = TlsParameters::builder(smtp.host.clone());
        if let Some(ca) = &smtp.ca_file {
            let pem = std::fs::read(config.path(ca))
                .map_err(|e| setup_error(format!("cannot read {}: {e}", ca.display())))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| setup_error(e.to_string()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls.build().map_err(|e| setup_error(e.to_string()))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(match smtp.tls {
                Tls::Implicit => LettreTls::Wrapper(tls),
                Tls::Starttls => LettreTls::Required(tls),
                Tls::None => LettreTls::None,
            })
            .pool_config(PoolConfig::new().max_size(smtp.connections.max(1)));
        if let Some(user) = &smtp.user {
            let password = smtp
                .password_env
                .as_ref()
                .and_then(|v| std::env::var(v.get_ref()).ok())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(SmtpSink {
            transport: builder.build(),
        })
    }

    pub(super) async fn send(&self, e: &Envelope<'_>) -> Result<(), SendError> {
        let bad = |err: lettre::address::AddressError| {
            SendError::permanent(format!("invalid address: {err}"))
        };
        let from = e.from.parse().map_err(bad)?;
        let to =
            e.to.iter()
                .map(|t| t.parse())
                .collect::<Result<Vec<_>, _>>()
                .map_err(bad)?;
        let envelope = lettre::address::Envelope::new(Some(from), to)
            .map_err(|err| SendError::permanent(err.to_string()))?;
        match self.transport.send_raw(&envelope, e.raw).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(SendError::permanent(err.to_string())),
            Err(err) => Err(SendError::temporary(err.to_string())),
        }
    }
}
