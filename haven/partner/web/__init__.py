"""The partners' inbox: a team's web workspace on its own machine (docs/partner-inbox.md)."""

from haven.partner.web.app import create_app
from haven.partner.web.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]
