//! Just enough of the W3C WebDriver protocol to drive Debian's headless Chromium through
//! chromedriver: sessions, navigation, elements, scripts, screenshots, downloads and the
//! browser's console log.

use base64::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a test waits for something to show up on the page.
pub const PATIENCE: Duration = Duration::from_secs(30);

fn program(var: &str, default: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: the browser tests need Debian's chromium and chromium-driver \
         (./scripts/test.sh installs them), or set {var}"
    );
    path
}

/// A running chromedriver; stopped when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub async fn start() -> Self {
        let binary = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let ready = client
                .get(format!("{url}/status"))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                break;
            }
            assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window.
pub struct Browser {
    client: reqwest::Client,
    session: String,
    pub downloads: PathBuf,
    _profile: tempfile_dir::TempDir,
}

/// A temporary folder removed on drop (the tests keep no browser profile).
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "{prefix}-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    pub async fn open(driver: &Driver, downloads: PathBuf, width: u32, height: u32) -> Self {
        let chromium = program("CHROMIUM", "/usr/bin/chromium");
        let profile = tempfile_dir::TempDir::new("coordinator-browser");
        std::fs::create_dir_all(&downloads).unwrap();
        let client = reqwest::Client::new();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--safebrowsing-disable-download-protection",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                    // The download check would ask a service this machine cannot reach,
                    // and leave every download unfinished while it waits.
                    "safebrowsing.enabled": false,
                },
            },
        }}});
        let reply: Value = client
            .post(format!("{}/session", driver.url))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {reply}"))
            .to_owned();
        let browser = Self {
            client,
            session: format!("{}/session/{session}", driver.url),
            downloads,
            _profile: profile,
        };
        browser
            .command(
                "POST",
                "/goog/cdp/execute",
                json!({ "cmd": "Browser.setDownloadBehavior", "params": {
                    "behavior": "allow", "downloadPath": browser.downloads.display().to_string()
                }}),
            )
            .await;
        browser
    }

    async fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        let request = match method {
            "GET" => self.client.get(url),
            "DELETE" => self.client.delete(url),
            _ => self.client.post(url).json(&body),
        };
        let reply: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(error) = reply["value"].get("error") {
            panic!(
                "WebDriver {method} {path} failed: {error}: {}",
                reply["value"]["message"]
            );
        }
        reply["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url })).await;
    }

    pub async fn current_url(&self) -> String {
        self.command("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Elements matching a CSS selector, now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.command(
            "POST",
            "/elements",
            json!({ "using": "css selector", "value": css }),
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Element(e[ELEMENT_KEY].as_str().unwrap().to_owned()))
        .collect()
    }

    /// Waits until `css` matches an element.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.all(css).await.into_iter().next() {
                return element;
            }
            if started.elapsed() >= PATIENCE {
                let shot = self.downloads.join("failure.png");
                self.screenshot(&shot).await;
                panic!(
                    "nothing matched `{css}` on {} within {PATIENCE:?} (screenshot: {})",
                    self.current_url().await,
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `check` answers true, re-evaluating it every 100 ms. On a timeout the
    /// page is kept as `failure.png` beside the downloads, to see what the browser showed.
    pub async fn wait_for(&self, what: &str, check: impl AsyncFn() -> bool) {
        let started = Instant::now();
        while !check().await {
            if started.elapsed() >= PATIENCE {
                let shot = self.downloads.join("failure.png");
                self.screenshot(&shot).await;
                let text = self
                    .script("return document.body.innerText;", Value::Array(vec![]))
                    .await;
                panic!(
                    "waited {PATIENCE:?} for {what} on {} (screenshot: {}); the page read:\n{}",
                    self.current_url().await,
                    shot.display(),
                    text.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of the first element matching `css` contains `wanted`.
    pub async fn wait_for_text(&self, css: &str, wanted: &str) {
        self.wait_for(&format!("`{css}` to read `{wanted}`"), async || match self
            .all(css)
            .await
            .into_iter()
            .next()
        {
            Some(element) => self.text(&element).await.contains(wanted),
            None => false,
        })
        .await;
    }

    pub async fn click(&self, element: &Element) {
        self.command("POST", &format!("/element/{}/click", element.0), json!({}))
            .await;
    }

    pub async fn click_on(&self, css: &str) {
        let element = self.find(css).await;
        self.click(&element).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command("POST", &format!("/element/{}/clear", element.0), json!({}))
            .await;
        self.command(
            "POST",
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// Types into whatever has the focus, as a person at the keyboard would; `\u{E004}` is
    /// Tab and `\u{E007}` is Enter.
    pub async fn keys(&self, text: &str) {
        let active = self.command("GET", "/element/active", Value::Null).await;
        let id = active[ELEMENT_KEY].as_str().unwrap().to_owned();
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// The `id` of the element that has the focus.
    pub async fn focused_id(&self) -> String {
        self.script("return document.activeElement.id;", Value::Array(vec![]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.0), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.command(
            "GET",
            &format!("/element/{}/attribute/{name}", element.0),
            Value::Null,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    pub async fn screenshot(&self, path: &Path) {
        let data = self.command("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Console messages at level SEVERE (errors, uncaught exceptions, failed loads) since the
    /// last call.
    pub async fn console_errors(&self) -> Vec<String> {
        self.command("POST", "/se/log", json!({ "type": "browser" }))
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits for a finished download whose name ends with `suffix`; returns its content.
    pub async fn downloaded(&self, suffix: &str) -> String {
        let started = Instant::now();
        loop {
            let found = std::fs::read_dir(&self.downloads)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(suffix));
            if let Some(path) = found {
                return std::fs::read_to_string(path).unwrap();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no download ending in {suffix} within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn close(self) {
        self.command("DELETE", "", Value::Null).await;
    }
}
