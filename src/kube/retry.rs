//! One retry policy for every request fleet sends: kube's [`RetryPolicy`] (exponential
//! backoff with jitter, `Retry-After` honoured) on 429, 503 and 504, tuned for a CLI run —
//! a few attempts within seconds, not kube's default of 15 over up to 1000 s. A POST (a
//! create, a TokenRequest) is retried only when the server says it was not processed (429,
//! 503); after a 504 it may have been, so it is not sent again blindly.
//!
//! Connection failures and timeouts are not retried: a silent server costs one
//! `--request-timeout`, and the error names it.

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::client::retry::RetryPolicy;
use tower::BoxError;
use tower::retry::Policy;

/// The policy, as a tower [`Policy`].
#[derive(Clone)]
pub struct FleetRetry(RetryPolicy);

impl FleetRetry {
    /// Backoff from 100 ms up to 5 s, at most 5 retries, `Retry-After` honoured.
    pub fn new() -> Self {
        FleetRetry(
            RetryPolicy::new(Duration::from_millis(100), Duration::from_secs(5), 5, true)
                .expect("valid backoff parameters"),
        )
    }
}

impl Default for FleetRetry {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the answer says the request was not processed, or its method makes sending it
/// again harmless.
fn may_retry<Res>(req: &Request<Body>, result: &Result<Response<Res>, BoxError>) -> bool {
    match result {
        Ok(r) if r.status() == StatusCode::GATEWAY_TIMEOUT => req.method() != Method::POST,
        _ => true,
    }
}

impl<Res> Policy<Request<Body>, Response<Res>, BoxError> for FleetRetry {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut Request<Body>,
        result: &mut Result<Response<Res>, BoxError>,
    ) -> Option<Self::Future> {
        if !may_retry(req, result) {
            return None;
        }
        self.0.retry(req, result)
    }

    fn clone_request(&mut self, req: &Request<Body>) -> Option<Request<Body>> {
        <RetryPolicy as Policy<Request<Body>, Response<Res>, BoxError>>::clone_request(
            &mut self.0,
            req,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri("/api/v1/namespaces")
            .body(Body::from(Vec::new()))
            .unwrap()
    }

    fn answer(code: u16) -> Result<Response<()>, BoxError> {
        Ok(Response::builder().status(code).body(()).unwrap())
    }

    #[tokio::test]
    async fn throttled_requests_are_retried_and_a_timed_out_create_is_not() {
        let mut p = FleetRetry::new();
        for (method, code, retried) in [
            (Method::GET, 429, true),
            (Method::GET, 503, true),
            (Method::GET, 504, true),
            (Method::PATCH, 504, true),
            (Method::POST, 429, true),
            (Method::POST, 504, false),
            (Method::GET, 500, false),
            (Method::GET, 200, false),
            (Method::GET, 409, false),
        ] {
            let mut req = request(method.clone());
            let got = p.retry(&mut req, &mut answer(code)).is_some();
            assert_eq!(got, retried, "{method} {code}");
        }
    }

    #[tokio::test]
    async fn retries_stop_after_five() {
        let mut p = FleetRetry::new();
        let n = (0..10)
            .filter(|_| {
                p.retry(&mut request(Method::GET), &mut answer(429))
                    .is_some()
            })
            .count();
        assert_eq!(n, 5);
    }
}
