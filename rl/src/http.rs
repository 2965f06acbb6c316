//! A small blocking HTTP/1.1 client for JSON POSTs to OpenAI-compatible endpoints (vLLM, SGLang, llama.cpp
//! server) over plain HTTP, with a timeout on every read and write. TLS is out of scope: these servers run next
//! to the trainer; put a TLS-terminating proxy in front of a remote one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Why a request failed. `Transport` and 5xx `Status` errors are worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}: only http:// URLs are supported (put a TLS proxy in front of https endpoints)")]
    Url(String),
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: HTTP {status}: {body}")]
    Status { url: String, status: u16, body: String },
}

impl HttpError {
    pub fn retryable(&self) -> bool {
        match self {
            HttpError::Url(_) => false,
            HttpError::Transport { .. } => true,
            HttpError::Status { status, .. } => *status >= 500 || *status == 429,
        }
    }
}

/// Checks that `url` is one this client can reach (plain `http://` with a host), before any request is made.
pub fn check_url(url: &str) -> Result<(), HttpError> {
    split_url(url).map(|_| ())
}

/// `http://host[:port]/path` split into (host:port, host header, path).
fn split_url(url: &str) -> Result<(String, String, String), HttpError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| HttpError::Url(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(HttpError::Url(url.to_string()));
    }
    let addr = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    Ok((addr, authority.to_string(), path.to_string()))
}

/// POSTs `body` as JSON and returns the response body of a 2xx answer.
pub fn post_json(url: &str, body: &[u8], bearer: Option<&str>, timeout: Duration) -> Result<Vec<u8>, HttpError> {
    let (addr, host, path) = split_url(url)?;
    let terr = |m: String| HttpError::Transport { url: url.to_string(), message: m };
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| terr(format!("cannot resolve {addr}: {e}")))?
        .next()
        .ok_or_else(|| terr(format!("{addr} resolves to nothing")))?;
    let mut stream = TcpStream::connect_timeout(&sock, timeout).map_err(|e| terr(format!("connect: {e}")))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| terr(e.to_string()))?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| terr(e.to_string()))?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(key) = bearer {
        head.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body)).map_err(|e| terr(format!("send: {e}")))?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).map_err(|e| terr(format!("read: {e}")))?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| terr(format!("not an HTTP response: {:?}", status_line.trim())))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).map_err(|e| terr(format!("read: {e}")))?;
        let line = line.trim_end();
        if n == 0 || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = v.parse().ok();
            } else if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
    }
    let mut out = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).map_err(|e| terr(format!("read: {e}")))?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| terr(format!("bad chunk size {:?}", size.trim())))?;
            if n == 0 {
                break;
            }
            let start = out.len();
            out.resize(start + n, 0);
            reader.read_exact(&mut out[start..]).map_err(|e| terr(format!("read: {e}")))?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).map_err(|e| terr(format!("read: {e}")))?;
        }
    } else if let Some(n) = length {
        out.resize(n, 0);
        reader.read_exact(&mut out).map_err(|e| terr(format!("read: {e}")))?;
    } else {
        reader.read_to_end(&mut out).map_err(|e| terr(format!("read: {e}")))?;
    }
    if !(200..300).contains(&status) {
        let body: String = String::from_utf8_lossy(&out).chars().take(500).collect();
        return Err(HttpError::Status { url: url.to_string(), status, body });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_and_https_is_refused_clearly() {
        assert_eq!(split_url("http://127.0.0.1:8000/v1/chat/completions").unwrap().2, "/v1/chat/completions");
        assert_eq!(split_url("http://localhost/x").unwrap().0, "localhost:80");
        assert!(matches!(split_url("https://api.example.com/v1"), Err(HttpError::Url(_))));
    }
}
