//! TLS: the URL's `sslmode`, and the rustls connector it asks for.
//!
//! libpq's modes, but for the default: `disable`, `allow`, `prefer` and no `sslmode` at all
//! connect in plain TCP (weft never tries TLS unless asked: a server's self-signed certificate
//! would otherwise make every default URL fail); `require` encrypts without checking the
//! certificate; `verify-ca` checks the certificate chain (against the webpki roots and the
//! builder's `root_certificates_pem`) but not the host name; `verify-full` checks both.
//!
//! tokio-postgres' URL parser knows `disable`, `prefer` and `require` only, so the `sslmode`
//! parameter is taken out of the URL before it is parsed, and applied here.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use rustls::{Error as TlsError, SignatureScheme};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;
use weft_runtime::{Error, Result};

/// The URL's `sslmode`, as weft applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Plain TCP: `disable`, `allow`, `prefer`, or no `sslmode`.
    Plain,
    /// TLS, the certificate not checked.
    Require,
    /// TLS, the certificate's chain checked, not its host name.
    VerifyCa,
    /// TLS, the certificate's chain and host name checked.
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Mode> {
        match value {
            "disable" | "allow" | "prefer" => Ok(Mode::Plain),
            "require" => Ok(Mode::Require),
            "verify-ca" => Ok(Mode::VerifyCa),
            "verify-full" => Ok(Mode::VerifyFull),
            other => Err(Error::Storage {
                message: format!(
                    "the PostgreSQL URL's sslmode `{other}` is not one weft knows: use disable, prefer, require, verify-ca or verify-full"
                ),
                source: None,
            }),
        }
    }
}

/// How connections are made: plain, or with rustls.
#[derive(Clone)]
pub(crate) enum Tls {
    Plain,
    Rustls(MakeRustlsConnect),
}

/// `url` without its `sslmode` parameter, and the mode it set (the last one, as libpq takes).
/// A URL (`postgres://…?sslmode=…`) or `key=value` pairs (`… sslmode=…`).
pub(crate) fn split_sslmode(url: &str) -> Result<(String, Mode)> {
    let mut mode = Mode::Plain;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_string(), mode));
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslmode", value)) => mode = Mode::parse(value)?,
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok((url, mode))
    } else {
        let mut kept = Vec::new();
        for pair in url.split_whitespace() {
            match pair.split_once('=') {
                Some(("sslmode", value)) => mode = Mode::parse(value.trim_matches('\''))?,
                _ => kept.push(pair),
            }
        }
        Ok((kept.join(" "), mode))
    }
}

/// Sets tokio-postgres' own `sslmode` for `mode` and makes the connector. A server reached
/// over Unix sockets only is always plain, as with libpq.
pub(crate) fn connector(
    config: &mut tokio_postgres::Config,
    mode: Mode,
    roots_pem: &[Vec<u8>],
) -> Result<Tls> {
    // Checked whatever the mode, so that a bad PEM is found at once.
    let extra_roots = parse_roots(roots_pem)?;
    let tcp = config
        .get_hosts()
        .iter()
        .any(|host| matches!(host, Host::Tcp(_)));
    if mode == Mode::Plain || !tcp {
        config.ssl_mode(SslMode::Disable);
        return Ok(Tls::Plain);
    }
    config.ssl_mode(SslMode::Require);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| tls_config_error(Box::new(err)))?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        Mode::Plain | Mode::Require => Arc::new(NoVerification { provider }),
        Mode::VerifyCa | Mode::VerifyFull => {
            let mut roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            for root in extra_roots {
                roots.add(root).map_err(|err| {
                    Error::Config(format!(
                        "a certificate given to `root_certificates_pem` is not a usable root: {err}"
                    ))
                })?;
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|err| tls_config_error(Box::new(err)))?;
            if mode == Mode::VerifyCa {
                Arc::new(ChainOnly { inner: webpki })
            } else {
                webpki
            }
        }
    };
    let client_config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Tls::Rustls(MakeRustlsConnect::new(client_config)))
}

fn tls_config_error(err: Box<dyn std::error::Error + Send + Sync>) -> Error {
    Error::Storage {
        message: "could not set up TLS for PostgreSQL".to_string(),
        source: Some(err),
    }
}

/// The certificates of every PEM given, each holding one at least.
fn parse_roots(pems: &[Vec<u8>]) -> Result<Vec<CertificateDer<'static>>> {
    let mut roots = Vec::new();
    for pem in pems {
        let before = roots.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.push(cert.map_err(|err| {
                Error::Config(format!(
                    "`root_certificates_pem` was given a PEM that cannot be read: {err}"
                ))
            })?);
        }
        if roots.len() == before {
            return Err(Error::Config(
                "`root_certificates_pem` was given no certificate: give PEM text with `-----BEGIN CERTIFICATE-----` blocks".to_string(),
            ));
        }
    }
    Ok(roots)
}

/// Whether `err` (or an error it wraps) is a certificate rustls refused.
pub(crate) fn certificate_refused(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(TlsError::InvalidCertificate(reason)) = err.downcast_ref::<TlsError>() {
            return Some(format!("{reason:?}"));
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(TlsError::InvalidCertificate(reason)) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<TlsError>())
            {
                return Some(format!("{reason:?}"));
            }
        }
        current = err.source();
    }
    None
}

/// `sslmode=require`: any certificate is taken (encryption only, as libpq's `require`
/// without a root certificate); the handshake's signatures are still checked.
#[derive(Debug)]
struct NoVerification {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `sslmode=verify-ca`: the chain is checked, the host name is not. (rustls checks the name
/// after the chain, so a name mismatch means the chain was accepted.)
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, TlsError> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_taken_out_of_the_url() {
        let cases = [
            ("postgres://u@h/d", "postgres://u@h/d", Mode::Plain),
            (
                "postgres://u@h/d?sslmode=require",
                "postgres://u@h/d",
                Mode::Require,
            ),
            (
                "postgresql://u@h/d?application_name=a&sslmode=verify-full&connect_timeout=3",
                "postgresql://u@h/d?application_name=a&connect_timeout=3",
                Mode::VerifyFull,
            ),
            (
                "postgres://u@h/d?sslmode=verify-ca",
                "postgres://u@h/d",
                Mode::VerifyCa,
            ),
            (
                "postgres://u@h/d?sslmode=prefer",
                "postgres://u@h/d",
                Mode::Plain,
            ),
            (
                "host=h user=u sslmode=verify-full dbname=d",
                "host=h user=u dbname=d",
                Mode::VerifyFull,
            ),
        ];
        for (url, stripped, mode) in cases {
            assert_eq!(
                split_sslmode(url).unwrap(),
                (stripped.to_string(), mode),
                "{url}"
            );
        }
        assert!(matches!(
            split_sslmode("postgres://u@h/d?sslmode=sometimes"),
            Err(Error::Storage { .. })
        ));
    }

    #[test]
    fn a_bad_pem_is_a_config_error() {
        let mut config: tokio_postgres::Config = "postgres://u@h/d".parse().unwrap();
        for bad in [&b"not a pem"[..], b"-----BEGIN CERTIFICATE-----\n!!!\n"] {
            assert!(matches!(
                connector(&mut config, Mode::VerifyFull, &[bad.to_vec()]),
                Err(Error::Config(_))
            ));
        }
    }

    #[test]
    fn the_modes_make_their_connectors() {
        let mut config: tokio_postgres::Config = "postgres://u@h/d".parse().unwrap();
        assert!(matches!(
            connector(&mut config, Mode::Plain, &[]).unwrap(),
            Tls::Plain
        ));
        assert_eq!(config.get_ssl_mode(), SslMode::Disable);
        for mode in [Mode::Require, Mode::VerifyCa, Mode::VerifyFull] {
            assert!(matches!(
                connector(&mut config, mode, &[]).unwrap(),
                Tls::Rustls(_)
            ));
            assert_eq!(config.get_ssl_mode(), SslMode::Require);
        }
    }
}
