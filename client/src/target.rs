//! Where the API is: a stack's `ApiUrl` output, and the region of an
//! `execute-api` URL.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use reqwest::Url;

use crate::Error;

/// The default chain's configuration (region, credentials), on the SDK's
/// hyper client with rustls on *ring*, as the functions' DynamoDB client.
/// `AWS_ENDPOINT_URL_CLOUDFORMATION` points `--stack` elsewhere, as for
/// every SDK.
pub(crate) async fn aws_config(region: Option<&str>, profile: Option<&str>) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// The `ApiUrl` output of `stack` (template.yaml's `Outputs`).
pub(crate) async fn stack_url(config: &SdkConfig, stack: &str) -> Result<String, Error> {
    let client = aws_sdk_cloudformation::Client::new(config);
    let answer = client.describe_stacks().stack_name(stack).send().await.map_err(|e| {
        Error::Config(format!(
            "cannot describe stack {stack:?}: {}",
            aws_sdk_cloudformation::error::DisplayErrorContext(&e)
        ))
    })?;
    let outputs = answer.stacks().first().map(|s| s.outputs()).unwrap_or_default();
    outputs
        .iter()
        .find(|o| o.output_key() == Some("ApiUrl"))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
        .ok_or_else(|| Error::Config(format!("stack {stack:?} has no ApiUrl output")))
}

/// `eu-west-1` of `https://abc123.execute-api.eu-west-1.amazonaws.com`.
pub(crate) fn execute_api_region(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let rest = host.split_once(".execute-api.")?.1;
    let region =
        rest.strip_suffix(".amazonaws.com").or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_of_an_execute_api_url() {
        let region = |u: &str| execute_api_region(&Url::parse(u).unwrap());
        assert_eq!(
            region("https://abc123.execute-api.eu-west-1.amazonaws.com/prod").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region("https://abc.execute-api.cn-north-1.amazonaws.com.cn").as_deref(),
            Some("cn-north-1")
        );
        assert_eq!(region("https://api.example.com"), None);
        assert_eq!(region("http://127.0.0.1:9000"), None);
    }
}
