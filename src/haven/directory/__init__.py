"""The signed partner directory.

Verification against the pinned network key, freshness, and the recipients
of each request category.
"""
