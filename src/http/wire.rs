//! The connection layer under the application. actix-web's HTTP/1 codec answers some requests
//! itself, before any middleware or handler runs, with an empty body: a request head it cannot
//! parse (a URI over 65 534 bytes, a bad header line, a missing `Host`, broken chunked framing)
//! is 400, a head over 128 KiB or with more than 96 header fields is 431, a head that does not
//! arrive in time is 408. Those limits are constants of actix-http. `ProblemStream` wraps each
//! TCP connection and rewrites exactly those empty error answers into RFC 9457 problem+json on
//! their way out, so a client never sees an error without a problem body. The application
//! itself never sends an empty error (see `http::problems`), so nothing else matches.
//!
//! With HTTP/1.1 pipelining the codec's answer can leave in one write behind the answers to
//! the requests before it, so the wrapper follows the framing of the outgoing stream: it reads
//! each response head (small; the codec writes heads whole), skips the body by its
//! `content-length` or chunked framing without looking at it, and so knows where the next
//! response starts. Only a head found at such a boundary is ever rewritten; bytes of a body,
//! whatever they contain, never are. The one thing the outgoing stream cannot say is that an
//! answer is to a `HEAD` request (it carries the length of a body it does not have), so those
//! answers leave the application with an empty body and a private header ([`NO_BODY`]) giving
//! the length, which the wrapper puts back into `content-length` as it removes the header.
//! (This also keeps a GET's body from following the answer to a pipelined HEAD, which the
//! codec did because it only remembers the method of the last request it read.) Anything it
//! cannot follow (a body framed by closing the connection, a head that is not `HTTP/1.x`)
//! makes it pass the rest of the connection through untouched, as before.
//!
//! One file for the connection wrapper and the framing it follows (about 530 lines); the unit
//! tests of hand-written response streams take it past 600.

use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_http::{HttpService, Protocol, Request};
use actix_service::{
    IntoServiceFactory, Service, ServiceFactoryExt, apply_fn_factory, fn_service, map_config,
};
use actix_web::HttpResponse;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{AppConfig, Response, Server, ServiceFactory};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Serves `factory`'s application on `listener` like `HttpServer::listen(..).run()` with the
/// same timeouts, each connection wrapped in a [`ProblemStream`].
pub fn serve<F, I, S, B>(listener: TcpListener, factory: F, shutdown_timeout: u64) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as actix_web::dev::Service<Request>>::Future: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    Ok(builder
        .shutdown_timeout(shutdown_timeout)
        .listen("masthead", listener, move || {
            let shutdown = shutdown.clone();
            let app = apply_fn_factory(
                factory()
                    .into_factory()
                    .map_err(|err| err.into().error_response()),
                mark_head_answers,
            );
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                // HttpServer's defaults.
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(addr)
                .finish(map_config(app, |_| AppConfig::default()));
            fn_service(|io: TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok((ProblemStream::new(io), Protocol::Http1, peer))
            })
            .and_then(http)
        })?
        .run())
}

/// The private header that marks the application's answers to `HEAD` requests. The answer
/// leaves the application with an empty body (so the codec writes `content-length: 0` and no
/// body, whatever it remembers of the request: with pipelining it only remembers the method of
/// the last request it read, and sent a GET's body after the answer to a HEAD before it) and
/// this header holding the length of the body it stands for (or `none`). [`ProblemStream`]
/// puts that length back into `content-length` and removes the header before the answer leaves.
pub const NO_BODY: HeaderName = HeaderName::from_static("x-masthead-wire-no-body");

/// Answers to `HEAD` requests leave the application without their body, marked [`NO_BODY`].
fn mark_head_answers<S, B>(
    req: Request,
    app: &S,
) -> impl Future<Output = Result<Response<BoxBody>, HttpResponse>> + use<S, B>
where
    S: Service<Request, Error = HttpResponse>,
    S::Response: Into<Response<B>>,
    B: MessageBody + 'static,
{
    let head = req.method() == Method::HEAD;
    let call = app.call(req);
    fn length(size: BodySize) -> HeaderValue {
        match size {
            BodySize::Sized(len) => HeaderValue::from(len),
            BodySize::None | BodySize::Stream => HeaderValue::from_static("none"),
        }
    }
    async move {
        match call.await {
            Ok(res) => {
                let res: Response<B> = res.into();
                if !head {
                    return Ok(res.map_body(|_, body| body.boxed()));
                }
                let size = length(res.body().size());
                let mut res = res.set_body(BoxBody::new(()));
                res.headers_mut().insert(NO_BODY, size);
                Ok(res)
            }
            Err(res) if head => {
                let size = length(res.body().size());
                let mut res = res.set_body(BoxBody::new(()));
                res.headers_mut().insert(NO_BODY, size);
                Err(res)
            }
            Err(res) => Err(res),
        }
    }
}

/// A connection whose codec-made empty error answers leave as problem+json.
pub struct ProblemStream<T> {
    inner: T,
    /// A rewritten answer (or a head gathered over several writes) still to be written, and
    /// how much of it is written.
    pending: Vec<u8>,
    written: usize,
    /// Where the outgoing stream is.
    frame: Frame,
    /// A response head that arrived in parts, until it is whole.
    head: Vec<u8>,
}

impl<T> ProblemStream<T> {
    pub fn new(inner: T) -> Self {
        ProblemStream {
            inner,
            pending: Vec::new(),
            written: 0,
            frame: Frame::Head,
            head: Vec::new(),
        }
    }
}

/// A response head longer than this is not followed (ours are a few hundred bytes).
const MAX_HEAD: usize = 64 * 1024;

/// Where the outgoing byte stream is, between and inside responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// At the start of a response head.
    Head,
    /// Inside bytes that pass unchanged (a head, a body, chunk data): `left` more, then `then`.
    Pass { left: u64, then: Next },
    /// Reading a chunk-size line: the size so far, whether in a chunk extension, whether the
    /// line's CR was seen.
    ChunkSize { size: u64, ext: bool, cr: bool },
    /// The trailer section after the last chunk: the length of the current line so far.
    Trailers { line: u64 },
    /// A body framed by closing the connection, or framing that could not be followed:
    /// everything passes unchanged from here on.
    Through,
}

/// What follows bytes that pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Head,
    Body(u64),
    Chunked,
    Through,
}

impl Next {
    fn frame(self) -> Frame {
        match self {
            Next::Head | Next::Body(0) => Frame::Head,
            Next::Body(len) => Frame::Pass {
                left: len,
                then: Next::Head,
            },
            Next::Chunked => Frame::ChunkSize {
                size: 0,
                ext: false,
                cr: false,
            },
            Next::Through => Frame::Through,
        }
    }
}

impl Frame {
    /// Follows `bytes` through bodies and chunk framing up to the start of the next response
    /// head; returns how many were consumed (all of them unless a head starts inside).
    fn advance(&mut self, bytes: &[u8]) -> usize {
        let mut at = 0;
        while at < bytes.len() {
            match *self {
                Frame::Head => break,
                Frame::Through => return bytes.len(),
                Frame::Pass { left, then } => {
                    let step = left.min((bytes.len() - at) as u64);
                    at += step as usize;
                    *self = if step == left {
                        then.frame()
                    } else {
                        Frame::Pass {
                            left: left - step,
                            then,
                        }
                    };
                }
                Frame::ChunkSize { size, ext, cr } => {
                    let b = bytes[at];
                    at += 1;
                    *self = match (b, cr) {
                        (b'\n', true) if size == 0 => Frame::Trailers { line: 0 },
                        (b'\n', true) => Frame::Pass {
                            // The data, then its CRLF.
                            left: size.saturating_add(2),
                            then: Next::Chunked,
                        },
                        (_, true) => Frame::Through,
                        (b'\r', false) => Frame::ChunkSize { size, ext, cr: true },
                        (_, false) if ext => Frame::ChunkSize { size, ext, cr },
                        (b';', false) => Frame::ChunkSize { size, ext: true, cr },
                        (_, false) => match (b as char).to_digit(16) {
                            Some(d) if size >> 60 == 0 => Frame::ChunkSize {
                                size: size * 16 + u64::from(d),
                                ext,
                                cr,
                            },
                            _ => Frame::Through,
                        },
                    };
                }
                Frame::Trailers { line } => {
                    let b = bytes[at];
                    at += 1;
                    *self = match b {
                        b'\n' if line <= 1 => Frame::Head, // an empty line (CRLF) ends them
                        b'\n' => Frame::Trailers { line: 0 },
                        _ => Frame::Trailers { line: line + 1 },
                    };
                }
            }
        }
        at
    }
}

/// What to do with a whole response head found at a response boundary.
enum HeadAction {
    /// Send it unchanged; the body follows as `Next` says.
    Keep(Next),
    /// Send these bytes instead (a problem answer, or the head without [`NO_BODY`]); no body
    /// follows.
    Replace(Vec<u8>),
}

/// Reads a whole response head (ending in CRLF CRLF).
fn head_action(head: &[u8]) -> HeadAction {
    if let Some(problem) = rewrite_empty_error(head) {
        return HeadAction::Replace(problem);
    }
    let Some(text) = std::str::from_utf8(head)
        .ok()
        .filter(|t| t.starts_with("HTTP/1."))
    else {
        return HeadAction::Keep(Next::Through);
    };
    let Some(status) = text.get(9..12).and_then(|s| s.parse::<u16>().ok()) else {
        return HeadAction::Keep(Next::Through);
    };
    let (mut length, mut chunked, mut no_body) = (None, false, None);
    for line in text.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return HeadAction::Keep(Next::Through);
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse::<u64>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.trim().eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case(NO_BODY.as_str()) {
            no_body = Some(value.trim());
        }
    }
    if let Some(stands_for) = no_body {
        // The answer to a HEAD: it has no body; its content-length is the one of the body it
        // stands for, or none.
        if length.is_some_and(|len| len != 0) || chunked {
            return HeadAction::Keep(Next::Through);
        }
        let mut kept = String::with_capacity(text.len());
        for line in text.split_inclusive("\r\n") {
            match line.split_once(':').map(|(n, _)| n.trim()) {
                Some(n) if n.eq_ignore_ascii_case(NO_BODY.as_str()) => {}
                Some(n) if n.eq_ignore_ascii_case("content-length") => {
                    if stands_for.bytes().all(|b| b.is_ascii_digit()) && !stands_for.is_empty() {
                        kept.push_str(&format!("content-length: {stands_for}\r\n"));
                    }
                }
                _ => kept.push_str(line),
            }
        }
        return HeadAction::Replace(kept.into_bytes());
    }
    HeadAction::Keep(match status {
        101 => Next::Through,
        100..=199 | 204 | 304 => Next::Head,
        _ if chunked => Next::Chunked,
        _ => length.map_or(Next::Through, Next::Body),
    })
}

/// Where a head that starts at `bytes[0]` ends (just past its CRLF CRLF).
fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4)
}

impl<T: AsyncWrite + Unpin> ProblemStream<T> {
    /// Writes what is pending; Ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemStream<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if buf.is_empty() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        if this.frame == Frame::Head {
            if !this.head.is_empty() || !buf.starts_with(&b"HTTP/1."[..buf.len().min(7)]) {
                // Not a head we can follow, or one that came in parts: gather it.
                let from = this.head.len().saturating_sub(3);
                let take = match head_end(&[&this.head[from..], buf].concat()) {
                    Some(end) => end - (this.head.len() - from),
                    None => buf.len(),
                };
                this.head.extend_from_slice(&buf[..take]);
                let whole = this.head.len() > 3 && this.head.ends_with(b"\r\n\r\n");
                if whole
                    || this.head.len() > MAX_HEAD
                    || !this.head.starts_with(&b"HTTP/1."[..this.head.len().min(7)])
                {
                    let head = std::mem::take(&mut this.head);
                    (this.pending, this.frame) = match head_action(&head) {
                        HeadAction::Replace(bytes) if whole => (bytes, Frame::Head),
                        HeadAction::Keep(next) if whole => (head, next.frame()),
                        _ => (head, Frame::Through),
                    };
                }
                // Accepted; what is pending goes out now or on the next write, flush or shutdown.
                if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(take));
            }
            let Some(end) = head_end(buf) else {
                this.head.extend_from_slice(buf);
                return Poll::Ready(Ok(buf.len()));
            };
            match head_action(&buf[..end]) {
                HeadAction::Replace(bytes) => {
                    this.pending = bytes;
                    if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                        return Poll::Ready(Err(e));
                    }
                    return Poll::Ready(Ok(end));
                }
                HeadAction::Keep(next) => {
                    this.frame = Frame::Pass {
                        left: end as u64,
                        then: next,
                    };
                }
            }
        }
        // Up to the next response head, unchanged.
        let mut probe = this.frame;
        let upto = probe.advance(buf);
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..upto]))?;
        this.frame.advance(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// When `out` is exactly one response head with an error status, `content-length: 0`, no
/// content type and no [`NO_BODY`] mark (the codec's own answers), the same answer with a
/// problem body.
fn rewrite_empty_error(out: &[u8]) -> Option<Vec<u8>> {
    let version = out
        .get(..9)
        .filter(|v| *v == b"HTTP/1.1 " || *v == b"HTTP/1.0 ")?;
    let status = std::str::from_utf8(out.get(9..12)?).ok()?.parse::<u16>().ok()?;
    let status = StatusCode::from_u16(status).ok().filter(|s| s.as_u16() >= 400)?;
    if !out.ends_with(b"\r\n\r\n") || out.windows(4).position(|w| w == b"\r\n\r\n")? + 4 != out.len() {
        return None;
    }
    let head = std::str::from_utf8(out).ok()?;
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    lines.next()?; // the status line
    let mut kept = Vec::new();
    let mut empty = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" if value.trim() == "0" => empty = true,
            "content-length" | "content-type" | "transfer-encoding" | "x-masthead-wire-no-body" => {
                return None;
            }
            _ => kept.push(line),
        }
    }
    if !empty {
        return None;
    }
    let body = problem_json(status, codec_detail(status));
    let mut answer = Vec::with_capacity(256 + body.len());
    answer.extend_from_slice(version);
    answer.extend_from_slice(
        format!(
            "{} {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error")
        )
        .as_bytes(),
    );
    for line in kept {
        answer.extend_from_slice(line.as_bytes());
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(
        format!(
            "content-type: {}\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\ncontent-length: {}\r\n\r\n",
            crate::error::PROBLEM_JSON,
            body.len()
        )
        .as_bytes(),
    );
    answer.extend_from_slice(&body);
    Some(answer)
}

/// What the codec's answer means, for the problem's `detail`.
fn codec_detail(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => {
            "The request could not be parsed: a malformed request line or header field, a URI \
             longer than 65534 bytes, a missing Host header, or broken body framing."
        }
        408 => "The request head did not arrive in time.",
        431 => {
            "The request head is too large: at most 96 header fields and 128 KiB of request \
             line and header fields are accepted."
        }
        _ => "The connection could not be served.",
    }
}

/// A problem document for `status`, of type `/problems/<reason-in-kebab-case>`.
pub fn problem_json(status: StatusCode, detail: &str) -> Vec<u8> {
    let title = status.canonical_reason().unwrap_or("Error");
    let problem = crate::error::Problem {
        problem_type: format!(
            "/problems/{}",
            title.to_ascii_lowercase().replace([' ', '\''], "-")
        ),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: detail.to_owned(),
        errors: None,
    };
    serde_json::to_vec(&problem).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codecs_empty_431_becomes_a_problem() {
        let out = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 05:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(rewrite_empty_error(out).expect("rewritten")).expect("utf-8");
        assert!(
            answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{answer}"
        );
        assert!(
            answer.contains("date: Wed, 02 Dec 2026 05:00:00 GMT\r\n"),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/problem+json\r\n"),
            "{answer}"
        );
        let body = answer.split("\r\n\r\n").nth(1).expect("body");
        let problem: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(problem["status"], 431);
        assert_eq!(problem["type"], "/problems/request-header-fields-too-large");
        assert!(answer.contains(&format!("content-length: {}\r\n", body.len())));
    }

    #[test]
    fn answers_with_a_body_or_a_success_status_pass_unchanged() {
        assert!(rewrite_empty_error(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(
            rewrite_empty_error(b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\ncontent-type: application/problem+json\r\n\r\n{}")
                .is_none()
        );
        assert!(rewrite_empty_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\n").is_none());
        // A head followed by another response (pipelining) is left alone.
        assert!(
            rewrite_empty_error(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"
            )
            .is_none()
        );
        assert!(rewrite_empty_error(b"partial").is_none());
    }

    /// What the client receives when the dispatcher makes these writes.
    async fn sent(writes: &[&[u8]]) -> String {
        use tokio::io::AsyncWriteExt;
        let mut stream = ProblemStream::new(Vec::new());
        for write in writes {
            stream.write_all(write).await.expect("write");
        }
        stream.flush().await.expect("flush");
        String::from_utf8(stream.inner).expect("utf-8")
    }

    const EMPTY_400: &str = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

    #[actix_web::test]
    async fn a_codec_400_behind_pipelined_answers_in_the_same_write_becomes_a_problem() {
        let ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
        let out = sent(&[format!("{ok}{ok}{EMPTY_400}").as_bytes()]).await;
        assert!(
            out.starts_with(&format!("{ok}{ok}HTTP/1.1 400 Bad Request\r\n")),
            "{out}"
        );
        assert!(out.contains("content-type: application/problem+json"), "{out}");
        assert!(out.ends_with("\"status\":400,\"detail\":\"The request could not be parsed: a malformed request line or header field, a URI longer than 65534 bytes, a missing Host header, or broken body framing.\"}"), "{out}");
    }

    #[actix_web::test]
    async fn the_same_bytes_inside_a_body_are_left_alone() {
        // A body that ends with what looks like the codec's answer, sized and then chunked.
        let sized = format!(
            "HTTP/1.1 206 Partial Content\r\ncontent-length: {}\r\ncontent-type: image/png\r\n\r\n{EMPTY_400}",
            EMPTY_400.len()
        );
        let chunked = format!(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/xml\r\n\r\n{:x};ext=1\r\n{EMPTY_400}\r\n0\r\ntrailer: x\r\n\r\n",
            EMPTY_400.len()
        );
        let both = format!("{sized}{chunked}");
        assert_eq!(sent(&[both.as_bytes()]).await, both);
        // Written in small pieces, as a full socket takes them.
        let pieces: Vec<&[u8]> = both.as_bytes().chunks(7).collect();
        assert_eq!(sent(&pieces).await, both);
        // After them, the codec's own answer is still found.
        let out = sent(&[both.as_bytes(), EMPTY_400.as_bytes()]).await;
        assert!(out.starts_with(&both), "{out}");
        assert!(out[both.len()..].contains("application/problem+json"), "{out}");
    }

    #[actix_web::test]
    async fn answers_to_head_requests_lose_their_mark_and_have_no_body() {
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-masthead-wire-no-body: 5000\r\ncontent-type: application/json\r\n\r\n";
        let out = sent(&[format!("{head}{EMPTY_400}").as_bytes()]).await;
        assert!(
            out.starts_with("HTTP/1.1 200 OK\r\ncontent-length: 5000\r\ncontent-type: application/json\r\n\r\nHTTP/1.1 400 Bad Request\r\n"),
            "{out}"
        );
        assert!(out.contains("application/problem+json"), "{out}");
        assert!(!out.contains("no-body"), "{out}");
    }

    #[actix_web::test]
    async fn a_head_split_over_writes_and_unframed_bodies_are_followed_or_passed() {
        let out = sent(&[b"HTTP/1.1 400 Bad Re", b"quest\r\ncontent-length: 0\r", b"\n\r\n"]).await;
        assert!(out.contains("application/problem+json"), "{out}");
        // A body that runs until the connection closes: nothing after it is touched.
        let unframed = format!("HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nbody{EMPTY_400}");
        assert_eq!(sent(&[unframed.as_bytes()]).await, unframed);
        // Bytes that are not a response head: passed through from then on.
        let odd = format!("garbage\r\n\r\n{EMPTY_400}");
        assert_eq!(sent(&[odd.as_bytes()]).await, odd);
        // 100 Continue, 204 and 304 have no body.
        let out = sent(&[format!(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n{EMPTY_400}"
        )
        .as_bytes()])
        .await;
        assert!(out.contains("application/problem+json"), "{out}");
    }
}
