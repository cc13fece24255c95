"""Version 2: S3 columns on uploads, upload ids on jobs; legacy paths are kept.

SQLite cannot drop NOT NULL from a column, so both tables are rebuilt and copied.
Legacy uploads become rows of the local backend whose file is `file_path`; they are
`completed` when that file still exists and `missing` when it does not.
"""

import json
import os
import sqlite3

from shorts_desktop.core.db.migrations.sql import run_script

VERSION = 2

UPLOAD_SQL = """
CREATE TABLE upload_v2 (
    id VARCHAR(36) PRIMARY KEY,
    kind VARCHAR(16) NOT NULL,
    original_name VARCHAR(1024) NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    content_type VARCHAR(255) NOT NULL DEFAULT 'application/octet-stream',
    checksum VARCHAR(64),
    backend VARCHAR(8) NOT NULL DEFAULT 's3',
    bucket VARCHAR(63),
    "key" VARCHAR(1024),
    is_temp INTEGER NOT NULL DEFAULT 1,
    status VARCHAR(16) NOT NULL DEFAULT 'queued',
    error TEXT,
    multipart_upload_id VARCHAR(1024),
    done_parts TEXT,
    source_path TEXT,
    file_path TEXT,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    completed_at DATETIME
)
"""

JOB_SQL = """
CREATE TABLE job_v2 (
    id VARCHAR(36) PRIMARY KEY,
    title VARCHAR(100) NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    voice VARCHAR(16) NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    privacy VARCHAR(16) NOT NULL DEFAULT 'private',
    video_upload_id VARCHAR(36) REFERENCES upload (id) ON DELETE RESTRICT,
    transcript_upload_id VARCHAR(36) REFERENCES upload (id) ON DELETE RESTRICT,
    status VARCHAR(16) NOT NULL DEFAULT 'created',
    result_keys TEXT NOT NULL DEFAULT '[]',
    published_video_url TEXT,
    error TEXT,
    video_path TEXT,
    transcript_path TEXT,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    published_at DATETIME
)
"""

INDEXES = """
CREATE INDEX IF NOT EXISTS upload_kind_temp ON upload (kind, is_temp);
CREATE INDEX IF NOT EXISTS upload_status ON upload (status);
CREATE INDEX IF NOT EXISTS upload_created ON upload (created_at);
CREATE INDEX IF NOT EXISTS job_status ON job (status);
CREATE INDEX IF NOT EXISTS job_video ON job (video_upload_id);
CREATE INDEX IF NOT EXISTS job_transcript ON job (transcript_upload_id);
"""

LEGACY_JOB_STATUS = {
    "pending": "created",
    "created": "created",
    "queued": "queued",
    "processing": "processing",
    "completed": "processed",
    "processed": "processed",
    "uploaded": "published",
    "published": "published",
    "failed": "failed",
    "cancelled": "cancelled",
}


def _legacy_tags(tags: str | None) -> str:
    """Tags as a JSON list; the old server stored JSON, older rows a comma-separated list."""
    if not tags or not tags.strip():
        return "[]"
    try:
        value = json.loads(tags)
        if isinstance(value, list):
            return json.dumps([str(t) for t in value])
    except ValueError:
        pass
    return json.dumps([t.strip() for t in tags.split(",") if t.strip()])


def apply(conn: sqlite3.Connection) -> None:
    conn.execute(UPLOAD_SQL)
    rows = conn.execute(
        "SELECT id, filename, file_path, file_size, content_type, upload_type, created_at "
        "FROM upload"
    ).fetchall()
    for uid, filename, file_path, size, content_type, upload_type, created in rows:
        kind = "transcript" if str(upload_type).lower().startswith("transcript") else "video"
        status = "completed" if file_path and os.path.isfile(file_path) else "missing"
        conn.execute(
            'INSERT INTO upload_v2 (id, kind, original_name, size, content_type, backend, "key",'
            " is_temp, status, file_path, created_at, updated_at, completed_at)"
            " VALUES (?, ?, ?, ?, ?, 'local', NULL, 0, ?, ?, ?, ?, ?)",
            (
                uid,
                kind,
                filename or os.path.basename(file_path or "") or "unnamed",
                int(size or 0),
                content_type or "application/octet-stream",
                status,
                file_path,
                created,
                created,
                created if status == "completed" else None,
            ),
        )
    conn.execute(JOB_SQL)
    by_path = {
        path: uid for uid, path in conn.execute("SELECT id, file_path FROM upload_v2") if path
    }
    jobs = conn.execute(
        "SELECT id, title, description, voice, tags, video_path, transcript_path, status,"
        " created_at FROM job"
    ).fetchall()
    for jid, title, desc, voice, tags, vpath, tpath, status, created in jobs:
        conn.execute(
            "INSERT INTO job_v2 (id, title, description, voice, tags, video_upload_id,"
            " transcript_upload_id, status, video_path, transcript_path, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                jid,
                title,
                desc or "",
                voice or "alloy",
                _legacy_tags(tags),
                by_path.get(vpath),
                by_path.get(tpath),
                LEGACY_JOB_STATUS.get(str(status).lower(), "failed"),
                vpath,
                tpath,
                created,
                created,
            ),
        )
    conn.execute("DROP TABLE job")
    conn.execute("DROP TABLE upload")
    conn.execute("ALTER TABLE upload_v2 RENAME TO upload")
    conn.execute("ALTER TABLE job_v2 RENAME TO job")
    run_script(conn, INDEXES)
