-- The package registry: versions of an app's code package, their audit and
-- release, and a log of every transition.
--
-- Same rules as 0001: TEXT and BIGINT only, times in milliseconds from the
-- server's Clock. The package bytes are not here: they live in the blob
-- store (object_store) under sha256/<hex>.zip; a version row is inserted
-- only after its blob is fully stored.

-- One row per app that has ever had a version. Every registry transition
-- starts by bumping `serial` (a row lock in Postgres, the write lock in
-- SQLite), so the transitions of one app take turns and each gets a number
-- for the audit log.
CREATE TABLE app_registry (
    appid TEXT PRIMARY KEY REFERENCES apps (appid),
    serial BIGINT NOT NULL DEFAULT 0,
    -- The trial (体验版) version: one per app.
    trial_version TEXT,
    -- The version every user gets (outside a gray release's bucket).
    release_version TEXT,
    -- The release before it, for revertcoderelease (one step back, as WeChat).
    previous_version TEXT,
    -- A phased release in progress: users whose bucket is below the
    -- percentage get gray_version instead of release_version.
    gray_version TEXT,
    gray_percentage BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE app_versions (
    appid TEXT NOT NULL REFERENCES apps (appid),
    -- The developer's version string (WeChat's user_version, ≤ 64 characters).
    version TEXT NOT NULL,
    description TEXT NOT NULL,
    -- The package zip: its SHA-256 (hex) names the blob, size in bytes.
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- develop, auditing, approved, rejected, gray, released, retired.
    state TEXT NOT NULL,
    reject_reason TEXT,
    created_by TEXT NOT NULL,
    -- app_registry.serial at upload: the upload order.
    upload_serial BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (appid, version)
);
CREATE INDEX app_versions_by_sha256 ON app_versions (sha256);

-- Who did what to which version, and when: one row per transition.
CREATE TABLE registry_audit (
    appid TEXT NOT NULL REFERENCES apps (appid),
    serial BIGINT NOT NULL,
    version TEXT,
    -- upload, trial, submit, approve, reject, release, gray, revert_gray, rollback.
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    -- The reject reason, or the gray percentage, or the version rolled back from.
    detail TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (appid, serial)
);
