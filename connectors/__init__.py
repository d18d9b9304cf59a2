"""Venue connectors: one package per venue with the same file set.

``urls`` (endpoint names), ``messages`` (typed wire structs), ``sync`` (the book-sync state machine),
``normalize`` (pure: raw payload + local receive time -> hftbacktest event rows), ``feed`` (I/O).
What they share lives in ``connectors.common``.
"""
