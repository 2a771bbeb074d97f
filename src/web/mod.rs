//! The web side of the lists, one axum server on `[site] listen` behind the reverse proxy
//! that serves `[site] base_url`. Its pages only read the store or call the same actions
//! mail does (same audit, same answers): the web is never a side door.
//!
//! - `leave`: the one-click unsubscribe link of every list copy (RFC 8058).
//! - `confirm`: the confirmation link of join and leave confirmations.
//! - `member`: a member's own page (their lists; leave, pause, resume).
//! - `moderate`: a moderator's page for a held post (approve, reject).
//! - `ops`: `/metrics` (Prometheus) and `/healthz`, for the operator's tools.
//! - `archive`: the archive of posts (`archive_post` reads a stored post, `atom` writes
//!   the feeds, `archive_link` mails a member their link to a members' archive).
//!
//! Every GET of a page only shows a page whose buttons POST: mail scanners and link
//! previews change nothing. `html` is the pages' layout.

pub mod archive;
mod archive_link;
mod archive_post;
mod atom;
mod confirm;
mod html;
mod leave;
mod member;
mod moderate;
mod ops;

use crate::pipeline::Runtime;
use crate::shutdown::Shutdown;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// What every handler is given.
pub type State = Arc<Runtime>;

/// Every route of the site.
pub fn router(rt: State) -> Router {
    Router::new()
        .merge(leave::routes())
        .merge(confirm::routes())
        .merge(member::routes())
        .merge(moderate::routes())
        .merge(ops::routes())
        .merge(archive::routes())
        .merge(archive_link::routes())
        .with_state(rt)
}

/// Serve until shutdown; requests in progress finish first.
pub async fn serve(rt: State, addr: SocketAddr, mut shutdown: Shutdown) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "web server listening");
    axum::serve(listener, router(rt))
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
}

/// The answer environment of a web request: no inbound mail behind it.
fn env(rt: &State) -> crate::actions::answer::Env<'_> {
    crate::actions::answer::Env {
        config: &rt.config,
        templates: &rt.templates,
        inbound_id: None,
        from: None,
        in_reply_to: None,
    }
}

/// An HTML page.
fn page(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A link that is wrong, or no longer valid: 404, revealing nothing.
fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, "Không tìm thấy. Not found.".into())
}

/// The store failed: try again later.
fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "web request");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Xin thử lại sau. Please try again later.".into(),
    )
}
