//! The pages' one layout: Vietnamese first with the English beside it, one inline style
//! sheet, no script and nothing fetched from elsewhere. Pages are minijinja templates
//! named `.html`, so everything they are given is escaped.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Environment, Value};

/// The layout every page extends: `title` and `body` blocks.
const LAYOUT: &str = r#"<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{% block title %}{% endblock %}</title>
<style>
body{font:1rem/1.5 system-ui,sans-serif;max-width:38rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}
.en{color:#555}
form{display:inline-block;margin:.25rem .5rem .25rem 0}
button{font:inherit;padding:.4rem 1rem;border:1px solid #245;border-radius:.3rem;background:#245;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#245}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem;border-bottom:1px solid #ddd;vertical-align:top}
</style>
</head>
<body>
<main>
{% block body %}{% endblock %}
</main>
</body>
</html>
"#;

/// Render `template` (which extends `layout.html`) with `ctx` as a page with `status`.
pub(super) fn render(status: StatusCode, template: &'static str, ctx: Value) -> Response {
    let mut env = Environment::new();
    let body = env
        .add_template("layout.html", LAYOUT)
        .and_then(|()| env.add_template("page.html", template))
        .and_then(|()| env.get_template("page.html"))
        .and_then(|t| t.render(ctx));
    match body {
        Ok(body) => super::page(status, body),
        Err(e) => super::unavailable(e),
    }
}

/// A page that only says something: a heading and a sentence, in both languages.
pub(super) fn message(status: StatusCode, vi: &str, en: &str, detail: Option<&str>) -> Response {
    render(status, MESSAGE, minijinja::context! { vi, en, detail })
}

const MESSAGE: &str = r#"{% extends "layout.html" %}
{% block title %}{{ vi }}{% endblock %}
{% block body %}
<h1>{{ vi }}</h1>
<p class="en" lang="en">{{ en }}</p>
{% if detail %}<p>{{ detail }}</p>{% endif %}
{% endblock %}"#;
