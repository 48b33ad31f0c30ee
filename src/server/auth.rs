//! The admin token (`--admin-token`): who may use the endpoints under `/_cdnsim/`.
//!
//! A program shows the token as `Authorization: Bearer <token>`. A browser cannot add that
//! header to the page it opens, so the page has a sign-in form (`POST /_cdnsim/ui/login`)
//! that sets a cookie instead: `cdnsim_admin_<port>` (browsers send a host's cookies to all of
//! its ports: the port in the name keeps two servers on one host apart), HttpOnly,
//! `SameSite=Strict`, for the whole server (the page reads the API at `/` too), holding a
//! SHA-256 digest of the token rather than the token itself. Either one lets a request
//! through; both are compared in time independent of where they differ. A cookie-borne
//! request that changes something (any method but GET and HEAD) must also come from the
//! server's own origin (`Origin`), so a page on another port of the same host cannot use the
//! cookie to reset the timeline or add rules. On the API, the token stands in for a signature
//! on the three reads (see `http.rs`), so the page works when the server checks signatures.

use hyper::header::{
    CACHE_CONTROL, CONTENT_TYPE, COOKIE, HOST, HeaderMap, HeaderValue, LOCATION, ORIGIN, SET_COOKIE,
};
use hyper::{Response, StatusCode};
use sha2::{Digest, Sha256};

use super::Body;
use super::body::full;

/// The cookie the sign-in form sets, before the port.
pub const COOKIE_PREFIX: &str = "cdnsim_admin_";

/// Largest sign-in form body.
pub const LOGIN_BODY_BYTES_MAX: usize = 4 * 1024;

/// What the cookie holds for `token`: a digest, so the token itself never sits in the
/// browser's cookie store.
fn cookie_value(token: &str) -> String {
    let digest = Sha256::digest(format!("cdnsim admin cookie\0{token}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal bytes, compared in time that does not depend on where they first differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when the request carries `Authorization: Bearer <token>`.
pub fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes()))
}

/// The `Host` header as sent, if any.
fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(HOST).and_then(|v| v.to_str().ok())
}

/// The cookie's name for the port the request was sent to (from `Host`; 80 without one).
fn cookie_name(headers: &HeaderMap) -> String {
    let port = host(headers)
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, port)| port)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("80");
    format!("{COOKIE_PREFIX}{port}")
}

/// True when the request carries the sign-in cookie for `token`.
pub fn cookie_matches(headers: &HeaderMap, token: &str) -> bool {
    let (name, expected) = (cookie_name(headers), cookie_value(token));
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(n, value)| n == name && same(value.as_bytes(), expected.as_bytes()))
}

/// True when the request shows the admin token, as a bearer header or the page's cookie.
pub fn admitted(headers: &HeaderMap, token: &str) -> bool {
    bearer_matches(headers, token) || cookie_matches(headers, token)
}

/// True when a browser says the request comes from a page of this server: `Origin` is
/// `http://<Host>`. (Browsers send `Origin` with every request but a plain GET or HEAD.)
pub fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    match (origin, host(headers)) {
        (Some(origin), Some(host)) => origin
            .strip_prefix("http://")
            .is_some_and(|o| o.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// `POST /_cdnsim/ui/login` with the form body `token=...`: 303 to the page with the cookie
/// when the token is right, else the sign-in form again (401) saying so.
pub fn login(form: &[u8], token: &str, sent: &HeaderMap) -> Response<Body> {
    let given = std::str::from_utf8(form)
        .ok()
        .and_then(|text| crate::api::encoding::parse_pairs(text).ok())
        .and_then(|pairs| pairs.into_iter().find(|(name, _)| name == "token"))
        .map(|(_, value)| value);
    match given {
        Some(given) if same(given.as_bytes(), token.as_bytes()) => {
            let mut response = Response::new(full(""));
            *response.status_mut() = StatusCode::SEE_OTHER;
            let headers = response.headers_mut();
            headers.insert(LOCATION, HeaderValue::from_static("/_cdnsim/ui"));
            let cookie = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Strict",
                cookie_name(sent),
                cookie_value(token)
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.insert(SET_COOKIE, value);
            }
            response
        }
        Some(_) => sign_in_page(Some("That is not this server's admin token.")),
        None => sign_in_page(Some("Enter the token the server was started with.")),
    }
}

/// The sign-in form (401): what `GET /_cdnsim/ui` answers without the token.
pub fn sign_in_page(problem: Option<&str>) -> Response<Body> {
    let problem = problem
        .map(|p| format!("<p class=\"problem\" role=\"alert\">{p}</p>"))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>cdnsim: sign in</title></head><body><main><h1>cdnsim timeline</h1>\
         <p>This server was started with <code>--admin-token</code>.</p>{problem}\
         <form method=\"post\" action=\"/_cdnsim/ui/login\"><label>Admin token \
         <input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"current-password\" \
         required autofocus></label> <button type=\"submit\" id=\"sign-in\">Open the timeline\
         </button></form></main></body></html>\n"
    );
    let mut response = super::ui::page_response(html);
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                hyper::header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn a_bearer_header_or_the_cookie_admits() {
        let host = ("host", "127.0.0.1:18555");
        let cookie = format!("theme=dark; cdnsim_admin_18555={}", cookie_value("s3cret"));
        assert!(admitted(
            &headers(&[("authorization", "Bearer s3cret")]),
            "s3cret"
        ));
        assert!(admitted(&headers(&[host, ("cookie", &cookie)]), "s3cret"));
        assert!(!admitted(&headers(&[host, ("cookie", &cookie)]), "other"));
        // Another port's cookie is another server's.
        let elsewhere = ("host", "127.0.0.1:3000");
        assert!(!admitted(
            &headers(&[elsewhere, ("cookie", &cookie)]),
            "s3cret"
        ));
        assert!(!admitted(
            &headers(&[("authorization", "Bearer s3cre")]),
            "s3cret"
        ));
        assert!(!admitted(
            &headers(&[("authorization", "s3cret")]),
            "s3cret"
        ));
        // The token itself as the cookie is not the digest.
        let raw = "cdnsim_admin_18555=s3cret";
        assert!(!admitted(&headers(&[host, ("cookie", raw)]), "s3cret"));
        assert!(!admitted(&headers(&[]), "s3cret"));
    }

    #[test]
    fn the_origin_must_be_the_servers_own() {
        let host = ("host", "127.0.0.1:18555");
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:18555")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[host])));
    }

    #[test]
    fn the_form_sets_the_cookie_only_for_the_right_token() {
        let sent = headers(&[("host", "localhost:9000")]);
        let ok = login(b"token=s%203cret", "s 3cret", &sent);
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        let set = ok.headers()[SET_COOKIE].to_str().expect("ascii");
        assert!(set.starts_with(&format!("cdnsim_admin_9000={}", cookie_value("s 3cret"))));
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        for body in [&b"token=wrong"[..], b"", b"tok=s%203cret", b"\xff"] {
            let answer = login(body, "s 3cret", &sent);
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
            assert!(answer.headers().get(SET_COOKIE).is_none());
        }
    }
}
