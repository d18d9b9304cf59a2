"""Recordings: hftbacktest's collector format on disk, and their conversion to ``.npz``."""
