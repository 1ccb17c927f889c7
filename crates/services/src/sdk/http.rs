//! `sdk.http`: requests from scripts to the outside, checked hop by hop against the address
//! policy. Each hop resolves its host once, drops forbidden addresses, and connects only to
//! the addresses it checked (the client is pinned to them, so nothing resolves the name again);
//! a redirect changes the request as `http_redirect` says.

use super::http_policy::AddressPolicy;
use super::http_redirect::{self, Hop};
use super::http_request::{Body, RequestLimits};
use crate::clock::{Clock, SystemClock};
use runtime::{HostError, HostErrorCode};
use serde_json::{Map, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use url::{Host, Url};

#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub policy: AddressPolicy,
    pub default_timeout: Duration,
    pub max_response_bytes: usize,
    pub max_redirects: usize,
    /// What a script may send: body, headers and URL sizes.
    pub request: RequestLimits,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            policy: AddressPolicy::default(),
            default_timeout: Duration::from_secs(10),
            max_response_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            request: RequestLimits::default(),
        }
    }
}

pub struct HttpGateway {
    settings: HttpSettings,
    blocked: Arc<AtomicU64>,
    clock: Arc<dyn Clock>,
    /// The TLS configuration every hop's client uses, built once: its root store alone is
    /// tens of kilobytes, which a client built per hop would parse and hold per request.
    /// `None` only if it could not be built; each client then builds reqwest's default.
    tls: Option<rustls::ClientConfig>,
}

/// What went wrong, with its causes ("error sending request" alone does not tell a script's
/// author that the certificate was refused or the connection reset).
fn cause(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

/// The TLS configuration of `sdk.http`: what reqwest builds by default (rustls on ring, the
/// webpki roots, TLS 1.2 and 1.3, HTTP/1.1 by ALPN), with session resumption off so that no
/// TLS session made for one tenant's request is resumed by another's.
fn tls_config() -> Option<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder,
        Err(error) => {
            tracing::warn!(%error, "sdk.http builds a TLS configuration per request");
            return None;
        }
    };
    let mut config = builder.with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Some(config)
}

fn failure(code: HostErrorCode, message: impl Into<String>) -> HostError {
    HostError::new(code, message)
}

/// What a script asked for: `request(method, url, body, options)`.
struct Request {
    first: Hop,
    timeout: Duration,
}

impl HttpGateway {
    pub fn new(settings: HttpSettings) -> Self {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// A gateway whose time budgets follow `clock`.
    pub fn with_clock(settings: HttpSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            blocked: Arc::default(),
            clock,
            tls: tls_config(),
        }
    }

    /// How many requests the address policy refused since start.
    pub fn blocked_count(&self) -> u64 {
        self.blocked.load(Ordering::Relaxed)
    }

    fn parse(&self, args: &Value, deadline: Instant) -> Result<Request, HostError> {
        let method = args[0]
            .as_str()
            .unwrap_or("GET")
            .parse::<reqwest::Method>()
            .map_err(|_| failure(HostErrorCode::InvalidRequest, "bad method"))?;
        let raw = args[1]
            .as_str()
            .ok_or_else(|| failure(HostErrorCode::InvalidUrl, "the URL must be a string"))?;
        let mut url = Url::parse(raw).map_err(|e| {
            failure(
                HostErrorCode::InvalidUrl,
                format!("\"{raw}\" is not a valid URL: {e}"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(failure(
                HostErrorCode::InvalidUrl,
                format!(
                    "only http and https URLs are allowed, not {}:",
                    url.scheme()
                ),
            ));
        }
        let options = args
            .get(3)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(query) = options.get("query").and_then(Value::as_object) {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                pairs.append_pair(key, &text);
            }
        }
        let limits = &self.settings.request;
        limits.url(&url)?;
        let headers = limits.headers(options.get("headers").and_then(Value::as_object))?;
        let body = limits.body(args.get(2).unwrap_or(&Value::Null))?;
        let requested = options
            .get("timeout")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t > 0.0);
        let wanted = requested.map_or(self.settings.default_timeout, |ms| {
            Duration::from_millis(ms as u64)
        });
        let left = deadline.saturating_duration_since(self.clock.instant());
        if left.is_zero() {
            return Err(failure(
                HostErrorCode::Timeout,
                "the execution has no time left for a request",
            ));
        }
        Ok(Request {
            first: Hop {
                method,
                url,
                body,
                headers,
            },
            timeout: wanted.min(left),
        })
    }

    /// Counts and logs a refused request; the log names the registry entries that refused its
    /// addresses, the script's error does not (it would tell the script what a name resolves to).
    fn refuse(&self, url: &Url, why: &str, entries: &[String]) -> HostError {
        self.blocked.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(url = %url, why, entries = ?entries, "sdk.http request blocked");
        failure(
            HostErrorCode::SsrfBlocked,
            format!(
                "requests to {} are not allowed: {why}",
                url.host_str().unwrap_or("?")
            ),
        )
    }

    /// The addresses this hop may connect to, resolved once and checked.
    async fn addresses(
        &self,
        url: &Url,
        port: u16,
        timeout: Duration,
    ) -> Result<Vec<SocketAddr>, HostError> {
        let policy = &self.settings.policy;
        let host = url
            .host()
            .ok_or_else(|| failure(HostErrorCode::InvalidUrl, "the URL has no host"))?;
        let by_name = policy.allows_host(url.host_str().unwrap_or_default(), port);
        let candidates: Vec<IpAddr> = match host {
            Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
            Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
            Host::Domain(name) => {
                let lookup = tokio::net::lookup_host((name, port));
                let found = tokio::time::timeout(timeout, lookup)
                    .await
                    .map_err(|_| {
                        failure(
                            HostErrorCode::Timeout,
                            format!("resolving {name} took too long"),
                        )
                    })?
                    .map_err(|_| {
                        failure(HostErrorCode::HttpError, format!("cannot resolve {name}"))
                    })?;
                found.map(|socket| socket.ip()).collect()
            }
        };
        let mut allowed = Vec::with_capacity(candidates.len());
        let mut refused = Vec::new();
        for ip in candidates {
            match policy.refusal(ip).filter(|_| !by_name) {
                None => allowed.push(SocketAddr::new(ip, port)),
                Some(entry) => refused.push(format!("{ip}: {entry}")),
            }
        }
        if allowed.is_empty() {
            let why = if refused.is_empty() {
                "it has no address"
            } else {
                "it is (or resolves to) an address that is not globally reachable"
            };
            return Err(self.refuse(url, why, &refused));
        }
        Ok(allowed)
    }

    /// Runs a script's request and returns `{status, headers, body}`, following redirects
    /// hop by hop (see `http_redirect`).
    pub async fn request(&self, args: &Value, deadline: Instant) -> Result<Value, HostError> {
        let Request {
            first: mut hop,
            timeout,
        } = self.parse(args, deadline)?;
        let started = self.clock.instant();
        for _ in 0..=self.settings.max_redirects {
            let spent = self.clock.instant().saturating_duration_since(started);
            let left = timeout.saturating_sub(spent);
            let response = self.send(&hop, left).await?;
            let status = response.status();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .filter(|_| http_redirect::is_followed(status));
            let Some(location) = location else {
                return self.read(response).await;
            };
            let next = hop.url.join(location).map_err(|_| {
                failure(
                    HostErrorCode::HttpError,
                    "the redirect location is not a valid URL",
                )
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(self.refuse(&next, "a redirect left http(s)", &[]));
            }
            hop.redirect(status, next);
        }
        Err(failure(
            HostErrorCode::HttpError,
            format!("more than {} redirects", self.settings.max_redirects),
        ))
    }

    /// Sends one hop to the addresses its host was checked for.
    async fn send(&self, hop: &Hop, left: Duration) -> Result<reqwest::Response, HostError> {
        let url = &hop.url;
        let port = url.port_or_known_default().unwrap_or(80);
        let addresses = self.addresses(url, port, left).await?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(left);
        if let Some(tls) = &self.tls {
            builder = builder.use_preconfigured_tls(tls.clone());
        }
        if let Some(Host::Domain(name)) = url.host() {
            builder = builder.resolve_to_addrs(name, &addresses);
        }
        let client = builder.build().map_err(|e| {
            failure(
                HostErrorCode::HttpError,
                format!("cannot prepare the request: {e}"),
            )
        })?;
        let request = client
            .request(hop.method.clone(), url.clone())
            .headers(hop.headers.clone());
        let request = match &hop.body {
            Body::Empty => request,
            Body::Text(text) => request.body(text.clone()),
            Body::Json(bytes) if hop.headers.contains_key(reqwest::header::CONTENT_TYPE) => {
                request.body(bytes.clone())
            }
            Body::Json(bytes) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
        };
        request.send().await.map_err(|e| {
            if e.is_timeout() {
                failure(
                    HostErrorCode::Timeout,
                    format!("the request to {url} timed out"),
                )
            } else {
                failure(
                    HostErrorCode::HttpError,
                    format!("the request to {url} failed: {}", cause(e)),
                )
            }
        })
    }

    async fn read(&self, mut response: reqwest::Response) -> Result<Value, HostError> {
        let status = response.status().as_u16();
        let mut headers = Map::new();
        for (name, value) in response.headers() {
            let value = value.to_str().unwrap_or_default().to_owned();
            match headers.get_mut(name.as_str()) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        let limit = self.settings.max_response_bytes;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            failure(
                HostErrorCode::HttpError,
                format!("reading the response failed: {}", cause(e)),
            )
        })? {
            if bytes.len() + chunk.len() > limit {
                return Err(failure(
                    HostErrorCode::ResponseTooLarge,
                    format!("the response is larger than {limit} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let is_json = headers
            .get("content-type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.contains("json"));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = if is_json {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        Ok(serde_json::json!({ "status": status, "headers": headers, "body": body }))
    }
}
