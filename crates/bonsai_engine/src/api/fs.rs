//! `wx.getFileSystemManager()` and saved files: a per-app file system
//! sandboxed under `wx.env.USER_DATA_PATH`.
//!
//! Apps name files by WeChat's local paths: `wxfile://usr/…` (the app's
//! USER_DATA_PATH, persistent), `wxfile://store_…` (files kept with
//! `saveFile`, persistent) and `wxfile://tmp_…` (this run's temporary files:
//! downloads, photos). Every path an app gives is resolved in [`resolve`] and
//! nowhere else: a `..` that would leave its root, another scheme, an
//! absolute host path, a NUL byte or any other name fails with WeChat's
//! `permission denied`.
//!
//! Persistent files go through the host's [`FileSystemBackend`], which only
//! ever sees an app id and a [`SandboxPath`]: a relative path whose every
//! component is a plain name, under one of two roots, `usr` and `store`. So
//! a backend is never asked for anything outside the app's own directory.
//! Temporary files live in the instance and vanish with it, as in WeChat.
//! `usr` and `store` share WeChat's 200 MB quota.
//!
//! The JS side (js/host.js) builds the manager object; its methods call the
//! handlers here as `FileSystemManager.<method>`. Binary data crosses as
//! base64.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability, options};
use crate::HostState;

/// WeChat's limit for everything under USER_DATA_PATH and the saved files.
pub const QUOTA_BYTES: u64 = 200 * 1024 * 1024;
const QUOTA_EXCEEDED: &str = "the maximum size of the file storage limit is exceeded";
const SCHEME: &str = "wxfile://";
const MAX_NAME_BYTES: usize = 255;
const MAX_PATH_BYTES: usize = 4096;
/// `Stats.mode` as POSIX `st_mode`: a regular file (0644) and a directory (0755).
const MODE_FILE: u32 = 0o100_644;
const MODE_DIR: u32 = 0o040_755;

// ---- what a backend sees ------------------------------------------------------

/// A path inside one app's file root, relative, whose every component is a
/// plain name: never empty, `.`, `..`, and never containing `/`, `\`, NUL or
/// another control character. The only way to make one is [`SandboxPath::parse`],
/// so a backend given one can join it under the app's directory safely.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SandboxPath(String);

impl SandboxPath {
    /// `usr/a/b.txt`; `None` for anything that is not such a path.
    pub fn parse(path: &str) -> Option<SandboxPath> {
        if path.is_empty() || path.len() > MAX_PATH_BYTES {
            return None;
        }
        path.split('/')
            .all(is_plain_name)
            .then(|| SandboxPath(path.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plain names, root first.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last component.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The directory holding this path; `None` for a root (`usr`).
    pub fn parent(&self) -> Option<SandboxPath> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| SandboxPath(parent.to_owned()))
    }

    /// `self/name`, when `name` is a plain name and the result is not too long.
    pub fn join(&self, name: &str) -> Option<SandboxPath> {
        if !is_plain_name(name) {
            return None;
        }
        SandboxPath::parse(&format!("{}/{name}", self.0))
    }

    /// Whether this is `other` or inside it.
    pub fn is_within(&self, other: &SandboxPath) -> bool {
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    fn is_root(&self) -> bool {
        !self.0.contains('/')
    }
}

impl std::fmt::Display for SandboxPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name a path component may have.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= MAX_NAME_BYTES
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
}

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    pub is_dir: bool,
    /// Bytes, for a file.
    pub size: u64,
    /// Last modification, in seconds since the Unix epoch.
    pub modified: u64,
}

/// Why a backend could not do something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsError {
    /// Nothing is at the path, or its parent is not a directory.
    NotFound,
    /// The backend refuses the path (e.g. a symlink planted in the app's directory).
    Denied,
    /// Anything else. The text reaches the app, so it must not name host paths.
    Io(String),
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsError::NotFound => f.write_str("no such file or directory"),
            FsError::Denied => f.write_str("permission denied"),
            FsError::Io(message) => f.write_str(message),
        }
    }
}

/// Keeps apps' files. The engine does no I/O: a host implements this (the
/// CLI on disk under the user's data directory); [`MemoryFileSystem`] is the
/// default. Every call names the app and a [`SandboxPath`] the engine has
/// validated; the engine checks WeChat's rules (parents exist, types match,
/// the quota) before it calls, so a backend only carries the operation out.
pub trait FileSystemBackend: std::fmt::Debug + Send + Sync {
    /// What is at `path`, or `None` when nothing is.
    fn metadata(&self, app_id: &str, path: &SandboxPath) -> Result<Option<FileMeta>, FsError>;
    /// The whole content of the file at `path`.
    fn read(&self, app_id: &str, path: &SandboxPath) -> Result<Vec<u8>, FsError>;
    /// Creates or replaces the file at `path` (its parent is a directory).
    /// It must be atomic: the old or the new content, never a mix.
    fn write(&self, app_id: &str, path: &SandboxPath, bytes: &[u8]) -> Result<(), FsError>;
    /// Creates the directory `path` (its parent is a directory, or `path` is
    /// a root, `usr` or `store`).
    fn create_dir(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError>;
    /// The names directly inside the directory `path`, in any order.
    fn read_dir(&self, app_id: &str, path: &SandboxPath) -> Result<Vec<String>, FsError>;
    fn remove_file(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError>;
    /// Removes the directory `path`, which is empty.
    fn remove_dir(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError>;
    /// Moves a file or a directory (with its contents) from `from` to `to`,
    /// replacing a file at `to`.
    fn rename(&self, app_id: &str, from: &SandboxPath, to: &SandboxPath) -> Result<(), FsError>;
    /// How many bytes the app's files take, in all.
    fn used_bytes(&self, app_id: &str) -> Result<u64, FsError>;
}

/// Seconds since the Unix epoch, for file times.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

enum MemoryEntry {
    File { bytes: Vec<u8>, modified: u64 },
    Dir { modified: u64 },
}

/// Apps' files in memory: the default backend (gone when dropped), and a
/// shared one lets tests run several instances over the same files.
#[derive(Default)]
pub struct MemoryFileSystem {
    apps: Mutex<HashMap<String, BTreeMap<String, MemoryEntry>>>,
}

impl std::fmt::Debug for MemoryFileSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let apps = self.apps.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MemoryFileSystem")
            .field("apps", &apps.len())
            .finish()
    }
}

impl MemoryFileSystem {
    pub fn new() -> Self {
        MemoryFileSystem::default()
    }

    fn with<R>(
        &self,
        app_id: &str,
        run: impl FnOnce(&mut BTreeMap<String, MemoryEntry>) -> R,
    ) -> R {
        let mut apps = self.apps.lock().unwrap_or_else(PoisonError::into_inner);
        run(apps.entry(app_id.to_owned()).or_default())
    }
}

fn memory_parent_is_dir(tree: &BTreeMap<String, MemoryEntry>, path: &SandboxPath) -> bool {
    match path.parent() {
        None => true,
        Some(parent) => matches!(tree.get(parent.as_str()), Some(MemoryEntry::Dir { .. })),
    }
}

/// Keys strictly inside `path`, at any depth.
fn memory_descendants<'a>(
    tree: &'a BTreeMap<String, MemoryEntry>,
    path: &str,
) -> impl Iterator<Item = &'a String> {
    let prefix = format!("{path}/");
    tree.range(prefix.clone()..)
        .map(|(key, _)| key)
        .take_while(move |key| key.starts_with(&prefix))
}

impl FileSystemBackend for MemoryFileSystem {
    fn metadata(&self, app_id: &str, path: &SandboxPath) -> Result<Option<FileMeta>, FsError> {
        Ok(self.with(app_id, |tree| {
            tree.get(path.as_str()).map(|entry| match entry {
                MemoryEntry::File { bytes, modified } => FileMeta {
                    is_dir: false,
                    size: bytes.len() as u64,
                    modified: *modified,
                },
                MemoryEntry::Dir { modified } => FileMeta {
                    is_dir: true,
                    size: 0,
                    modified: *modified,
                },
            })
        }))
    }

    fn read(&self, app_id: &str, path: &SandboxPath) -> Result<Vec<u8>, FsError> {
        self.with(app_id, |tree| match tree.get(path.as_str()) {
            Some(MemoryEntry::File { bytes, .. }) => Ok(bytes.clone()),
            Some(MemoryEntry::Dir { .. }) => Err(FsError::Io("is a directory".to_owned())),
            None => Err(FsError::NotFound),
        })
    }

    fn write(&self, app_id: &str, path: &SandboxPath, bytes: &[u8]) -> Result<(), FsError> {
        self.with(app_id, |tree| {
            if !memory_parent_is_dir(tree, path) {
                return Err(FsError::NotFound);
            }
            if let Some(MemoryEntry::Dir { .. }) = tree.get(path.as_str()) {
                return Err(FsError::Io("is a directory".to_owned()));
            }
            let entry = MemoryEntry::File {
                bytes: bytes.to_vec(),
                modified: now_secs(),
            };
            tree.insert(path.as_str().to_owned(), entry);
            Ok(())
        })
    }

    fn create_dir(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError> {
        self.with(app_id, |tree| {
            if !memory_parent_is_dir(tree, path) {
                return Err(FsError::NotFound);
            }
            if tree.contains_key(path.as_str()) {
                return Err(FsError::Io("file already exists".to_owned()));
            }
            let entry = MemoryEntry::Dir {
                modified: now_secs(),
            };
            tree.insert(path.as_str().to_owned(), entry);
            Ok(())
        })
    }

    fn read_dir(&self, app_id: &str, path: &SandboxPath) -> Result<Vec<String>, FsError> {
        self.with(app_id, |tree| match tree.get(path.as_str()) {
            Some(MemoryEntry::Dir { .. }) => {
                let skip = path.as_str().len() + 1;
                Ok(memory_descendants(tree, path.as_str())
                    .map(|key| &key[skip..])
                    .filter(|rest| !rest.contains('/'))
                    .map(str::to_owned)
                    .collect())
            }
            Some(MemoryEntry::File { .. }) => Err(FsError::Io("not a directory".to_owned())),
            None => Err(FsError::NotFound),
        })
    }

    fn remove_file(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError> {
        self.with(app_id, |tree| match tree.get(path.as_str()) {
            Some(MemoryEntry::File { .. }) => {
                tree.remove(path.as_str());
                Ok(())
            }
            Some(MemoryEntry::Dir { .. }) => Err(FsError::Io("is a directory".to_owned())),
            None => Err(FsError::NotFound),
        })
    }

    fn remove_dir(&self, app_id: &str, path: &SandboxPath) -> Result<(), FsError> {
        self.with(app_id, |tree| match tree.get(path.as_str()) {
            Some(MemoryEntry::Dir { .. }) => {
                if memory_descendants(tree, path.as_str()).next().is_some() {
                    return Err(FsError::Io("directory not empty".to_owned()));
                }
                tree.remove(path.as_str());
                Ok(())
            }
            Some(MemoryEntry::File { .. }) => Err(FsError::Io("not a directory".to_owned())),
            None => Err(FsError::NotFound),
        })
    }

    fn rename(&self, app_id: &str, from: &SandboxPath, to: &SandboxPath) -> Result<(), FsError> {
        self.with(app_id, |tree| {
            if !tree.contains_key(from.as_str()) || !memory_parent_is_dir(tree, to) {
                return Err(FsError::NotFound);
            }
            if let Some(MemoryEntry::Dir { .. }) = tree.get(to.as_str()) {
                return Err(FsError::Io("file already exists".to_owned()));
            }
            if to.is_within(from) {
                return Err(FsError::Io("invalid argument".to_owned()));
            }
            let mut moved: Vec<String> = memory_descendants(tree, from.as_str()).cloned().collect();
            moved.push(from.as_str().to_owned());
            for key in moved {
                if let Some(entry) = tree.remove(&key) {
                    tree.insert(format!("{to}{}", &key[from.as_str().len()..]), entry);
                }
            }
            Ok(())
        })
    }

    fn used_bytes(&self, app_id: &str) -> Result<u64, FsError> {
        Ok(self.with(app_id, |tree| {
            tree.values()
                .map(|entry| match entry {
                    MemoryEntry::File { bytes, .. } => bytes.len() as u64,
                    MemoryEntry::Dir { .. } => 0,
                })
                .sum()
        }))
    }
}

// ---- paths apps give ------------------------------------------------------------

/// Where an app's path points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// `wxfile://usr/…`; the root itself is `usr`.
    User(SandboxPath),
    /// `wxfile://store_…`: a saved file, `store/store_…`.
    Saved(SandboxPath),
    /// `wxfile://tmp_…`: a temporary file of this instance, by name.
    Temp(String),
}

impl Location {
    fn backend_path(&self) -> Option<&SandboxPath> {
        match self {
            Location::User(path) | Location::Saved(path) => Some(path),
            Location::Temp(_) => None,
        }
    }

    /// A file or directory under USER_DATA_PATH other than its root: what
    /// an app may create, change and remove.
    fn writable(self) -> Option<SandboxPath> {
        match self {
            Location::User(path) if !path.is_root() => Some(path),
            _ => None,
        }
    }
}

/// The one place apps' paths are resolved; `None` means permission denied.
fn resolve(raw: &str) -> Option<Location> {
    let rest = raw.strip_prefix(SCHEME)?;
    let mut parts = rest.split('/');
    let root = parts.next()?;
    let mut names: Vec<&str> = Vec::new();
    for part in parts {
        match part {
            "" | "." => {}
            // Leaving the root is never allowed, not even to come back.
            ".." => {
                names.pop()?;
            }
            name => names.push(name),
        }
    }
    match root {
        "usr" => {
            let path = std::iter::once("usr")
                .chain(names)
                .collect::<Vec<_>>()
                .join("/");
            SandboxPath::parse(&path).map(Location::User)
        }
        name if name.starts_with("store_") && names.is_empty() => {
            SandboxPath::parse(&format!("store/{name}")).map(Location::Saved)
        }
        name if name.starts_with("tmp_") && names.is_empty() && is_plain_name(name) => {
            Some(Location::Temp(name.to_owned()))
        }
        _ => None,
    }
}

/// How one call words its failures: WeChat names the operation and path(s).
struct Words {
    /// The path a failure is about, as the app gave it.
    path: String,
    not_found: String,
    denied: String,
}

impl Words {
    /// `readFile`, `writeFile`…: `no such file or directory, open <path>`.
    fn open(path: &str) -> Words {
        Words {
            path: path.to_owned(),
            not_found: format!("no such file or directory, open {path}"),
            denied: format!("permission denied, open {path}"),
        }
    }

    /// `mkdir`, `stat`, `access`…: `no such file or directory <path>`.
    fn plain(path: &str) -> Words {
        Words {
            path: path.to_owned(),
            not_found: format!("no such file or directory {path}"),
            denied: format!("permission denied, open {path}"),
        }
    }

    /// `rename`, `copyFile`: `… , rename <from> -> <to>`.
    fn pair(verb: &str, from: &str, to: &str) -> Words {
        Words {
            path: to.to_owned(),
            not_found: format!("no such file or directory, {verb} {from} -> {to}"),
            denied: format!("permission denied, {verb} {from} -> {to}"),
        }
    }

    fn backend(&self, error: FsError) -> String {
        match error {
            FsError::NotFound => self.not_found.clone(),
            FsError::Denied => self.denied.clone(),
            FsError::Io(message) => format!("system error: {message}"),
        }
    }

    fn directory(&self) -> String {
        format!("illegal operation on a directory, open {}", self.path)
    }

    fn not_directory(&self) -> String {
        format!("not a directory {}", self.path)
    }
}

// ---- the instance's files ---------------------------------------------------------

struct TempFile {
    bytes: Vec<u8>,
    created: u64,
}

/// One instance's view of its app's files: the backend for `usr` and
/// `store`, and the temporary files, which live only as long as the instance.
pub(crate) struct Files {
    backend: Arc<dyn FileSystemBackend>,
    app_id: String,
    roots_ready: bool,
    temp: BTreeMap<String, TempFile>,
    /// Names handed out so far; part of each new name.
    names: u64,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("backend", &self.backend)
            .field("app_id", &self.app_id)
            .field("temp_files", &self.temp.len())
            .finish()
    }
}

impl Files {
    pub(crate) fn new(backend: Option<Arc<dyn FileSystemBackend>>, app_id: String) -> Files {
        Files {
            backend: backend.unwrap_or_else(|| Arc::new(MemoryFileSystem::new())),
            app_id,
            roots_ready: false,
            temp: BTreeMap::new(),
            names: 0,
        }
    }

    fn meta(&self, location: &Location) -> Result<Option<FileMeta>, FsError> {
        match location {
            Location::Temp(name) => Ok(self.temp.get(name).map(|file| FileMeta {
                is_dir: false,
                size: file.bytes.len() as u64,
                modified: file.created,
            })),
            Location::User(path) | Location::Saved(path) => {
                let found = self.backend.metadata(&self.app_id, path)?;
                // The roots always exist, even before the first write.
                Ok(found.or_else(|| {
                    path.is_root().then_some(FileMeta {
                        is_dir: true,
                        size: 0,
                        modified: 0,
                    })
                }))
            }
        }
    }

    fn read(&self, location: &Location) -> Result<Vec<u8>, FsError> {
        match location {
            Location::Temp(name) => self
                .temp
                .get(name)
                .map(|file| file.bytes.clone())
                .ok_or(FsError::NotFound),
            Location::User(path) | Location::Saved(path) => self.backend.read(&self.app_id, path),
        }
    }

    fn list(&self, dir: &SandboxPath) -> Result<Vec<String>, FsError> {
        match self.backend.read_dir(&self.app_id, dir) {
            Err(FsError::NotFound) if dir.is_root() => Ok(Vec::new()),
            other => other,
        }
    }

    /// Creates the roots in the backend before the first change.
    fn ensure_roots(&mut self) -> Result<(), FsError> {
        if self.roots_ready {
            return Ok(());
        }
        for root in ["usr", "store"] {
            let root = SandboxPath(root.to_owned());
            if self.backend.metadata(&self.app_id, &root)?.is_none() {
                self.backend.create_dir(&self.app_id, &root)?;
            }
        }
        self.roots_ready = true;
        Ok(())
    }

    /// Fails when adding `adding` bytes (and freeing `freeing`) would pass the quota.
    fn check_quota(&self, adding: u64, freeing: u64, words: &Words) -> Result<(), String> {
        let used = self
            .backend
            .used_bytes(&self.app_id)
            .map_err(|e| words.backend(e))?;
        if used.saturating_sub(freeing).saturating_add(adding) > QUOTA_BYTES {
            return Err(QUOTA_EXCEEDED.to_owned());
        }
        Ok(())
    }

    /// Writes a whole file at `path` with WeChat's checks: the parent is a
    /// directory, `path` is not one, the quota holds.
    fn put(&mut self, path: &SandboxPath, bytes: &[u8], words: &Words) -> Result<(), String> {
        let backend_error = |e| words.backend(e);
        let parent = path.parent().ok_or_else(|| words.denied.clone())?;
        match self.meta(&Location::User(parent)).map_err(backend_error)? {
            None => return Err(words.not_found.clone()),
            Some(meta) if !meta.is_dir => return Err(words.not_directory()),
            Some(_) => {}
        }
        let existing = self
            .backend
            .metadata(&self.app_id, path)
            .map_err(backend_error)?;
        if existing.is_some_and(|m| m.is_dir) {
            return Err(words.directory());
        }
        self.check_quota(bytes.len() as u64, existing.map_or(0, |m| m.size), words)?;
        self.ensure_roots().map_err(backend_error)?;
        self.backend
            .write(&self.app_id, path, bytes)
            .map_err(backend_error)
    }

    /// A fresh name with `prefix` and the extension: `tmp_3f…9a.png`.
    fn fresh_name(&mut self, prefix: &str, bytes: &[u8], extension: &str) -> String {
        let extension: String = extension
            .trim_start_matches('.')
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(10)
            .collect();
        loop {
            self.names += 1;
            let mut hash = Fnv::new();
            hash.write(self.app_id.as_bytes());
            hash.write(&self.names.to_le_bytes());
            hash.write(bytes);
            let name = if extension.is_empty() {
                format!("{prefix}{:016x}", hash.finish())
            } else {
                format!("{prefix}{:016x}.{extension}", hash.finish())
            };
            let taken = match prefix {
                "store_" => SandboxPath::parse(&format!("store/{name}")).is_none_or(|path| {
                    !matches!(self.backend.metadata(&self.app_id, &path), Ok(None))
                }),
                _ => self.temp.contains_key(&name),
            };
            if !taken {
                return name;
            }
        }
    }

    /// Removes a directory and everything in it, deepest first.
    fn remove_tree(&self, dir: &SandboxPath) -> Result<(), FsError> {
        let mut stack = vec![(dir.clone(), false)];
        while let Some((dir, emptied)) = stack.pop() {
            if emptied {
                self.backend.remove_dir(&self.app_id, &dir)?;
                continue;
            }
            stack.push((dir.clone(), true));
            for name in self.backend.read_dir(&self.app_id, &dir)? {
                let child = dir
                    .join(&name)
                    .ok_or_else(|| FsError::Io(format!("unusable name {name:?}")))?;
                match self.backend.metadata(&self.app_id, &child)? {
                    Some(meta) if meta.is_dir => stack.push((child, false)),
                    Some(_) => self.backend.remove_file(&self.app_id, &child)?,
                    None => {}
                }
            }
        }
        Ok(())
    }
}

/// FNV-1a, for file names that are stable run to run.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl HostState {
    /// Keeps `bytes` as a temporary file of this run and returns its path
    /// (`wxfile://tmp_….ext`), for APIs that produce files (downloads,
    /// photos). It is gone when the instance is.
    pub(crate) fn create_temp_file(&mut self, bytes: Vec<u8>, extension: &str) -> String {
        let name = self.files.fresh_name("tmp_", &bytes, extension);
        let file = TempFile {
            bytes,
            created: now_secs(),
        };
        self.files.temp.insert(name.clone(), file);
        format!("{SCHEME}{name}")
    }

    /// The content of a file the app can read (`wxfile://usr/…`,
    /// `wxfile://tmp_…`, `wxfile://store_…`), for APIs that take a file path
    /// (uploads, previews). The error is WeChat's wording after `fail `.
    pub(crate) fn read_file(&self, path: &str) -> Result<Vec<u8>, String> {
        let words = Words::open(path);
        let location = resolve(path).ok_or_else(|| words.denied.clone())?;
        match self.files.meta(&location).map_err(|e| words.backend(e))? {
            None => Err(words.not_found),
            Some(meta) if meta.is_dir => Err(words.directory()),
            Some(_) => self.files.read(&location).map_err(|e| words.backend(e)),
        }
    }

    /// Whether the app may write a file at `path` (under USER_DATA_PATH);
    /// the error is WeChat's wording after `fail `.
    pub(crate) fn check_user_path(&self, path: &str) -> Result<(), String> {
        resolve(path)
            .and_then(Location::writable)
            .map(drop)
            .ok_or_else(|| Words::open(path).denied)
    }

    /// Writes a whole file under USER_DATA_PATH as `writeFile` does (the
    /// parent must exist, the quota holds), for APIs that save to a path the
    /// app chose (`downloadFile`'s `filePath`).
    pub(crate) fn write_user_file(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), String> {
        let words = Words::open(path);
        let target = resolve(path)
            .and_then(Location::writable)
            .ok_or_else(|| words.denied.clone())?;
        self.files.put(&target, &bytes, &words)
    }
}

// ---- encodings and digests ------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Ascii,
    Latin1,
    Hex,
    Base64,
    Utf16Le,
}

impl Encoding {
    fn parse(name: &str) -> Result<Encoding, String> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "utf8" | "utf-8" => Encoding::Utf8,
            "ascii" => Encoding::Ascii,
            "latin1" | "binary" => Encoding::Latin1,
            "hex" => Encoding::Hex,
            "base64" => Encoding::Base64,
            "ucs2" | "ucs-2" | "utf16le" | "utf-16le" => Encoding::Utf16Le,
            _ => return Err(format!("invalid encoding: {name}")),
        })
    }

    /// File bytes as the app's string, as Node's Buffer#toString does.
    fn to_text(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Ascii => bytes.iter().map(|b| char::from(b & 0x7f)).collect(),
            Encoding::Latin1 => bytes.iter().map(|b| char::from(*b)).collect(),
            Encoding::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
            Encoding::Utf16Le => String::from_utf16_lossy(
                &bytes
                    .chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// The app's string as file bytes, as Node's Buffer.from does.
    fn to_bytes(self, text: &str) -> Result<Vec<u8>, String> {
        Ok(match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            // One byte per UTF-16 unit: its low byte.
            Encoding::Ascii | Encoding::Latin1 => text.encode_utf16().map(|u| u as u8).collect(),
            // Pairs of hex digits, up to the first that is not one.
            Encoding::Hex => text
                .as_bytes()
                .chunks_exact(2)
                .map_while(|pair| {
                    let digit = |c: u8| char::from(c).to_digit(16);
                    Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
                })
                .collect(),
            Encoding::Base64 => decode_base64(text).ok_or("base64 encode error")?,
            Encoding::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        })
    }
}

/// Base64 as apps write it: standard or URL-safe, padding optional,
/// whitespace ignored.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    // What host.js sends (standard, padded) decodes at once; only other
    // spellings need cleaning first.
    if let Ok(bytes) = LENIENT.decode(text) {
        return Some(bytes);
    }
    let clean: String = text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(clean.trim_end_matches('='))
        .ok()
}

fn digest(algorithm: &str, bytes: &[u8]) -> Result<String, String> {
    use sha2::Digest as _;
    let hash: Vec<u8> = match algorithm.to_ascii_lowercase().as_str() {
        "md5" => md5::Md5::digest(bytes).to_vec(),
        "sha1" => sha1::Sha1::digest(bytes).to_vec(),
        "sha256" => sha2::Sha256::digest(bytes).to_vec(),
        _ => {
            return Err(format!(
                "parameter error: invalid digestAlgorithm {algorithm}"
            ));
        }
    };
    Ok(hex::encode(hash))
}

// ---- the handlers -------------------------------------------------------------------

/// A whole, non-negative number of bytes from JS (`position`, `length`).
fn whole(n: f64) -> Option<u64> {
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0).then_some(n as u64)
}

/// The part of a `len`-byte file `position` and `length` select, within
/// WeChat's ranges: position in [0, len], length in [1, len - position].
fn byte_range(
    len: usize,
    position: Option<f64>,
    length: Option<f64>,
) -> Result<Range<usize>, String> {
    let len = len as u64;
    let position = match position {
        None => 0,
        Some(p) => whole(p)
            .filter(|p| *p <= len)
            .ok_or(r#"the value of "position" is out of range"#)?,
    };
    let rest = len - position;
    let length = match length {
        None => rest,
        Some(l) => whole(l)
            .filter(|l| *l >= 1 && *l <= rest)
            .ok_or(r#"the value of "length" is out of range"#)?,
    };
    // Both are within the file's length, which is a usize.
    Ok(position as usize..(position + length) as usize)
}

fn stats_json(meta: FileMeta) -> Value {
    json!({
        "mode": if meta.is_dir { MODE_DIR } else { MODE_FILE },
        "size": meta.size,
        "lastAccessedTime": meta.modified,
        "lastModifiedTime": meta.modified,
    })
}

#[derive(Deserialize)]
struct PathOptions {
    path: String,
}

fn access(state: &mut HostState, args: Value) -> ApiResult {
    let PathOptions { path } = options(args)?;
    let words = Words::plain(&path);
    let location = resolve(&path).ok_or_else(|| words.denied.clone())?;
    match state.files.meta(&location).map_err(|e| words.backend(e))? {
        Some(_) => Ok(json!({})),
        None => Err(words.not_found),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadFileOptions {
    file_path: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    position: Option<f64>,
    #[serde(default)]
    length: Option<f64>,
}

/// `{data}` for an encoding, `{base64}` for an ArrayBuffer (host.js converts).
fn read_file(state: &mut HostState, args: Value) -> ApiResult {
    let o: ReadFileOptions = options(args)?;
    let encoding = o
        .encoding
        .filter(|e| !e.is_empty())
        .map(|e| Encoding::parse(&e))
        .transpose()?;
    let bytes = state.read_file(&o.file_path)?;
    let range = byte_range(bytes.len(), o.position, o.length)?;
    let bytes = &bytes[range];
    Ok(match encoding {
        Some(encoding) => json!({ "data": encoding.to_text(bytes) }),
        None => json!({ "base64": Encoding::Base64.to_text(bytes) }),
    })
}

/// What to write: `data` in `encoding`, or an ArrayBuffer as `base64`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WriteOptions {
    file_path: String,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    base64: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

impl WriteOptions {
    fn bytes(&self) -> Result<Vec<u8>, String> {
        match (&self.base64, &self.data) {
            (Some(base64), _) => {
                decode_base64(base64).ok_or_else(|| "base64 encode error".to_owned())
            }
            (None, Some(text)) => {
                let encoding = match self.encoding.as_deref() {
                    None | Some("") => Encoding::Utf8,
                    Some(name) => Encoding::parse(name)?,
                };
                encoding.to_bytes(text)
            }
            (None, None) => {
                Err("parameter error: parameter.data should be String/ArrayBuffer".to_owned())
            }
        }
    }
}

fn write_file(state: &mut HostState, args: Value) -> ApiResult {
    let o: WriteOptions = options(args)?;
    let words = Words::open(&o.file_path);
    let path = resolve(&o.file_path)
        .and_then(Location::writable)
        .ok_or_else(|| words.denied.clone())?;
    let bytes = o.bytes()?;
    state.files.put(&path, &bytes, &words)?;
    Ok(json!({}))
}

fn append_file(state: &mut HostState, args: Value) -> ApiResult {
    let o: WriteOptions = options(args)?;
    let words = Words::open(&o.file_path);
    let path = resolve(&o.file_path)
        .and_then(Location::writable)
        .ok_or_else(|| words.denied.clone())?;
    let location = Location::User(path.clone());
    match state.files.meta(&location).map_err(|e| words.backend(e))? {
        None => return Err(words.not_found),
        Some(meta) if meta.is_dir => return Err(words.directory()),
        Some(_) => {}
    }
    let added = o.bytes()?;
    state.files.check_quota(added.len() as u64, 0, &words)?;
    let mut bytes = state.files.read(&location).map_err(|e| words.backend(e))?;
    bytes.extend_from_slice(&added);
    state.files.put(&path, &bytes, &words)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CopyOptions {
    src_path: String,
    dest_path: String,
}

fn copy_file(state: &mut HostState, args: Value) -> ApiResult {
    let CopyOptions {
        src_path,
        dest_path,
    } = options(args)?;
    let words = Words::pair("copyFile", &src_path, &dest_path);
    let source = resolve(&src_path).ok_or_else(|| words.denied.clone())?;
    let dest = resolve(&dest_path)
        .and_then(Location::writable)
        .ok_or_else(|| words.denied.clone())?;
    match state.files.meta(&source).map_err(|e| words.backend(e))? {
        None => return Err(words.not_found),
        Some(meta) if meta.is_dir => {
            return Err(format!(
                "operation not permitted, copyFile {src_path} -> {dest_path}"
            ));
        }
        Some(_) => {}
    }
    let bytes = state.files.read(&source).map_err(|e| words.backend(e))?;
    state.files.put(&dest, &bytes, &words)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirOptions {
    dir_path: String,
    #[serde(default)]
    recursive: bool,
}

fn mkdir(state: &mut HostState, args: Value) -> ApiResult {
    let DirOptions {
        dir_path,
        recursive,
    } = options(args)?;
    let words = Words::plain(&dir_path);
    let location = resolve(&dir_path).ok_or_else(|| words.denied.clone())?;
    let exists = format!("file already exists {dir_path}");
    let files = &mut state.files;
    if files
        .meta(&location)
        .map_err(|e| words.backend(e))?
        .is_some()
    {
        return Err(exists);
    }
    let path = location.writable().ok_or_else(|| words.denied.clone())?;
    files.ensure_roots().map_err(|e| words.backend(e))?;
    let to_create: Vec<SandboxPath> = if recursive {
        let names: Vec<&str> = path.components().collect();
        (2..=names.len())
            .filter_map(|end| SandboxPath::parse(&names[..end].join("/")))
            .collect()
    } else {
        match path.parent().map(|p| files.meta(&Location::User(p))) {
            Some(Ok(Some(meta))) if meta.is_dir => {}
            Some(Ok(Some(_))) => return Err(words.not_directory()),
            Some(Err(e)) => return Err(words.backend(e)),
            _ => return Err(words.not_found),
        }
        vec![path]
    };
    for dir in to_create {
        match files.backend.metadata(&files.app_id, &dir) {
            Ok(Some(meta)) if meta.is_dir => {}
            Ok(Some(_)) => return Err(words.not_directory()),
            Ok(None) => files
                .backend
                .create_dir(&files.app_id, &dir)
                .map_err(|e| words.backend(e))?,
            Err(e) => return Err(words.backend(e)),
        }
    }
    Ok(json!({}))
}

fn readdir(state: &mut HostState, args: Value) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ReaddirOptions {
        dir_path: String,
    }
    let ReaddirOptions { dir_path } = options(args)?;
    let words = Words::plain(&dir_path);
    let location = resolve(&dir_path).ok_or_else(|| words.denied.clone())?;
    match state.files.meta(&location).map_err(|e| words.backend(e))? {
        None => return Err(words.not_found),
        Some(meta) if !meta.is_dir => return Err(words.not_directory()),
        Some(_) => {}
    }
    let dir = location
        .backend_path()
        .ok_or_else(|| words.not_directory())?;
    let mut files = state.files.list(dir).map_err(|e| words.backend(e))?;
    files.sort();
    Ok(json!({ "files": files }))
}

fn rmdir(state: &mut HostState, args: Value) -> ApiResult {
    let DirOptions {
        dir_path,
        recursive,
    } = options(args)?;
    let words = Words::plain(&dir_path);
    let path = resolve(&dir_path)
        .and_then(Location::writable)
        .ok_or_else(|| words.denied.clone())?;
    let files = &state.files;
    match files
        .meta(&Location::User(path.clone()))
        .map_err(|e| words.backend(e))?
    {
        None => return Err(words.not_found),
        Some(meta) if !meta.is_dir => return Err(words.not_directory()),
        Some(_) => {}
    }
    if recursive {
        files.remove_tree(&path).map_err(|e| words.backend(e))?;
    } else {
        if !files.list(&path).map_err(|e| words.backend(e))?.is_empty() {
            return Err("directory not empty".to_owned());
        }
        files
            .backend
            .remove_dir(&files.app_id, &path)
            .map_err(|e| words.backend(e))?;
    }
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenameOptions {
    old_path: String,
    new_path: String,
}

fn rename(state: &mut HostState, args: Value) -> ApiResult {
    let RenameOptions { old_path, new_path } = options(args)?;
    let words = Words::pair("rename", &old_path, &new_path);
    let from = resolve(&old_path)
        .filter(|from| !matches!(from, Location::User(p) if p.is_root()))
        .ok_or_else(|| words.denied.clone())?;
    let to = resolve(&new_path)
        .and_then(Location::writable)
        .ok_or_else(|| words.denied.clone())?;
    let files = &mut state.files;
    let backend_error = |e| words.backend(e);
    let from_meta = files
        .meta(&from)
        .map_err(backend_error)?
        .ok_or_else(|| words.not_found.clone())?;
    if from.backend_path() == Some(&to) {
        return Ok(json!({}));
    }
    match to.parent().map(|p| files.meta(&Location::User(p))) {
        Some(Ok(Some(meta))) if meta.is_dir => {}
        Some(Err(e)) => return Err(words.backend(e)),
        _ => return Err(words.not_found),
    }
    let to_meta = files
        .backend
        .metadata(&files.app_id, &to)
        .map_err(backend_error)?;
    if to_meta.is_some_and(|m| m.is_dir || from_meta.is_dir) {
        return Err(format!(
            "file already exists, rename {old_path} -> {new_path}"
        ));
    }
    files.ensure_roots().map_err(backend_error)?;
    match &from {
        Location::Temp(name) => {
            files.check_quota(from_meta.size, to_meta.map_or(0, |m| m.size), &words)?;
            let bytes = files.read(&from).map_err(backend_error)?;
            files
                .backend
                .write(&files.app_id, &to, &bytes)
                .map_err(backend_error)?;
            files.temp.remove(name);
        }
        Location::User(path) | Location::Saved(path) => {
            if to.is_within(path) {
                return Err(words.denied);
            }
            files
                .backend
                .rename(&files.app_id, path, &to)
                .map_err(backend_error)?;
        }
    }
    Ok(json!({}))
}

#[derive(Deserialize)]
struct StatOptions {
    path: String,
    #[serde(default)]
    recursive: bool,
}

/// A `Stats` for a file or a directory, or with `recursive` a directory's
/// `[{path, stats}]`, paths relative to it (`/` is the directory itself).
fn stat(state: &mut HostState, args: Value) -> ApiResult {
    let StatOptions { path, recursive } = options(args)?;
    let words = Words::plain(&path);
    let location = resolve(&path).ok_or_else(|| words.denied.clone())?;
    let files = &state.files;
    let backend_error = |e| words.backend(e);
    let meta = files
        .meta(&location)
        .map_err(backend_error)?
        .ok_or_else(|| words.not_found.clone())?;
    let dir = match location.backend_path() {
        Some(dir) if recursive && meta.is_dir => dir,
        _ => return Ok(json!({ "stats": stats_json(meta) })),
    };
    let mut all = Vec::new();
    // Depth first, each directory before its contents, names in order.
    let mut stack: Vec<(SandboxPath, String, FileMeta)> = vec![(dir.clone(), String::new(), meta)];
    while let Some((path, relative, meta)) = stack.pop() {
        let shown = if relative.is_empty() { "/" } else { &relative };
        all.push(json!({ "path": shown, "stats": stats_json(meta) }));
        if !meta.is_dir {
            continue;
        }
        let mut names = files.list(&path).map_err(backend_error)?;
        names.sort();
        for name in names.into_iter().rev() {
            let Some(child) = path.join(&name) else {
                continue;
            };
            if let Some(meta) = files
                .backend
                .metadata(&files.app_id, &child)
                .map_err(backend_error)?
            {
                stack.push((child, format!("{relative}/{name}"), meta));
            }
        }
    }
    Ok(json!({ "stats": all }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilePathOptions {
    file_path: String,
}

fn unlink(state: &mut HostState, args: Value) -> ApiResult {
    let FilePathOptions { file_path } = options(args)?;
    let words = Words::plain(&file_path);
    let location = resolve(&file_path).ok_or_else(|| words.denied.clone())?;
    let files = &mut state.files;
    match files.meta(&location).map_err(|e| words.backend(e))? {
        None => return Err(words.not_found),
        Some(meta) if meta.is_dir => {
            return Err(format!("operation not permitted, unlink {file_path}"));
        }
        Some(_) => {}
    }
    match &location {
        Location::Temp(name) => {
            files.temp.remove(name);
        }
        Location::User(path) | Location::Saved(path) => files
            .backend
            .remove_file(&files.app_id, path)
            .map_err(|e| words.backend(e))?,
    }
    Ok(json!({}))
}

fn truncate(state: &mut HostState, args: Value) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct TruncateOptions {
        file_path: String,
        #[serde(default)]
        length: Option<f64>,
    }
    let o: TruncateOptions = options(args)?;
    let words = Words::open(&o.file_path);
    let path = resolve(&o.file_path)
        .and_then(Location::writable)
        .ok_or_else(|| words.denied.clone())?;
    let length =
        whole(o.length.unwrap_or(0.0)).ok_or(r#"the value of "length" is out of range"#)?;
    let location = Location::User(path.clone());
    let files = &mut state.files;
    let meta = match files.meta(&location).map_err(|e| words.backend(e))? {
        None => return Err(words.not_found),
        Some(meta) if meta.is_dir => return Err(words.directory()),
        Some(meta) => meta,
    };
    // Checked before anything is allocated: a huge length is just too big.
    files.check_quota(length.saturating_sub(meta.size), 0, &words)?;
    let mut bytes = files.read(&location).map_err(|e| words.backend(e))?;
    bytes.resize(usize::try_from(length).map_err(|_| QUOTA_EXCEEDED)?, 0);
    files.put(&path, &bytes, &words)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SaveOptions {
    temp_file_path: String,
    #[serde(default)]
    file_path: Option<String>,
}

/// Moves a temporary file to the saved files (`wxfile://store_…`) or, with
/// `filePath`, under USER_DATA_PATH.
fn save_file(state: &mut HostState, args: Value) -> ApiResult {
    let o: SaveOptions = options(args)?;
    let not_exist = "tempFilePath file not exist".to_owned();
    let Some(Location::Temp(name)) = resolve(&o.temp_file_path) else {
        return Err(not_exist);
    };
    let files = &mut state.files;
    let Some(temp) = files.temp.get(&name) else {
        return Err(not_exist);
    };
    let bytes = temp.bytes.clone();
    let (target, saved_path, words) = match o.file_path {
        Some(file_path) => {
            let words = Words {
                path: file_path.clone(),
                not_found: format!("no such file or directory \"{file_path}\""),
                denied: format!("permission denied, open \"{file_path}\""),
            };
            let target = resolve(&file_path)
                .and_then(Location::writable)
                .ok_or_else(|| words.denied.clone())?;
            (target, file_path, words)
        }
        None => {
            let extension = name.rsplit_once('.').map_or("", |(_, ext)| ext);
            let stored = files.fresh_name("store_", &bytes, extension);
            let target = SandboxPath::parse(&format!("store/{stored}"))
                .ok_or("system error: unusable name")?;
            let saved_path = format!("{SCHEME}{stored}");
            let words = Words::open(&saved_path);
            (target, saved_path, words)
        }
    };
    files.ensure_roots().map_err(|e| words.backend(e))?;
    files.put(&target, &bytes, &words)?;
    files.temp.remove(&name);
    Ok(json!({ "savedFilePath": saved_path }))
}

fn file_info(state: &mut HostState, args: Value) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct InfoOptions {
        file_path: String,
        #[serde(default)]
        digest_algorithm: Option<String>,
    }
    let o: InfoOptions = options(args)?;
    let bytes = state
        .read_file(&o.file_path)
        .map_err(|_| "file not exist".to_owned())?;
    let algorithm = o.digest_algorithm.as_deref().unwrap_or("md5");
    Ok(json!({ "size": bytes.len(), "digest": digest(algorithm, &bytes)? }))
}

/// A saved file (`wxfile://store_…`) and what is there.
fn saved_file(state: &HostState, file_path: &str) -> Result<(SandboxPath, FileMeta), String> {
    let not_exist = || "file not exist".to_owned();
    let Some(Location::Saved(path)) = resolve(file_path) else {
        return Err(not_exist());
    };
    match state.files.backend.metadata(&state.files.app_id, &path) {
        Ok(Some(meta)) if !meta.is_dir => Ok((path, meta)),
        Ok(_) => Err(not_exist()),
        Err(e) => Err(Words::open(file_path).backend(e)),
    }
}

fn saved_file_list(state: &mut HostState, _: Value) -> ApiResult {
    let files = &state.files;
    let store = SandboxPath("store".to_owned());
    let words = Words::open("wxfile://store");
    let mut names = files.list(&store).map_err(|e| words.backend(e))?;
    names.sort();
    let mut list = Vec::new();
    for name in names {
        let Some(path) = store.join(&name) else {
            continue;
        };
        if let Some(meta) = files
            .backend
            .metadata(&files.app_id, &path)
            .map_err(|e| words.backend(e))?
            .filter(|m| !m.is_dir)
        {
            list.push(json!({
                "filePath": format!("{SCHEME}{name}"),
                "size": meta.size,
                "createTime": meta.modified,
            }));
        }
    }
    Ok(json!({ "fileList": list }))
}

fn saved_file_info(state: &mut HostState, args: Value) -> ApiResult {
    let FilePathOptions { file_path } = options(args)?;
    let (_, meta) = saved_file(state, &file_path)?;
    Ok(json!({ "size": meta.size, "createTime": meta.modified }))
}

fn remove_saved_file(state: &mut HostState, args: Value) -> ApiResult {
    let FilePathOptions { file_path } = options(args)?;
    let (path, _) = saved_file(state, &file_path)?;
    state
        .files
        .backend
        .remove_file(&state.files.app_id, &path)
        .map_err(|e| Words::open(&file_path).backend(e))?;
    Ok(json!({}))
}

/// The methods host.js's FileSystemManager (and the `wx.*SavedFile*`
/// functions) call: not `wx` names themselves.
pub(super) fn methods() -> Vec<ApiSpec> {
    let method = |name, handler| ApiSpec {
        name,
        kind: ApiKind::Sync,
        capability: Capability::FileSystem,
        handler,
    };
    vec![
        method("FileSystemManager.access", access),
        method("FileSystemManager.appendFile", append_file),
        method("FileSystemManager.copyFile", copy_file),
        method("FileSystemManager.getFileInfo", file_info),
        method("FileSystemManager.getSavedFileInfo", saved_file_info),
        method("FileSystemManager.getSavedFileList", saved_file_list),
        method("FileSystemManager.mkdir", mkdir),
        method("FileSystemManager.readFile", read_file),
        method("FileSystemManager.readdir", readdir),
        method("FileSystemManager.removeSavedFile", remove_saved_file),
        method("FileSystemManager.rename", rename),
        method("FileSystemManager.rmdir", rmdir),
        method("FileSystemManager.saveFile", save_file),
        method("FileSystemManager.stat", stat),
        method("FileSystemManager.truncate", truncate),
        method("FileSystemManager.unlink", unlink),
        method("FileSystemManager.writeFile", write_file),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(path: &str) -> Option<Location> {
        SandboxPath::parse(path).map(Location::User)
    }

    #[test]
    fn paths_resolve_inside_their_root_or_not_at_all() {
        assert_eq!(resolve("wxfile://usr"), user("usr"));
        assert_eq!(resolve("wxfile://usr/"), user("usr"));
        assert_eq!(resolve("wxfile://usr/a/./b//c/"), user("usr/a/b/c"));
        assert_eq!(resolve("wxfile://usr/a/../b"), user("usr/b"));
        assert_eq!(
            resolve("wxfile://store_abc.png"),
            SandboxPath::parse("store/store_abc.png").map(Location::Saved)
        );
        assert_eq!(
            resolve("wxfile://tmp_1.png"),
            Some(Location::Temp("tmp_1.png".to_owned()))
        );
        for bad in [
            "wxfile://usr/..",
            "wxfile://usr/../x",
            "wxfile://usr/a/../../b",
            "wxfile://usr/../usr/x",
            "wxfile://usr/a\0b",
            "wxfile://usr/a\\..\\..\\b",
            "wxfile://store_x/y",
            "wxfile://tmp_x/../usr",
            "wxfile://store",
            "wxfile://other",
            "wxfile://",
            "/etc/passwd",
            "usr/x",
            "http://usr/x",
            "http://tmp/x",
            "file:///etc/passwd",
            "",
        ] {
            assert_eq!(resolve(bad), None, "{bad:?} must not resolve");
        }
        let long = format!("wxfile://usr/{}", "a".repeat(300));
        assert_eq!(resolve(&long), None);
    }

    #[test]
    fn sandbox_paths_hold_plain_names_only() {
        for bad in [
            "", "/usr", "usr/", "usr//a", "usr/./a", "usr/../a", "..", "a\\b", "a\nb",
        ] {
            assert!(SandboxPath::parse(bad).is_none(), "{bad:?}");
        }
        let path = SandboxPath::parse("usr/a/b").expect("plain path");
        assert_eq!(path.name(), "b");
        assert_eq!(path.parent().map(|p| p.0), Some("usr/a".to_owned()));
        assert!(path.join("..").is_none());
        assert!(path.is_within(&SandboxPath("usr/a".to_owned())));
        assert!(!path.is_within(&SandboxPath("usr/a/b2".to_owned())));
        assert!(!SandboxPath("usr/ab".to_owned()).is_within(&SandboxPath("usr/a".to_owned())));
    }

    #[test]
    fn encodings_round_trip_like_node() {
        let text = "héllo, 世界";
        for encoding in ["utf8", "utf-8", "ucs2", "utf16le"] {
            let e = Encoding::parse(encoding).expect("known encoding");
            assert_eq!(e.to_text(&e.to_bytes(text).expect("encodes")), text);
        }
        let hex = Encoding::parse("hex").expect("hex");
        assert_eq!(hex.to_bytes("00ff7Gzz").expect("hex"), vec![0, 255]);
        assert_eq!(hex.to_text(&[0, 255]), "00ff");
        let latin1 = Encoding::parse("latin1").expect("latin1");
        assert_eq!(latin1.to_bytes("é").expect("latin1"), vec![0xe9]);
        assert_eq!(
            Encoding::parse("ascii").expect("ascii").to_text(&[0xe9]),
            "i"
        );
        let base64 = Encoding::parse("base64").expect("base64");
        assert_eq!(base64.to_bytes("TWFu").expect("b64"), b"Man");
        assert_eq!(base64.to_bytes("TWE").expect("unpadded"), b"Ma");
        assert_eq!(base64.to_bytes("-_8=").expect("url-safe"), vec![0xfb, 0xff]);
        assert!(base64.to_bytes("a!b").is_err());
        assert!(Encoding::parse("klingon").is_err());
    }

    #[test]
    fn digests_match_the_standard_vectors() {
        let fox = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(
            digest("md5", b"").as_deref(),
            Ok("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(
            digest("md5", fox).as_deref(),
            Ok("9e107d9d372bb6826bd81d3542a419d6")
        );
        assert_eq!(
            digest("sha1", b"abc").as_deref(),
            Ok("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            digest("sha1", fox).as_deref(),
            Ok("2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
        );
        assert_eq!(
            digest("sha256", b"abc").as_deref(),
            Ok("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        let long = vec![b'a'; 1000];
        assert_eq!(
            digest("md5", &long).as_deref(),
            Ok("cabe45dcc9ae5b66ba86600cca6b8ba8")
        );
        assert!(digest("crc32", b"").is_err());
    }

    #[test]
    fn ranges_stay_inside_the_file() {
        assert_eq!(byte_range(10, None, None), Ok(0..10));
        assert_eq!(byte_range(10, Some(2.0), Some(3.0)), Ok(2..5));
        assert_eq!(byte_range(10, Some(10.0), None), Ok(10..10));
        for (position, length) in [
            (Some(-1.0), None),
            (Some(11.0), None),
            (Some(1.5), None),
            (Some(f64::INFINITY), None),
            (None, Some(0.0)),
            (None, Some(11.0)),
            (Some(5.0), Some(6.0)),
            (None, Some(1e300)),
        ] {
            assert!(
                byte_range(10, position, length).is_err(),
                "{position:?} {length:?}"
            );
        }
    }

    #[test]
    fn the_memory_backend_moves_directories_with_their_contents() {
        let fs = MemoryFileSystem::new();
        let p = |s: &str| SandboxPath::parse(s).expect("path");
        fs.create_dir("a", &p("usr")).expect("root");
        fs.create_dir("a", &p("usr/d")).expect("dir");
        fs.write("a", &p("usr/d/f"), b"x").expect("file");
        assert_eq!(
            fs.write("a", &p("usr/missing/f"), b"x"),
            Err(FsError::NotFound)
        );
        fs.rename("a", &p("usr/d"), &p("usr/e")).expect("rename");
        assert_eq!(fs.read("a", &p("usr/e/f")), Ok(b"x".to_vec()));
        assert_eq!(fs.read_dir("a", &p("usr")), Ok(vec!["e".to_owned()]));
        assert_eq!(fs.read("b", &p("usr/e/f")), Err(FsError::NotFound));
        assert_eq!(fs.used_bytes("a"), Ok(1));
    }
}
