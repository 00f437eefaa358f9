//! Credentials from a container credentials endpoint, for the life of a
//! long-lived execution environment.
//!
//! The endpoint answers `GET <uri>` (with `Authorization: <token>`) with the
//! role's current credentials and their expiry, as the AWS SDKs read it
//! (AWS SDKs and Tools Reference Guide, "Container credential provider"):
//! `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`, the
//! expiry in RFC 3339. The client's identity cache (the SDK's lazy cache,
//! on every client) keeps them until shortly before they expire and then
//! asks again, so requests after a rotation are signed with the new ones.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use http_body_util::BodyExt;
use lambda_runtime_api_client::body::Body;
use serde::Deserialize;

use crate::config::{ContainerEndpoint, ContainerToken};

/// A credentials provider over one container endpoint.
#[derive(Debug)]
pub struct ContainerCredentials {
    endpoint: ContainerEndpoint,
}

impl ContainerCredentials {
    pub fn new(endpoint: ContainerEndpoint) -> Self {
        Self { endpoint }
    }

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let failed = |what: String| CredentialsError::provider_error(what);
        let (base, path) = split(&self.endpoint.uri)
            .ok_or_else(|| failed(format!("{} is not an http:// URI", self.endpoint.uri)))?;
        let mut request = lambda_runtime_api_client::build_request().method("GET").uri(path);
        match &self.endpoint.token {
            Some(ContainerToken::Value(token)) => request = request.header("authorization", token),
            Some(ContainerToken::File(file)) => {
                let token = std::fs::read_to_string(file)
                    .map_err(|e| failed(format!("cannot read {}: {e}", file.display())))?;
                request = request.header("authorization", token.trim());
            }
            None => {}
        }
        let request = request.body(Body::empty()).map_err(|e| failed(e.to_string()))?;
        let base = base.parse().map_err(|e| failed(format!("{base}: {e}")))?;
        let client = lambda_runtime_api_client::Client::builder()
            .with_endpoint(base)
            .build()
            .map_err(|e| failed(e.to_string()))?;
        let response = client.call(request).await.map_err(CredentialsError::provider_error)?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| failed(e.to_string()))?;
        if !status.is_success() {
            return Err(failed(format!("the credentials endpoint answered {status}")));
        }
        read(&body.to_bytes())
    }
}

impl ProvideCredentials for ContainerCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.fetch())
    }
}

/// `http://host:port/path?query` as the base (`http://host:port`) and the
/// rest (`/path?query`).
fn split(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let at = rest.find('/').map_or(uri.len(), |slash| "http://".len() + slash);
    Some((&uri[..at], if at == uri.len() { "/" } else { &uri[at..] }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Served {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
    expiration: Option<String>,
}

/// The endpoint's answer as credentials that expire when it says.
fn read(body: &[u8]) -> Result<Credentials, CredentialsError> {
    let served: Served = serde_json::from_slice(body).map_err(|e| {
        CredentialsError::unhandled(format!("the credentials endpoint's answer: {e}"))
    })?;
    let expiry = match &served.expiration {
        None => None,
        Some(text) => {
            let at = DateTime::from_str(text, Format::DateTime)
                .ok()
                .and_then(|at| SystemTime::try_from(at).ok())
                .ok_or_else(|| CredentialsError::unhandled(format!("Expiration {text:?}")))?;
            Some(at)
        }
    };
    Ok(Credentials::new(
        served.access_key_id,
        served.secret_access_key,
        served.token,
        expiry,
        "container",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_uri_splits_into_its_base_and_path() {
        assert_eq!(
            split("http://127.0.0.1:9001/2021-04-23/credentials"),
            Some(("http://127.0.0.1:9001", "/2021-04-23/credentials"))
        );
        assert_eq!(
            split("http://[fd00:ec2::23]/v1?x=1"),
            Some(("http://[fd00:ec2::23]", "/v1?x=1"))
        );
        assert_eq!(split("http://localhost"), Some(("http://localhost", "/")));
        assert_eq!(split("https://localhost/x"), None);
    }

    #[test]
    fn the_answer_becomes_credentials_that_expire_when_it_says() {
        let body = br#"{"AccessKeyId":"ASIA1","SecretAccessKey":"s","Token":"t",
            "Expiration":"2026-12-02T10:15:00Z","RoleArn":"arn:aws:iam::1:role/r"}"#;
        let credentials = read(body).unwrap();
        assert_eq!(
            (credentials.access_key_id(), credentials.session_token()),
            ("ASIA1", Some("t"))
        );
        let expiry = credentials.expiry().unwrap();
        let at = DateTime::from(expiry).fmt(Format::DateTime).unwrap();
        assert_eq!(at, "2026-12-02T10:15:00Z");
        assert!(read(br#"{"AccessKeyId":"a"}"#).is_err());
        assert!(read(br#"{"AccessKeyId":"a","SecretAccessKey":"s","Expiration":"soon"}"#).is_err());
    }
}
