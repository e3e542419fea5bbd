use crate::api::Download;
use std::fmt;
use wasm_bindgen::JsCast;

/// Why the browser did not save a file. The API answered; it is the page that failed, so
/// this is not an `ApiError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadError {
    /// The browser refused to make a file of the bytes.
    NoFile,
    NoDocument,
    NoLink,
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoFile => "the browser refused to create the file",
            Self::NoDocument => "no document",
            Self::NoLink => "no link element",
        })
    }
}

impl std::error::Error for DownloadError {}

/// For callers that report a failure as words.
impl From<DownloadError> for String {
    fn from(error: DownloadError) -> Self {
        error.to_string()
    }
}

/// Hands a file to the browser's download mechanism under `filename`. The error converts
/// into the caller's own error type (its words, or a page's error enum), so callers need no
/// mapping.
pub fn save_download<E: From<DownloadError>>(filename: &str, download: &Download) -> Result<(), E> {
    save(filename, download).map_err(E::from)
}

fn save(filename: &str, download: &Download) -> Result<(), DownloadError> {
    let parts = js_sys::Array::new();
    parts.push(&js_sys::Uint8Array::from(download.bytes.as_slice()));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(&download.content_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| DownloadError::NoFile)?;
    let url =
        web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| DownloadError::NoFile)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or(DownloadError::NoDocument)?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| DownloadError::NoLink)?
        .dyn_into()
        .map_err(|_| DownloadError::NoLink)?;
    anchor.set_href(&url);
    anchor.set_download(filename);
    anchor.click();
    // The browser reads the file after the click returns; revoking at once can leave the
    // download unfinished, so the address is released a minute later.
    gloo_timers::callback::Timeout::new(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}
