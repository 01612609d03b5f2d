//! Certificates for the TLS tracker on loopback, made by the `openssl` command: a CA of this test
//! run and a server certificate it signs for `localhost` (the tests trust the CA as `--ca-file`
//! does). The `openssl` command ships with Debian's base system, so the tests need no build-time
//! dependency (rcgen would add a crate tree to every `cargo test` build) and no set-up.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::harness;

/// What the TLS tests miss: `None` when the `openssl` command is installed.
pub fn openssl_missing() -> Option<String> {
    harness::missing_program("openssl", "apt-get install openssl")
}

/// A server's certificate chain and key (PEM files) and the CA that signed it.
#[derive(Debug)]
pub struct ServerCert {
    /// The server certificate then the CA's, PEM.
    pub chain: PathBuf,
    /// The server's private key, PEM.
    pub key: PathBuf,
    /// The CA certificate to trust, PEM.
    pub ca: PathBuf,
}

/// The run's CA and a server certificate for the DNS name `localhost` only (no IP address: a
/// request to `https://127.0.0.1` must fail the name check). Made once per test process, in a
/// directory of its own that [`remove_files`] deletes.
pub fn localhost_cert() -> &'static ServerCert {
    static CERT: OnceLock<ServerCert> = OnceLock::new();
    CERT.get_or_init(|| {
        make(&dir()).unwrap_or_else(|e| panic!("cannot make the certificates: {e}"))
    })
}

/// Deletes the certificates of this process.
pub fn remove_files() {
    let _ = std::fs::remove_dir_all(dir());
}

fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("bt-tracker-tls-{}", std::process::id()))
}

fn make(dir: &Path) -> Result<ServerCert, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let path = |name: &str| dir.join(name);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &["req", "-x509"],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=bt-tracker test CA",
        ],
    )?;
    openssl(
        dir,
        &["req", "-new"],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    )?;
    std::fs::write(
        path("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| format!("write server.ext: {e}"))?;
    let serial = format!("{}", std::process::id());
    openssl(
        dir,
        &["x509", "-req"],
        &[],
        &[
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    )?;
    let read =
        |name: &str| std::fs::read_to_string(path(name)).map_err(|e| format!("read {name}: {e}"));
    let chain = read("server.pem")? + &read("ca.pem")?;
    std::fs::write(path("chain.pem"), chain).map_err(|e| format!("write chain.pem: {e}"))?;
    Ok(ServerCert {
        chain: path("chain.pem"),
        key: path("server.key"),
        ca: path("ca.pem"),
    })
}

/// Runs `openssl` with the arguments in `dir`; `Err` with its output when it fails.
fn openssl(dir: &Path, command: &[&str], key: &[&str], rest: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(command)
        .args(key)
        .args(rest)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {} failed ({}): {}",
            command.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
