//! HTTP for kgx's SPARQL clients: one agent, credentials, retries.
//!
//! Takes: a request (method, URL, headers, a body held in memory). Gives:
//! the server's response once it answers 2xx, its body still unread (a
//! query's results are streamed by the caller).
//! Invariants: a request is retried, with exponential back-off, on 5xx, 408,
//! 429, timeouts and failed connections, at most `retries` times; Digest
//! credentials answer a 401 challenge and the request goes again at once;
//! other statuses fail with the status and the start of the server's
//! message; a body is always sent with a Content-Length (Virtuoso answers
//! 201 to a chunked PUT and stores nothing).

use std::time::Duration;

use ureq::http::{Method, Request, Response};
use ureq::{Agent, AsSendBody, Body};

use super::auth::{Authorizer, Credentials};
use super::RemoteError;

/// How requests are sent.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Limit on one exchange (connect, send, response headers and body).
    pub timeout: Duration,
    /// Retries after the first try.
    pub retries: u32,
    /// The first back-off; doubled each retry, at most 30 s.
    pub backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(300), retries: 5, backoff: Duration::from_millis(500) }
    }
}

/// One request; `body` is None for GET and DELETE.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub content_type: Option<&'a str>,
    pub accept: Option<&'a str>,
    pub body: Option<&'a [u8]>,
}

pub struct HttpClient {
    agent: Agent,
    auth: Authorizer,
    options: HttpOptions,
}

impl HttpClient {
    pub fn new(credentials: Option<Credentials>, options: HttpOptions) -> Self {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("kgx/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent, auth: Authorizer::new(credentials), options }
    }

    /// Sends `exchange` until the server answers 2xx or the retries are spent.
    pub fn send(&self, exchange: Exchange<'_>) -> Result<Response<Body>, RemoteError> {
        let mut attempt = 0;
        let mut answered_challenge = false;
        loop {
            let failure = match self.send_once(exchange) {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if status == 401 && !answered_challenge {
                        let challenge = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok());
                        if self.auth.challenged(challenge) {
                            answered_challenge = true;
                            continue;
                        }
                    }
                    let message = server_message(&mut response);
                    let error = RemoteError::Status {
                        method: exchange.method.to_string(),
                        url: exchange.url.to_string(),
                        status,
                        message,
                        credentials: self.auth.has_credentials(),
                    };
                    if !matches!(status, 408 | 429 | 500..=599) {
                        return Err(error);
                    }
                    error
                }
                Err(e) => RemoteError::Transport { method: exchange.method.to_string(), url: exchange.url.to_string(), source: e },
            };
            if attempt >= self.options.retries {
                return Err(RemoteError::GaveUp { attempts: attempt + 1, last: Box::new(failure) });
            }
            std::thread::sleep(self.backoff(attempt));
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.options.backoff.saturating_mul(1 << attempt.min(16)).min(Duration::from_secs(30))
    }

    fn send_once(&self, exchange: Exchange<'_>) -> Result<Response<Body>, ureq::Error> {
        let method = Method::from_bytes(exchange.method.as_bytes()).map_err(|e| ureq::Error::Http(e.into()))?;
        let mut request = Request::builder().method(method).uri(exchange.url);
        if let Some(content_type) = exchange.content_type {
            request = request.header("Content-Type", content_type);
        }
        if let Some(accept) = exchange.accept {
            request = request.header("Accept", accept);
        }
        if let Some(authorization) = self.auth.header(exchange.method, &path_and_query(exchange.url)) {
            request = request.header("Authorization", authorization);
        }
        match exchange.body {
            Some(body) => self.run(request.body(body)),
            None => self.run(request.body(())),
        }
    }

    fn run<B: AsSendBody>(&self, request: Result<Request<B>, ureq::http::Error>) -> Result<Response<Body>, ureq::Error> {
        self.agent.run(request.map_err(ureq::Error::Http)?)
    }
}

/// The part of a URL Digest signs: `/path?query`.
fn path_and_query(url: &str) -> String {
    url.parse::<ureq::http::Uri>().ok().and_then(|u| u.path_and_query().map(|p| p.as_str().to_string())).unwrap_or_else(|| "/".to_string())
}

/// The start of a failed response's body, runs of blanks removed, and tags
/// too when it is HTML (servers answer errors in HTML as often as in text).
fn server_message(response: &mut Response<Body>) -> String {
    let html = response.body().mime_type().is_some_and(|m| m.contains("html"));
    // The start only: Virtuoso's 400 echoes the whole request after its message.
    let mut start = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(response.body_mut().as_reader(), 16 * 1024), &mut start);
    let raw = String::from_utf8_lossy(&start);
    let mut text = String::new();
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' if html => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if in_tag => {}
            _ => text.push(c),
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut message = words.join(" ");
    if message.chars().count() > 400 {
        message = message.chars().take(400).collect::<String>() + " ...";
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_signs_the_path_and_query() {
        assert_eq!(path_and_query("http://127.0.0.1:8890/sparql-graph-crud-auth?graph=urn%3Ax"), "/sparql-graph-crud-auth?graph=urn%3Ax");
        assert_eq!(path_and_query("http://h"), "/");
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let client = HttpClient::new(None, HttpOptions::default());
        let waits: Vec<u64> = (0..8).map(|a| client.backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    }

    /// A server that is not there: the retries are spent and the error names the URL.
    #[test]
    fn an_unreachable_server_fails_after_the_retries_naming_the_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let options = HttpOptions { timeout: Duration::from_secs(5), retries: 2, backoff: Duration::from_millis(10) };
        let client = HttpClient::new(None, options);
        let url = format!("http://127.0.0.1:{port}/query");
        let exchange = Exchange { method: "GET", url: &url, content_type: None, accept: None, body: None };
        let err = client.send(exchange).unwrap_err();
        let text = format!("{err}: {}", std::error::Error::source(&err).map(|s| s.to_string()).unwrap_or_default());
        assert!(matches!(err, RemoteError::GaveUp { attempts: 3, .. }), "{text}");
        assert!(text.contains(&url), "{text}");
    }
}
