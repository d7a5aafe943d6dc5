//! Downloads for the feed loaders: one HTTP(S) client (hyper with rustls and the ring
//! provider, the stack the ClickHouse client already uses), timeouts, redirects, gzip,
//! `Last-Modified`.
//!
//! A download is read to its end before the caller sees any of it, so a feed is never half
//! loaded; the body is decoded while it streams in (gzip transfer encoding, and a bzip2 file
//! when the caller asks), so the whole feed is never held twice. Every error names the URL.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, LAST_MODIFIED, LOCATION};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 10;
/// Default cap on a decoded body (environment `ALTREPODB_MAX_FEED_BYTES` overrides it).
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// Why a download failed; every variant names the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Not an `http://` or `https://` URL.
    #[error("{url}: bad URL: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status, e.g. `404 Not Found`.
        status: String,
    },
    /// Connection or protocol failure (the body may have been cut off at `offset`).
    #[error("{url}: {reason}")]
    Transport {
        /// The URL.
        url: String,
        /// The cause.
        reason: String,
    },
    /// No answer, or no more bytes, within the timeout.
    #[error("{url}: timed out after {secs} s (at byte {offset})")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        secs: u64,
        /// Body bytes received before it.
        offset: u64,
    },
    /// Too many redirects.
    #[error("{url}: more than {MAX_REDIRECTS} redirects")]
    Redirects {
        /// The first URL.
        url: String,
    },
    /// The decoded body is larger than the cap.
    #[error("{url}: body larger than {limit} bytes (ALTREPODB_MAX_FEED_BYTES)")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// The body does not decode (gzip or bzip2): bad or truncated stream.
    #[error("{url}: {what} stream: {reason} (at compressed byte {offset})")]
    Decode {
        /// The URL.
        url: String,
        /// `gzip` or `bzip2`.
        what: &'static str,
        /// Compressed bytes read when it failed.
        offset: u64,
        /// The decoder's message.
        reason: String,
    },
    /// A required header is missing or unreadable.
    #[error("{url}: {reason}")]
    Header {
        /// The URL.
        url: String,
        /// What is missing.
        reason: String,
    },
}

/// What a response says about the resource.
#[derive(Debug, Clone)]
pub struct Head {
    /// The URL answered after redirects.
    pub url: String,
    /// `Last-Modified`, seconds since the epoch.
    pub last_modified: Option<i64>,
}

impl Head {
    /// `Last-Modified`, or an error naming the URL when the server sent none.
    pub fn require_last_modified(&self) -> Result<i64, HttpError> {
        self.last_modified.ok_or_else(|| HttpError::Header {
            url: self.url.clone(),
            reason: "no Last-Modified header".into(),
        })
    }
}

/// A complete download.
#[derive(Debug, Clone)]
pub struct Download {
    /// Headers of the final response.
    pub head: Head,
    /// The decoded body.
    pub body: Vec<u8>,
}

/// How the body is stored as it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// As it is (after any gzip transfer encoding).
    Plain,
    /// The resource is a bzip2 file: decompressed while it streams in.
    Bzip2,
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The feed client (cheap to clone).
#[derive(Clone)]
pub struct HttpClient {
    client: Client<Https, Empty<Bytes>>,
    timeout: Duration,
    max_bytes: u64,
}

impl HttpClient {
    /// A client whose requests wait at most `timeout` for an answer and between body chunks.
    pub fn new(timeout: Duration) -> Result<HttpClient, HttpError> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| HttpError::Transport {
                url: String::new(),
                reason: format!("TLS set-up: {e}"),
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        let max_bytes = std::env::var("ALTREPODB_MAX_FEED_BYTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MAX_BYTES);
        Ok(HttpClient {
            client,
            timeout,
            max_bytes,
        })
    }

    /// Caps decoded bodies at `bytes`.
    pub fn with_max_bytes(mut self, bytes: u64) -> HttpClient {
        self.max_bytes = bytes;
        self
    }

    /// Sends `method` to `url`, following redirects; the final response with a success status.
    async fn send(
        &self,
        method: Method,
        url: &str,
    ) -> Result<(String, hyper::Response<hyper::body::Incoming>), HttpError> {
        let mut current = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let uri: Uri = parse_url(&current)?;
            let req = Request::builder()
                .method(method.clone())
                .uri(uri)
                .header(ACCEPT_ENCODING, HeaderValue::from_static("gzip"))
                .header(
                    hyper::header::USER_AGENT,
                    HeaderValue::from_static(concat!("altrepodb/", env!("CARGO_PKG_VERSION"))),
                )
                .body(Empty::new())
                .map_err(|e| HttpError::BadUrl {
                    url: current.clone(),
                    reason: e.to_string(),
                })?;
            let resp = match tokio::time::timeout(self.timeout, self.client.request(req)).await {
                Err(_) => {
                    return Err(HttpError::Timeout {
                        url: current,
                        secs: self.timeout.as_secs(),
                        offset: 0,
                    })
                }
                Ok(Err(e)) => {
                    return Err(HttpError::Transport {
                        url: current,
                        reason: root_cause(&e),
                    })
                }
                Ok(Ok(r)) => r,
            };
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let loc = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| HttpError::Header {
                        url: current.clone(),
                        reason: format!("HTTP {status} without a Location header"),
                    })?;
                current = join_url(&current, loc);
                continue;
            }
            if !status.is_success() {
                return Err(HttpError::Status {
                    url: current,
                    status: status.to_string(),
                });
            }
            return Ok((current, resp));
        }
        Err(HttpError::Redirects {
            url: url.to_owned(),
        })
    }

    /// `HEAD url`: its `Last-Modified`.
    pub async fn head(&self, url: &str) -> Result<Head, HttpError> {
        let (final_url, resp) = self.send(Method::HEAD, url).await?;
        Ok(head_of(final_url, &resp))
    }

    /// `GET url`, the whole body.
    pub async fn get(&self, url: &str, decode: Decode) -> Result<Download, HttpError> {
        Ok(self
            .get_if(url, decode, |_| true)
            .await?
            .expect("the condition accepts every response"))
    }

    /// `GET url`; reads the body only when `wanted(headers)` is true (else `None`, the
    /// connection is dropped without reading the body).
    pub async fn get_if(
        &self,
        url: &str,
        decode: Decode,
        wanted: impl FnOnce(&Head) -> bool,
    ) -> Result<Option<Download>, HttpError> {
        let (final_url, resp) = self.send(Method::GET, url).await?;
        let head = head_of(final_url, &resp);
        if !wanted(&head) {
            return Ok(None);
        }
        let gzip = resp
            .headers()
            .get(CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
        let mut sink = BodySink::new(&head.url, gzip, decode, self.max_bytes);
        let mut body = resp.into_body();
        loop {
            let frame = match tokio::time::timeout(self.timeout, body.frame()).await {
                Err(_) => {
                    return Err(HttpError::Timeout {
                        url: head.url.clone(),
                        secs: self.timeout.as_secs(),
                        offset: sink.received,
                    })
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(HttpError::Transport {
                        url: head.url.clone(),
                        reason: format!(
                            "body cut off after {} bytes: {}",
                            sink.received,
                            root_cause(&e)
                        ),
                    })
                }
                Ok(Some(Ok(f))) => f,
            };
            if let Ok(data) = frame.into_data() {
                sink.write(&data)?;
            }
        }
        let body = sink.finish()?;
        Ok(Some(Download { head, body }))
    }
}

fn head_of(url: String, resp: &hyper::Response<hyper::body::Incoming>) -> Head {
    let last_modified = resp
        .headers()
        .get(LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    Head { url, last_modified }
}

/// A `Write` that refuses to grow past a cap.
struct Capped {
    buf: Vec<u8>,
    limit: u64,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + data.len() as u64 > self.limit {
            return Err(std::io::Error::other(TooLargeMarker));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
struct TooLargeMarker;
impl std::fmt::Display for TooLargeMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("body too large")
    }
}
impl std::error::Error for TooLargeMarker {}

/// The body's decoding chain: [gzip →] [bzip2 →] capped buffer.
enum Chain {
    Plain(Capped),
    Bz(bzip2::write::BzDecoder<Capped>),
}

impl Chain {
    fn write_all(&mut self, d: &[u8]) -> std::io::Result<()> {
        match self {
            Chain::Plain(c) => c.write_all(d),
            Chain::Bz(b) => b.write_all(d),
        }
    }
}

struct BodySink<'u> {
    url: &'u str,
    gunzip: Option<flate2::write::GzDecoder<Vec<u8>>>,
    chain: Chain,
    bzip2: bool,
    received: u64,
    decoded_in: u64,
    limit: u64,
}

impl<'u> BodySink<'u> {
    fn new(url: &'u str, gzip: bool, decode: Decode, limit: u64) -> BodySink<'u> {
        let capped = Capped {
            buf: Vec::new(),
            limit,
        };
        let chain = match decode {
            Decode::Plain => Chain::Plain(capped),
            Decode::Bzip2 => Chain::Bz(bzip2::write::BzDecoder::new(capped)),
        };
        BodySink {
            url,
            gunzip: gzip.then(|| flate2::write::GzDecoder::new(Vec::new())),
            chain,
            bzip2: decode == Decode::Bzip2,
            received: 0,
            decoded_in: 0,
            limit,
        }
    }

    fn err(&self, e: std::io::Error, gzip_stage: bool) -> HttpError {
        if e.get_ref().is_some_and(|i| i.is::<TooLargeMarker>()) {
            return HttpError::TooLarge {
                url: self.url.to_owned(),
                limit: self.limit,
            };
        }
        HttpError::Decode {
            url: self.url.to_owned(),
            what: if gzip_stage { "gzip" } else { "bzip2" },
            offset: if gzip_stage {
                self.received
            } else {
                self.decoded_in
            },
            reason: e.to_string(),
        }
    }

    fn feed_chain(&mut self, data: &[u8]) -> Result<(), HttpError> {
        let r = self.chain.write_all(data);
        if let Err(e) = r {
            return Err(self.err(e, false));
        }
        self.decoded_in += data.len() as u64;
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), HttpError> {
        self.received += data.len() as u64;
        if let Some(mut gz) = self.gunzip.take() {
            let r = gz.write_all(data);
            let out = std::mem::take(gz.get_mut());
            self.gunzip = Some(gz);
            r.map_err(|e| self.err(e, true))?;
            return self.feed_chain(&out);
        }
        self.feed_chain(data)
    }

    fn finish(mut self) -> Result<Vec<u8>, HttpError> {
        if let Some(gz) = self.gunzip.take() {
            let out = gz.finish().map_err(|e| self.err(e, true))?;
            self.feed_chain(&out)?;
        }
        let chain = std::mem::replace(
            &mut self.chain,
            Chain::Plain(Capped {
                buf: Vec::new(),
                limit: 0,
            }),
        );
        match chain {
            Chain::Plain(c) => Ok(c.buf),
            Chain::Bz(mut b) => {
                // A stream that stopped before its end-of-stream marker is truncated: the
                // decoder has not produced everything the file promised.
                let done = b.try_finish().map_err(|e| self.err(e, false));
                done?;
                let _ = self.bzip2;
                let out = b.finish().map_err(|e| self.err(e, false))?;
                Ok(out.buf)
            }
        }
    }
}

/// Parses an `http://` or `https://` URL.
pub fn parse_url(url: &str) -> Result<Uri, HttpError> {
    let uri: Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| HttpError::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    match uri.scheme_str() {
        Some("http") | Some("https") if uri.host().is_some() => Ok(uri),
        _ => Err(HttpError::BadUrl {
            url: url.to_owned(),
            reason: "not an http:// or https:// URL".into(),
        }),
    }
}

/// `href` resolved against `base` (absolute URLs, `/path`, `?query` and relative paths,
/// `.`/`..` segments removed). A base without a trailing `/` names a file: relative paths
/// replace its last segment, as in a browser.
pub fn join_url(base: &str, href: &str) -> String {
    if href.contains("://") {
        return href.to_owned();
    }
    let (origin, path) = match base.find("://") {
        Some(i) => {
            let rest = &base[i + 3..];
            let end = rest.find('/').map(|j| i + 3 + j).unwrap_or(base.len());
            (&base[..end], &base[end..])
        }
        None => ("", base),
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    if let Some(rest) = href.strip_prefix("//") {
        let scheme = base.split("://").next().unwrap_or("http");
        return format!("{scheme}://{rest}");
    }
    let joined = if href.starts_with('/') {
        href.to_owned()
    } else if href.starts_with('?') {
        format!("{path}{href}")
    } else {
        let dir = match path.rfind('/') {
            Some(i) => &path[..=i],
            None => "/",
        };
        format!("{dir}{href}")
    };
    let (p, q) = match joined.find(['?', '#']) {
        Some(i) => (&joined[..i], &joined[i..]),
        None => (joined.as_str(), ""),
    };
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = p.split('/').collect();
    let last = segs.len().saturating_sub(1);
    for (i, s) in segs.iter().enumerate() {
        match *s {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            _ => out.push(s),
        }
    }
    let mut p = out.join("/");
    if !p.starts_with('/') {
        p.insert(0, '/');
    }
    format!("{origin}{p}{q}")
}

/// `dir` with exactly one trailing `/` (so relative names resolve inside it).
pub fn as_dir(dir: &str) -> String {
    format!("{}/", dir.trim_end_matches('/'))
}

/// The URL a listing entry's `href` names, when it stays below the listing's directory
/// `dir_url` (as [`as_dir`] gives it): a listing is outside data, and a link to another host
/// or directory must not make a loader fetch from there.
pub fn entry_url(dir_url: &str, href: &str) -> Option<String> {
    let url = join_url(dir_url, href);
    (url.len() > dir_url.len() && url.starts_with(dir_url)).then_some(url)
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_urls_stay_below_the_listing() {
        let dir = "http://h/acl/";
        assert_eq!(
            entry_url(dir, "list.groups.p10").as_deref(),
            Some("http://h/acl/list.groups.p10")
        );
        assert_eq!(entry_url(dir, "http://evil/list.groups.p10"), None);
        assert_eq!(entry_url(dir, "//evil/list.groups.p10"), None);
        assert_eq!(entry_url(dir, "/etc/list.groups.p10"), None);
        assert_eq!(entry_url(dir, "../list.groups.p10"), None);
        assert_eq!(entry_url(dir, "./"), None);
    }

    #[test]
    fn urls_join_like_a_browser() {
        assert_eq!(join_url("http://h/a/b", "c"), "http://h/a/c");
        assert_eq!(join_url("http://h/a/b/", "c"), "http://h/a/b/c");
        assert_eq!(join_url("http://h/a/b/", "/x"), "http://h/x");
        assert_eq!(join_url("http://h/a/b/", "../x"), "http://h/a/x");
        assert_eq!(join_url("http://h/a/", "https://o/z"), "https://o/z");
        assert_eq!(join_url("http://h", "x"), "http://h/x");
        assert_eq!(join_url("http://h/a/", "./"), "http://h/a/");
        assert_eq!(join_url("http://h:8/a/?q", "b?x=1"), "http://h:8/a/b?x=1");
        assert_eq!(as_dir("http://h/a"), "http://h/a/");
        assert_eq!(as_dir("http://h/a//"), "http://h/a/");
    }

    #[test]
    fn only_http_urls() {
        assert!(parse_url("http://127.0.0.1:1/x").is_ok());
        assert!(parse_url("ftp://h/x").is_err());
        assert!(parse_url("/local").is_err());
    }
}
