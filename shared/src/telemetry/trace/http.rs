//! The OTLP exporter's HTTP client, on the hyper, hyper-util and
//! hyper-rustls (*ring*) the SDK's DynamoDB client already links: `http://`
//! for a collector on the same host (the ADOT collector layer listens on
//! `localhost:4318`), `https://` for one elsewhere, trusting the Amazon
//! Trust Services roots the DynamoDB client trusts, plus the certificates of
//! `SSL_CERT_FILE` when it is set. Requests to X-Ray's OTLP endpoint are
//! signed ([`super::sigv4`]).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{HttpClient, HttpError};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::sigv4::Signer;
use crate::store::dynamodb::AMAZON_TRUST_SERVICES_ROOTS;

/// A collector's answer is a few bytes; more is refused.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The client for `http://` endpoints, and the one for `https://`, whose
/// TLS configuration (parsing the root certificates) is built only for an
/// `https://` endpoint: at init when the configured endpoint is one, else
/// on the first request to one.
#[derive(Debug, Clone)]
pub(super) struct OtlpHttpClient {
    plain: Client<HttpConnector, Full<Bytes>>,
    tls: Arc<OnceLock<Client<Connector, Full<Bytes>>>>,
    timeout: Duration,
    /// Signs each request, for X-Ray's OTLP endpoint.
    signer: Option<Arc<Signer>>,
}

impl OtlpHttpClient {
    /// A client whose every request (connection, answer and body) ends
    /// within `timeout`, signing included; `https` builds the TLS client
    /// now.
    pub(super) fn new(timeout: Duration, https: bool, signer: Option<Arc<Signer>>) -> Self {
        let plain = client(connector(timeout));
        let tls = Arc::new(OnceLock::new());
        if https {
            let _ = tls.set(tls_client(timeout));
        }
        Self { plain, tls, timeout, signer }
    }
}

fn connector(timeout: Duration) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(timeout));
    http
}

fn client<C>(connector: C) -> Client<C, Full<Bytes>>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector)
}

fn tls_client(timeout: Duration) -> Client<Connector, Full<Bytes>> {
    client(
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config())
            .https_only()
            .enable_http1()
            .wrap_connector(connector(timeout)),
    )
}

fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let extra = std::env::var_os("SSL_CERT_FILE").and_then(|path| std::fs::read(path).ok());
    let pems = [Some(AMAZON_TRUST_SERVICES_ROOTS.as_bytes()), extra.as_deref()];
    for pem in pems.into_iter().flatten() {
        for certificate in CertificateDer::pem_slice_iter(pem).flatten() {
            let _ = roots.add(certificate);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[async_trait::async_trait]
impl HttpClient for OtlpHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let exchange = async {
            let mut request = request;
            if let Some(signer) = &self.signer {
                signer.sign(&mut request).await?;
            }
            let request = request.map(Full::new);
            let response = if request.uri().scheme_str() == Some("https") {
                self.tls.get_or_init(|| tls_client(self.timeout)).request(request).await?
            } else {
                self.plain.request(request).await?
            };
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES).collect().await?.to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {:?}", self.timeout).into()),
        }
    }
}
