"""Schema migrations, an explicit ordered list so that a frozen bundle carries them all.

Each module has `VERSION` (the schema it produces) and `apply(conn)`, which speaks in
table and column names only, never through today's models.
"""

from shorts_desktop.core.db.migrations import (
    m001_legacy,
    m002_s3_support,
    m003_transfers,
    m004_making_shorts,
    m005_intents,
)

MIGRATIONS = (
    m001_legacy, m002_s3_support, m003_transfers, m004_making_shorts, m005_intents,
)
LATEST_VERSION = MIGRATIONS[-1].VERSION
