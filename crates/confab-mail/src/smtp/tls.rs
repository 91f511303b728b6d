//! `STARTTLS`: the certificate and key the listener presents.

use std::fmt;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate chain PEM holds no readable certificate.
    #[error("certificate chain: {0}")]
    Certificate(String),
    /// The private key PEM holds no readable key.
    #[error("private key: {0}")]
    PrivateKey(String),
    /// rustls refused the pair (e.g. the key does not match).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

impl TlsError {
    /// A stable code for logs and configuration errors.
    pub fn code(&self) -> &'static str {
        match self {
            TlsError::Certificate(_) => "tls_certificate",
            TlsError::PrivateKey(_) => "tls_private_key",
            TlsError::Config(_) => "tls_config",
        }
    }
}

/// TLS settings for `STARTTLS`.
#[derive(Clone)]
pub struct SmtpTls {
    pub(crate) acceptor: TlsAcceptor,
}

impl fmt::Debug for SmtpTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTls").finish_non_exhaustive()
    }
}

impl SmtpTls {
    /// From a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1), using rustls with the ring provider.
    pub fn from_pem(cert_chain: &[u8], private_key: &[u8]) -> Result<SmtpTls, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TlsError::Certificate(error.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::Certificate("no certificate found".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_slice(private_key)
            .map_err(|error| TlsError::PrivateKey(error.to_string()))?;
        // An explicit provider: the process default may be unset, or
        // ambiguous when other crates enable aws-lc-rs too.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        Ok(SmtpTls::from_server_config(Arc::new(config)))
    }

    /// From a ready rustls configuration.
    pub fn from_server_config(config: Arc<ServerConfig>) -> SmtpTls {
        SmtpTls {
            acceptor: TlsAcceptor::from(config),
        }
    }
}
