"""Version 5: what an upload's row needs to finish a promote or a delete after a crash.

`promote_key` is the permanent key a promotion is copying the object to, written before
the copy and cleared when the row points there: a run killed in between is finished, not
lost. `deleting_at` is written before a delete request is sent: an object gone after it
was deleted on purpose (`deleted`), not lost (`missing`).
"""

import sqlite3

from shorts_desktop.core.db.migrations.sql import run_script

VERSION = 5

SQL = """
ALTER TABLE upload ADD COLUMN promote_key VARCHAR(1024);
ALTER TABLE upload ADD COLUMN deleting_at DATETIME;
"""


def apply(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
