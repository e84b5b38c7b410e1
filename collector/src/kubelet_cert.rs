//! Why a kubelet's serving certificate was refused, and which name it is valid for: the
//! chain the kubelet presents (read in a handshake that stops at the certificate, so
//! no request and no token is ever sent) checked against the trusted CAs for the node
//! IP and the node name. Only certificates are handled here; nothing secret passes.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// What the presented certificate is, against the trusted CAs.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Chains to a trusted CA and is valid for this name (the IP or the node name).
    Valid(String),
    /// Signed by a CA of its own that is in the chain it presents (kubeadm's default
    /// kubelet certificate without `serverTLSBootstrap`).
    SelfSigned,
    /// Chains to a trusted CA but is valid for none of the names tried.
    NameMismatch(Vec<String>),
    /// Signed by a CA that is neither trusted nor presented.
    UnknownCa,
    /// Anything else (expired, bad signature, no handshake).
    Other(String),
}

/// Records the presented chain and ends the handshake.
#[derive(Debug)]
struct Capture {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut c = self.chain.lock().unwrap_or_else(|e| e.into_inner());
        c.push(end_entity.clone().into_owned());
        c.extend(intermediates.iter().map(|i| i.clone().into_owned()));
        Err(rustls::Error::General("chain captured".into()))
    }
    fn verify_tls12_signature(
        &self,
        _m: &[u8],
        _c: &CertificateDer<'_>,
        _d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("not reached".into()))
    }
    fn verify_tls13_signature(
        &self,
        _m: &[u8],
        _c: &CertificateDer<'_>,
        _d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("not reached".into()))
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why the chain presented at an address could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The TLS client could not be set up.
    #[error("{addr}: {source}")]
    Tls {
        /// The address.
        addr: SocketAddr,
        /// rustls' reason.
        source: rustls::Error,
    },
    /// No connection.
    #[error("{addr}: {source}")]
    Connect {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server presented no certificate.
    #[error("{addr}: no certificate presented")]
    NoCertificate {
        /// The address.
        addr: SocketAddr,
    },
}

/// The chain presented at `addr` (leaf first).
pub fn presented_chain(
    addr: SocketAddr,
    timeout: Duration,
) -> Result<Vec<CertificateDer<'static>>, ChainError> {
    let tls = |source| ChainError::Tls { addr, source };
    let p = provider();
    let capture = Arc::new(Capture {
        chain: Mutex::new(Vec::new()),
        schemes: p.signature_verification_algorithms.supported_schemes(),
    });
    let config = rustls::ClientConfig::builder_with_provider(p)
        .with_safe_default_protocol_versions()
        .map_err(tls)?
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let name = ServerName::IpAddress(addr.ip().into());
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(tls)?;
    let mut tcp = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|source| ChainError::Connect { addr, source })?;
    let _ = tcp.set_read_timeout(Some(timeout));
    let _ = tcp.set_write_timeout(Some(timeout));
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            break;
        }
    }
    let chain = std::mem::take(&mut *capture.chain.lock().unwrap_or_else(|e| e.into_inner()));
    if chain.is_empty() {
        return Err(ChainError::NoCertificate { addr });
    }
    Ok(chain)
}

fn check(
    chain: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
    name: &ServerName<'_>,
) -> Result<(), rustls::Error> {
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(roots.iter().cloned());
    if added == 0 {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
    }
    let v = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    v.verify_server_cert(&chain[0], &chain[1..], name, &[], UnixTime::now())
        .map(|_| ())
}

/// Classifies `chain` (leaf first) against `roots` for `ip`, then `node_name`.
pub fn classify(
    chain: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
    ip: IpAddr,
    node_name: Option<&str>,
) -> Verdict {
    let mut names = vec![(ip.to_string(), ServerName::IpAddress(ip.into()))];
    if let Some(n) = node_name.and_then(|n| {
        ServerName::try_from(n.to_string())
            .ok()
            .map(|s| (n.to_string(), s))
    }) {
        names.push(n);
    }
    let mut presented = Vec::new();
    let mut first_err = None;
    for (text, name) in &names {
        match check(chain, roots, name) {
            Ok(()) => return Verdict::Valid(text.clone()),
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                presented: p,
                ..
            })) => presented = p,
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName)) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        None => Verdict::NameMismatch(presented),
        Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            // Trusting the chain it presents makes it verify: signed by itself.
            let own = check(chain, chain, &names[0].1);
            match own {
                Ok(())
                | Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Verdict::SelfSigned,
                _ => Verdict::UnknownCa,
            }
        }
        Some(e) => Verdict::Other(e.to_string()),
    }
}

/// Certificates in a PEM file (none when unreadable or holding none).
pub fn pem_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}
