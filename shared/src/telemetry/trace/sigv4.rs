//! SigV4 for X-Ray's OTLP traces endpoint, so the functions can export
//! straight to it, with no collector in between.
//!
//! The endpoint is `https://xray.<region>.amazonaws.com/v1/traces`; it takes
//! OTLP/HTTP requests signed with Signature Version 4 for the service `xray`
//! with the caller's IAM credentials, or a bearer token (an X-Ray API key)
//! instead (X-Ray Developer Guide, "OpenTelemetry Protocol (OTLP)
//! Endpoint", <https://docs.aws.amazon.com/xray/latest/devguide/xray-opentelemetry.html>;
//! CloudWatch, "OTLP Endpoints",
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-OTLPEndpoint.html>).
//! An endpoint is taken for X-Ray's when it matches the pattern the AWS
//! Distro for OpenTelemetry uses to decide the same thing
//! (`XRAY_OTLP_ENDPOINT_PATTERN`,
//! `https://xray\.([a-z0-9-]+)\.amazonaws\.com/v1/traces$`, in
//! aws-otel-python-instrumentation's `_utils.py`); the region in the host
//! is the region signed for.
//!
//! A request that already carries an `Authorization` header (an API key
//! in `OTEL_EXPORTER_OTLP_HEADERS`) is sent as it is. Every other request to
//! X-Ray is signed, each attempt afresh (the exporter retries), with the
//! function's own credentials, read as the DynamoDB client reads them
//! ([`crate::config::CredentialSource`]): the keys Lambda puts in the
//! environment, or a container credentials endpoint, whose credentials are
//! kept until [`RENEW_BEFORE`] their expiry and then fetched again.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{Request, Uri};
use opentelemetry_http::HttpError;

use crate::config::CredentialSource;
use crate::store::dynamodb::ContainerCredentials;

/// The service X-Ray's OTLP endpoint checks signatures for.
pub(super) const SERVICE: &str = "xray";

/// Credentials that expire are fetched again once less than this is left:
/// the latest the SDK's identity cache renews them (aws-smithy-runtime's
/// `LazyCache`: 10 s before expiry, less up to 5 s of jitter).
pub(super) const RENEW_BEFORE: Duration = Duration::from_secs(10);

/// The region of X-Ray's OTLP traces endpoint, when `endpoint` is one:
/// `https://xray.<region>.amazonaws.com/v1/traces` (any case, as ADOT
/// compares it).
pub(super) fn xray_region(endpoint: &str) -> Option<String> {
    let uri: Uri = endpoint.trim().to_ascii_lowercase().parse().ok()?;
    if uri.scheme_str() != Some("https") || uri.port().is_some() || uri.path() != "/v1/traces" {
        return None;
    }
    if uri.query().is_some() {
        return None;
    }
    let region = uri.host()?.strip_prefix("xray.")?.strip_suffix(".amazonaws.com")?;
    let valid = !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| region.to_owned())
}

/// The URL the exporter sends traces to, as `opentelemetry-otlp` resolves
/// it from the environment (its `resolve_http_endpoint`, after the OTLP
/// exporter specification): `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is,
/// else `OTEL_EXPORTER_OTLP_ENDPOINT` followed by `/v1/traces`.
pub(super) fn traces_url(traces_endpoint: Option<&str>, endpoint: Option<&str>) -> Option<String> {
    if let Some(url) = traces_endpoint {
        return Some(url.to_owned());
    }
    let base = endpoint?;
    Some(format!("{}/v1/traces", base.strip_suffix('/').unwrap_or(base)))
}

/// Signs requests for one region with the function's credentials.
#[derive(Debug)]
pub(super) struct Signer {
    region: String,
    keys: Keys,
}

#[derive(Debug)]
enum Keys {
    /// The environment's keys, for the life of the process.
    Fixed(Credentials),
    /// A container credentials endpoint's, and the last ones it served.
    Container { provider: ContainerCredentials, current: tokio::sync::Mutex<Option<Credentials>> },
}

impl Signer {
    pub(super) fn new(region: String, source: CredentialSource) -> Arc<Self> {
        let keys = match source {
            CredentialSource::Environment(credentials) => Keys::Fixed(credentials),
            CredentialSource::Container(endpoint) => Keys::Container {
                provider: ContainerCredentials::new(endpoint),
                current: tokio::sync::Mutex::new(None),
            },
        };
        Arc::new(Self { region, keys })
    }

    /// The credentials to sign with now.
    async fn credentials(&self) -> Result<Credentials, HttpError> {
        match &self.keys {
            Keys::Fixed(credentials) => Ok(credentials.clone()),
            Keys::Container { provider, current } => {
                // One fetch at a time: concurrent exports wait for it.
                let mut current = current.lock().await;
                let fresh = current
                    .as_ref()
                    .filter(|c| c.expiry().is_none_or(|at| at > SystemTime::now() + RENEW_BEFORE));
                if let Some(credentials) = fresh {
                    return Ok(credentials.clone());
                }
                let fetched = provider
                    .provide_credentials()
                    .await
                    .map_err(|error| format!("no credentials to sign the export with: {error}"))?;
                *current = Some(fetched.clone());
                Ok(fetched)
            }
        }
    }

    /// Adds the signature to `request` (`Authorization`, `X-Amz-Date` and,
    /// with temporary credentials, `X-Amz-Security-Token`), unless it
    /// already carries an `Authorization` header.
    pub(super) async fn sign(&self, request: &mut Request<Bytes>) -> Result<(), HttpError> {
        if request.headers().contains_key(http::header::AUTHORIZATION) {
            return Ok(());
        }
        let credentials = self.credentials().await?;
        sign_at(request, &credentials, &self.region, SystemTime::now())
    }
}

/// Signs `request` for X-Ray in `region` as of `time`.
pub(super) fn sign_at(
    request: &mut Request<Bytes>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), HttpError> {
    let identity = Identity::from(credentials.clone());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()?
        .into();
    let uri = request.uri().to_string();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| Ok((name.as_str(), value.to_str()?)))
        .collect::<Result<Vec<_>, http::header::ToStrError>>()?;
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_xray_s_traces_endpoint_is_signed_for_its_region() {
        let xray = |endpoint| xray_region(endpoint);
        assert_eq!(
            xray("https://xray.us-east-1.amazonaws.com/v1/traces").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            xray("HTTPS://XRAY.EU-WEST-3.AMAZONAWS.COM/v1/traces").as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(
            xray(" https://xray.ap-southeast-2.amazonaws.com/v1/traces\n").as_deref(),
            Some("ap-southeast-2")
        );
        for other in [
            "http://xray.us-east-1.amazonaws.com/v1/traces",
            "https://xray.us-east-1.amazonaws.com/v1/logs",
            "https://xray.us-east-1.amazonaws.com/v1/traces/",
            "https://xray.us-east-1.amazonaws.com/v1/traces?x=1",
            "https://xray.us-east-1.amazonaws.com:8443/v1/traces",
            "https://xray..amazonaws.com/v1/traces",
            "https://xray.us_east_1.amazonaws.com/v1/traces",
            "https://xray.us-east-1.amazonaws.com.evil.example/v1/traces",
            "https://logs.us-east-1.amazonaws.com/v1/traces",
            "http://localhost:4318/v1/traces",
            "not a url",
        ] {
            assert_eq!(xray(other), None, "{other}");
        }
    }

    #[test]
    fn the_traces_url_is_resolved_as_the_exporter_resolves_it() {
        let xray = "https://xray.eu-west-1.amazonaws.com";
        assert_eq!(
            traces_url(None, Some(xray)).as_deref(),
            Some("https://xray.eu-west-1.amazonaws.com/v1/traces")
        );
        assert_eq!(
            traces_url(None, Some("https://xray.eu-west-1.amazonaws.com/")).as_deref(),
            Some("https://xray.eu-west-1.amazonaws.com/v1/traces")
        );
        // The signal's own variable is taken as it is, and wins.
        assert_eq!(traces_url(Some(xray), Some("http://localhost:4318")).as_deref(), Some(xray));
        assert_eq!(traces_url(None, None), None);
    }

    fn request(headers: &[(&str, &str)]) -> Request<Bytes> {
        let mut builder = Request::post("https://xray.eu-west-1.amazonaws.com/v1/traces");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Bytes::from_static(b"\x0a\x02spans")).unwrap()
    }

    /// 2026-03-01T12:34:56Z.
    fn time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_368_496)
    }

    #[test]
    fn a_signature_names_the_service_region_and_signed_headers() {
        let credentials =
            Credentials::new("ASIAEXAMPLE", "secret", Some("token".into()), None, "t");
        let mut signed = request(&[("content-type", "application/x-protobuf")]);
        sign_at(&mut signed, &credentials, "eu-west-1", time()).unwrap();
        let header = |name: &str| signed.headers()[name].to_str().unwrap().to_owned();
        let authorization = header("authorization");
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260301/eu-west-1/xray/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
            ),
            "{authorization}"
        );
        assert_eq!(header("x-amz-date"), "20260301T123456Z");
        assert_eq!(header("x-amz-security-token"), "token");

        // The body is signed: another body, another signature.
        let mut other = request(&[("content-type", "application/x-protobuf")]);
        *other.body_mut() = Bytes::from_static(b"\x0a\x02other");
        sign_at(&mut other, &credentials, "eu-west-1", time()).unwrap();
        assert_ne!(other.headers()["authorization"], signed.headers()["authorization"]);
    }

    #[tokio::test]
    async fn a_request_with_its_own_authorization_is_sent_as_it_is() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "t");
        let signer = Signer::new("eu-west-1".into(), CredentialSource::Environment(credentials));
        let mut keyed = request(&[("authorization", "Bearer xray-api-key")]);
        signer.sign(&mut keyed).await.unwrap();
        assert_eq!(keyed.headers()["authorization"], "Bearer xray-api-key");
        assert!(!keyed.headers().contains_key("x-amz-date"));

        let mut plain = request(&[]);
        signer.sign(&mut plain).await.unwrap();
        let authorization = plain.headers()["authorization"].to_str().unwrap();
        assert!(authorization.contains("Credential=AKIDEXAMPLE/"), "{authorization}");
        assert!(!plain.headers().contains_key("x-amz-security-token"));
    }
}
