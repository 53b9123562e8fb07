//! Where `bonsai` keeps a user's data between runs (wx storage, files, the
//! embedded platform database), and how an app id becomes a path there.

use std::path::PathBuf;

use anyhow::Context as _;

/// `$BONSAI_DATA_DIR`, else `$XDG_DATA_HOME/bonsai`, else
/// `~/.local/share/bonsai`; `None` when none of them is set.
pub fn user_data_dir() -> Option<PathBuf> {
    std::env::var_os("BONSAI_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("bonsai")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/bonsai")))
}

/// The platform database `bonsai serve`, `bonsai run` and `bonsai platform`
/// share: `explicit` (a flag), else `$BONSAI_DATABASE_URL`, else
/// `platform.db` (SQLite) in the user data directory, created if missing.
pub fn platform_database_url(explicit: Option<&str>) -> anyhow::Result<String> {
    if let Some(url) = explicit
        .map(str::to_owned)
        .or_else(|| non_empty_env("BONSAI_DATABASE_URL"))
    {
        return Ok(url);
    }
    let dir = user_data_dir()
        .context("no data directory: set BONSAI_DATA_DIR, HOME, or pass --database-url")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(bonsai_platform::sqlite_url(&dir.join("platform.db")))
}

/// An environment variable that is set to something.
pub fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// An app id as a file name: kept when it is plainly spelled, hex-encoded
/// otherwise, so no id can name another app's entry or leave the directory.
pub fn app_file_name(app_id: &str) -> String {
    let plain = !app_id.is_empty()
        && app_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        app_id.to_owned()
    } else {
        app_id.bytes().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::app_file_name;

    #[test]
    fn app_ids_cannot_escape_or_collide() {
        assert_eq!(app_file_name("wx1234abcd"), "wx1234abcd");
        assert_eq!(app_file_name("../x"), "2e2e2f78");
        assert_eq!(app_file_name(""), "");
        assert_ne!(
            app_file_name("2e2e2f78"),
            app_file_name("../x").to_uppercase()
        );
    }
}
