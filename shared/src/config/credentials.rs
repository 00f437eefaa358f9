//! Where the function's credentials come from: the two ways Lambda
//! delivers an execution role's credentials, in the SDKs' order.
//!
//! On-demand Lambda sets `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN`; for SnapStart it sets
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` instead (Lambda Developer Guide,
//! "SnapStart: credentials"). How Lambda Managed Instances deliver them is
//! not in AWS's documentation; the Managed Instances code of AWS's Runtime
//! Interface Emulator (aws/aws-lambda-runtime-interface-emulator,
//! `internal/lambda-managed-instances/rapidcore/env/environment.go`) sets
//! the three variables. Either way is read here.

use std::net::IpAddr;
use std::path::PathBuf;

use aws_sdk_dynamodb::config::Credentials;

use super::{ConfigError, non_empty};

/// Where the function's credentials come from, in the AWS SDKs' standard
/// order (AWS SDKs and Tools Reference Guide, "Standardized credential
/// providers"): the environment first, then a container credentials
/// endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for a role's
    /// temporary credentials, `AWS_SESSION_TOKEN`: what on-demand Lambda
    /// sets for the life of an execution environment.
    Environment(Credentials),
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (or ECS's
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), with
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN` or `…_TOKEN_FILE`: an endpoint
    /// that serves the role's current credentials with their expiry, as
    /// Lambda does for SnapStart instead of the variables above. The client
    /// fetches them when first needed and again before they expire.
    Container(ContainerEndpoint),
}

/// A container credentials endpoint: plain HTTP to a loopback or the
/// ECS/EKS link-local address, as the SDKs allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEndpoint {
    /// `http://<host>[:port]/<path>`.
    pub uri: String,
    pub token: Option<ContainerToken>,
}

/// The `Authorization` header a container endpoint expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerToken {
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    Value(String),
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, read at every fetch (EKS
    /// rotates it); it wins over the value, as in the SDKs.
    File(PathBuf),
}

/// The environment's credentials if it has both keys, else a container
/// endpoint if one is named.
pub(crate) fn credential_source(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<CredentialSource, ConfigError> {
    let keys = (non_empty(lookup, "AWS_ACCESS_KEY_ID"), non_empty(lookup, "AWS_SECRET_ACCESS_KEY"));
    if let (Some(access_key_id), Some(secret_access_key)) = keys {
        let session_token = non_empty(lookup, "AWS_SESSION_TOKEN");
        let credentials =
            Credentials::new(access_key_id, secret_access_key, session_token, None, "environment");
        return Ok(CredentialSource::Environment(credentials));
    }
    // As the SDKs read them: the relative URI (ECS) first.
    let uri = match non_empty(lookup, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        Some(relative) => format!("http://169.254.170.2{relative}"),
        None => non_empty(lookup, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
            .ok_or(ConfigError::MissingCredentials)?,
    };
    if !allowed_endpoint(&uri) {
        return Err(ConfigError::InvalidCredentialsEndpoint(uri));
    }
    let token = match non_empty(lookup, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(file) => Some(ContainerToken::File(PathBuf::from(file))),
        None => non_empty(lookup, "AWS_CONTAINER_AUTHORIZATION_TOKEN").map(ContainerToken::Value),
    };
    Ok(CredentialSource::Container(ContainerEndpoint { uri, token }))
}

/// Whether `uri` is plain HTTP to a host the SDKs let serve credentials
/// unencrypted: loopback, or the ECS (169.254.170.2) and EKS
/// (169.254.170.23, fd00:ec2::23) agents.
fn allowed_endpoint(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else { return false };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    if host == "localhost" {
        return true;
    }
    let Ok(ip) = host.parse::<IpAddr>() else { return false };
    let agents: [IpAddr; 3] = [
        [169, 254, 170, 2].into(),
        [169, 254, 170, 23].into(),
        [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23].into(),
    ];
    ip.is_loopback() || agents.contains(&ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{LAMBDA, config};

    /// As Lambda sets the variables for SnapStart: no keys, an endpoint.
    const CONTAINER: &[(&str, &str)] = &[
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_SESSION_TOKEN", ""),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9001/2021-04-23/credentials"),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "t0k3n"),
    ];

    #[test]
    fn without_keys_the_credentials_come_from_a_container_endpoint() {
        let c = config(CONTAINER).unwrap().dynamodb;
        let expected = ContainerEndpoint {
            uri: "http://127.0.0.1:9001/2021-04-23/credentials".into(),
            token: Some(ContainerToken::Value("t0k3n".into())),
        };
        assert_eq!(c.credentials, CredentialSource::Container(expected));
        // Keys in the environment come first, as in the SDKs.
        let both = [&LAMBDA[3..5], CONTAINER].concat();
        assert!(matches!(
            config(&both).unwrap().dynamodb.credentials,
            CredentialSource::Environment(_)
        ));
        let file =
            [CONTAINER, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/token")]].concat();
        let CredentialSource::Container(endpoint) = config(&file).unwrap().dynamodb.credentials
        else {
            panic!()
        };
        assert_eq!(endpoint.token, Some(ContainerToken::File("/var/token".into())));
        let relative =
            [CONTAINER, &[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds")]].concat();
        let CredentialSource::Container(endpoint) = config(&relative).unwrap().dynamodb.credentials
        else {
            panic!()
        };
        assert_eq!(endpoint.uri, "http://169.254.170.2/v2/creds");
    }

    #[test]
    fn only_plain_http_to_loopback_or_the_agents_serves_credentials() {
        for ok in [
            "http://127.0.0.1:9001/creds",
            "http://127.9.9.9/creds",
            "http://localhost:80/x",
            "http://[::1]:8080/creds",
            "http://169.254.170.2/v2/credentials/abc",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
        ] {
            assert!(allowed_endpoint(ok), "{ok}");
        }
        for refused in [
            "https://127.0.0.1/creds",
            "http://10.0.0.1/creds",
            "http://example.com/creds",
            "http://169.254.169.254/latest",
            "ftp://127.0.0.1/x",
            "127.0.0.1:9001/creds",
        ] {
            let variables =
                [&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused)], CONTAINER].concat();
            let err = config(&variables).unwrap_err();
            assert!(matches!(err, ConfigError::InvalidCredentialsEndpoint(_)), "{refused}: {err}");
        }
    }
}
