//! A members' archive asked for by mail: `/archive/LIST/link` shows a form for an
//! address; its POST mails a confirmed member the archive link signed for them (as an
//! answer, within the answers' caps) and tells anyone the same thing, so the page says
//! nothing about who is a member. Opening a members' archive without a link leads here.

use super::{State, env, html, not_found, unavailable};
use crate::actions::answer;
use crate::compose::Kind;
use crate::config::Archive;
use crate::store::members::{self, Status};
use axum::Router;
use axum::extract::{Form, Path, State as With};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::context;

pub(super) fn routes() -> Router<State> {
    Router::new().route("/archive/{list}/link", get(form).post(request))
}

/// The form's one field.
#[derive(serde::Deserialize)]
struct Request {
    address: String,
}

/// The list, when its archive is for members and the site's web side has a base URL to
/// put in the link.
fn members_list<'a>(rt: &'a State, list_id: &str) -> Option<&'a crate::config::List> {
    crate::links::base(&rt.config)?;
    rt.config
        .list(list_id)
        .filter(|l| l.archive() == Archive::Members)
}

/// GET: the form.
async fn form(With(rt): With<State>, Path(list_id): Path<String>) -> Response {
    let Some(list) = members_list(&rt, &list_id) else {
        return not_found();
    };
    html::render(
        StatusCode::OK,
        PAGE,
        context! { name => list.name, id => list.id(), sent => false },
    )
}

/// POST: mail the link to the address if it is a confirmed member; say the same either way.
async fn request(
    With(rt): With<State>,
    Path(list_id): Path<String>,
    Form(request): Form<Request>,
) -> Response {
    let Some(list) = members_list(&rt, &list_id) else {
        return not_found();
    };
    let address = crate::address::normalize(&request.address);
    let result = async {
        let mut tx = rt.store.begin_write().await?;
        let member = members::get(&mut tx, list.id(), &address).await?;
        if member.is_some_and(|m| m.status == Status::Confirmed) {
            answer::notice(
                &mut tx,
                &env(&rt),
                Kind::ArchiveLink,
                list,
                &address,
                None,
                true,
            )
            .await?;
        }
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok::<_, crate::actions::ActionError>(())
    }
    .await;
    match result {
        Ok(()) => html::render(
            StatusCode::OK,
            PAGE,
            context! { name => list.name, id => list.id(), sent => true },
        ),
        Err(e) => unavailable(e),
    }
}

const PAGE: &str = r#"{% extends "layout.html" %}
{% block title %}Lưu trữ {{ name }}{% endblock %}
{% block body %}
<h1>Lưu trữ nhóm thư {{ name }}</h1>
<p class="en" lang="en">The archive of {{ name }}</p>
{% if sent %}
<p role="status">Nếu địa chỉ này là thành viên nhóm, liên kết vào lưu trữ đã được gửi tới hộp thư.
<span class="en" lang="en">If this address is a member, its link to the archive is on its way.</span></p>
{% else %}
<p>Lưu trữ này dành cho thành viên. Nhập địa chỉ thư của thầy/cô để nhận liên kết riêng qua thư.
<span class="en" lang="en">This archive is for members: enter your address to be mailed your own link.</span></p>
<form method="post" action="/archive/{{ id }}/link">
<p><label for="address">Địa chỉ thư <span lang="en">/ Email address</span></label><br>
<input id="address" name="address" type="email" required autocomplete="email"></p>
<button>Gửi liên kết <span lang="en">/ Send the link</span></button>
</form>
{% endif %}
{% endblock %}"#;
