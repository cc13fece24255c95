"""Version 1: the schema from before S3, when files lived on the server's disk."""

import sqlite3

from shorts_desktop.core.db.migrations.sql import run_script

VERSION = 1

SQL = """
CREATE TABLE IF NOT EXISTS upload (
    id VARCHAR(36) PRIMARY KEY,
    filename VARCHAR(255) NOT NULL,
    file_path VARCHAR(1024) NOT NULL,
    file_size INTEGER NOT NULL,
    content_type VARCHAR(100),
    upload_type VARCHAR(20) NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE TABLE IF NOT EXISTS job (
    id VARCHAR(36) PRIMARY KEY,
    title VARCHAR(100) NOT NULL,
    description TEXT,
    voice VARCHAR(20),
    tags TEXT,
    video_path VARCHAR(1024),
    transcript_path VARCHAR(1024),
    status VARCHAR(20) NOT NULL,
    created_at DATETIME NOT NULL
);
"""


def apply(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
