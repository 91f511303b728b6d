//! The agent web UI: the Svelte app built into `web/dist`, embedded into the
//! binary at compile time and served at `/`.
//!
//! The API keeps every path it knows. A `GET` for a file of the build gets
//! that file (pre-compressed when the browser accepts gzip); any other path
//! the API does not know, outside `/api/` and `/assets/` and without a file
//! extension, is a page of the single-page app and gets `index.html`.
//! Without a UI build (a plain `cargo build` on a machine without Node) the
//! pages explain how to build it instead.

use std::borrow::Cow;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_ENCODING,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY, VARY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

/// `web/dist`, as built by `npm --prefix web run build`. `allow_missing`
/// lets the crate compile without it; `build.rs` makes cargo rebuild when it
/// appears or changes.
#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist/"]
#[allow_missing = true]
struct Dist;

/// One file of the UI build.
pub struct UiFile {
    pub bytes: Cow<'static, [u8]>,
    pub content_type: Cow<'static, str>,
    /// A strong validator: the file's SHA-256, shortened.
    pub etag: String,
}

/// Finds a file of the build by its path (`index.html`, `assets/…`).
pub type UiFiles = fn(&str) -> Option<UiFile>;

fn embedded(path: &str) -> Option<UiFile> {
    let file = Dist::get(path)?;
    Some(UiFile {
        content_type: Cow::Owned(file.metadata.mimetype().to_string()),
        etag: format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16])),
        bytes: file.data,
    })
}

/// Whether this binary carries a UI build.
pub fn is_built() -> bool {
    Dist::get("index.html").is_some()
}

/// Puts the embedded UI around the API app.
pub fn with_ui(api: Router) -> Router {
    with_files(api, embedded)
}

/// Puts the UI served from `files` around the API app.
pub fn with_files(api: Router, files: UiFiles) -> Router {
    Router::new().fallback(move |request: Request| serve(api.clone(), files, request))
}

async fn serve(api: Router, files: UiFiles, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let is_read = method == Method::GET || method == Method::HEAD;
    if !is_read || path == "/api" || path.starts_with("/api/") {
        return pass(api, request).await;
    }
    let headers = request.headers().clone();
    let file = match path.trim_start_matches('/') {
        "" => "index.html",
        file => file,
    };
    if let Some(found) = files(file) {
        return respond(file, found, files, &headers, &method);
    }
    let response = pass(api, request).await;
    if response.status() != StatusCode::NOT_FOUND || !is_page(&path) {
        return response;
    }
    match files("index.html") {
        Some(index) => respond("index.html", index, files, &headers, &method),
        None => not_built(&method),
    }
}

async fn pass(api: Router, request: Request) -> Response {
    match api.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// A page of the app, not a missing file: `/inbox/open/12`, not `/assets/x.js`.
fn is_page(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    !path.starts_with("/assets/") && !last.contains('.')
}

fn cache_control(file: &str) -> &'static str {
    if file.starts_with("assets/") {
        // Vite names these by content hash: they never change.
        "public, max-age=31536000, immutable"
    } else {
        // index.html and friends: always revalidate (cheap, thanks to the ETag).
        "no-cache"
    }
}

fn content_type(mime: &str) -> HeaderValue {
    let textual = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "image/svg+xml"
        );
    let value = if textual && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn respond(
    name: &str,
    file: UiFile,
    files: UiFiles,
    request: &HeaderMap,
    method: &Method,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, content_type(&file.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache_control(name)));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if name == "index.html" {
        page_security_headers(&mut headers);
    }
    if name == "widget.js" {
        // The chat widget is loaded by other sites (also with `crossorigin`).
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    // The build writes `x.js.gz` beside `x.js` when it is worth it.
    let gzipped = files(&format!("{name}.gz")).filter(|_| accepts_gzip(request));
    if files(&format!("{name}.gz")).is_some() {
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    let (bytes, etag) = match gzipped {
        Some(gz) => {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (gz.bytes, gz.etag)
        }
        None => (file.bytes, file.etag),
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    let unchanged = request
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    if unchanged {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    (StatusCode::OK, headers, body).into_response()
}

/// The app's pages load only their own scripts and styles, talk only to
/// this server (its WebSocket included), and are never framed.
fn page_security_headers(headers: &mut HeaderMap) {
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
             base-uri 'self'; form-action 'self'",
        ),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// What `/` shows when this binary was built without the UI.
const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confab — the web UI is not built</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; color: #18202b; background: #f4f6f9; margin: 0; padding: 48px 16px; }
  main { max-width: 620px; margin: auto; background: #fff; border: 1px solid #dfe3ea; border-radius: 12px; padding: 28px; }
  h1 { font-size: 22px; margin-top: 0; }
  pre { background: #18202b; color: #f4f6f9; padding: 12px 14px; border-radius: 8px; overflow-x: auto; }
  code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 14px; }
</style>
</head>
<body>
<main>
  <h1>Confab is running, but its web UI was not built into this binary</h1>
  <p>The API works (see <a href="/api/openapi.json">/api/openapi.json</a>). To get the agent inbox,
  build the UI with Node.js 20.19 or newer, then build Confab again:</p>
  <pre><code>npm --prefix web ci &amp;&amp; npm --prefix web run build
cargo run --release -- serve</code></pre>
  <p>Or run <code>./scripts/run</code>, which does both. See <code>docs/ui.md</code>.</p>
</main>
</body>
</html>
"#;

fn not_built(method: &Method) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    page_security_headers(&mut headers);
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(NOT_BUILT)
    };
    (StatusCode::OK, headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    const INDEX: &[u8] = b"<!doctype html><title>Confab</title>";
    const SCRIPT: &[u8] = b"console.log('confab')";

    fn fake(path: &str) -> Option<UiFile> {
        let (bytes, content_type): (&'static [u8], &'static str) = match path {
            "index.html" => (INDEX, "text/html"),
            "assets/index-abc123.js" => (SCRIPT, "text/javascript"),
            "assets/index-abc123.js.gz" => (b"\x1f\x8bgzipped", "application/gzip"),
            _ => return None,
        };
        Some(UiFile {
            bytes: Cow::Borrowed(bytes),
            content_type: Cow::Borrowed(content_type),
            etag: format!("\"{path}\""),
        })
    }

    fn nothing(_: &str) -> Option<UiFile> {
        None
    }

    fn api() -> Router {
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/api/v1/thing", get(|| async { "thing" }))
            .fallback(|| async { (StatusCode::NOT_FOUND, "api 404") })
    }

    async fn get_path(
        app: Router,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        app.oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec()
    }

    fn header<'a>(response: &'a Response, name: &str) -> &'a str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn root_and_app_pages_get_index_html_uncached() {
        for path in ["/", "/inbox/open/12", "/inbox/closed?scope=mine"] {
            let response = get_path(with_files(api(), fake), Method::GET, path, &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header(&response, "content-type"),
                "text/html; charset=utf-8"
            );
            assert_eq!(header(&response, "cache-control"), "no-cache");
            assert!(
                header(&response, "content-security-policy").contains("frame-ancestors 'none'")
            );
            assert_eq!(body(response).await, INDEX, "{path}");
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_cached_for_a_year_and_sent_gzipped_when_accepted() {
        let app = with_files(api(), fake);
        let plain = get_path(app.clone(), Method::GET, "/assets/index-abc123.js", &[]).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(
            header(&plain, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            header(&plain, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&plain, "vary"), "Accept-Encoding");
        assert_eq!(header(&plain, "content-encoding"), "");
        assert_eq!(body(plain).await, SCRIPT);

        let packed = get_path(
            app.clone(),
            Method::GET,
            "/assets/index-abc123.js",
            &[("accept-encoding", "br, gzip")],
        )
        .await;
        assert_eq!(header(&packed, "content-encoding"), "gzip");
        assert_eq!(
            header(&packed, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(body(packed).await, b"\x1f\x8bgzipped");

        let refused = get_path(
            app,
            Method::GET,
            "/assets/index-abc123.js",
            &[("accept-encoding", "gzip;q=0")],
        )
        .await;
        assert_eq!(header(&refused, "content-encoding"), "");
    }

    #[tokio::test]
    async fn a_matching_etag_answers_not_modified() {
        let response = get_path(
            with_files(api(), fake),
            Method::GET,
            "/",
            &[("if-none-match", "\"index.html\"")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert!(body(response).await.is_empty());
    }

    #[tokio::test]
    async fn head_has_headers_and_no_body() {
        let response = get_path(with_files(api(), fake), Method::HEAD, "/", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        assert!(body(response).await.is_empty());
    }

    #[tokio::test]
    async fn the_api_keeps_its_routes_and_its_404s() {
        let app = with_files(api(), fake);
        let thing = get_path(app.clone(), Method::GET, "/api/v1/thing", &[]).await;
        assert_eq!(body(thing).await, b"thing");
        let health = get_path(app.clone(), Method::GET, "/healthz", &[]).await;
        assert_eq!(body(health).await, b"ok");
        for path in [
            "/api/v1/nope",
            "/api",
            "/assets/gone-123.js",
            "/favicon.ico",
        ] {
            let response = get_path(app.clone(), Method::GET, path, &[]).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(body(response).await, b"api 404", "{path}");
        }
        let post = get_path(app, Method::POST, "/inbox", &[]).await;
        assert_eq!(post.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn without_a_build_pages_explain_how_to_build_the_ui() {
        let app = with_files(api(), nothing);
        for path in ["/", "/inbox/open"] {
            let response = get_path(app.clone(), Method::GET, path, &[]).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                header(&response, "content-type"),
                "text/html; charset=utf-8"
            );
            let text = String::from_utf8(body(response).await).expect("utf-8");
            assert!(text.contains("npm --prefix web ci &amp;&amp; npm --prefix web run build"));
        }
        let health = get_path(app, Method::GET, "/healthz", &[]).await;
        assert_eq!(body(health).await, b"ok");
    }

    #[test]
    fn the_embedded_build_has_an_index_when_it_was_built() {
        let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../web/dist/index.html")
            .is_file();
        assert_eq!(is_built(), built);
        if built {
            let index = embedded("index.html").expect("index.html");
            assert!(index.content_type.starts_with("text/html"));
        }
    }
}
