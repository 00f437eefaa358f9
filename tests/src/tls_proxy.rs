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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use employee_api::store::dynamodb::AMAZON_TRUST_SERVICES_ROOTS;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
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
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "employee-api benchmark CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let leaf_key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?
        .signed_by(&leaf_key, &ca)?;
    let ca_file = dir.join("bench-ca.pem");
    std::fs::write(&ca_file, ca.pem())?;
    let amazon_bundle = dir.join("amazon-roots-and-bench-ca.pem");
    std::fs::write(&amazon_bundle, format!("{AMAZON_TRUST_SERVICES_ROOTS}\n{}", ca.pem()))?;
    let system_bundle = dir.join("system-roots-and-bench-ca.pem");
    std::fs::write(&system_bundle, format!("{}{}", system_roots()?, ca.pem()))?;

    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
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
