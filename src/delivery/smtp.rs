//! An SMTP relay through lettre's pooled async transport. lettre tells whether an error
//! is permanent (5xx); everything else is retried.

use super::SendError;
use crate::config::{Config, Relay, Tls};
use crate::store::outbound::Due;
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls as LettreTls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// A pool of connections to one relay.
pub struct SmtpSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Mails sent at once.
    pub connections: usize,
}

fn setup_error(message: String) -> SendError {
    SendError {
        permanent: true,
        message,
    }
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
            connections: smtp.connections.max(1) as usize,
        })
    }

    pub(super) async fn send(&self, m: &Due) -> Result<(), SendError> {
        let bad = |e: lettre::address::AddressError| SendError {
            permanent: true,
            message: format!("invalid address: {e}"),
        };
        let from = m.mail_from.parse().map_err(bad)?;
        let to = m.rcpt.parse().map_err(bad)?;
        let envelope = Envelope::new(Some(from), vec![to]).map_err(|e| SendError {
            permanent: true,
            message: e.to_string(),
        })?;
        match self.transport.send_raw(&envelope, &m.raw).await {
            Ok(_) => Ok(()),
            Err(e) => Err(SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
        }
    }
}
