//! Where `bonsai` keeps a user's data between runs (wx storage, files, the
//! embedded platform database), and how an app id becomes a path there.

use std::path::PathBuf;

/// `$BONSAI_DATA_DIR`, else `$XDG_DATA_HOME/bonsai`, else
/// `~/.local/share/bonsai`; `None` when none of them is set.
pub fn user_data_dir() -> Option<PathBuf> {
    std::env::var_os("BONSAI_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("bonsai")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/bonsai")))
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
