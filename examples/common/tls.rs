//! TLS for the examples' `https://` trackers, on rustls with the *ring* provider.
//!
//! Roots: the Mozilla set compiled in by `webpki-root-certs` (the set ureq uses by default, so the
//! three HTTP clients of the examples trust the same authorities on every machine, with no
//! dependence on the system's certificate store), plus the CAs of a PEM file the user names with
//! `--ca-file` (a private tracker's CA, or a test's own). The platform's store (rustls-native-certs)
//! would also pick up a company's CA without the option, but it differs between machines and
//! containers (some have none), which a demo and a test cannot rely on.
//!
//! [`TlsSession`] is rustls's own sans-IO [`ClientConnection`] driven by readiness on a
//! non-blocking socket (the mio example): bytes move only when the socket is ready, and no call
//! ever blocks.

use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bt_tracker::announce::TransportError;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use super::http::{TransportFailure, io_kind};

/// The trusted roots: webpki's, then every certificate of the PEM file `ca_file`. The error says
/// which file could not be read, held no certificate, or held one that is not valid X.509.
pub fn root_certs(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec();
    if let Some(path) = ca_file {
        let unreadable = |e| format!("--ca-file {}: {}", path.display(), pem_problem(e));
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(unreadable)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(unreadable)?;
        if certs.is_empty() {
            return Err(format!(
                "--ca-file {}: no CERTIFICATE in the file (give the CA's certificate in PEM)",
                path.display()
            ));
        }
        // Checked here, for every HTTPS client of the examples (ureq would only find out at the
        // first request): each must be an X.509 certificate a trust anchor can be made of.
        let (_, unusable) = RootCertStore::empty().add_parsable_certificates(certs.clone());
        if unusable > 0 {
            return Err(format!(
                "--ca-file {}: {} {} not a valid X.509 certificate (give the CA's certificate \
                 in PEM, as `openssl x509 -outform PEM` writes it)",
                path.display(),
                super::out::count(unusable as u64, "CERTIFICATE section"),
                if unusable == 1 { "is" } else { "are" },
            ));
        }
        roots.extend(certs);
    }
    Ok(roots)
}

/// What is wrong with a PEM file, in words: rustls-pki-types' own text shows byte lists
/// (`illegal section start: [45, 45, ...]`).
fn pem_problem(e: pem::Error) -> String {
    let what = match e {
        pem::Error::Io(e) => return e.to_string(),
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "a section has no `-----END {}-----` line: the file is cut short or not PEM",
            String::from_utf8_lossy(&end_marker).trim()
        ),
        pem::Error::IllegalSectionStart { .. } => {
            "a `-----BEGIN` line is malformed: the file is damaged or not PEM".to_owned()
        }
        pem::Error::Base64Decode(_) => {
            "a section's base64 text is damaged: the file was edited or cut".to_owned()
        }
        other => other.to_string(),
    };
    format!("{what} (give the CA's certificate in PEM, as `openssl x509 -outform PEM` writes it)")
}

/// A client configuration on *ring* trusting [`root_certs`], offering HTTP/1.1 by ALPN.
pub fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, String> {
    let mut store = RootCertStore::empty();
    // The file's certificates were checked by `root_certs`; webpki's all parse.
    store.add_parsable_certificates(root_certs(ca_file)?);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Where an `https://` connection takes its TLS configuration from: one built already
/// (`Arc<ClientConfig>`), or a [`LazyTlsConfig`] that builds it on first use.
pub trait TlsConfigSource {
    /// The configuration; an error is a [`TransportError::Tls`] failure of the request.
    fn tls_config(&self) -> Result<Arc<ClientConfig>, TransportFailure>;
}

impl TlsConfigSource for Arc<ClientConfig> {
    fn tls_config(&self) -> Result<Arc<ClientConfig>, TransportFailure> {
        Ok(Arc::clone(self))
    }
}

/// The [`client_config`] built when the first `https://` request needs it, then shared by every
/// later one. A program whose trackers are all `udp://` and `http://` never parses the roots: that
/// saves the parsed root store on the heap (about 0.2 MiB with the allocator's slack) and keeps
/// the parsing and TLS set-up code out of memory. With a `--ca-file`, the configuration is
/// built at once, so a missing or bad file is reported before any torrent starts.
#[derive(Debug)]
pub struct LazyTlsConfig {
    ca_file: Option<PathBuf>,
    config: OnceLock<Arc<ClientConfig>>,
}

impl LazyTlsConfig {
    /// Nothing built yet, or, with `ca_file`, the configuration built now (its error says which
    /// file could not be used and why).
    pub fn new(ca_file: Option<&Path>) -> Result<Self, String> {
        let config = OnceLock::new();
        if ca_file.is_some() {
            let _ = config.set(Arc::new(client_config(ca_file)?));
        }
        Ok(LazyTlsConfig {
            ca_file: ca_file.map(Path::to_path_buf),
            config,
        })
    }

    /// Whether the configuration has been built (by [`new`](Self::new) or a first use).
    pub fn is_built(&self) -> bool {
        self.config.get().is_some()
    }
}

impl TlsConfigSource for LazyTlsConfig {
    fn tls_config(&self) -> Result<Arc<ClientConfig>, TransportFailure> {
        if let Some(config) = self.config.get() {
            return Ok(Arc::clone(config));
        }
        let built = client_config(self.ca_file.as_deref())
            .map_err(|e| TransportFailure::new(TransportError::Tls, e))?;
        Ok(Arc::clone(self.config.get_or_init(|| Arc::new(built))))
    }
}

/// The transport error a rustls failure means to the machine (certificate, handshake, alert, bad
/// record): [`TransportError::Tls`], whatever rustls's variant.
pub fn tls_failure(e: &rustls::Error) -> TransportFailure {
    TransportFailure::new(TransportError::Tls, format!("TLS: {e}"))
}

/// What [`TlsSession::pump`] left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pumped {
    /// The socket has nothing more now; wait for its next readiness.
    Open,
    /// Bytes came in: call again (the socket may hold more).
    More,
    /// The server ended the TLS session properly (`close_notify`): what was read is all.
    Closed,
    /// The server closed the socket without `close_notify`: what was read may have been cut
    /// short (by anyone on the path), so only a response already complete counts.
    Cut,
}

/// One TLS client session over a non-blocking stream.
#[derive(Debug)]
pub struct TlsSession {
    conn: ClientConnection,
}

impl TlsSession {
    /// A session to `host` (the certificate must name it), with `request` queued: rustls sends it
    /// once the handshake is done.
    pub fn new(
        config: Arc<ClientConfig>,
        host: &str,
        request: &[u8],
    ) -> Result<Self, TransportFailure> {
        // An IPv6 literal comes bracketed from the URL; a certificate names the bare address.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned()).map_err(|e| {
            TransportFailure::new(TransportError::Tls, format!("{host}: not a TLS name: {e}"))
        })?;
        let mut conn = ClientConnection::new(config, name).map_err(|e| tls_failure(&e))?;
        conn.writer()
            .write_all(request)
            .map_err(|e| TransportFailure::new(io_kind(&e), format!("queue the request: {e}")))?;
        Ok(TlsSession { conn })
    }

    /// On readiness: sends the TLS records rustls has ready, reads once from the socket, lets
    /// rustls process it and appends the plaintext it yields to `plaintext` (at most one read's
    /// worth, so the caller can check its limits before the next call).
    pub fn pump(
        &mut self,
        socket: &mut (impl Read + Write),
        plaintext: &mut Vec<u8>,
    ) -> Result<Pumped, TransportFailure> {
        let io_failure = |what: &str, e: io::Error| {
            TransportFailure::new(io_kind(&e), format!("TLS {what}: {e}"))
        };
        while self.conn.wants_write() {
            match self.conn.write_tls(socket) {
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(io_failure("send", e)),
            }
        }
        let read = match self.conn.read_tls(socket) {
            Ok(n) => n,
            Err(e) if would_block(&e) => return Ok(Pumped::Open),
            Err(e) => return Err(io_failure("receive", e)),
        };
        let state = self.conn.process_new_packets().map_err(|e| {
            // The alert rustls queued for the server goes out on a best-effort basis.
            let _ = self.conn.write_tls(socket);
            tls_failure(&e)
        })?;
        let readable = state.plaintext_bytes_to_read();
        if readable > 0 {
            let start = plaintext.len();
            plaintext.resize(start + readable, 0);
            self.conn
                .reader()
                .read_exact(&mut plaintext[start..])
                .map_err(|e| io_failure("read", e))?;
        }
        Ok(if state.peer_has_closed() {
            Pumped::Closed
        } else if read == 0 {
            Pumped::Cut
        } else {
            Pumped::More
        })
    }
}

/// Not ready yet: a non-blocking socket's `WouldBlock`, or a connect still in progress.
fn would_block(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected)
}
