//! DynamoDB's endpoint in the standard partition, without the SDK's rules
//! engine.
//!
//! The SDK's generated resolver finds a Region's partition by parsing the
//! partitions' JSON and compiling each partition's region regex, once per
//! process, on the first request: cold-path work, at Lambda's small CPU
//! share, to arrive at `https://dynamodb.<region>.amazonaws.com`. The SDK
//! takes a resolver of our own (`Config::builder().endpoint_resolver`); this
//! one answers that case itself and hands every other one (an endpoint URL,
//! FIPS, dual-stack, account-based endpoints, a table ARN, other partitions)
//! to the SDK's resolver unchanged. That resolver is only made when first
//! needed: making one loads the partitions.

use std::sync::OnceLock;

use aws_sdk_dynamodb::config::endpoint::{
    DefaultResolver, Endpoint, EndpointFuture, Params, ResolveEndpoint,
};

/// The functions' endpoint resolver (public for the benchmark, which
/// measures what it saves).
#[derive(Debug, Default)]
pub struct StandardPartition {
    rules: OnceLock<DefaultResolver>,
}

impl ResolveEndpoint for StandardPartition {
    fn resolve_endpoint<'a>(&'a self, params: &'a Params) -> EndpointFuture<'a> {
        match standard_endpoint(params) {
            Some(url) => EndpointFuture::ready(Ok(Endpoint::builder().url(url).build())),
            None => self.rules.get_or_init(DefaultResolver::new).resolve_endpoint(params),
        }
    }
}

/// The regional endpoint when the SDK's rules would pick it from the `aws`
/// partition's `dnsSuffix` alone; `None` whenever anything else could
/// matter.
fn standard_endpoint(params: &Params) -> Option<String> {
    let plain = params.endpoint().is_none()
        && params.use_fips() != Some(true)
        && params.use_dual_stack() != Some(true)
        && params.account_id().is_none()
        && params.account_id_endpoint_mode().is_none_or(|mode| mode != "required")
        && params.is_search_operation() != Some(true)
        // A table name is bound to the resource ARN: only an ARN can
        // select an account-based endpoint.
        && params.resource_arn().is_none_or(|name| !name.starts_with("arn:"))
        && params.resource_arn_list().is_none_or(|names| names.iter().all(|n| !n.starts_with("arn:")));
    let region = params.region()?;
    (plain && in_standard_partition(region))
        .then(|| format!("https://dynamodb.{region}.amazonaws.com"))
}

/// The `aws` partition's region regex, `^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`,
/// by hand.
fn in_standard_partition(region: &str) -> bool {
    let mut parts = region.split('-');
    let (Some(area), Some(place), Some(number), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"].contains(&area)
        && !place.is_empty()
        && place.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(resolver: &dyn ResolveEndpoint, params: &Params) -> Result<String, String> {
        let future = resolver.resolve_endpoint(params);
        let endpoint = futures_ready(future);
        endpoint.map(|e| e.url().to_owned()).map_err(|e| e.to_string())
    }

    /// The futures here are always ready: poll once.
    fn futures_ready(
        future: EndpointFuture<'_>,
    ) -> Result<Endpoint, aws_sdk_dynamodb::error::BoxError> {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    /// Whatever the parameters, the same answer as the SDK's own rules.
    #[test]
    fn every_endpoint_is_the_one_the_sdk_rules_give() {
        let regions = [
            "us-east-1",
            "us-west-2",
            "eu-west-1",
            "eu-central-2",
            "ap-southeast-7",
            "ap-east-2",
            "sa-east-1",
            "ca-west-1",
            "me-central-1",
            "af-south-1",
            "il-central-1",
            "mx-central-1",
            "us-gov-west-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "cn-north-1",
            "cn-northwest-1",
            "eusc-de-east-1",
            "eu-isoe-west-1",
            "aws-global",
            "local",
            "xx-east-1",
            "us-east-1a",
            "us-east",
            "us--1",
        ];
        let tables = [
            None,
            Some("Employees"),
            Some("arn:aws:dynamodb:us-east-1:123456789012:table/Employees"),
        ];
        let mut checked = 0;
        for region in regions {
            for fips in [false, true] {
                for dual_stack in [false, true] {
                    for endpoint in [None, Some("http://127.0.0.1:8000")] {
                        for account_id in [None, Some("123456789012")] {
                            for mode in
                                [None, Some("preferred"), Some("disabled"), Some("required")]
                            {
                                for table in tables {
                                    let mut builder = Params::builder()
                                        .region(region)
                                        .use_fips(fips)
                                        .use_dual_stack(dual_stack);
                                    if let Some(e) = endpoint {
                                        builder = builder.endpoint(e);
                                    }
                                    if let Some(a) = account_id {
                                        builder = builder.account_id(a);
                                    }
                                    if let Some(m) = mode {
                                        builder = builder.account_id_endpoint_mode(m);
                                    }
                                    if let Some(t) = table {
                                        builder = builder.resource_arn(t);
                                    }
                                    let params = builder.build().expect(region);
                                    assert_eq!(
                                        resolve(&StandardPartition::default(), &params),
                                        resolve(&DefaultResolver::new(), &params),
                                        "{params:?}"
                                    );
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(checked, regions.len() * 2 * 2 * 2 * 2 * 4 * tables.len());
    }

    #[test]
    fn the_standard_regions_resolve_without_the_rules() {
        for region in ["us-east-1", "eu-west-3", "ap-southeast-5", "il-central-1"] {
            let params =
                Params::builder().region(region).resource_arn("Employees").build().unwrap();
            assert_eq!(
                standard_endpoint(&params),
                Some(format!("https://dynamodb.{region}.amazonaws.com"))
            );
        }
        for region in ["us-gov-west-1", "cn-north-1", "us-iso-east-1", "local"] {
            let params = Params::builder().region(region).build().unwrap();
            assert_eq!(standard_endpoint(&params), None, "{region}");
        }
    }
}
