//! The archive of posts on the web: `/archive` (the lists whose archive is public) →
//! `/archive/LIST` (months, newest first) → `/archive/LIST/YYYY-MM` (the month's posts;
//! threads on discussion lists) → `/archive/LIST/post/ID` (one post) →
//! `/archive/LIST/post/ID/attachment/N`; `/archive/LIST/search?q=` and `/search?q=`
//! (full text, with or without diacritics), `/archive/LIST/feed.atom`.
//!
//! A list's `archive` says who reads it: anyone, its confirmed members through a link
//! signed for them (`member_link`), or nobody. Whatever is wrong (an unknown list, an
//! archive that is off, a wrong or stale link, a held or rejected post) answers 404. Only
//! accepted posts appear, and never an address: authors are shown by display name.
//! Pages are Vietnamese unless `?lang=en` or Accept-Language asks for English; dates are
//! Vietnam time (UTC+7).

use super::archive_post::{self, Reading};
use super::{State, atom, not_found, unavailable};
use crate::config::{Archive, List, ListKind};
use crate::store::members::{self, Status};
use crate::store::{archive, settings};
use axum::Router;
use axum::extract::{Path, Query, State as With};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::tz::{Offset, TimeZone};
use minijinja::{Value, context};
use sha2::Digest;

/// Posts per page of search results.
const PAGE: i64 = 20;
/// Entries of a feed.
const FEED: i64 = 20;
/// Accepted posts indexed per search request, at most.
const INDEX_BATCH: i64 = 200;

pub(super) fn routes() -> Router<State> {
    Router::new()
        .route("/archive", get(index))
        .route("/search", get(search_all))
        .route("/archive/{list}", get(months))
        .route("/archive/{list}/feed.atom", get(feed))
        .route("/archive/{list}/search", get(search_list))
        .route("/archive/{list}/post/{id}", get(post))
        .route("/archive/{list}/post/{id}/attachment/{n}", get(attachment))
        .route("/archive/{list}/{month}", get(month))
}

/// The archive link of a member of a list whose archive is for members: the address
/// travels base64url-encoded beside an HMAC of the list and the address under the site
/// secret. It opens the archive as long as the address is a confirmed member.
pub fn member_link(base_url: &str, secret: &str, list_id: &str, address: &str) -> String {
    format!(
        "{}/archive/{list_id}?k={}",
        base_url.trim_end_matches('/'),
        key(secret, list_id, address)
    )
}

fn key(secret: &str, list_id: &str, address: &str) -> String {
    let address = crate::address::normalize(address);
    let encoded = data_encoding::BASE64URL_NOPAD.encode(address.as_bytes());
    let code = crate::mac::code(secret, &["archive", list_id, &address], 16);
    format!("{encoded}.{code}")
}

/// The query string every archive page understands.
#[derive(Debug, Default, serde::Deserialize)]
struct Params {
    lang: Option<String>,
    k: Option<String>,
    q: Option<String>,
    p: Option<String>,
}

/// Who reads, in which language, and what every link carries along.
struct Reader {
    lang: &'static str,
    /// `?lang=en&k=…` or empty.
    suffix: String,
    /// `&lang=en&k=…` or empty, for links that already have a query.
    more: String,
    /// Whether the page is for a member only (not cached by shared caches).
    private: bool,
    /// The member's key, carried by forms.
    key: Option<String>,
    /// Whether `?lang=` was given, carried by forms.
    carry_lang: bool,
}

fn reader(params: &Params, headers: &HeaderMap, key: Option<&str>) -> Reader {
    let lang = language(params, headers);
    let mut carry = Vec::new();
    if params.lang.is_some() {
        carry.push(format!("lang={lang}"));
    }
    if let Some(k) = key {
        carry.push(format!("k={k}"));
    }
    let joined = carry.join("&");
    Reader {
        lang,
        suffix: if joined.is_empty() {
            String::new()
        } else {
            format!("?{joined}")
        },
        more: if joined.is_empty() {
            String::new()
        } else {
            format!("&{joined}")
        },
        private: key.is_some(),
        key: key.map(str::to_string),
        carry_lang: params.lang.is_some(),
    }
}

/// `?lang=` first, then the first of vi/en that Accept-Language names; Vietnamese by
/// default.
fn language(params: &Params, headers: &HeaderMap) -> &'static str {
    match params.lang.as_deref() {
        Some("en") => return "en",
        Some("vi") => return "vi",
        _ => {}
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for tag in accept.split(',') {
        let tag = tag
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if tag == "vi" || tag.starts_with("vi-") {
            return "vi";
        }
        if tag == "en" || tag.starts_with("en-") {
            return "en";
        }
    }
    "vi"
}

/// The list, if the request may read its archive; with the key to carry for members.
async fn open<'a>(
    rt: &'a State,
    list_id: &str,
    params: &Params,
) -> Result<(&'a List, Option<String>), Response> {
    let Some(list) = rt.config.list(list_id) else {
        return Err(not_found());
    };
    match list.archive() {
        Archive::Off => Err(not_found()),
        Archive::Public => Ok((list, None)),
        Archive::Members => {
            let Some(given) = params.k.as_deref() else {
                // No link at all: where a member asks for theirs.
                let to = format!("/archive/{}/link", list.id());
                return Err(axum::response::Redirect::to(&to).into_response());
            };
            let Some((encoded, _)) = given.split_once('.') else {
                return Err(not_found());
            };
            let Some(address) = data_encoding::BASE64URL_NOPAD
                .decode(encoded.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            else {
                return Err(not_found());
            };
            let mut conn = rt.store.pool().acquire().await.map_err(unavailable)?;
            let secret = settings::secret(&mut conn).await.map_err(unavailable)?;
            let expected = key(&secret, list.id(), &address);
            if !constant_eq(expected.as_bytes(), given.as_bytes()) {
                return Err(not_found());
            }
            let member = members::get(&mut conn, list.id(), &address)
                .await
                .map_err(unavailable)?;
            if member.is_some_and(|m| m.status == Status::Confirmed) {
                Ok((list, Some(expected)))
            } else {
                Err(not_found())
            }
        }
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Vietnam time: no daylight saving, always UTC+7.
fn zone() -> TimeZone {
    TimeZone::fixed(Offset::constant(7))
}

fn local(unix: i64) -> jiff::Zoned {
    jiff::Timestamp::from_second(unix)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(zone())
}

fn month_key(unix: i64) -> String {
    local(unix).strftime("%Y-%m").to_string()
}

fn date(unix: i64) -> String {
    local(unix).strftime("%d/%m/%Y %H:%M").to_string()
}

/// `[from, to)` in Unix seconds of a `YYYY-MM` month.
fn month_range(key: &str) -> Option<(i64, i64)> {
    let (y, m) = key.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i16, i8) = (y.parse().ok()?, m.parse().ok()?);
    let start = jiff::civil::Date::new(y, m, 1).ok()?;
    let end = start.checked_add(jiff::Span::new().months(1)).ok()?;
    let at = |d: jiff::civil::Date| d.to_zoned(zone()).ok().map(|z| z.timestamp().as_second());
    Some((at(start)?, at(end)?))
}

/// The page `LANG/web/NAME.html` (escaped: the name ends in .html), with its validators.
fn show(
    rt: &State,
    reader: &Reader,
    request: &HeaderMap,
    name: &str,
    ctx: Value,
    modified: i64,
) -> Response {
    let mut env = minijinja::Environment::new();
    env.set_loader(minijinja::path_loader(rt.config.templates_dir()));
    let ctx = context! {
        lang => reader.lang,
        suffix => reader.suffix,
        more => reader.more,
        key => reader.key,
        carry_lang => reader.carry_lang,
        ..ctx
    };
    env.get_template(&format!("{}/web/{name}.html", reader.lang))
        .and_then(|t| t.render(ctx))
        .map_or_else(unavailable, |body| html(request, reader, modified, body))
}

/// A page or feed with its validators: an ETag of the body and Last-Modified of the
/// newest post shown; a matching If-None-Match answers 304.
fn cached(
    request: &HeaderMap,
    reader: &Reader,
    content_type: &'static str,
    modified: i64,
    body: String,
) -> Response {
    let digest = sha2::Sha256::digest(body.as_bytes());
    let etag = format!("\"{}\"", &data_encoding::HEXLOWER.encode(&digest)[..20]);
    let modified = jiff::Timestamp::from_second(modified)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let cache = if reader.private {
        "private, max-age=300"
    } else {
        "public, max-age=300"
    };
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(h, header::CONTENT_TYPE, content_type);
    set(h, header::CACHE_CONTROL, cache);
    set(h, header::ETAG, &etag);
    set(h, header::LAST_MODIFIED, &modified);
    set(h, header::VARY, "Accept-Language");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    response
}

fn html(request: &HeaderMap, reader: &Reader, modified: i64, body: String) -> Response {
    cached(request, reader, "text/html; charset=utf-8", modified, body)
}

/// `/archive`: the lists anyone may read.
async fn index(
    With(rt): With<State>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let reader = reader(&params, &headers, None);
    let mut lists = Vec::new();
    let mut newest = 0;
    for list in rt
        .config
        .lists
        .iter()
        .filter(|l| l.archive() == Archive::Public)
    {
        let dates = match archive::dates(rt.store.pool(), list.id()).await {
            Ok(d) => d,
            Err(e) => return unavailable(e),
        };
        newest = newest.max(dates.first().copied().unwrap_or(0));
        lists.push(context! { id => list.id(), name => list.name, audience => list.audience, count => dates.len() });
    }
    show(&rt, &reader, &headers, "index", context! { lists }, newest)
}

/// `/archive/LIST`: months, newest first, with counts.
async fn months(
    With(rt): With<State>,
    Path(list_id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let (list, key) = match open(&rt, &list_id, &params).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let reader = reader(&params, &headers, key.as_deref());
    let dates = match archive::dates(rt.store.pool(), list.id()).await {
        Ok(d) => d,
        Err(e) => return unavailable(e),
    };
    let mut months: Vec<(String, usize)> = Vec::new();
    for &d in &dates {
        let k = month_key(d);
        match months.last_mut() {
            Some((last, n)) if *last == k => *n += 1,
            _ => months.push((k, 1)),
        }
    }
    let months: Vec<Value> = months
        .into_iter()
        .map(|(month, count)| context! { month, count })
        .collect();
    let newest = dates.first().copied().unwrap_or(0);
    let ctx = context! { list => list_ctx(list), months };
    show(&rt, &reader, &headers, "list", ctx, newest)
}

fn list_ctx(list: &List) -> Value {
    context! { id => list.id(), name => list.name, audience => list.audience }
}

/// `/archive/LIST/YYYY-MM`: the month's posts, oldest first; threads on discussion lists.
async fn month(
    With(rt): With<State>,
    Path((list_id, key_month)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let (list, key) = match open(&rt, &list_id, &params).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some((from, to)) = month_range(&key_month) else {
        return not_found();
    };
    let reader = reader(&params, &headers, key.as_deref());
    let found = match archive::between(rt.store.pool(), list.id(), from, to, 2000).await {
        Ok(found) => found,
        Err(e) => return unavailable(e),
    };
    if found.is_empty() {
        return not_found();
    }
    let mut readings: Vec<Option<Reading>> = Vec::with_capacity(found.len());
    for e in &found {
        match crate::store::posts::raw(rt.store.pool(), e.id).await {
            Ok(raw) => readings.push(raw.and_then(|raw| archive_post::read(&raw))),
            Err(e) => return unavailable(e),
        }
    }
    let order = if list.kind == ListKind::Discussion {
        threads(&readings)
    } else {
        (0..found.len()).map(|i| (i, 0)).collect()
    };
    let posts: Vec<Value> = order
        .into_iter()
        .map(|(i, depth)| {
            let e = &found[i];
            let author = readings[i].as_ref().map_or("", |r| r.author.as_str());
            context! { id => e.id, subject => e.subject, date => date(e.created_at), author, depth => depth.min(4) }
        })
        .collect();
    let newest = found.iter().map(|e| e.created_at).max().unwrap_or(0);
    let ctx = context! { list => list_ctx(list), month => key_month, posts };
    show(&rt, &reader, &headers, "month", ctx, newest)
}

/// Posts in thread order, each with its depth: a reply (In-Reply-To, References) comes
/// under the post it answers when that post is in the same set, in date order otherwise.
fn threads(readings: &[Option<Reading>]) -> Vec<(usize, usize)> {
    let parent: Vec<Option<usize>> = readings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let r = r.as_ref()?;
            r.thread_ids.iter().find_map(|tid| {
                (0..i).find(|&j| {
                    readings[j].as_ref().and_then(|p| p.message_id.as_deref()) == Some(tid.as_str())
                })
            })
        })
        .collect();
    fn walk(at: usize, depth: usize, parent: &[Option<usize>], out: &mut Vec<(usize, usize)>) {
        out.push((at, depth));
        for child in (0..parent.len()).filter(|&c| parent[c] == Some(at)) {
            walk(child, depth + 1, parent, out);
        }
    }
    let mut out = Vec::new();
    for root in (0..readings.len()).filter(|&i| parent[i].is_none()) {
        walk(root, 0, &parent, &mut out);
    }
    out
}

/// `/archive/LIST/post/ID`: one post.
async fn post(
    With(rt): With<State>,
    Path((list_id, id)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let (list, key) = match open(&rt, &list_id, &params).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let reader = reader(&params, &headers, key.as_deref());
    let (entry, raw) = match archive::post(rt.store.pool(), list.id(), id).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let Some(reading) = archive_post::read(&raw) else {
        return not_found();
    };
    let ctx = context! {
        list => list_ctx(list),
        id => entry.id,
        subject => entry.subject,
        date => date(entry.created_at),
        month => month_key(entry.created_at),
        author => reading.author,
        text => reading.text,
        html => reading.html.map(Value::from_safe_string),
        attachments => reading.attachments,
    };
    show(&rt, &reader, &headers, "post", ctx, entry.created_at)
}

/// `/archive/LIST/post/ID/attachment/N`: the attachment as sent, under its name.
async fn attachment(
    With(rt): With<State>,
    Path((list_id, id, n)): Path<(String, String, String)>,
    Query(params): Query<Params>,
) -> Response {
    let (list, key) = match open(&rt, &list_id, &params).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let (Ok(id), Ok(n)) = (id.parse::<i64>(), n.parse::<usize>()) else {
        return not_found();
    };
    let raw = match archive::post(rt.store.pool(), list.id(), id).await {
        Ok(Some((_, raw))) => raw,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let Some((name, content_type, bytes)) = archive_post::attachment(&raw, n) else {
        return not_found();
    };
    let cache = if key.is_some() {
        "private, max-age=86400"
    } else {
        "public, max-age=86400"
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, disposition(&name)),
        (header::CACHE_CONTROL, cache.to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
        (header::REFERRER_POLICY, "no-referrer".to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}

/// `attachment; filename="ASCII fallback"; filename*=UTF-8''…` (RFC 6266, RFC 5987).
pub fn disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The base of absolute links (feeds): `[site] base_url`, or https on the site's domain.
fn base(rt: &State) -> String {
    rt.config
        .site
        .base_url
        .clone()
        .unwrap_or_else(|| format!("https://{}", rt.config.site.domain))
        .trim_end_matches('/')
        .to_string()
}

/// `/archive/LIST/feed.atom`: the newest posts.
async fn feed(
    With(rt): With<State>,
    Path(list_id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let (list, key) = match open(&rt, &list_id, &params).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let reader = reader(&params, &headers, key.as_deref());
    let found = match archive::latest(rt.store.pool(), list.id(), FEED).await {
        Ok(found) => found,
        Err(e) => return unavailable(e),
    };
    let base = base(&rt);
    let home = format!("{base}/archive/{}{}", list.id(), reader.suffix);
    let self_url = format!("{base}/archive/{}/feed.atom{}", list.id(), reader.suffix);
    let updated = found
        .first()
        .map_or_else(crate::store::now, |e| e.created_at);
    let mut prepared: Vec<(String, String, String)> = Vec::with_capacity(found.len());
    for e in &found {
        let reading = match crate::store::posts::raw(rt.store.pool(), e.id).await {
            Ok(raw) => raw.and_then(|raw| archive_post::read(&raw)),
            Err(e) => return unavailable(e),
        };
        let author = reading
            .as_ref()
            .map(|r| r.author.clone())
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| list.name.clone());
        let summary: String = reading
            .map(|r| r.text.chars().take(280).collect())
            .unwrap_or_default();
        let url = format!(
            "{base}/archive/{}/post/{}{}",
            list.id(),
            e.id,
            reader.suffix
        );
        prepared.push((url, author, summary));
    }
    let entries: Vec<atom::Entry> = found
        .iter()
        .zip(&prepared)
        .map(|(e, (url, author, summary))| atom::Entry {
            url,
            title: &e.subject,
            updated: e.created_at,
            author,
            summary,
        })
        .collect();
    let xml = atom::write(
        &atom::Feed {
            id: &home,
            self_url: &self_url,
            title: &list.name,
            updated,
            author: &rt.config.site.name,
        },
        &entries,
    );
    cached(
        &headers,
        &reader,
        "application/atom+xml; charset=utf-8",
        updated,
        xml,
    )
}

/// `/archive/LIST/search?q=`.
async fn search_list(
    With(rt): With<State>,
    Path(list_id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let (list, key) = match open(&rt, &list_id, &params).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let reader = reader(&params, &headers, key.as_deref());
    search(&rt, &reader, &headers, &params, Some(list)).await
}

/// `/search?q=`: across the lists anyone may read.
async fn search_all(
    With(rt): With<State>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let reader = reader(&params, &headers, None);
    search(&rt, &reader, &headers, &params, None).await
}

/// The words of a query, folded (no diacritics, lowercase), alphanumeric only.
pub fn words(q: &str) -> Vec<String> {
    crate::text::fold(q)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(str::to_string)
        .collect()
}

/// Index the accepted posts that are not indexed yet (each once, however many ask).
async fn index_pending(rt: &State) -> Result<(), crate::store::StoreError> {
    let pending = archive::unindexed(rt.store.pool(), INDEX_BATCH).await?;
    for id in pending {
        let Some(raw) = crate::store::posts::raw(rt.store.pool(), id).await? else {
            continue;
        };
        let subject = {
            let mut conn = rt.store.pool().acquire().await?;
            crate::store::posts::get(&mut conn, id)
                .await?
                .map(|p| p.subject)
                .unwrap_or_default()
        };
        let (subject, body) = archive_post::folded(&subject, &raw);
        // The FTS row and its marker commit together.
        let mut tx = rt.store.begin().await?;
        archive::index(&mut tx, id, &subject, &body).await?;
        tx.commit().await?;
    }
    Ok(())
}

async fn search(
    rt: &State,
    reader: &Reader,
    headers: &HeaderMap,
    params: &Params,
    list: Option<&List>,
) -> Response {
    if let Err(e) = index_pending(rt).await {
        return unavailable(e);
    }
    let q = params.q.clone().unwrap_or_default();
    let words = words(&q);
    let page: i64 = params
        .p
        .as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|&p| p >= 1)
        .unwrap_or(1);
    let lists: Vec<String> = match list {
        Some(l) => vec![l.id().to_string()],
        None => rt
            .config
            .lists
            .iter()
            .filter(|l| l.archive() == Archive::Public)
            .map(|l| l.id().to_string())
            .collect(),
    };
    let (found, total) =
        match archive::search(rt.store.pool(), &lists, &words, PAGE, (page - 1) * PAGE).await {
            Ok(found) => found,
            Err(e) => return unavailable(e),
        };
    let results: Vec<Value> = found
        .iter()
        .map(|e| {
            let in_list = list
                .map(|l| l.id().to_string())
                .or_else(|| e.lists.iter().find(|id| lists.contains(id)).cloned())
                .unwrap_or_default();
            let name = rt.config.list(&in_list).map_or("", |l| l.name.as_str());
            context! { id => e.id, subject => e.subject, date => date(e.created_at), list => in_list, list_name => name }
        })
        .collect();
    let newest = found.iter().map(|e| e.created_at).max().unwrap_or(0);
    let pages = (total + PAGE - 1) / PAGE;
    let ctx = context! {
        list => list.map(list_ctx),
        q,
        total,
        page,
        pages,
        results,
    };
    show(rt, reader, headers, "search", ctx, newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_links_name_their_member() {
        let link = member_link("https://moet.test/", "s3cret", "gopy", "GV@School.test");
        let k = link.split_once("?k=").unwrap().1;
        assert_eq!(k, key("s3cret", "gopy", "gv@school.test"));
        assert_ne!(k, key("s3cret", "gopy", "other@school.test"));
        assert_ne!(k, key("s3cret", "thpt", "gv@school.test"));
        assert!(!link.contains("gv@school.test"));
    }

    fn reading(id: &str, parents: &[&str]) -> Option<Reading> {
        Some(Reading {
            author: String::new(),
            message_id: Some(id.into()),
            thread_ids: parents.iter().map(|p| p.to_string()).collect(),
            text: String::new(),
            html: None,
            attachments: Vec::new(),
        })
    }

    #[test]
    fn replies_come_under_what_they_answer() {
        let posts = [
            reading("a", &[]),
            reading("b", &[]),
            reading("c", &["a"]),
            reading("d", &["c", "a"]),
            reading("e", &["elsewhere"]),
            None,
        ];
        assert_eq!(
            threads(&posts),
            [(0, 0), (2, 1), (3, 2), (1, 0), (4, 0), (5, 0)]
        );
    }

    #[test]
    fn months_are_vietnam_time() {
        let (from, to) = month_range("2026-01").unwrap();
        assert_eq!(month_key(from), "2026-01");
        assert_eq!(month_key(from - 1), "2025-12");
        assert_eq!(month_key(to), "2026-02");
        assert!(month_range("2026-13").is_none());
        assert!(month_range("x").is_none());
    }

    #[test]
    fn names_are_given_both_ways() {
        assert_eq!(
            disposition("Công văn 1.pdf"),
            "attachment; filename=\"C_ng v_n 1.pdf\"; filename*=UTF-8''C%C3%B4ng%20v%C4%83n%201.pdf"
        );
        assert_eq!(words("Công văn, SỐ 12!"), ["cong", "van", "so", "12"]);
    }
}
