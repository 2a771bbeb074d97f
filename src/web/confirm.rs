//! The confirmation link of every join and leave confirmation: `/c/TOKEN`, the code the
//! mail already carries. A GET shows what the code confirms and one button; only the
//! POST confirms, through `actions::confirm::by_link`, exactly as a reply carrying the
//! code would (the same audit, then the welcome or the goodbye). A used or expired code
//! says so; an unknown one, or anything that is not a code, answers 404.

use super::{State, env, html, not_found, unavailable};
use crate::actions::confirm::{Linked, by_link};
use crate::store::tokens::{self, Action, Pending, Taken};
use axum::Router;
use axum::extract::{Path, State as With};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::context;

pub(super) fn routes() -> Router<State> {
    Router::new().route("/c/{token}", get(button).post(confirm))
}

/// The token itself when `text` is one, lowercased.
fn token(text: &str) -> Option<String> {
    match crate::token::find_all(text).as_slice() {
        [one] if one.len() == text.len() => Some(one.clone()),
        _ => None,
    }
}

/// GET: what the code confirms, and one button that POSTs to the same link.
async fn button(With(rt): With<State>, Path(text): Path<String>) -> Response {
    let Some(token) = token(&text) else {
        return not_found();
    };
    let peeked = async {
        let mut conn = rt.store.pool().acquire().await?;
        tokens::peek(&mut conn, &crate::token::hash(&token)).await
    }
    .await;
    match peeked {
        Ok(Taken::Valid(p)) if p.action != Action::Moderate => {
            let Some(list) = rt.config.list(&p.list_id) else {
                return unknown();
            };
            let leave = p.action == Action::Unsubscribe;
            html::render(
                StatusCode::OK,
                BUTTON,
                context! { leave, list_name => &list.name, list_address => list.address.get_ref(), address => &p.address },
            )
        }
        Ok(Taken::Used(p)) if p.action != Action::Moderate => used(&p),
        Ok(Taken::Expired(p)) if p.action != Action::Moderate => expired(&p),
        Ok(_) => unknown(),
        Err(e) => unavailable(e),
    }
}

/// POST: confirm now.
async fn confirm(With(rt): With<State>, Path(text): Path<String>) -> Response {
    let Some(token) = token(&text) else {
        return not_found();
    };
    let result = async {
        let mut tx = rt.store.begin_write().await?;
        let linked = by_link(&mut tx, &env(&rt), &token).await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok::<_, crate::actions::ActionError>(linked)
    }
    .await;
    match result {
        Ok(Linked::Confirmed(p, _)) => {
            let name = rt
                .config
                .list(&p.list_id)
                .map_or(p.list_id.as_str(), |l| l.name.as_str());
            if p.action == Action::Unsubscribe {
                html::message(
                    StatusCode::OK,
                    "Đã rời nhóm thư",
                    "You have left the list. A last message confirms it.",
                    Some(&format!("{name} — {}", p.address)),
                )
            } else {
                html::message(
                    StatusCode::OK,
                    "Đã xác nhận: thầy/cô là thành viên nhóm thư",
                    "Confirmed: you are a member of the list. A welcome message follows.",
                    Some(&format!("{name} — {}", p.address)),
                )
            }
        }
        Ok(Linked::Used(p)) => used(&p),
        Ok(Linked::Expired(p)) => expired(&p),
        Ok(Linked::Unknown) => unknown(),
        Err(e) => unavailable(e),
    }
}

fn used(p: &Pending) -> Response {
    html::message(
        StatusCode::GONE,
        "Mã xác nhận này đã được dùng",
        "This confirmation code has been used already: nothing more to do.",
        Some(&p.address),
    )
}

fn expired(p: &Pending) -> Response {
    let (vi, en) = if p.action == Action::Unsubscribe {
        (
            "Mã xác nhận đã hết hạn. Để rời nhóm, xin gửi lại thư \"hủy đăng ký\".",
            "This confirmation code has expired. To leave, send the \"unsubscribe\" mail again.",
        )
    } else {
        (
            "Mã xác nhận đã hết hạn. Xin gửi lại thư đăng ký để nhận mã mới.",
            "This confirmation code has expired. Send the registration mail again for a new one.",
        )
    };
    html::message(StatusCode::GONE, vi, en, Some(&p.address))
}

/// A code of the right shape the system does not know (mistyped, or from another site).
fn unknown() -> Response {
    html::message(
        StatusCode::NOT_FOUND,
        "Không tìm thấy mã xác nhận này",
        "This confirmation code is not known: check the link in the mail.",
        None,
    )
}

/// The page a GET shows.
const BUTTON: &str = r#"{% extends "layout.html" %}
{% block title %}{% if leave %}Xác nhận rời nhóm{% else %}Xác nhận đăng ký{% endif %} {{ list_name }}{% endblock %}
{% block body %}
{% if leave %}
<h1>Xác nhận rời nhóm thư {{ list_name }}</h1>
<p class="en" lang="en">Confirm leaving {{ list_name }}</p>
{% else %}
<h1>Xác nhận đăng ký nhóm thư {{ list_name }}</h1>
<p class="en" lang="en">Confirm joining {{ list_name }}</p>
{% endif %}
<p>{{ list_address }} — {{ address }}</p>
<form method="post">
{% if leave %}<button>Xác nhận rời nhóm <span lang="en">/ Confirm leaving</span></button>
{% else %}<button>Xác nhận <span lang="en">/ Confirm</span></button>{% endif %}
</form>
{% endblock %}"#;
