//! One retry policy for both forges: how long to wait after a rate limit (`Retry-After`,
//! `x-ratelimit-reset` / `RateLimit-Reset`) or a server error, and when to stop trying.

use std::time::Duration;

use http::HeaderMap;

/// Bounded retries with backoff. Every forge request goes through [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// The longest single wait we accept; a rate limit resetting later than this is reported,
    /// not slept through (a CI job must not hang for an hour).
    pub max_wait: Duration,
    /// The first backoff after a server error; doubled each attempt.
    pub base_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_wait: Duration::from_secs(90),
            base_backoff: Duration::from_secs(1),
        }
    }
}

/// What to do after a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Use this response (success, or an error that retrying cannot fix).
    Accept,
    /// Wait, then send the request again.
    RetryAfter(Duration),
    /// Retrying would take too long or too many attempts: report this.
    GiveUp(String),
}

/// Whether a response is a rate limit: 429, or 403 with `x-ratelimit-remaining: 0` or a
/// `Retry-After` (GitHub's secondary limit).
pub fn is_rate_limited(status: u16, headers: &HeaderMap) -> bool {
    status == 429
        || (status == 403
            && (header_u64(headers, "x-ratelimit-remaining") == Some(0)
                || headers.contains_key("retry-after")))
}

impl RetryPolicy {
    /// Decides after a response to attempt number `attempt` (1-based); `now_unix` is the current
    /// time for `x-ratelimit-reset`.
    pub fn decide(
        &self,
        status: u16,
        headers: &HeaderMap,
        attempt: u32,
        now_unix: i64,
    ) -> Decision {
        let rate_limited = is_rate_limited(status, headers);
        let server_error = matches!(status, 500 | 502 | 503 | 504);
        if !rate_limited && !server_error {
            return Decision::Accept;
        }
        if attempt >= self.max_attempts {
            return Decision::GiveUp(if rate_limited {
                format!("still rate limited after {attempt} attempts")
            } else {
                format!("HTTP {status} after {attempt} attempts")
            });
        }
        let wait = if rate_limited {
            rate_limit_wait(headers, now_unix).unwrap_or_else(|| self.backoff(attempt))
        } else {
            self.backoff(attempt)
        };
        if wait > self.max_wait {
            return Decision::GiveUp(format!(
                "rate limited; the limit resets in {} s, longer than the {} s we wait",
                wait.as_secs(),
                self.max_wait.as_secs()
            ));
        }
        Decision::RetryAfter(wait)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
    }
}

/// The wait a rate-limited response asks for: `Retry-After` (seconds) first, then the reset
/// time (`x-ratelimit-reset` on GitHub, `RateLimit-Reset` on GitLab, both Unix seconds).
pub fn rate_limit_wait(headers: &HeaderMap, now_unix: i64) -> Option<Duration> {
    if let Some(seconds) = header_u64(headers, "retry-after") {
        return Some(Duration::from_secs(seconds));
    }
    let reset = header_u64(headers, "x-ratelimit-reset")
        .or_else(|| header_u64(headers, "ratelimit-reset"))?;
    let reset = i64::try_from(reset).ok()?;
    // One extra second: the reset instant is inclusive on GitHub.
    Some(Duration::from_secs(
        u64::try_from(reset.saturating_sub(now_unix).max(0)).unwrap_or(0) + 1,
    ))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The current Unix time in seconds.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn success_and_client_errors_are_accepted() {
        let policy = RetryPolicy::default();
        for status in [200, 201, 404, 401, 422] {
            assert_eq!(
                policy.decide(status, &HeaderMap::new(), 1, 0),
                Decision::Accept
            );
        }
        // A 403 without rate-limit headers is a permission problem, not a rate limit.
        assert_eq!(
            policy.decide(403, &HeaderMap::new(), 1, 0),
            Decision::Accept
        );
    }

    #[test]
    fn retry_after_wins_over_reset() {
        let policy = RetryPolicy::default();
        let h = headers(&[("retry-after", "7"), ("x-ratelimit-reset", "1000")]);
        assert_eq!(
            policy.decide(429, &h, 1, 0),
            Decision::RetryAfter(Duration::from_secs(7))
        );
    }

    #[test]
    fn primary_rate_limit_waits_until_reset() {
        let policy = RetryPolicy::default();
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1010"),
        ]);
        assert_eq!(
            policy.decide(403, &h, 1, 1000),
            Decision::RetryAfter(Duration::from_secs(11))
        );
        let gitlab = headers(&[("ratelimit-reset", "1003")]);
        assert_eq!(
            policy.decide(429, &gitlab, 1, 1000),
            Decision::RetryAfter(Duration::from_secs(4))
        );
    }

    #[test]
    fn long_resets_and_exhausted_attempts_give_up() {
        let policy = RetryPolicy::default();
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "5000"),
        ]);
        assert!(
            matches!(policy.decide(403, &h, 1, 1000), Decision::GiveUp(m) if m.contains("resets in 4001 s"))
        );
        assert!(
            matches!(policy.decide(500, &HeaderMap::new(), 4, 0), Decision::GiveUp(m) if m.contains("HTTP 500 after 4"))
        );
    }

    #[test]
    fn server_errors_back_off_exponentially() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.decide(502, &HeaderMap::new(), 1, 0),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            policy.decide(503, &HeaderMap::new(), 3, 0),
            Decision::RetryAfter(Duration::from_secs(4))
        );
    }
}
