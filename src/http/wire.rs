//! The connection layer under the application. actix-web's HTTP/1 codec answers some requests
//! itself, before any middleware or handler runs, with an empty body: a request head it cannot
//! parse (a URI over 65 534 bytes, a bad header line, a missing `Host`, broken chunked framing)
//! is 400, a head over 128 KiB or with more than 96 header fields is 431, a head that does not
//! arrive in time is 408. Those limits are constants of actix-http. `ProblemStream` wraps each
//! TCP connection and rewrites exactly those empty error answers into RFC 9457 problem+json on
//! their way out, so a client never sees an error without a problem body. The application
//! itself never sends an empty error (see `http::problems`), so nothing else matches.

use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_http::{HttpService, Protocol, Request};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Response, Server, ServiceFactory};
use actix_web::http::StatusCode;
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
            let app = factory()
                .into_factory()
                .map_err(|err| err.into().error_response());
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

/// A connection whose codec-made empty error answers leave as problem+json.
pub struct ProblemStream<T> {
    inner: T,
    /// A rewritten answer still to be written, and how much of it is written.
    pending: Vec<u8>,
    written: usize,
}

impl<T> ProblemStream<T> {
    pub fn new(inner: T) -> Self {
        ProblemStream {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
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
        ready!(self.poll_pending(cx))?;
        if let Some(problem) = rewrite_empty_error(buf) {
            self.pending = problem;
            // Accepted whole; the rest goes out on the next write, flush or shutdown.
            if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
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

/// When `out` is exactly one response head with an error status, `content-length: 0` and no
/// content type (the codec's own answers), the same answer with a problem body.
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
            "content-length" | "content-type" | "transfer-encoding" => return None,
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
}
