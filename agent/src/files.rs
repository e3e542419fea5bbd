//! Small file-system helpers shared by the key store and the installer: temporary files that
//! cannot be hijacked and never outlive an error, and durable renames.

use std::path::Path;
use tempfile::NamedTempFile;

/// A random hex string, for the tests' own scratch folders.
#[cfg(test)]
pub fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// Creates `.<name>.<random>.tmp` next to `target`, readable by this user only, for
/// writing a file that replaces `target` in one rename. It is created exclusively, so an
/// existing file (or a link planted under that name) is never opened and written through,
/// and it is removed when dropped unless persisted, so that no error path leaves a stray copy
/// (of a key, or of a configuration holding secrets) behind.
pub fn temp_file_next_to(target: &Path) -> std::io::Result<NamedTempFile> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
}

/// Renames the temporary file over `target`, durably.
pub fn persist(temporary: NamedTempFile, target: &Path) -> std::io::Result<()> {
    temporary.persist(target)?;
    sync_dir(target);
    Ok(())
}

/// Makes a rename or a new file in `path`'s directory durable. Best effort: not every
/// platform can open a directory.
pub fn sync_dir(path: &Path) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abandoned_temporary_file_is_removed() {
        let dir = std::env::temp_dir().join(format!(
            "agent-files-{}-{}",
            std::process::id(),
            random_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("config.json");
        let temporary = temp_file_next_to(&target).unwrap();
        let path = temporary.path().to_owned();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(".config.json.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert!(path.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(temporary);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
