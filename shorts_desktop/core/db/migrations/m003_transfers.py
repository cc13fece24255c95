"""Version 3: what the transfer engine needs to resume an upload after a crash.

On `upload`: the source file's size and mtime when its multipart upload began (a change
means start over), the part size (so resumed parts keep their boundaries), the part
checksum mode, bytes done and attempts. `transfer_part` holds each part S3 accepted.
"""

import sqlite3

from shorts_desktop.core.db.migrations.sql import run_script

VERSION = 3

SQL = """
ALTER TABLE upload ADD COLUMN source_size INTEGER;
ALTER TABLE upload ADD COLUMN source_mtime_ns INTEGER;
ALTER TABLE upload ADD COLUMN part_size INTEGER;
ALTER TABLE upload ADD COLUMN checksum_mode VARCHAR(8);
ALTER TABLE upload ADD COLUMN bytes_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE upload ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS transfer_part (
    upload_id VARCHAR(36) NOT NULL REFERENCES upload (id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag VARCHAR(128) NOT NULL,
    checksum VARCHAR(128),
    PRIMARY KEY (upload_id, part_number)
);
"""


def apply(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
