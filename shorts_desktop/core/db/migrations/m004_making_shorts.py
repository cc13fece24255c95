"""Version 4: what making and publishing a Short needs.

On `upload`: the video's duration, size in pixels and a small thumbnail (probed once at
upload). On `job`: the stage it is in, who is processing it (so a second process does not
start the same job and a crashed run is recognised), what the render produced, a
thumbnail of the Short, and the YouTube video id and resumable upload session.
"""

import sqlite3

from shorts_desktop.core.db.migrations.sql import run_script

VERSION = 4

SQL = """
ALTER TABLE upload ADD COLUMN duration REAL;
ALTER TABLE upload ADD COLUMN width INTEGER;
ALTER TABLE upload ADD COLUMN height INTEGER;
ALTER TABLE upload ADD COLUMN thumbnail BLOB;
ALTER TABLE job ADD COLUMN stage VARCHAR(16);
ALTER TABLE job ADD COLUMN runner VARCHAR(128);
ALTER TABLE job ADD COLUMN started_at DATETIME;
ALTER TABLE job ADD COLUMN processed_at DATETIME;
ALTER TABLE job ADD COLUMN render_info TEXT;
ALTER TABLE job ADD COLUMN thumbnail BLOB;
ALTER TABLE job ADD COLUMN youtube_video_id VARCHAR(32);
ALTER TABLE job ADD COLUMN youtube_session_uri TEXT;
"""


def apply(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
