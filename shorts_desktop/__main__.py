"""Allows `python -m shorts_desktop`."""

from shorts_desktop.cli import main

raise SystemExit(main())
