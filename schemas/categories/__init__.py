"""One schema per request category: exactly what a partner needs, nothing that endangers anyone.

Each module says what its category never asks and why. No category takes
attachments: evidence goes later, through the lawyer.
"""

from __future__ import annotations

from schemas.categories.asylum import AsylumSchema
from schemas.categories.common import CategorySchema
from schemas.categories.desertion import DesertionSchema
from schemas.categories.evacuation import EvacuationSchema
from schemas.categories.legal_aid import LegalAidSchema
from schemas.categories.political_prisoner import PoliticalPrisonerSchema

CATEGORY_SCHEMAS: dict[str, type[CategorySchema]] = {
    schema.category: schema
    for schema in (
        EvacuationSchema,
        LegalAidSchema,
        DesertionSchema,
        PoliticalPrisonerSchema,
        AsylumSchema,
    )
}

__all__ = [
    "CATEGORY_SCHEMAS",
    "AsylumSchema",
    "CategorySchema",
    "DesertionSchema",
    "EvacuationSchema",
    "LegalAidSchema",
    "PoliticalPrisonerSchema",
]
