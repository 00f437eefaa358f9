//! Credentials for the life of a long-lived execution environment: a
//! function started as Lambda starts it for SnapStart (no keys in the
//! environment; `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`), against a stand-in endpoint that
//! rotates the credentials. Every request is signed with the credentials
//! current when it is made: the proxy in front of DynamoDB Local reads the
//! access key id of each signature.

use std::time::Duration;

use employee_api_tests::credentials_server::CredentialsServer;
use employee_api_tests::dynamodb_local::{self, client, fresh_table, put_items};
use employee_api_tests::events::http_event;
use employee_api_tests::fault_proxy::FaultProxy;
use employee_api_tests::lambda_process::{LambdaProcess, debug_binary, lambda_environment};
use employee_api_tests::runtime_api::RuntimeApi;

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_after_a_rotation_are_signed_with_the_new_credentials() {
    let client = client();
    let table = fresh_table(&client).await;
    put_items(&client, &table, &[("42", "Engineer")]).await;
    let proxy = FaultProxy::start(dynamodb_local::endpoint());
    // The SDK's identity cache (aws-smithy-runtime, `LazyCache`) renews
    // credentials between 10 s and 5 s before they expire: these are due for
    // renewal 9 s after they are handed out, at the latest.
    let server = CredentialsServer::start("ASIAFIRST", Duration::from_secs(14)).await;
    let api = RuntimeApi::start().await.expect("the Runtime API listens");
    let mut env: Vec<(String, String)> = lambda_environment("get-employee", &api.address)
        .into_iter()
        .filter(|(name, _)| {
            !name.starts_with("AWS_ACCESS_KEY_ID") && name != "AWS_SECRET_ACCESS_KEY"
        })
        .collect();
    env.extend(
        [
            ("TABLE_NAME", table.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.uri.clone()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", server.token.clone()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let log = std::env::temp_dir().join(format!("credentials-{}.log", std::process::id()));
    let process = LambdaProcess::start(&debug_binary("get-employee"), &env, &log);
    let get = http_event("GET", "/employees/42").build();
    let get = || async {
        let answer = tokio::time::timeout(Duration::from_secs(20), api.invoke(&get)).await;
        let answer = answer.unwrap_or_else(|_| panic!("no answer in 20 s: {}", process.output()));
        answer.result.map(|r| r["statusCode"].clone()).unwrap_or_default()
    };

    for _ in 0..3 {
        assert_eq!(get().await, 200, "{}", process.output());
    }
    assert_eq!(proxy.take_access_keys(), ["ASIAFIRST"; 3]);
    assert_eq!(server.fetches(), (1, 0), "fetched once, then cached");

    server.rotate("ASIASECOND", Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(10)).await;
    for _ in 0..3 {
        assert_eq!(get().await, 200, "{}", process.output());
    }
    assert_eq!(proxy.take_access_keys(), ["ASIASECOND"; 3], "{}", process.output());
    assert_eq!(server.fetches(), (2, 0), "renewed once, with the token");
}
