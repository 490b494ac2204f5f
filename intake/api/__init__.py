"""The JSON API: the requester's /v1 endpoints and the operators' probes and metrics.

Bodies are read and validated here (size first, then JSON, then fields);
every error answers in one JSON shape (intake.errors).
"""
