"""QAbstractTableModel adapters over rows the services return."""
