//! How long a call keeps trying.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Attempts, back-off and deadline of every call. A transient fault (503,
/// 429, 502, 504, a refused or cut connection, an attempt's timeout) is
/// retried after `Retry-After` where the answer carries one, otherwise after
/// an exponential back-off with full jitter; never past the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The back-off's first ceiling; it doubles with each retry.
    pub initial_backoff: Duration,
    /// The back-off's largest ceiling.
    pub max_backoff: Duration,
    /// The most one attempt may take.
    pub attempt_timeout: Duration,
    /// The most one call may take, its retries and waits included.
    pub deadline: Duration,
    /// Rounds of read, change, conditional write in [`Client::update`](crate::Client::update).
    pub update_rounds: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            // API Gateway ends an integration at 30 s; the functions well before.
            attempt_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(60),
            update_rounds: 50,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry).
    pub(crate) fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << retry.saturating_sub(1).min(16))
            .min(self.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110, 10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(&with("1")), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(&with(" 120 ")), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(&with("Wed, 21 Oct 2015 07:28:00 GMT")), Some(Duration::ZERO));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        let wait = retry_after(&with(&httpdate::fmt_http_date(later))).unwrap();
        assert!(wait > Duration::from_secs(28) && wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!(retry_after(&with("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_honours_retry_after_and_stays_under_its_ceiling() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(3, Some(Duration::from_secs(1))), Duration::from_secs(1));
        for retry in 1..40 {
            let ceiling =
                (policy.initial_backoff * (1 << (retry - 1).min(16))).min(policy.max_backoff);
            assert!(policy.backoff(retry, None) <= ceiling);
        }
    }
}
