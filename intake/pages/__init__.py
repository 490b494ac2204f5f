"""The requester's HTML pages (docs/web-form.md): forms, the no-JavaScript send, the catalogs."""
