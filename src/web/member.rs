//! A member's own page, linked from the footer of each personal copy:
//! `/m/ADDRESS/CODE`, the address base64url-encoded beside its HMAC under the site
//! secret (`links::member`). A GET lists the address's lists and where it stands on each;
//! its buttons POST to `/m/ADDRESS/CODE/LIST/leave|pause|resume`. Leaving goes through
//! `actions::unsubscribe::leave`, the path of every proven leave (audit and goodbye
//! alike); pausing and resuming through `actions::pause::set`, audited. A wrong link
//! answers 404.

use super::{State, env, html, not_found, unavailable};
use crate::actions::unsubscribe::{Leaving, leave};
use crate::actions::{ActionError, pause};
use crate::config::Archive;
use crate::store::members::{self, Member, Status};
use crate::store::{StoreError, settings};
use axum::Router;
use axum::extract::{Path, State as With};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;

pub(super) fn routes() -> Router<State> {
    Router::new()
        .route("/m/{address}/{code}", get(show))
        .route("/m/{address}/{code}/{list}/{what}", post(act))
}

/// The address and the page's own link, if the code is genuine.
async fn verified(
    rt: &State,
    encoded: &str,
    code: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let mut conn = rt.store.pool().acquire().await?;
    let secret = settings::secret(&mut conn).await?;
    Ok(
        crate::links::verify_member(&secret, encoded, code).map(|address| {
            let path = crate::links::member_path(&secret, &address);
            let here = match crate::links::base(&rt.config) {
                Some(base) => format!("{base}{path}"),
                None => path,
            };
            (address, here)
        }),
    )
}

/// GET: the member's lists, with a button per thing they may do.
async fn show(With(rt): With<State>, Path((encoded, code)): Path<(String, String)>) -> Response {
    match verified(&rt, &encoded, &code).await {
        Ok(Some((address, here))) => render(&rt, &address, &here, None).await,
        Ok(None) => not_found(),
        Err(e) => unavailable(e),
    }
}

/// What a button asks.
#[derive(Clone, Copy)]
enum What {
    Leave,
    Pause,
    Resume,
}

/// POST: leave, pause or resume one list, then the page again with what was done.
async fn act(
    With(rt): With<State>,
    Path((encoded, code, list_id, what)): Path<(String, String, String, String)>,
) -> Response {
    let (address, here) = match verified(&rt, &encoded, &code).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let what = match what.as_str() {
        "leave" => What::Leave,
        "pause" => What::Pause,
        "resume" => What::Resume,
        _ => return not_found(),
    };
    let Some(list) = rt.config.list(&list_id) else {
        return not_found();
    };
    let result = async {
        let mut tx = rt.store.begin_write().await?;
        // Only the lists the page shows: an address on no such list changes nothing.
        if members::get(&mut tx, list.id(), &address).await?.is_none() {
            return Ok(false);
        }
        match what {
            What::Leave => {
                let how = Leaving {
                    actor: "web:member",
                    inbound_id: None,
                    reason: "left from the member's page",
                };
                leave(&mut tx, &env(&rt), list, &address, &how).await?;
            }
            What::Pause | What::Resume => {
                let paused = matches!(what, What::Pause);
                let reason = if paused {
                    "delivery paused from the member's page"
                } else {
                    "delivery resumed from the member's page"
                };
                pause::set(&mut tx, list, &address, paused, "web:member", reason).await?;
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok::<_, ActionError>(true)
    }
    .await;
    match result {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return unavailable(e),
    }
    let done = match what {
        What::Leave => ("Đã rời nhóm", "You have left", list.name.as_str()),
        What::Pause => (
            "Đã tạm dừng nhận thư",
            "Delivery paused",
            list.name.as_str(),
        ),
        What::Resume => (
            "Đã nhận thư trở lại",
            "Delivery resumed",
            list.name.as_str(),
        ),
    };
    render(&rt, &address, &here, Some(done)).await
}

/// One row of the page.
#[derive(serde::Serialize)]
struct Row<'a> {
    id: &'a str,
    name: &'a str,
    address: &'a str,
    /// Where the member stands, in Vietnamese and in English.
    vi: &'static str,
    en: &'static str,
    /// The buttons: (what, Vietnamese, English).
    buttons: Vec<(&'static str, &'static str, &'static str)>,
    /// The list's archive, for a confirmed member of a list that has one: public, or
    /// through the link signed for them.
    archive: Option<String>,
}

fn row<'a>(rt: &'a State, secret: &str, m: &Member) -> Option<Row<'a>> {
    let list = rt.config.list(&m.list_id)?;
    let archive = match (m.status, list.archive()) {
        (Status::Confirmed, Archive::Public) => Some(format!("/archive/{}", list.id())),
        (Status::Confirmed, Archive::Members) => Some(super::archive::member_link(
            "",
            secret,
            list.id(),
            &m.address,
        )),
        _ => None,
    };
    let leave = ("leave", "Rời nhóm", "Leave");
    let (vi, en, buttons) = match (m.status, m.paused) {
        (Status::Confirmed, false) => (
            "Thành viên, đang nhận thư",
            "Member, receiving mail",
            vec![("pause", "Tạm dừng nhận thư", "Pause delivery"), leave],
        ),
        (Status::Confirmed, true) => (
            "Thành viên, đã tạm dừng nhận thư",
            "Member, delivery paused",
            vec![("resume", "Nhận thư trở lại", "Resume delivery"), leave],
        ),
        (Status::Pending, _) => ("Chờ xác nhận", "Waiting for confirmation", vec![leave]),
        (Status::Disabled, _) => (
            "Tạm dừng vì thư bị trả lại",
            "Paused because mail bounced",
            vec![leave],
        ),
        (Status::Unsubscribed, _) => ("Đã rời nhóm", "Left", Vec::new()),
    };
    Some(Row {
        id: list.id(),
        name: &list.name,
        address: list.address.get_ref(),
        vi,
        en,
        buttons,
        archive,
    })
}

async fn render(
    rt: &State,
    address: &str,
    here: &str,
    done: Option<(&str, &str, &str)>,
) -> Response {
    let found = async {
        let mut conn = rt.store.pool().acquire().await?;
        let secret = settings::secret(&mut conn).await?;
        Ok::<_, StoreError>((secret, members::of_address(&mut conn, address).await?))
    }
    .await;
    let (secret, memberships) = match found {
        Ok(m) => m,
        Err(e) => return unavailable(e),
    };
    let rows: Vec<Row<'_>> = memberships
        .iter()
        .filter_map(|m| row(rt, &secret, m))
        .collect();
    html::render(StatusCode::OK, PAGE, context! { address, here, rows, done })
}

/// The member's page.
const PAGE: &str = r#"{% extends "layout.html" %}
{% block title %}Nhóm thư của {{ address }}{% endblock %}
{% block body %}
<h1>Nhóm thư của {{ address }}</h1>
<p class="en" lang="en">Your mailing lists</p>
{% if done %}<p role="status"><strong>{{ done[0] }}: {{ done[2] }}.</strong> <span class="en" lang="en">{{ done[1] }}: {{ done[2] }}.</span></p>{% endif %}
{% if rows %}
<table>
<thead><tr><th scope="col">Nhóm <span class="en" lang="en">/ List</span></th><th scope="col">Trạng thái <span class="en" lang="en">/ Status</span></th><th scope="col"><span class="en" lang="en">…</span></th></tr></thead>
<tbody>
{% for r in rows %}
<tr>
<td>{{ r.name }}<br><small>{{ r.address }}</small>{% if r.archive %}<br><a href="{{ r.archive }}">Lưu trữ <span lang="en">/ Archive</span></a>{% endif %}</td>
<td>{{ r.vi }}<br><span class="en" lang="en">{{ r.en }}</span></td>
<td>{% for b in r.buttons %}<form method="post" action="{{ here }}/{{ r.id }}/{{ b[0] }}"><button{% if b[0] == "leave" %} class="secondary"{% endif %}>{{ b[1] }} <span lang="en">/ {{ b[2] }}</span></button></form>{% endfor %}</td>
</tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p>Địa chỉ này không thuộc nhóm thư nào. <span class="en" lang="en">This address is on no list.</span></p>
{% endif %}
{% endblock %}"#;
