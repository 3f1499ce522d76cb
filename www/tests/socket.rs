//! The real binary on a real socket: `--addr 127.0.0.1:0`, the one stdout line the e2e harness
//! parses, a login over TCP, static files, a dropped connection, 1-second tokens expiring on
//! the wall clock, the secret kept in a database file across restarts, SIGTERM, and `--help`.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    process::{Child, ChildStdout, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use common::{form, TempDir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tokenkeeper-server");

struct Server {
    child: Child,
    addr: SocketAddr,
    stdout: Option<BufReader<ChildStdout>>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = tx.send(line);
            stdout
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a line within 30 s");
        let stdout = reader.join().unwrap();
        let url = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("listening on http://"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let addr: SocketAddr = url.parse().expect("an address");
        Server {
            child,
            addr,
            stdout: Some(stdout),
        }
    }

    fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Http {
        http(self.addr, method, path, headers, body)
    }

    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        let exit = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "still running 15 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut rest = String::new();
        self.stdout
            .take()
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        (exit, rest)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Http {
    raw: String,
    status: u16,
    body: String,
}

impl Http {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.raw))
    }
    fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next()?;
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Http {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    // A reset connection is an error here; what was read so far is kept.
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Http { raw, status, body }
}

fn site() -> (TempDir, String, String) {
    let root = TempDir::new("socket-site");
    std::fs::create_dir_all(root.join("static")).unwrap();
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("static/index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(root.join("pkg/tokenkeeper_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(root.join("pkg/tokenkeeper.js"), "export {}").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (static_dir, pkg_dir) = (s(&root.join("static")), s(&root.join("pkg")));
    (root, static_dir, pkg_dir)
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const JSON: (&str, &str) = ("Content-Type", "application/json");

#[test]
fn the_binary_serves_on_a_real_socket_and_stops_cleanly() {
    let (_root, static_dir, pkg_dir) = site();
    let server = Server::start(&[
        "--addr",
        "127.0.0.1:0",
        "--db",
        ":memory:",
        "--test-mode",
        "--access-ttl",
        "1",
        "--static-dir",
        &static_dir,
        "--pkg-dir",
        &pkg_dir,
        "--cors-origin",
        "http://127.0.0.1:9999",
    ]);
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(server.addr.port(), 0, "the real bound port is printed");

    let creds = form(&[
        ("username", "user@example.com"),
        ("password", "user-password"),
    ]);
    let login = server.http("POST", "/auth/login", &[FORM], &creds);
    assert_eq!(login.status, 200, "{}", login.raw);
    let access = login.json()["access_token"].as_str().unwrap().to_owned();
    let refresh = login.json()["refresh_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {access}");
    let me = server.http(
        "GET",
        "/auth/me",
        &[
            ("Authorization", &bearer),
            ("Origin", "http://127.0.0.1:9999"),
        ],
        "",
    );
    assert_eq!(me.status, 200, "{}", me.raw);
    assert_eq!(me.json()["email"], "user@example.com");
    assert_eq!(
        me.header("access-control-allow-origin").as_deref(),
        Some("http://127.0.0.1:9999")
    );

    let wasm = server.http("GET", "/pkg/tokenkeeper_bg.wasm", &[], "");
    assert_eq!(
        wasm.header("content-type").as_deref(),
        Some("application/wasm")
    );
    let js = server.http("GET", "/pkg/tokenkeeper.js", &[], "");
    assert_eq!(
        js.header("content-type").as_deref(),
        Some("text/javascript")
    );
    assert!(server
        .http("GET", "/", &[], "")
        .body
        .contains("<h1>demo</h1>"));

    // A dropped connection: no status line at all.
    let armed = server.http(
        "POST",
        "/__faults",
        &[JSON],
        r#"{"endpoint":"refresh","drop":true}"#,
    );
    assert_eq!(armed.status, 200, "{}", armed.raw);
    let body = format!(r#"{{"refresh_token":"{refresh}"}}"#);
    let dropped = server.http("POST", "/auth/refresh", &[JSON], &body);
    assert_eq!(dropped.raw, "", "nothing at all came back");
    assert_eq!(
        server.http("POST", "/auth/refresh", &[JSON], &body).status,
        200
    );

    // One-second tokens expire on the wall clock.
    std::thread::sleep(Duration::from_millis(2100));
    let expired = server.http("GET", "/auth/me", &[("Authorization", &bearer)], "");
    assert_eq!(expired.status, 401);
    assert_eq!(expired.json()["detail"], "Token has expired");
    assert_eq!(
        expired.header("www-authenticate").as_deref(),
        Some("Bearer")
    );

    let (exit, rest) = server.terminate();
    assert!(exit.success(), "SIGTERM exits cleanly: {exit:?}");
    assert_eq!(rest, "", "exactly one line on stdout");
}

#[test]
fn a_database_file_keeps_users_and_the_generated_secret_across_restarts() {
    let dir = TempDir::new("socket-db");
    let db = dir.join("nested/tokenkeeper.db");
    let db = db.to_str().unwrap();
    let first = Server::start(&["--addr", "127.0.0.1:0", "--db", db]);
    let creds = form(&[("username", "admin"), ("password", "admin-password")]);
    let token = first.http("POST", "/auth/login", &[FORM], &creds).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let signup = first.http(
        "POST",
        "/auth/signup",
        &[JSON],
        r#"{"email":"kept@example.com","password":"kept-password"}"#,
    );
    assert_eq!(signup.status, 201, "{}", signup.raw);
    assert!(first.terminate().0.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the file holds hashes and the secret");
    }

    let second = Server::start(&["--addr", "127.0.0.1:0", "--db", db]);
    let me = second.http(
        "GET",
        "/auth/me",
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    );
    assert_eq!(me.status, 200, "same secret, same session: {}", me.raw);
    let creds = form(&[
        ("username", "kept@example.com"),
        ("password", "kept-password"),
    ]);
    assert_eq!(
        second.http("POST", "/auth/login", &[FORM], &creds).status,
        200
    );
    drop(second);

    // An explicit secret replaces the stored one: old tokens stop verifying.
    let third = Server::start(&[
        "--addr",
        "127.0.0.1:0",
        "--db",
        db,
        "--secret",
        "an-explicit-secret-of-32-bytes!!",
    ]);
    let me = third.http(
        "GET",
        "/auth/me",
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    );
    assert_eq!(me.status, 401);
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--addr",
        "--db",
        "--static-dir",
        "--pkg-dir",
        "--access-ttl",
        "--refresh-ttl",
        "--refresh-grace",
        "--profile",
        "--cookie-mode",
        "--minimal-refresh-token",
        "--cors-origin",
        "--test-mode",
        "--secret",
        "--login-max-failures",
        "--login-max-failures-per-ip",
        "--login-window",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
        let env = format!("TOKENKEEPER_{}", flag[2..].to_uppercase().replace('-', "_"));
        assert!(help.contains(&env), "--help lacks {env}");
    }
    for profile in ["standard:", "minimal:", "v1:"] {
        assert!(help.contains(profile), "--help lacks the {profile} profile");
    }
}

#[test]
fn test_mode_is_refused_off_loopback_and_nothing_is_printed() {
    let out = Command::new(BIN)
        .args(["--addr", "0.0.0.0:0", "--test-mode", "--db", ":memory:"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--test-mode is refused"));
}

#[test]
fn flags_can_come_from_the_environment() {
    let server = {
        let mut child = Command::new(BIN)
            .env("TOKENKEEPER_ADDR", "127.0.0.1:0")
            .env("TOKENKEEPER_DB", ":memory:")
            .env("TOKENKEEPER_PROFILE", "v1")
            .env("TOKENKEEPER_TEST_MODE", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        (child, line)
    };
    let (mut child, line) = server;
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .parse()
        .unwrap();
    let login = http(
        addr,
        "POST",
        "/api/v1/login",
        &[JSON],
        r#"{"email":"user@example.com","password":"user-password"}"#,
    );
    assert_eq!(login.status, 200, "{}", login.raw);
    assert_eq!(
        http(addr, "GET", "/__stats", &[], "").status,
        200,
        "test mode from the environment"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
