//! A minimal async HTTP/1.1 client with keep-alive, for the load generators: one connection per simulated
//! client, requests written in one buffer, responses read with `Content-Length` or chunked framing (SSE
//! responses of MCP servers are chunked and end when the JSON-RPC reply is sent). It does just enough to
//! drive JSON APIs fast, so that on a small machine the client's own cost does not hide the server's.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("{0}: only http://host:port/path URLs are supported")]
    Url(String),
    #[error("{addr}: {message}")]
    Transport { addr: String, message: String },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// `http://host[:port]/path` split into `host:port` and the path.
pub fn split_url(url: &str) -> Result<(String, String), ClientError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| ClientError::Url(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(ClientError::Url(url.to_string()));
    }
    let addr = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    Ok((addr, path.to_string()))
}

/// A response: status, the head as received, and the body.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    /// The status line and the header lines, as received: one allocation per reply, where owned names and values
    /// took two per header (the largest allocation source in the load generator's profile; no measurable CPU change
    /// in alternating runs). [`Response::header`] reads it.
    head: String,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (any case), trimmed; the first one when it repeats (a repeated
    /// `Content-Length` must agree, or the response is refused).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = name_value(l)?;
            k.eq_ignore_ascii_case(name).then_some(v)
        })
    }
}

/// A header line's name and value, trimmed (`None` for a line without a colon). Framing and
/// [`Response::header`] both read lines through it, so they agree on what a header is.
fn name_value(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    Some((k.trim(), v.trim()))
}

/// One keep-alive connection to `addr`, reopened when the server closes it.
pub struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
    timeout: Duration,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(addr: &str, timeout: Duration) -> Conn {
        Conn { addr: addr.to_string(), stream: None, timeout, buf: Vec::with_capacity(1024) }
    }

    fn terr(&self, message: impl Into<String>) -> ClientError {
        ClientError::Transport { addr: self.addr.clone(), message: message.into() }
    }

    /// Sends one request and reads the whole response. A connection that turns out closed before any byte of
    /// the response is reopened once.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, ClientError> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.request_inner(method, path, headers, body)).await {
            Ok(r) => r,
            Err(_) => {
                self.stream = None;
                Err(ClientError::Timeout(timeout))
            }
        }
    }

    async fn request_inner(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, ClientError> {
        self.buf.clear();
        self.buf.extend_from_slice(method.as_bytes());
        self.buf.push(b' ');
        self.buf.extend_from_slice(path.as_bytes());
        self.buf.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.buf.extend_from_slice(self.addr.as_bytes());
        self.buf.extend_from_slice(b"\r\nContent-Length: ");
        self.buf.extend_from_slice(body.len().to_string().as_bytes());
        self.buf.extend_from_slice(b"\r\n");
        for (k, v) in headers {
            self.buf.extend_from_slice(k.as_bytes());
            self.buf.extend_from_slice(b": ");
            self.buf.extend_from_slice(v.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        }
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(body);
        for attempt in 0..2 {
            let reused = self.stream.is_some();
            if self.stream.is_none() {
                let s = TcpStream::connect(&self.addr).await.map_err(|e| self.terr(format!("connect: {e}")))?;
                let _ = s.set_nodelay(true);
                self.stream = Some(BufReader::with_capacity(16 * 1024, s));
            }
            let Some(stream) = self.stream.as_mut() else { continue };
            let sent = stream.get_mut().write_all(&self.buf).await;
            let result = match sent {
                Ok(()) => read_response(stream).await,
                Err(e) => Err(ReadError::Closed(e.to_string())),
            };
            match result {
                Ok((resp, keep_alive)) => {
                    if !keep_alive {
                        self.stream = None;
                    }
                    return Ok(resp);
                }
                Err(ReadError::Closed(m)) => {
                    self.stream = None;
                    if !(reused && attempt == 0) {
                        return Err(self.terr(format!("connection closed: {m}")));
                    }
                }
                Err(ReadError::Bad(m)) => {
                    self.stream = None;
                    return Err(self.terr(m));
                }
            }
        }
        Err(self.terr("connection closed twice"))
    }
}

enum ReadError {
    /// Nothing of a response arrived: the connection was closed (a stale keep-alive connection).
    Closed(String),
    Bad(String),
}

async fn read_response(stream: &mut BufReader<TcpStream>) -> Result<(Response, bool), ReadError> {
    let mut head = String::with_capacity(256);
    let n = stream.read_line(&mut head).await.map_err(|e| ReadError::Closed(e.to_string()))?;
    if n == 0 {
        return Err(ReadError::Closed("end of stream".into()));
    }
    let bad = |m: String| ReadError::Bad(m);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("not an HTTP response: {:?}", head.trim())))?;
    let http10 = head.starts_with("HTTP/1.0");
    let (mut length, mut chunked, mut keep_alive) = (None, false, !http10);
    loop {
        let start = head.len();
        let n = stream.read_line(&mut head).await.map_err(|e| bad(e.to_string()))?;
        let l = head[start..].trim_end();
        if n == 0 || l.is_empty() {
            head.truncate(start);
            break;
        }
        if let Some((k, v)) = name_value(l) {
            if k.eq_ignore_ascii_case("content-length") {
                // A length that does not parse, or two that disagree, leave the body's end unknown (RFC 9112,
                // 6.3): refused, rather than framed by one of them and the connection read out of step.
                let n: usize = v.parse().map_err(|_| bad(format!("bad Content-Length {v:?}")))?;
                if let Some(first) = length.filter(|&first| first != n) {
                    return Err(bad(format!("conflicting Content-Length headers: {first} and {n}")));
                }
                length = Some(n);
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if k.eq_ignore_ascii_case("connection") {
                keep_alive = !v.eq_ignore_ascii_case("close");
            }
        }
    }
    let mut resp = Response { status, head, body: Vec::new() };
    if chunked {
        let mut line = String::new();
        loop {
            line.clear();
            stream.read_line(&mut line).await.map_err(|e| bad(e.to_string()))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| bad(format!("bad chunk size {:?}", line.trim())))?;
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                loop {
                    line.clear();
                    let n = stream.read_line(&mut line).await.map_err(|e| bad(e.to_string()))?;
                    if n == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = resp.body.len();
            resp.body.resize(start + size, 0);
            stream.read_exact(&mut resp.body[start..]).await.map_err(|e| bad(e.to_string()))?;
            let mut crlf = [0u8; 2];
            stream.read_exact(&mut crlf).await.map_err(|e| bad(e.to_string()))?;
        }
    } else if let Some(n) = length {
        resp.body.resize(n, 0);
        stream.read_exact(&mut resp.body).await.map_err(|e| bad(e.to_string()))?;
    } else if status != 204 && status != 304 && !(100..200).contains(&status) {
        stream.read_to_end(&mut resp.body).await.map_err(|e| bad(e.to_string()))?;
        keep_alive = false;
    }
    Ok((resp, keep_alive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Reads one request head and its body (by Content-Length) from `s`.
    async fn read_request(s: &mut TcpStream) -> Vec<u8> {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).await.unwrap();
            got.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&got).to_ascii_lowercase();
        let len: usize =
            head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.unwrap();
        body
    }

    #[tokio::test]
    async fn responses_are_read_with_their_headers_on_one_kept_alive_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            assert_eq!(read_request(&mut s).await, b"{\"a\":1}");
            // Mixed-case names, spaces around values, a repeated header, and a Content-Length body.
            s.write_all(
                b"HTTP/1.1 200 OK\r\nMcp-Session-Id:  abc-123 \r\nx-dup: 1\r\nX-Dup: 2\r\ncontent-length: 5\r\n\r\nhello",
            )
            .await
            .unwrap();
            // The same connection: a chunked body, then the server closes it.
            assert_eq!(read_request(&mut s).await, b"");
            s.write_all(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")
                .await
                .unwrap();
        });
        let mut conn = Conn::new(&addr, Duration::from_secs(5));
        let r = conn.request("POST", "/x", &[("content-type", "application/json")], b"{\"a\":1}").await.unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(r.header("mcp-session-id"), Some("abc-123"));
        assert_eq!(r.header("MCP-SESSION-ID"), Some("abc-123"));
        assert_eq!(r.header("x-dup"), Some("1"), "the first of a repeated header");
        assert_eq!(r.header("content-length"), Some("5"));
        assert_eq!(r.header("absent"), None);
        assert_eq!(r.header("HTTP/1.1 200 OK"), None, "the status line is not a header");
        let r = conn.request("GET", "/y", &[], b"").await.unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"abcde"[..]));
        assert_eq!(r.header("connection"), Some("close"));
        assert!(conn.stream.is_none(), "Connection: close drops the connection");
        server.await.unwrap();
    }

    /// A server on a free port that answers one request with `reply`; returns its address and its task.
    async fn reply_once(reply: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            read_request(&mut s).await;
            s.write_all(&reply).await.unwrap();
        });
        (addr, server)
    }

    #[tokio::test]
    async fn a_response_whose_length_is_unknown_is_refused_with_the_reason() {
        for (head, want) in [
            ("content-length: 5\r\nContent-Length: 6", "conflicting Content-Length headers: 5 and 6"),
            ("Content-Length: five", "bad Content-Length \"five\""),
        ] {
            let (addr, server) = reply_once(format!("HTTP/1.1 200 OK\r\n{head}\r\n\r\nhello!").into_bytes()).await;
            let mut conn = Conn::new(&addr, Duration::from_secs(5));
            let e = conn.request("GET", "/x", &[], b"").await.unwrap_err();
            assert!(e.to_string().contains(want), "{head:?}: {e}");
            assert!(conn.stream.is_none(), "the connection is dropped, not read out of step");
            server.await.unwrap();
        }
        // Repeated but equal lengths are one length.
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello".to_vec();
        let (addr, server) = reply_once(reply).await;
        let mut conn = Conn::new(&addr, Duration::from_secs(5));
        let r = conn.request("GET", "/x", &[], b"").await.unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        server.await.unwrap();
    }
}
