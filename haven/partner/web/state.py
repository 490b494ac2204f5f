"""What every view reaches: the settings, the vault, the puller and the catalogs of one app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from flask import current_app

from haven.catalogs import Catalog
from haven.partner.web.puller import Puller
from haven.partner.web.settings import ServeSettings
from haven.partner.web.vault import Vault

STATE_KEY = "haven.partner.web"


@dataclass(frozen=True)
class WebState:
    settings: ServeSettings
    vault: Vault
    puller: Puller
    catalog: Catalog
    wall: Callable[[], datetime]
    # False in tests: they pull and sweep themselves, at the moment they choose.
    background: bool


def web_state() -> WebState:
    return cast(WebState, current_app.extensions[STATE_KEY])
