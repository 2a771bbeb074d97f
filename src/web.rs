//! The one-click unsubscribe endpoint (RFC 8058), for `[site] listen`. A POST to the
//! link in a member's List-Unsubscribe header (what Gmail's and Yahoo's Unsubscribe
//! buttons send) removes the member at once: the link's code proves the address. A GET
//! (a person following the link, or a scanner) only shows a button that POSTs, so
//! nothing is removed by merely opening the link. A wrong link answers 404, revealing
//! nothing.

use crate::pipeline::Runtime;
use crate::shutdown::Shutdown;
use crate::store::members::{self, Change, Status};
use crate::store::{StoreError, settings};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;

/// Serve until shutdown.
pub async fn serve(
    rt: Arc<Runtime>,
    addr: SocketAddr,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "one-click unsubscribe endpoint listening");
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = shutdown.wait() => return Ok(()),
        };
        let rt = rt.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(rt.clone(), req));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "http connection");
            }
        });
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

async fn answer(
    rt: Arc<Runtime>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = req.uri().path().to_string();
    let result = match *req.method() {
        Method::POST => unsubscribe(&rt, &path).await,
        Method::GET | Method::HEAD => confirm_page(&rt, &path).await,
        _ => Ok(reply(StatusCode::METHOD_NOT_ALLOWED, String::new())),
    };
    Ok(result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "one-click unsubscribe");
        reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "Xin thử lại sau. Please try again later.".into(),
        )
    }))
}

fn not_found() -> Response<Full<Bytes>> {
    reply(StatusCode::NOT_FOUND, "Không tìm thấy. Not found.".into())
}

async fn confirm_page(rt: &Runtime, path: &str) -> Result<Response<Full<Bytes>>, StoreError> {
    let secret = settings::secret(&mut *rt.store.pool().acquire().await?).await?;
    let Some((list, address)) = crate::unsubscribe::verify_path(&secret, path) else {
        return Ok(not_found());
    };
    let name = rt
        .config
        .list(&list)
        .map_or(list.as_str(), |l| l.name.as_str());
    // A template named .html escapes what it is given.
    let mut env = minijinja::Environment::new();
    let page = env
        .add_template("page.html", PAGE)
        .and_then(|()| env.get_template("page.html"))
        .and_then(|t| t.render(minijinja::context! { name, address }))
        .unwrap_or_default();
    Ok(reply(StatusCode::OK, page))
}

async fn unsubscribe(rt: &Runtime, path: &str) -> Result<Response<Full<Bytes>>, StoreError> {
    let mut tx = rt.store.begin().await?;
    let secret = settings::secret(&mut tx).await?;
    let Some((list, address)) = crate::unsubscribe::verify_path(&secret, path) else {
        return Ok(not_found());
    };
    if rt.config.list(&list).is_none() {
        return Ok(not_found());
    }
    let before = members::apply(
        &mut tx,
        &Change {
            list_id: &list,
            address: &address,
            display_name: None,
            status: Status::Unsubscribed,
            source: "email",
            action: "unsubscribe",
            actor: "one-click",
            inbound_id: None,
            reason: "one-click unsubscribe link (RFC 8058)",
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(list, address, was = ?before, "left through the one-click link");
    Ok(reply(
        StatusCode::OK,
        "Đã hủy đăng ký. You have been unsubscribed.".into(),
    ))
}

/// The page a GET shows: one button that POSTs to the same link.
const PAGE: &str = "<!doctype html><meta charset=utf-8><title>Hủy đăng ký</title>\
<form method=post><p>{{ name }} — {{ address }}</p>\
<button>Hủy đăng ký / Unsubscribe</button></form>";
