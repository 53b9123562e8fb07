//! App storage on disk for `bonsai run`: one JSON file per app id under the
//! user's data directory, replaced atomically (a temporary file in the same
//! directory, synced, then renamed over the old one), so a crash leaves the
//! old or the new data, never half of it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use bonsai_engine::StorageBackend;

#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
}

impl FileStorage {
    pub fn new(dir: PathBuf) -> Self {
        FileStorage { dir }
    }

    /// `storage/` in the user's data directory.
    pub fn in_user_data_dir() -> Option<Self> {
        Some(FileStorage::new(
            crate::data_dir::user_data_dir()?.join("storage"),
        ))
    }

    /// One file per app id; ids are spelled safely so no id can name another's file.
    fn file_of(&self, app_id: &str) -> PathBuf {
        let name = crate::data_dir::app_file_name(app_id);
        self.dir.join(format!("{name}.json"))
    }
}

impl StorageBackend for FileStorage {
    fn load(&self, app_id: &str) -> BTreeMap<String, String> {
        let path = self.file_of(app_id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::warn!("ignoring unreadable storage {}: {err}", path.display());
                BTreeMap::new()
            }),
            Err(_) => BTreeMap::new(),
        }
    }

    fn save(&self, app_id: &str, entries: &BTreeMap<String, String>) -> Result<(), String> {
        let target = self.file_of(app_id);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
            temp.write_all(&serde_json::to_vec(entries).unwrap_or_default())?;
            temp.as_file().sync_all()?;
            temp.persist(&target).map_err(|e| e.error)?;
            Ok(())
        };
        write().map_err(|err| format!("storage write failed: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_are_isolated_and_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FileStorage::new(dir.path().to_owned());
        let one = BTreeMap::from([("token".to_owned(), "\"a\"".to_owned())]);
        storage.save("wx1", &one).unwrap();
        storage.save("../wx2", &BTreeMap::new()).unwrap();
        assert_eq!(storage.load("wx1"), one);
        assert!(storage.load("wx2").is_empty());
        assert!(storage.load("../wx2").is_empty());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names.len(),
            2,
            "no temporary file is left behind: {names:?}"
        );
        assert!(
            names
                .iter()
                .all(|n| !n.contains('/') && n.ends_with(".json"))
        );
    }
}
