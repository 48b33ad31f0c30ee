//! The web timeline: `GET /_cdnsim/ui` and its two assets, `app.js` and `app.css`, compiled
//! into the binary from `src/server/ui/`.
//!
//! The page is plain HTML, CSS and JavaScript with no library. Everything it shows it fetches
//! from this server: `GET /_cdnsim/scenario` (the span, domains, incidents and scripts),
//! `GET /_cdnsim/clock`, `GET /_cdnsim/stats` (the chart), the API itself for the task table
//! and the quota (`DescribeRefreshTasks`, `DescribeRefreshQuota` with `x-cdnsim-replay-time`
//! and `x-cdnsim-observer`), `GET /_cdnsim/history` (a task's transitions) and, for the
//! manual clock's buttons, `POST /_cdnsim/clock`. Its Content-Security-Policy lets it load and
//! fetch from this server alone, so it works offline and no request leaves the machine.

use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use super::Body;
use super::body::full;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");

/// Where the page may load from and talk to: this server, nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The page or one of its assets, by the path under `/_cdnsim/` (`ui`, `ui/app.js`,
/// `ui/app.css`); `None` for any other path.
pub fn asset(path: &str) -> Option<Response<Body>> {
    let (body, content_type) = match path {
        "ui" | "ui/index.html" => (INDEX_HTML, "text/html; charset=utf-8"),
        "ui/app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "ui/app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return None,
    };
    let mut response = page_response(body.to_owned());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Some(response)
}

/// A page answer with the headers every part of the page carries: the policy above, no
/// sniffing, no caching (a new binary may bring a new page).
pub(super) fn page_response(body: String) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing in the page names another host: no CDN, no web font, no analytics.
    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("app.js", APP_JS),
            ("app.css", APP_CSS),
        ] {
            for needle in ["http://", "https://", "//cdn", "@import", "url("] {
                // The SVG namespace is a name, not a request.
                let stripped = text.replace("http://www.w3.org/2000/svg", "");
                assert!(
                    !stripped.contains(needle),
                    "{name} contains {needle:?}: the page must work offline"
                );
            }
        }
        assert!(asset("ui").is_some() && asset("ui/app.js").is_some());
        assert!(asset("ui/../events").is_none() && asset("ui/other.js").is_none());
    }
}
