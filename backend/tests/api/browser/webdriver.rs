//! Debian's headless Chromium driven through chromedriver with fantoccini, behind the few
//! helpers the tests use: waiting for elements and text, typing, screenshots, downloads and
//! the browser's console log.

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use fantoccini::elements::Element;
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
    client: Client,
    pub downloads: PathBuf,
    _profile: tempfile::TempDir,
}

/// A chromedriver command outside the W3C set, on the session: `POST {path}` with `body`.
#[derive(Debug)]
struct Vendor {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for Vendor {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

impl Browser {
    pub async fn open(driver: &Driver, downloads: PathBuf, width: u32, height: u32) -> Self {
        let chromium = program("CHROMIUM", "/usr/bin/chromium");
        let profile = tempfile::Builder::new()
            .prefix("coordinator-browser-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(&downloads).unwrap();
        let capabilities = json!({
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
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        // chromedriver listens on localhost only: plain HTTP, no TLS.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|err| panic!("no browser session: {err}"));
        let browser = Self {
            client,
            downloads,
            _profile: profile,
        };
        browser
            .vendor(
                "goog/cdp/execute",
                json!({ "cmd": "Browser.setDownloadBehavior", "params": {
                    "behavior": "allow", "downloadPath": browser.downloads.display().to_string()
                }}),
            )
            .await;
        browser
    }

    async fn vendor(&self, path: &'static str, body: Value) -> Value {
        self.client
            .issue_cmd(Vendor { path, body })
            .await
            .unwrap_or_else(|err| panic!("WebDriver POST /{path} failed: {err}"))
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn current_url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    pub async fn script(&self, script: &str, args: Value) -> Value {
        let args = match args {
            Value::Array(args) => args,
            Value::Null => Vec::new(),
            other => vec![other],
        };
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|err| panic!("script `{script}` failed: {err}"))
    }

    /// Elements matching a CSS selector, now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
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
        element.click().await.unwrap();
    }

    pub async fn click_on(&self, css: &str) {
        let element = self.find(css).await;
        self.click(&element).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    /// Types into whatever has the focus, as a person at the keyboard would; `\u{E004}` is
    /// Tab and `\u{E007}` is Enter.
    pub async fn keys(&self, text: &str) {
        let active = self.client.active_element().await.unwrap();
        active.send_keys(text).await.unwrap();
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
        element.text().await.unwrap()
    }

    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        element.attr(name).await.unwrap()
    }

    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Console messages at level SEVERE (errors, uncaught exceptions, failed loads) since the
    /// last call.
    pub async fn console_errors(&self) -> Vec<String> {
        self.vendor("se/log", json!({ "type": "browser" }))
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
        self.client.close().await.unwrap();
    }
}
