//! A moderator's page for a held post, linked from the moderation notice:
//! `/mod/POST/MODERATOR/CODE`, the moderator's address base64url-encoded beside an HMAC
//! of the post and the address under the site secret (`links::moderate`). A GET shows the
//! post's subject and sender and two buttons, which POST to `…/approve` and `…/reject`;
//! the POST decides through `actions::post::decide`, as a moderator's reply does, by the
//! same `moderator:ADDRESS`. A wrong link, or one for someone no longer a moderator of the
//! post's lists, answers 404.

use super::{State, html, not_found, unavailable};
use crate::actions::ActionError;
use crate::actions::post::decide;
use crate::store::posts::{self, Post, PostStatus};
use crate::store::{StoreError, settings};
use axum::Router;
use axum::extract::{Path, State as With};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;

pub(super) fn routes() -> Router<State> {
    Router::new()
        .route("/mod/{post}/{moderator}/{code}", get(show))
        .route("/mod/{post}/{moderator}/{code}/{what}", post(act))
}

/// The post, its moderator and the page's own link, if the code is genuine and the
/// address still moderates one of the post's lists.
async fn verified(
    rt: &State,
    post_id: i64,
    encoded: &str,
    code: &str,
) -> Result<Option<(Post, String, String)>, StoreError> {
    let mut conn = rt.store.pool().acquire().await?;
    let secret = settings::secret(&mut conn).await?;
    let Some(moderator) = crate::links::verify_moderator(&secret, post_id, encoded, code) else {
        return Ok(None);
    };
    let Some(post) = posts::get(&mut conn, post_id).await? else {
        return Ok(None);
    };
    let moderates = post
        .lists
        .iter()
        .filter_map(|id| rt.config.list(id))
        .flat_map(|l| &l.moderators)
        .any(|m| crate::address::normalize(m.get_ref()) == moderator);
    if !moderates {
        return Ok(None);
    }
    let path = crate::links::moderate_path(&secret, post_id, &moderator);
    let here = match crate::links::base(&rt.config) {
        Some(base) => format!("{base}{path}"),
        None => path,
    };
    Ok(Some((post, moderator, here)))
}

/// GET: the held post and two buttons.
async fn show(
    With(rt): With<State>,
    Path((post_id, encoded, code)): Path<(String, String, String)>,
) -> Response {
    let Ok(post_id) = post_id.parse::<i64>() else {
        return not_found();
    };
    match verified(&rt, post_id, &encoded, &code).await {
        Ok(Some((post, moderator, here))) => render(&rt, &post, &moderator, &here, None),
        Ok(None) => not_found(),
        Err(e) => unavailable(e),
    }
}

/// POST: approve (and fan out) or reject.
async fn act(
    With(rt): With<State>,
    Path((post_id, encoded, code, what)): Path<(String, String, String, String)>,
) -> Response {
    let Ok(post_id) = post_id.parse::<i64>() else {
        return not_found();
    };
    let approve = match what.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return not_found(),
    };
    let (_, moderator, here) = match verified(&rt, post_id, &encoded, &code).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let by = format!("moderator:{moderator}");
    let result = async {
        let mut tx = rt.store.begin_write().await?;
        let decided = decide(&mut tx, &rt.config, post_id, approve, &by).await?;
        let post = posts::get(&mut tx, post_id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok::<_, ActionError>((decided, post))
    }
    .await;
    match result {
        Ok((decided, Some(post))) => render(&rt, &post, &moderator, &here, Some(decided)),
        Ok((_, None)) => not_found(),
        Err(e) => unavailable(e),
    }
}

fn render(
    rt: &State,
    post: &Post,
    moderator: &str,
    here: &str,
    decided_now: Option<bool>,
) -> Response {
    let lists: Vec<&str> = post
        .lists
        .iter()
        .map(|id| rt.config.list(id).map_or(id.as_str(), |l| l.name.as_str()))
        .collect();
    let status = post.status.as_str();
    html::render(
        StatusCode::OK,
        PAGE,
        context! {
            id => post.id,
            subject => &post.subject,
            sender => &post.sender,
            lists,
            moderator,
            here,
            held => post.status == PostStatus::Held,
            status,
            decided_by => &post.decided_by,
            decided_now,
        },
    )
}

/// The moderator's page.
const PAGE: &str = r#"{% extends "layout.html" %}
{% block title %}Thư chờ duyệt: {{ subject }}{% endblock %}
{% block body %}
<h1>Thư chờ duyệt gửi nhóm {{ lists | join(", ") }}</h1>
<p class="en" lang="en">A post awaiting approval</p>
<table>
<tr><th scope="row">Tiêu đề <span class="en" lang="en">/ Subject</span></th><td>{{ subject }}</td></tr>
<tr><th scope="row">Người gửi <span class="en" lang="en">/ From</span></th><td>{{ sender }}</td></tr>
<tr><th scope="row">Mã thư <span class="en" lang="en">/ Post</span></th><td>{{ id }}</td></tr>
</table>
{% if held %}
<h2>Quyết định <span class="en" lang="en">/ Decision</span></h2>
<p>{{ moderator }}</p>
<form method="post" action="{{ here }}/approve"><button>Duyệt và gửi <span lang="en">/ Approve and send</span></button></form>
<form method="post" action="{{ here }}/reject"><button class="secondary">Từ chối <span lang="en">/ Reject</span></button></form>
{% else %}
<p role="status"><strong>{% if status == "accepted" %}Thư đã được duyệt và gửi đi{% else %}Thư đã bị từ chối{% endif %}.</strong>
<span class="en" lang="en">{% if status == "accepted" %}The post was approved and sent{% else %}The post was rejected{% endif %}{% if decided_by %} ({{ decided_by }}){% endif %}.</span>
{% if decided_now == false %}<br>Thư đã được quyết định trước đó. <span class="en" lang="en">It had been decided before.</span>{% endif %}</p>
{% endif %}
{% endblock %}"#;
