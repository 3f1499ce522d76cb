//! Demo files at `/` and the wasm package at `/pkg/`, with the types browsers insist on.

mod common;

use common::*;
use tokenkeeper_server::Config;

fn site(name: &str) -> (TestApp, TempDir) {
    let root = TempDir::new(name);
    let (static_dir, pkg_dir) = (root.join("static"), root.join("pkg"));
    std::fs::create_dir_all(static_dir.join("docs")).unwrap();
    std::fs::create_dir_all(&pkg_dir).unwrap();
    std::fs::write(
        static_dir.join("index.html"),
        "<!doctype html><title>demo</title>",
    )
    .unwrap();
    std::fs::write(static_dir.join("docs/index.html"), "docs").unwrap();
    std::fs::write(static_dir.join("app.js"), "export {}").unwrap();
    std::fs::write(pkg_dir.join("tokenkeeper_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        pkg_dir.join("tokenkeeper.js"),
        "export default function init() {}",
    )
    .unwrap();
    std::fs::write(root.join("secret.txt"), "do not serve").unwrap();
    let app = TestApp::with(Config {
        static_dir,
        pkg_dir,
        ..config()
    });
    (app, root)
}

#[tokio::test]
async fn index_html_at_the_root_and_in_directories() {
    let (app, _dir) = site("index");
    let r = app.get("/", None).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("<title>demo</title>"));
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(app.get("/docs/", None).await.text, "docs");
}

#[tokio::test]
async fn wasm_and_javascript_get_their_types() {
    let (app, _dir) = site("types");
    let r = app.get("/pkg/tokenkeeper_bg.wasm", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    let r = app.get("/pkg/tokenkeeper.js", None).await;
    assert_eq!(r.header("content-type"), Some("text/javascript"));
    assert_eq!(
        app.get("/app.js", None).await.header("content-type"),
        Some("text/javascript")
    );
}

#[tokio::test]
async fn missing_files_are_json_404s_and_nothing_escapes_the_directories() {
    let (app, _dir) = site("missing");
    for path in [
        "/missing.html",
        "/pkg/missing.js",
        "/pkg/../secret.txt",
        "/pkg/..%2fsecret.txt",
        "/..%2fsecret.txt",
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.text.contains("do not serve"), "{path}");
    }
    assert_eq!(
        app.get("/missing.html", None).await.json["detail"],
        "Not Found"
    );
}

#[tokio::test]
async fn missing_directories_do_not_stop_the_api() {
    let root = TempDir::new("nothing");
    let app = TestApp::with(Config {
        static_dir: root.join("absent"),
        pkg_dir: root.join("absent-too"),
        ..config()
    });
    assert_eq!(app.get("/", None).await.status, 404);
    assert_eq!(app.get("/pkg/tokenkeeper.js", None).await.status, 404);
    app.login(USER).await;
}

#[tokio::test]
async fn api_routes_take_precedence_over_files() {
    let (app, _dir) = site("precedence");
    std::fs::create_dir_all(app.state.config.static_dir.join("auth")).unwrap();
    std::fs::write(app.state.config.static_dir.join("auth/me"), "a file").unwrap();
    app.get("/auth/me", None)
        .await
        .assert_error(401, "Not authenticated");
}
