//! One retry policy for every request fleet sends: kube's [`RetryPolicy`] (exponential
//! backoff with jitter, `Retry-After` honoured) on 429, 503 and 504, tuned for a CLI run —
//! a few attempts within seconds, not kube's default of 15 over up to 1000 s. A POST (a
//! create, a TokenRequest) is retried only when the server says it was not processed (429,
//! 503); after a 504 it may have been, so it is not sent again blindly.
//!
//! Connection failures and timeouts are not retried: a silent server costs one
//! `--request-timeout`, and the error names it.
//!
//! Under the retries, each attempt holds one of the cluster's in-flight permits
//! ([`in_flight_limit`]): an AIMD limit that starts at `--parallelism`, shrinks by half
//! whenever the server pushes back (429, 503, 504, or no answer) and grows back by one per
//! well-answered request while at least half of it is in use, so a throttled API server
//! sees fewer requests at once, not the same number retried.

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

/// Tells a pushback ([`pushback`]) from an answer.
pub type PushbackClassifier<B> = fn(&Result<Response<B>, BoxError>) -> bool;

/// The per-cluster in-flight limit: at most `max` requests at once, halved on pushback
/// ([`pushback`]) down to 1, and a request slower than `timeout` counts as pushback.
pub fn in_flight_limit<B>(
    max: usize,
    timeout: Duration,
) -> tower_acc::ConcurrencyLimitLayer<tower_acc::Aimd, PushbackClassifier<B>> {
    let aimd = tower_acc::Aimd::builder()
        .initial_limit(max)
        .min_limit(1)
        .max_limit(max)
        .backoff_ratio(0.5)
        .timeout(timeout)
        .build();
    tower_acc::ConcurrencyLimitLayer::with_classifier(aimd, pushback::<B>)
}

/// Whether an answer means the server is (or may be) overloaded.
fn pushback<B>(result: &Result<Response<B>, BoxError>) -> bool {
    match result {
        Ok(r) => matches!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        ),
        Err(_) => true,
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

    /// Sends `n` requests at once through `limit` over a server that answers `code` after
    /// 20 ms; the most that were in flight at once.
    async fn burst(
        n: usize,
        code: u16,
        server_load: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
        peak: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
        svc: &tower::util::BoxCloneService<Request<Body>, Response<()>, BoxError>,
    ) {
        use std::sync::atomic::Ordering::SeqCst;
        use tower::ServiceExt;
        peak.store(0, SeqCst);
        server_load.store(0, SeqCst);
        let calls = (0..n).map(|_| {
            let mut req = request(Method::GET);
            req.headers_mut().insert("x-code", code.into());
            svc.clone().oneshot(req)
        });
        futures::future::join_all(calls).await;
    }

    #[tokio::test]
    async fn a_throttling_server_gets_fewer_requests_at_once_then_more_again() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use tower::Layer;
        let (load, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let server = {
            let (load, peak) = (load.clone(), peak.clone());
            tower::service_fn(move |req: Request<Body>| {
                let (load, peak) = (load.clone(), peak.clone());
                async move {
                    let now = load.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(now, SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    load.fetch_sub(1, SeqCst);
                    let code: u16 = req.headers()["x-code"].to_str().unwrap().parse().unwrap();
                    Ok::<_, BoxError>(Response::builder().status(code).body(()).unwrap())
                }
            })
        };
        let buffered = tower::buffer::Buffer::new(server, 64);
        let svc = tower::util::BoxCloneService::new(
            in_flight_limit::<()>(8, Duration::from_secs(5)).layer(buffered),
        );

        burst(16, 200, &load, &peak, &svc).await;
        assert_eq!(peak.load(SeqCst), 8, "unthrottled: --parallelism at once");
        burst(16, 429, &load, &peak, &svc).await;
        burst(4, 200, &load, &peak, &svc).await;
        let after = peak.load(SeqCst);
        assert!(
            after <= 2,
            "after 429s the limit is down to 1 or 2, saw {after}"
        );
        for _ in 0..20 {
            burst(16, 200, &load, &peak, &svc).await;
        }
        assert_eq!(peak.load(SeqCst), 8, "well answered, it climbs back");
    }
}
