//! SigV4 for API Gateway's `execute-api` service, as the AWS SDKs sign: the
//! method, the path (encoded twice, as for every service but S3), the query,
//! every header the request sends and the body's SHA-256 go into the
//! signature; `X-Amz-Date` and, for temporary credentials,
//! `X-Amz-Security-Token` are added and signed too.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::Error;

/// The service name API Gateway's IAM authorization checks signatures for.
pub const SERVICE: &str = "execute-api";

/// The headers that sign a request: `authorization`, `x-amz-date` and, with
/// a session token, `x-amz-security-token`. `url` is the request's URL as
/// sent (path and query already percent-encoded); `headers` are every
/// header it sends besides `Host`, which is taken from `url`.
pub fn signature_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, Error> {
    let identity = Identity::from(credentials.clone());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Error::Config(format!("cannot sign the request: {e}")))?
        .into();
    let request =
        SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(body))
            .map_err(|e| Error::Config(format!("cannot sign a request to {url}: {e}")))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| Error::Config(format!("cannot sign a request to {url}: {e}")))?
        .into_parts();
    Ok(instructions.into_parts().0.into_iter().map(|h| (h.name(), h.value().to_owned())).collect())
}
