"""The partner toolkit: pull, open locally, accept or decline (built with the worker issue)."""
