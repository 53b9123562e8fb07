//! What an instance is told at startup. Everything here comes from the
//! command line or the environment; nothing is learned at run time, so two
//! instances started the same way behave the same way.

use std::path::Path;

/// Settings of one platform instance.
#[derive(Clone)]
pub struct PlatformConfig {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Bearer token the `/admin` API requires.
    pub admin_token: String,
    /// Upper bound of the connection pool.
    pub max_connections: u32,
    /// Where the registry keeps package zips: `file:///dir`, `s3://bucket/prefix`
    /// (credentials from `AWS_*`) or `memory://` (the default: for tests).
    pub store_url: String,
}

// The admin token is a credential: keep it out of logs and panics.
impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformConfig")
            .field("database_url", &redact_password(&self.database_url))
            .field("admin_token", &"<redacted>")
            .field("max_connections", &self.max_connections)
            .field("store_url", &self.store_url)
            .finish()
    }
}

impl PlatformConfig {
    pub fn new(database_url: impl Into<String>, admin_token: impl Into<String>) -> Self {
        PlatformConfig {
            database_url: database_url.into(),
            admin_token: admin_token.into(),
            max_connections: 10,
            store_url: "memory://".to_owned(),
        }
    }
}

/// A `sqlite://` URL for a file, created when missing (`mode=rwc`). The path
/// is percent-encoded because sqlx splits the URL at `?` and decodes `%`.
pub fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    url
}

/// The URL with any password replaced, for logs.
pub fn redact_password(url: &str) -> String {
    // scheme://user:password@host… → scheme://user:***@host…
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &url[scheme_end + 3 + at..]
        ),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_survive_odd_paths() {
        assert_eq!(
            sqlite_url(Path::new("/tmp/a b/p?x#.db")),
            "sqlite:///tmp/a%20b/p%3Fx%23.db?mode=rwc"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://bonsai:hunter2@db:5432/platform"),
            "postgres://bonsai:***@db:5432/platform"
        );
        assert_eq!(
            redact_password("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact_password("sqlite:///x.db"), "sqlite:///x.db");
    }
}
