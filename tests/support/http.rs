//! A tiny blocking HTTP/1.1 server for mock model APIs (std only, thread per connection).
//!
//! Supports keep-alive, `Content-Length` and chunked request bodies, `Expect: 100-continue`,
//! and streamed (chunked) responses such as server-sent events.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One parsed HTTP request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path without the query string, e.g. `/v1/messages`.
    pub path: String,
    /// Raw query string without `?` (empty if none).
    pub query: String,
    /// Header names lower-cased; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body parsed as JSON (`Value::Null` if empty or not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn is_websocket_upgrade(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    }
}

/// Response body: sent whole with `Content-Length`, or streamed as chunks
/// (`Transfer-Encoding: chunked`), one flush per chunk, optionally paced.
#[derive(Debug, Clone)]
pub enum Body {
    Full(Vec<u8>),
    Chunks {
        chunks: Vec<Vec<u8>>,
        delay: Duration,
    },
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Full(body.into()),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/json", value.to_string())
    }

    pub fn text(status: u16, text: &str) -> Self {
        Self::new(status, "text/plain; charset=utf-8", text)
    }

    /// Server-sent events: each `(event, data)` becomes `event: <event>\ndata: <json>\n\n`,
    /// streamed as one chunk per event.
    pub fn sse(events: Vec<(String, serde_json::Value)>) -> Self {
        let chunks = events
            .into_iter()
            .map(|(event, data)| format!("event: {event}\ndata: {data}\n\n").into_bytes())
            .collect();
        Response {
            status: 200,
            headers: vec![
                (
                    "Content-Type".into(),
                    "text/event-stream; charset=utf-8".into(),
                ),
                ("Cache-Control".into(), "no-cache".into()),
            ],
            body: Body::Chunks {
                chunks,
                delay: Duration::ZERO,
            },
        }
    }

    /// Pause between streamed chunks (no effect on `Body::Full`).
    pub fn with_chunk_delay(mut self, d: Duration) -> Self {
        if let Body::Chunks { delay, .. } = &mut self.body {
            *delay = d;
        }
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync + 'static>;

/// A running server on `127.0.0.1:<random port>`. Stops accepting when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        thread::Builder::new()
            .name(format!("mock-http-{}", addr.port()))
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let handler = handler.clone();
                    let stop3 = stop2.clone();
                    let _ = thread::Builder::new()
                        .name("mock-http-conn".into())
                        .spawn(move || {
                            let _ = serve_connection(stream, &*handler, &stop3);
                        });
                }
            })
            .expect("spawn accept thread");
        Server { addr, stop }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it notices the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve_connection(
    stream: TcpStream,
    handler: &(dyn Fn(&Request) -> Response + Send + Sync),
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    stream.set_nodelay(true).ok();
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Some(req) = read_request(&mut reader, &mut writer)? else {
            break;
        };
        let client_close = req
            .header("connection")
            .is_some_and(|c| c.to_ascii_lowercase().contains("close"))
            || req.is_websocket_upgrade();
        let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&req)))
            .unwrap_or_else(|_| Response::text(500, "mock handler panicked"));
        write_response(&mut writer, &resp, client_close, req.method == "HEAD")?;
        if client_close {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
    Ok(())
}

fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = reader.read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<Request>> {
    // Skip stray empty lines between pipelined requests.
    let request_line = loop {
        match read_line(reader) {
            Ok(Some(l)) if l.is_empty() => continue,
            Ok(Some(l)) => break l,
            Ok(None) => return Ok(None),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let Some(line) = read_line(reader)? else {
            return Ok(None);
        };
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_string();
            headers
                .entry(k)
                .and_modify(|old| {
                    old.push_str(", ");
                    old.push_str(&v);
                })
                .or_insert(v);
        }
    }
    if headers
        .get("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        while let Some(size_line) = read_line(reader)? {
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad chunk size {size_line:?}"),
                )
            })?;
            if size == 0 {
                // Trailers until an empty line.
                while let Some(l) = read_line(reader)? {
                    if l.is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let _ = read_line(reader)?; // CRLF after the chunk
        }
    } else if let Some(len) = headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
    {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        path,
        query,
        headers,
        body,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        529 => "Overloaded",
        _ => "Status",
    }
}

fn write_response(
    w: &mut TcpStream,
    resp: &Response,
    close: bool,
    head_only: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    } else {
        head.push_str("Connection: keep-alive\r\n");
    }
    match &resp.body {
        Body::Full(bytes) => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
            w.write_all(head.as_bytes())?;
            if !head_only {
                w.write_all(bytes)?;
            }
            w.flush()?;
        }
        Body::Chunks { .. } if head_only => {
            head.push_str("Content-Length: 0\r\n\r\n");
            w.write_all(head.as_bytes())?;
            w.flush()?;
        }
        Body::Chunks { chunks, delay } => {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            w.write_all(head.as_bytes())?;
            w.flush()?;
            for chunk in chunks {
                if !delay.is_zero() {
                    thread::sleep(*delay);
                }
                if chunk.is_empty() {
                    continue;
                }
                w.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                w.write_all(chunk)?;
                w.write_all(b"\r\n")?;
                w.flush()?;
            }
            w.write_all(b"0\r\n\r\n")?;
            w.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_response(reader: &mut BufReader<TcpStream>) -> (String, Vec<u8>) {
        let mut head = String::new();
        loop {
            let line = read_line(reader).unwrap().unwrap();
            if line.is_empty() {
                break;
            }
            head.push_str(&line);
            head.push('\n');
        }
        let lower = head.to_ascii_lowercase();
        let mut body = Vec::new();
        if lower.contains("transfer-encoding: chunked") {
            loop {
                let size = usize::from_str_radix(&read_line(reader).unwrap().unwrap(), 16).unwrap();
                if size == 0 {
                    read_line(reader).unwrap();
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                reader.read_exact(&mut body[start..]).unwrap();
                read_line(reader).unwrap();
            }
        } else {
            let len: usize = lower
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.trim().parse().unwrap());
            body.resize(len, 0);
            reader.read_exact(&mut body).unwrap();
        }
        (head, body)
    }

    #[test]
    fn keep_alive_chunked_request_and_streamed_response() {
        let server = Server::start(Arc::new(|req: &Request| {
            if req.path == "/sse" {
                Response::sse(vec![
                    ("a".into(), serde_json::json!({"n": 1})),
                    ("b".into(), serde_json::json!({"n": 2})),
                ])
            } else {
                Response::text(
                    200,
                    &format!(
                        "{} {} {}",
                        req.method,
                        req.query,
                        String::from_utf8_lossy(&req.body)
                    ),
                )
            }
        }));
        let stream = TcpStream::connect(server.addr()).unwrap();
        let mut w = stream.try_clone().unwrap();
        let mut r = BufReader::new(stream);
        // Chunked body, then a Content-Length body and an SSE stream on the same connection.
        w.write_all(b"POST /echo?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n").unwrap();
        let (head, body) = read_response(&mut r);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"POST x=1 abcde");
        w.write_all(b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        assert_eq!(read_response(&mut r).1, b"POST  hello");
        w.write_all(b"GET /sse HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (head, body) = read_response(&mut r);
        assert!(
            head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "event: a\ndata: {\"n\":1}\n\nevent: b\ndata: {\"n\":2}\n\n"
        );
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}

/// One request a mock received, its body parsed as JSON.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: serde_json::Value,
}

/// A server that records every request before `answer` answers it.
pub struct RecordingServer {
    server: Server,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl RecordingServer {
    pub fn start(answer: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        let log: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let seen = log.clone();
        let server = Server::start(Arc::new(move |req: &Request| {
            seen.lock().unwrap().push(Recorded {
                method: req.method.clone(),
                path: req.path.clone(),
                query: req.query.clone(),
                body: req.json(),
            });
            answer(req)
        }));
        RecordingServer { server, log }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
}
