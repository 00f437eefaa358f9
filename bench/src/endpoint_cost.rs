//! What resolving DynamoDB's endpoint costs on the path Lambda takes (no
//! endpoint URL, a Region of the `aws` partition), once per process: with
//! the SDK's rules engine, which parses the partitions' JSON and compiles
//! their regexes on first use, and with the functions' own client
//! configuration (`store/dynamodb/client/endpoint.rs`). The rest of the
//! benchmark cannot show it: its subjects reach DynamoDB Local through an
//! endpoint URL, which both resolvers hand to the rules.
//!
//! Each resolution runs in a fresh process (`bench endpoint-cost
//! ours|sdk`), alternating, and reports its own CPU time. (The functions
//! give the SDK exactly this resolver: `client_config`.)

use std::time::Duration;

use aws_sdk_dynamodb::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use employee_api::store::dynamodb::StandardPartition;
use employee_api_tests::stats::median;

use nix::time::{ClockId, clock_gettime};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const REGION: &str = "us-east-1";

/// Median CPU time of the first resolution, the SDK's rules then ours, over
/// `processes` fresh processes each.
pub fn measure(processes: usize) -> Result<(Duration, Duration), BoxError> {
    eprintln!("bench: endpoint resolution, {processes} fresh processes per resolver…");
    let (mut sdk, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..processes.max(1) {
        sdk.push(child("sdk")?);
        ours.push(child("ours")?);
    }
    Ok((median(sdk), median(ours)))
}

fn child(resolver: &str) -> Result<Duration, BoxError> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(["endpoint-cost", resolver])
        .env_clear()
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (nanos, url) = stdout.trim().split_once(' ').unwrap_or_default();
    let expected = format!("https://dynamodb.{REGION}.amazonaws.com");
    if !output.status.success() || url != expected {
        return Err(format!(
            "endpoint-cost {resolver}: expected {expected}, got {stdout:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(Duration::from_nanos(nanos.parse()?))
}

/// The child: one resolution with the parameters a `GetItem` of a table
/// name passes, timed in CPU; prints the nanoseconds and the URL.
pub fn child_main(resolver: &str) -> Result<(), BoxError> {
    let params = Params::builder()
        .region(REGION)
        .use_fips(false)
        .use_dual_stack(false)
        .account_id_endpoint_mode("preferred")
        .resource_arn("Employees")
        .build()?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let url = runtime.block_on(async {
        let resolver: Box<dyn ResolveEndpoint> = match resolver {
            "ours" => Box::new(StandardPartition::default()),
            _ => Box::new(DefaultResolver::new()),
        };
        let before = thread_cpu()?;
        let endpoint = resolver.resolve_endpoint(&params).await;
        let cpu = thread_cpu()?.saturating_sub(before);
        endpoint.map(|e| format!("{} {}", cpu.as_nanos(), e.url()))
    })?;
    println!("{url}");
    Ok(())
}

/// This thread's CPU time so far (the process's scheduler statistics lag
/// behind a thread that is still running).
fn thread_cpu() -> Result<Duration, BoxError> {
    Ok(Duration::from(clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)?))
}
