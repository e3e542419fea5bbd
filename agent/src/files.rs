//! Small file-system helpers shared by the key store and the installer: temporary files that
//! cannot be hijacked and never outlive an error, and durable renames.

use std::path::{Path, PathBuf};

/// A random hex string, for names no other writer can have picked.
pub fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// A file being written under a temporary name; removed when dropped unless it was renamed
/// into place, so that no error path leaves a stray copy (of a key, or of a configuration
/// holding secrets) behind.
pub struct TempFile {
    pub path: PathBuf,
    pub file: std::fs::File,
    kept: bool,
}

impl TempFile {
    /// Creates `.<name>.<random>.tmp` next to `target`, readable by this user only. A fresh
    /// random name and `create_new` mean an existing file (or a link planted under that name)
    /// is never opened and written through.
    pub fn create_next_to(target: &Path) -> std::io::Result<TempFile> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut last = None;
        for _ in 0..8 {
            let path = dir.join(format!(".{name}.{}.tmp", random_suffix()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file,
                        kept: false,
                    });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary file name")))
    }

    /// Renames the file over `target`; from then on it is no longer removed on drop.
    pub fn persist(mut self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.kept = true;
        sync_dir(target);
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
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
        let temporary = TempFile::create_next_to(&target).unwrap();
        let path = temporary.path.clone();
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
