"""Runs a multi-statement SQL script inside the caller's transaction.

`sqlite3.Connection.executescript` commits first, which would break a migration's
all-or-nothing promise; this does not.
"""

import sqlite3


def run_script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
