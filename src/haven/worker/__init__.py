"""The router that gives each request to exactly one eligible partner.

Built with the worker issue.
"""
