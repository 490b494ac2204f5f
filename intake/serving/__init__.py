"""Running the app: the WSGI factory, gunicorn's worker and logger, the local server.

Every piece here keeps the server from learning or logging who is talking
to it (no access log, no client address, no trusted proxy).
"""
