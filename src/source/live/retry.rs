//! Retrying what the API server asks to be retried, as client-go does: a 429 (flow control) or
//! 503 that carries `Retry-After` is sent again after that many seconds, a few times. A server
//! that asks for a longer wait than [`MAX_WAIT`], or answers without `Retry-After`, gets no
//! retry: the run says at once that it is throttling or unavailable (kube's own policy retried
//! fifteen times with backoff, which looked like a server that "did not answer"). Each request's
//! whole time, retries included, stays within `--request-timeout` (the caller's bound).

use std::time::Duration;

use http::{Request, Response, StatusCode};
use kube::client::Body;
use tower::BoxError;

/// Attempts after the first.
const MAX_RETRIES: u32 = 3;
/// The longest `Retry-After` honoured.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// The retry policy: attempts made so far.
#[derive(Clone, Default)]
pub(crate) struct ServerAsks {
    retries: u32,
}

/// The wait a 429/503 asks for in `Retry-After` (whole seconds), if any.
fn asked_wait<B>(r: &Response<B>) -> Option<Duration> {
    if !matches!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        return None;
    }
    let secs: u64 = r
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

impl<B> tower::retry::Policy<Request<Body>, Response<B>, BoxError> for ServerAsks {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        _req: &mut Request<Body>,
        result: &mut Result<Response<B>, BoxError>,
    ) -> Option<Self::Future> {
        let wait = asked_wait(result.as_ref().ok()?)?;
        if wait > MAX_WAIT || self.retries >= MAX_RETRIES {
            return None;
        }
        self.retries += 1;
        Some(tokio::time::sleep(wait))
    }

    fn clone_request(&mut self, req: &Request<Body>) -> Option<Request<Body>> {
        let body = req.body().try_clone()?;
        let mut copy = Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone())
            .version(req.version())
            .body(body)
            .ok()?;
        *copy.headers_mut() = req.headers().clone();
        *copy.extensions_mut() = req.extensions().clone();
        Some(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u16, retry_after: Option<&str>) -> Response<()> {
        let mut r = Response::builder().status(code);
        if let Some(v) = retry_after {
            r = r.header("Retry-After", v);
        }
        r.body(()).unwrap()
    }

    #[test]
    fn only_a_short_retry_after_on_429_or_503_is_honoured() {
        assert_eq!(
            asked_wait(&answer(429, Some("1"))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            asked_wait(&answer(503, Some(" 2 "))),
            Some(Duration::from_secs(2))
        );
        // Without the header, or on another status, or as an HTTP date: no retry.
        assert_eq!(asked_wait(&answer(429, None)), None);
        assert_eq!(asked_wait(&answer(500, Some("1"))), None);
        assert_eq!(
            asked_wait(&answer(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"))),
            None
        );
    }
}
