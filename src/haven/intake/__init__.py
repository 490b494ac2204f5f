"""The Flask intake service that requesters' devices talk to (built with the intake issue)."""
