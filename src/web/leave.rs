//! The one-click unsubscribe link (RFC 8058) of every list copy: `/u/LIST/ADDRESS/CODE`.
//! A POST (what Gmail's and Yahoo's Unsubscribe buttons send, and the button of the
//! page) removes the member at once through the same action as List-Unsubscribe mail:
//! the link's code proves the address. A GET (a person following the link, or a
//! scanner) only shows a button that POSTs, so opening the link removes nobody. A wrong
//! link answers 404, revealing nothing.

use super::{State, env, html, not_found, unavailable};
use crate::actions::unsubscribe::{Leaving, leave};
use crate::store::settings;
use axum::Router;
use axum::extract::{Path, State as With};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

pub(super) fn routes() -> Router<State> {
    Router::new().route("/u/{list}/{address}/{code}", get(button).post(unsubscribe))
}

/// The list and address of a one-click path, if its code is genuine.
async fn verified(
    rt: &State,
    list: &str,
    address: &str,
    code: &str,
) -> Result<Option<(String, String)>, Response> {
    let mut conn = rt.store.pool().acquire().await.map_err(unavailable)?;
    let secret = settings::secret(&mut conn).await.map_err(unavailable)?;
    let path = format!("u/{list}/{address}/{code}");
    Ok(
        crate::unsubscribe::verify_path(&secret, &path)
            .filter(|(l, _)| rt.config.list(l).is_some()),
    )
}

/// GET: the page with one button that POSTs to the same link.
async fn button(
    With(rt): With<State>,
    Path((list, address, code)): Path<(String, String, String)>,
) -> Response {
    let (list, address) = match verified(&rt, &list, &address, &code).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(response) => return response,
    };
    let name = rt
        .config
        .list(&list)
        .map_or(list.as_str(), |l| l.name.as_str());
    html::render(StatusCode::OK, PAGE, minijinja::context! { name, address })
}

/// POST: leave the list now.
async fn unsubscribe(
    With(rt): With<State>,
    Path((list, address, code)): Path<(String, String, String)>,
) -> Response {
    let (list_id, address) = match verified(&rt, &list, &address, &code).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(response) => return response,
    };
    let Some(list) = rt.config.list(&list_id) else {
        return not_found();
    };
    let how = Leaving {
        actor: "web:one-click",
        inbound_id: None,
        reason: "one-click unsubscribe link (RFC 8058)",
    };
    let result = async {
        let mut tx = rt.store.begin_write().await?;
        let before = leave(&mut tx, &env(&rt), list, &address, &how).await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok::<_, crate::actions::ActionError>(before)
    }
    .await;
    match result {
        Ok(before) => {
            tracing::info!(list = list_id, address, was = ?before, "left through the one-click link");
            html::message(
                StatusCode::OK,
                "Đã hủy đăng ký.",
                "You have been unsubscribed.",
                None,
            )
        }
        Err(e) => unavailable(e),
    }
}

/// The page a GET shows: one button that POSTs to the same link.
const PAGE: &str = r#"{% extends "layout.html" %}
{% block title %}Hủy đăng ký{% endblock %}
{% block body %}
<h1>Hủy đăng ký</h1>
<form method="post"><p>{{ name }} — {{ address }}</p>
<button>Hủy đăng ký / Unsubscribe</button></form>
{% endblock %}"#;
