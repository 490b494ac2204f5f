"""Tests of the requester's web form: the browser bundle and the pages in a real browser."""
