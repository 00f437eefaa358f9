//! A TLS endpoint in front of DynamoDB Local. On AWS the cold path includes
//! the TLS handshake with DynamoDB; locally the engine speaks plain HTTP, so
//! the benchmark puts this proxy in front of it, with a certificate authority
//! made for the run that the functions are told to trust.
//!
//! Before its first handshake a client loads the roots it trusts, and the
//! benchmark makes each pay what it pays on AWS, plus one certificate:
//! - our functions trust the five Amazon Trust Services roots compiled into
//!   them; here they read the same five, followed by the run's authority,
//!   from `SSL_CERT_FILE`;
//! - boto3 loads a whole bundle (botocore's or certifi's, ~140 roots): it is
//!   given the system's roots followed by the authority (`AWS_CA_BUNDLE`);
//! - Node.js has its roots built in and is given the authority as an extra
//!   (`NODE_EXTRA_CA_CERTS`).
//!
//! [`start`] signs with ECDSA P-256 keys made by rcgen (the tests);
//! [`start_like_dynamodb`] presents the chain DynamoDB presents, RSA 2048
//! throughout (the benchmark, where what the client's handshake costs is
//! measured).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use employee_api::store::dynamodb::AMAZON_TRUST_SERVICES_ROOTS;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, PKCS_RSA_SHA256,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct TlsProxy {
    pub endpoint: String,
    /// PEM file of the authority that signed the proxy's certificate.
    pub ca_file: PathBuf,
    /// The Amazon Trust Services roots followed by that authority.
    pub amazon_bundle: PathBuf,
    /// The system's roots followed by that authority.
    pub system_bundle: PathBuf,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Starts the proxy on a thread of its own, forwarding to `upstream`
/// (`http://127.0.0.1:port`). The CA certificate is written into `dir`.
pub fn start(upstream: &str, dir: &Path) -> Result<TlsProxy, BoxError> {
    let ca = CertifiedIssuer::self_signed(
        ca_params("employee-api benchmark CA")?,
        KeyPair::generate()?,
    )?;
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params()?.signed_by(&leaf_key, &ca)?;
    serve(upstream, dir, &ca.pem(), vec![leaf.der().clone()], &leaf_key)
}

/// The proxy with the chain DynamoDB's regional endpoints present: an RSA
/// 2048 certificate issued by an RSA 2048 intermediate ("Amazon RSA 2048
/// M01") under an RSA 2048 root ("Amazon Root CA 1"), the server sending
/// the certificate and the intermediate. (A public transcript of
/// `curl -v https://dynamodb.us-east-1.amazonaws.com` shows TLS 1.3,
/// AES-256-GCM-SHA384, and a certificate issued by Amazon RSA 2048 M01;
/// the proxy's rustls picks the same suite.) The client then verifies two
/// RSA signatures in the chain and an RSA-PSS one in the handshake, as on
/// AWS, instead of the two ECDSA P-256 ones of [`start`], which cost a
/// client several times more.
///
/// The keys come from `openssl genpkey` (rcgen on *ring* cannot make RSA
/// keys), in `dir`.
pub fn start_like_dynamodb(upstream: &str, dir: &Path) -> Result<TlsProxy, BoxError> {
    let root = CertifiedIssuer::self_signed(
        ca_params("employee-api benchmark root (stands in for Amazon Root CA 1)")?,
        rsa_key(dir, "root")?,
    )?;
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("employee-api benchmark RSA 2048 M01")?,
        rsa_key(dir, "intermediate")?,
        &root,
    )?;
    let leaf_key = rsa_key(dir, "leaf")?;
    let leaf = leaf_params()?.signed_by(&leaf_key, &intermediate)?;
    serve(
        upstream,
        dir,
        &root.pem(),
        vec![leaf.der().clone(), intermediate.der().clone()],
        &leaf_key,
    )
}

fn ca_params(name: &str) -> Result<CertificateParams, BoxError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    Ok(params)
}

fn leaf_params() -> Result<CertificateParams, BoxError> {
    Ok(CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?)
}

/// A fresh RSA 2048 key from `openssl genpkey`, as PKCS#8.
fn rsa_key(dir: &Path, name: &str) -> Result<KeyPair, BoxError> {
    let path = dir.join(format!("{name}-rsa2048.key"));
    let status = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| {
            format!(
                "cannot run openssl to make an RSA key ({e}): install it (apt-get install openssl)"
            )
        })?;
    if !status.success() {
        return Err(format!("openssl genpkey failed ({status})").into());
    }
    Ok(KeyPair::from_pkcs8_pem_and_sign_algo(&std::fs::read_to_string(&path)?, &PKCS_RSA_SHA256)?)
}

/// Writes the trust files for `ca_pem` and serves `chain` with `key`.
fn serve(
    upstream: &str,
    dir: &Path,
    ca_pem: &str,
    chain: Vec<CertificateDer<'static>>,
    key: &KeyPair,
) -> Result<TlsProxy, BoxError> {
    let ca_file = dir.join("bench-ca.pem");
    std::fs::write(&ca_file, ca_pem)?;
    let amazon_bundle = dir.join("amazon-roots-and-bench-ca.pem");
    std::fs::write(&amazon_bundle, format!("{AMAZON_TRUST_SERVICES_ROOTS}\n{ca_pem}"))?;
    let system_bundle = dir.join("system-roots-and-bench-ca.pem");
    std::fs::write(&system_bundle, format!("{}{ca_pem}", system_roots()?))?;

    let acceptor = acceptor(chain, key)?;
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let port = std_listener.local_addr()?.port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        runtime.block_on(async move {
            let listener = TcpListener::from_std(std_listener).expect("proxy listener");
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = relay(acceptor, client, &upstream).await;
                });
            }
        });
    });
    Ok(TlsProxy {
        endpoint: format!("https://127.0.0.1:{port}"),
        ca_file,
        amazon_bundle,
        system_bundle,
    })
}

/// A TLS server for `names` (DNS names or IP addresses), with a certificate
/// from an authority made for the test: its acceptor, and the authority's
/// certificate (PEM) for the client to trust.
pub fn server_for(names: &[&str]) -> Result<(TlsAcceptor, String), BoxError> {
    let ca =
        CertifiedIssuer::self_signed(ca_params("employee-api test CA")?, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let names = names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
    let leaf = CertificateParams::new(names)?.signed_by(&key, &ca)?;
    Ok((acceptor(vec![leaf.der().clone()], &key)?, ca.pem()))
}

fn acceptor(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Result<TlsAcceptor, BoxError> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            chain,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The system's PEM bundle of root certificates (Debian's, or Amazon
/// Linux's as on Lambda).
fn system_roots() -> Result<String, BoxError> {
    const BUNDLES: [&str; 2] =
        ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"];
    for bundle in BUNDLES {
        if let Ok(mut pem) = std::fs::read_to_string(bundle) {
            if !pem.ends_with('\n') {
                pem.push('\n');
            }
            return Ok(pem);
        }
    }
    Err(format!(
        "no system root certificates at {}: install them with `apt-get install ca-certificates`",
        BUNDLES.join(" or ")
    )
    .into())
}

async fn relay(acceptor: TlsAcceptor, client: TcpStream, upstream: &str) -> Result<(), BoxError> {
    client.set_nodelay(true)?;
    let mut tls = acceptor.accept(client).await?;
    let mut server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    tokio::io::copy_bidirectional(&mut tls, &mut server).await?;
    Ok(())
}
