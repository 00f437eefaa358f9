//! The invocation's deadline, which every DynamoDB attempt, back-off,
//! conflict retry and keyed-write round spends from.
//!
//! Lambda hands each invocation its deadline (`Lambda-Runtime-Deadline-Ms`,
//! `Context::deadline`). A function that is still working then is stopped
//! (on demand) or left running with its answer thrown away (Lambda Managed
//! Instances do not stop an invocation that times out), and API Gateway
//! answers the client itself, without our error body or `Retry-After`. So
//! the work of an invocation must end [`ANSWER_MARGIN`] before the deadline,
//! leaving the time to write the answer: what runs out of time then is a
//! `503 ServiceUnavailable` with `Retry-After`, which is true (the table did
//! not answer in time) and safe to retry (a keyed write that did land is
//! replayed; one that did not is done once).
//!
//! The deadline belongs to the invocation: a task-local value set by the
//! entry point ([`scope`]), so concurrent invocations of one process
//! (Managed Instances) each spend their own.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

/// The time kept back before the deadline to write and send the answer:
/// serialising it and posting it to the Runtime API takes well under a
/// millisecond of CPU, but at 128 MB a function gets a small share of a vCPU
/// and may wait several scheduling periods for it. Half a second covers that
/// many times over while leaving a 10 s function 95 % of its time.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(500);

tokio::task_local! {
    /// When the running invocation's work must end.
    static WORK_ENDS: Option<Instant>;
}

/// The time ran out before the work could be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the invocation's deadline left no time to finish")]
pub struct Expired;

/// When work must end for an invocation whose deadline is `deadline_ms`
/// (milliseconds since the Unix epoch, as Lambda sends it), measured against
/// the monotonic clock from now.
///
/// A deadline that has already passed when the invocation is handed out is
/// not one Lambda sends, and is read as none: `cargo lambda watch` 1.9 sends
/// the constant `600000` (`crates/cargo-lambda-watch/src/runtime/
/// functions_router.rs`), ten minutes after 1970, and a `Context` made in a
/// test has 0. The client's own bounds (4 s per call, retries included)
/// still apply then.
fn work_ends(deadline_ms: u64) -> Option<Instant> {
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline.duration_since(SystemTime::now()).ok().filter(|left| !left.is_zero())?;
    Some(Instant::now() + left.saturating_sub(ANSWER_MARGIN))
}

/// Runs `invocation` with the deadline Lambda gave it (`deadline_ms`, see
/// [`work_ends`]).
pub async fn scope<F: Future>(deadline_ms: u64, invocation: F) -> F::Output {
    WORK_ENDS.scope(work_ends(deadline_ms), invocation).await
}

/// The time left for work, if the running invocation has a deadline.
pub fn remaining() -> Option<Duration> {
    WORK_ENDS
        .try_with(|ends| ends.map(|ends| ends.saturating_duration_since(Instant::now())))
        .ok()
        .flatten()
}

/// Runs `work` within the time left: [`Expired`] if it has not finished
/// when the time runs out (it is dropped then), or if no time is left.
pub async fn within<F: Future>(work: F) -> Result<F::Output, Expired> {
    match remaining() {
        None => Ok(work.await),
        Some(left) if left.is_zero() => Err(Expired),
        Some(left) => tokio::time::timeout(left, work).await.map_err(|_| Expired),
    }
}

/// Waits `delay` (a back-off), unless less than that is left: then
/// [`Expired`] at once, as the retry it precedes could not finish anyway.
pub async fn sleep(delay: Duration) -> Result<(), Expired> {
    if remaining().is_some_and(|left| left <= delay) {
        return Err(Expired);
    }
    tokio::time::sleep(delay).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch_ms_in(from_now: Duration) -> u64 {
        let at = SystemTime::now() + from_now;
        at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64
    }

    #[tokio::test]
    async fn without_a_deadline_nothing_is_bounded() {
        assert_eq!(remaining(), None);
        assert_eq!(within(async { 7 }).await, Ok(7));
        // None, cargo lambda watch's constant, and any other past deadline.
        for deadline_ms in [0, 600_000, epoch_ms_in(Duration::ZERO) - 1000] {
            scope(deadline_ms, async {
                assert_eq!(remaining(), None, "{deadline_ms}");
                assert_eq!(sleep(Duration::from_millis(1)).await, Ok(()));
            })
            .await;
        }
    }

    #[tokio::test]
    async fn work_ends_the_margin_before_the_deadline() {
        scope(epoch_ms_in(Duration::from_secs(3)), async {
            let left = remaining().unwrap();
            assert!(left <= Duration::from_secs(3) - ANSWER_MARGIN, "{left:?}");
            assert!(left > Duration::from_secs(2), "{left:?}");
            let slow = within(tokio::time::sleep(Duration::from_secs(60)));
            let started = Instant::now();
            assert_eq!(slow.await, Err(Expired));
            assert!(started.elapsed() < Duration::from_secs(3) - ANSWER_MARGIN / 2);
            assert_eq!(within(async { 1 }).await, Err(Expired));
            assert_eq!(sleep(Duration::from_millis(1)).await, Err(Expired));
        })
        .await;
    }

    #[tokio::test]
    async fn a_deadline_already_past_leaves_no_time() {
        scope(epoch_ms_in(Duration::from_millis(100)), async {
            assert_eq!(remaining(), Some(Duration::ZERO));
            assert_eq!(within(async { 1 }).await, Err(Expired));
        })
        .await;
    }
}
