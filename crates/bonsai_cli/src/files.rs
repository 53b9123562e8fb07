//! App files on disk for `bonsai run` (`wx.getFileSystemManager()`):
//! `<data dir>/files/<app id>/usr/…` and `…/store/…`.
//!
//! The engine hands over only [`SandboxPath`]s (plain names under `usr` or
//! `store`), so joining one under the app's directory cannot climb out of
//! it. This backend adds what the engine cannot know about a disk:
//! - no symlink is ever followed: every component of a path, and the app's
//!   directory itself, is checked with `symlink_metadata` and a symlink is
//!   refused (`permission denied`); a file that is read must be the very file
//!   that was checked (same device and inode), and the components are checked
//!   again once it is open, so a link planted in the app's directory cannot
//!   make a read leave it;
//! - writes are atomic: a temporary file in the same directory, synced, then
//!   renamed over the old one, so a crash leaves the old or the new content.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bonsai_engine::{FileMeta, FileSystemBackend, FsError, SandboxPath};

/// Names of in-progress writes; never shown to the app, never its names.
const WRITE_PREFIX: &str = ".bonsai-write-";

#[derive(Debug)]
pub struct DiskFileSystem {
    dir: PathBuf,
}

/// An I/O error as the app may see it: its kind, never a host path.
fn io_error(error: &std::io::Error) -> FsError {
    match error.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => FsError::NotFound,
        std::io::ErrorKind::PermissionDenied => FsError::Denied,
        kind => FsError::Io(kind.to_string()),
    }
}

fn seconds(time: std::io::Result<std::time::SystemTime>) -> u64 {
    time.ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// What `symlink_metadata` says about `path`: `None` when nothing is there,
/// refused when it is a symlink (or anything but a file or a directory).
fn lstat(path: &Path) -> Result<Option<std::fs::Metadata>, FsError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() || meta.is_dir() => Ok(Some(meta)),
        Ok(_) => Err(FsError::Denied),
        Err(error) => match io_error(&error) {
            FsError::NotFound => Ok(None),
            other => Err(other),
        },
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.is_file() == b.is_file()
}

impl DiskFileSystem {
    pub fn new(dir: PathBuf) -> Self {
        DiskFileSystem { dir }
    }

    /// `files/` in the user's data directory (next to `storage/`).
    pub fn in_user_data_dir() -> Option<Self> {
        Some(DiskFileSystem::new(
            crate::data_dir::user_data_dir()?.join("files"),
        ))
    }

    /// One directory per app id, spelled safely so no id can name another's.
    fn app_dir(&self, app_id: &str) -> PathBuf {
        self.dir.join(crate::data_dir::app_file_name(app_id))
    }

    /// The host path of `path`, after checking that neither the app's
    /// directory nor any existing component is a symlink, and that every
    /// existing ancestor is a directory.
    fn host_path(&self, app_id: &str, path: &SandboxPath) -> Result<PathBuf, FsError> {
        let mut current = self.app_dir(app_id);
        let mut exists = match lstat(&current)? {
            Some(meta) if meta.is_dir() => true,
            Some(_) => return Err(FsError::Denied),
            None => false,
        };
        let names: Vec<&str> = path.components().collect();
        for (index, name) in names.iter().enumerate() {
            if name.starts_with(WRITE_PREFIX) {
                return Err(FsError::Denied);
            }
            current.push(name);
            if !exists {
                continue;
            }
            match lstat(&current)? {
                Some(meta) if index + 1 < names.len() && !meta.is_dir() => {
                    return Err(FsError::NotFound);
                }
                Some(_) => {}
                None => exists = false,
            }
        }
        Ok(current)
    }

    /// Creates the app's own directory (never through a symlink).
    fn ensure_app_dir(&self, app_id: &str) -> Result<(), FsError> {
        let dir = self.app_dir(app_id);
        match lstat(&dir)? {
            Some(meta) if meta.is_dir() => Ok(()),
            Some(_) => Err(FsError::Denied),
            None => std::fs::create_dir_all(&dir).map_err(|e| io_error(&e)),
        }
    }
}

impl FileSystemBackend for DiskFileSystem {
    fn metadata(&self, app_id: &str, path: &SandboxPath) -> Result<Option<FileMeta>, FsError> {
        let host = self.host_path(app_id, path)?;
        Ok(lstat(&host)?.map(|meta| FileMeta {
            is_dir: meta.is_dir(),
            size: if meta.is_dir() { 0 } else { meta.len() },
            modified: seconds(meta.modified()),
        }))
    }

    fn read(&self, app_id: &str, path: &SandboxPath) -> Result<Vec<u8>, FsError> {
        let host = self.host_path(app_id, path)?;
        let checked = match lstat(&host)? {
            Some(meta) if meta.is_file() => meta,
            Some(_) => return Err(FsError::Io("is a directory".to_owned())),
            None => return Err(FsError::NotFound),
        };
        let mut file = std::fs::File::open(&host).map_err(|e| io_error(&e))?;
        let opened = file.metadata().map_err(|e| io_error(&e))?;
        // Swapped for a link (or through one) since it was checked: refuse.
        if !opened.is_file()
            || !same_file(&checked, &opened)
            || self.host_path(app_id, path)? != host
        {
            return Err(FsError::Denied);
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io_error(&e))?;
        Ok(bytes)
    }

    fn write(&self, app_id: &str, path: &SandboxPath, bytes: &[u8]) -> Result<(), FsError> {
        let host = self.host_path(app_id, path)?;
        let parent = host.parent().ok_or(FsError::NotFound)?;
        match lstat(parent)? {
            Some(meta) if meta.is_dir() => {}
            _ => return Err(FsError::NotFound),
        }
        if lstat(&host)?.is_some_and(|meta| meta.is_dir()) {
            return Err(FsError::Io("is a directory".to_owned()));
        }
        let write = || -> std::io::Result<()> {
            let mut temp = tempfile::Builder::new()
                .prefix(WRITE_PREFIX)
                .tempfile_in(parent)?;
            temp.write_all(bytes)?;
            temp.as_file().sync_all()?;
            // A rename replaces the name itself; it never follows a link there.
            temp.persist(&host).map_err(|e| e.error)?;
            Ok(())
        };
        write().map_err(|e| io_error(&e))
    }

    fn create_dir(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError> {
        if path.parent().is_none() {
            self.ensure_app_dir(app_id)?;
        }
        let host = self.host_path(app_id, path)?;
        std::fs::create_dir(&host).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => FsError::Io("file already exists".to_owned()),
            _ => io_error(&e),
        })
    }

    fn read_dir(&self, app_id: &str, path: &SandboxPath) -> Result<Vec<String>, FsError> {
        let host = self.host_path(app_id, path)?;
        match lstat(&host)? {
            Some(meta) if meta.is_dir() => {}
            Some(_) => return Err(FsError::Io("not a directory".to_owned())),
            None => return Err(FsError::NotFound),
        }
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&host).map_err(|e| io_error(&e))? {
            let entry = entry.map_err(|e| io_error(&e))?;
            // Names the app could not have made (not UTF-8, not plain) stay hidden.
            if let Some(name) = entry.file_name().to_str()
                && bonsai_engine::api::fs::is_plain_name(name)
                && !name.starts_with(WRITE_PREFIX)
            {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    fn remove_file(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError> {
        let host = self.host_path(app_id, path)?;
        match lstat(&host)? {
            Some(meta) if meta.is_file() => std::fs::remove_file(&host).map_err(|e| io_error(&e)),
            Some(_) => Err(FsError::Io("is a directory".to_owned())),
            None => Err(FsError::NotFound),
        }
    }

    fn remove_dir(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError> {
        let host = self.host_path(app_id, path)?;
        match lstat(&host)? {
            Some(meta) if meta.is_dir() => std::fs::remove_dir(&host).map_err(|e| io_error(&e)),
            Some(_) => Err(FsError::Io("not a directory".to_owned())),
            None => Err(FsError::NotFound),
        }
    }

    fn rename(&self, app_id: &str, from: &SandboxPath, to: &SandboxPath) -> Result<(), FsError> {
        let from_host = self.host_path(app_id, from)?;
        let to_host = self.host_path(app_id, to)?;
        if lstat(&from_host)?.is_none() {
            return Err(FsError::NotFound);
        }
        std::fs::rename(&from_host, &to_host).map_err(|e| io_error(&e))
    }

    fn used_bytes(&self, app_id: &str) -> Result<u64, FsError> {
        let mut total = 0u64;
        let root = self.app_dir(app_id);
        if !lstat(&root)?.is_some_and(|meta| meta.is_dir()) {
            return Ok(0);
        }
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).map_err(|e| io_error(&e))? {
                let entry = entry.map_err(|e| io_error(&e))?;
                // `DirEntry::metadata` does not follow symlinks.
                let meta = entry.metadata().map_err(|e| io_error(&e))?;
                if meta.is_dir() {
                    stack.push(entry.path());
                } else if meta.is_file() {
                    total = total.saturating_add(meta.len());
                }
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> SandboxPath {
        SandboxPath::parse(path).expect("a plain path")
    }

    fn with_roots(fs: &DiskFileSystem, app: &str) {
        fs.create_dir(app, &p("usr")).unwrap();
        fs.create_dir(app, &p("store")).unwrap();
    }

    #[test]
    fn files_round_trip_and_apps_are_isolated() {
        let dir = tempfile::tempdir().unwrap();
        let fs = DiskFileSystem::new(dir.path().to_owned());
        with_roots(&fs, "wx1");
        fs.create_dir("wx1", &p("usr/docs")).unwrap();
        fs.write("wx1", &p("usr/docs/a.txt"), b"hello").unwrap();
        fs.write("wx1", &p("usr/docs/a.txt"), b"hello again")
            .unwrap();
        assert_eq!(
            fs.read("wx1", &p("usr/docs/a.txt")).unwrap(),
            b"hello again"
        );
        let meta = fs.metadata("wx1", &p("usr/docs/a.txt")).unwrap().unwrap();
        assert!(!meta.is_dir);
        assert_eq!(meta.size, 11);
        assert_eq!(fs.read_dir("wx1", &p("usr/docs")).unwrap(), ["a.txt"]);
        assert_eq!(
            fs.write("wx1", &p("usr/missing/a.txt"), b"x"),
            Err(FsError::NotFound)
        );
        fs.rename("wx1", &p("usr/docs"), &p("usr/moved")).unwrap();
        assert_eq!(
            fs.read("wx1", &p("usr/moved/a.txt")).unwrap(),
            b"hello again"
        );
        assert_eq!(fs.used_bytes("wx1").unwrap(), 11);
        // Another app, and an id that tries to climb, see nothing of wx1's.
        assert_eq!(
            fs.read("wx2", &p("usr/moved/a.txt")),
            Err(FsError::NotFound)
        );
        assert_eq!(
            fs.read("../wx1", &p("usr/moved/a.txt")),
            Err(FsError::NotFound)
        );
        assert_eq!(fs.used_bytes("wx2").unwrap(), 0);
        fs.remove_file("wx1", &p("usr/moved/a.txt")).unwrap();
        fs.remove_dir("wx1", &p("usr/moved")).unwrap();
        assert!(fs.read_dir("wx1", &p("usr")).unwrap().is_empty());
        let apps: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(apps, ["wx1"], "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn planted_symlinks_are_never_followed() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let fs = DiskFileSystem::new(dir.path().to_owned());
        with_roots(&fs, "wx1");
        let usr = dir.path().join("wx1/usr");
        symlink("/etc", usr.join("etc")).unwrap();
        symlink("/etc/passwd", usr.join("passwd")).unwrap();
        for path in ["usr/etc/passwd", "usr/passwd", "usr/etc"] {
            assert_eq!(fs.metadata("wx1", &p(path)), Err(FsError::Denied), "{path}");
            assert_eq!(fs.read("wx1", &p(path)), Err(FsError::Denied), "{path}");
        }
        assert_eq!(fs.read_dir("wx1", &p("usr/etc")), Err(FsError::Denied));
        assert_eq!(fs.write("wx1", &p("usr/etc/x"), b"x"), Err(FsError::Denied));
        assert_eq!(
            fs.remove_file("wx1", &p("usr/passwd")),
            Err(FsError::Denied)
        );
        assert_eq!(
            fs.rename("wx1", &p("usr/passwd"), &p("usr/mine")),
            Err(FsError::Denied)
        );
        // The links themselves are still there, and nothing outside changed.
        assert!(usr.join("passwd").symlink_metadata().unwrap().is_symlink());
        assert_eq!(fs.used_bytes("wx1").unwrap(), 0);

        // A whole app directory replaced by a link is refused too.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir(elsewhere.path().join("usr")).unwrap();
        std::fs::write(elsewhere.path().join("usr/secret"), b"s").unwrap();
        symlink(elsewhere.path(), dir.path().join("wx2")).unwrap();
        assert_eq!(fs.read("wx2", &p("usr/secret")), Err(FsError::Denied));
        assert_eq!(fs.create_dir("wx2", &p("usr")), Err(FsError::Denied));
    }
}
