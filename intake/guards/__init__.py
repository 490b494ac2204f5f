"""Abuse priced in work and time, never answered by identifying anyone.

Tor users share exits, so nothing here looks at an address: proof of work
bound to the envelope, form tickets and one shared bucket for the
no-JavaScript path, and the replay window. Tokens the intake hands out and
takes back are signed in one format (intake.guards.signed).
"""
