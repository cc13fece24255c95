"""The Qt desktop window: it only shows and asks; all logic lives in core."""
