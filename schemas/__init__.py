"""Pure request-content contract: routing metadata, category forms, queue and directory documents.

Imports only marshmallow and the standard library, so every other part of
Haven (and the browser form, through the exported form definitions) agrees
on one contract.
"""

from schemas.categories import CATEGORY_SCHEMAS
from schemas.content import (
    MAX_SERIALIZED_CONTENT,
    ContentError,
    RequestContent,
    RequestContentSchema,
    content_from_json_bytes,
    content_to_json_bytes,
    dump_content,
    load_content,
)
from schemas.directory import (
    Deadline,
    Delivery,
    Directory,
    DirectoryFormatError,
    Partner,
    PartnerKey,
    dump_directory_payload,
    load_directory_payload,
)
from schemas.forms import all_form_definitions, form_definition
from schemas.messages import MESSAGES
from schemas.routing import (
    CATEGORIES,
    CATEGORY_LABELS,
    LABELS,
    LANGUAGE_LABELS,
    LANGUAGES,
    REGION_LABELS,
    REGIONS,
    URGENCIES,
    URGENCY_LABELS,
    Routing,
    RoutingSchema,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "CATEGORY_SCHEMAS",
    "LABELS",
    "LANGUAGES",
    "LANGUAGE_LABELS",
    "MAX_SERIALIZED_CONTENT",
    "MESSAGES",
    "REGIONS",
    "REGION_LABELS",
    "URGENCIES",
    "URGENCY_LABELS",
    "ContentError",
    "Deadline",
    "Delivery",
    "Directory",
    "DirectoryFormatError",
    "Partner",
    "PartnerKey",
    "RequestContent",
    "RequestContentSchema",
    "Routing",
    "RoutingSchema",
    "all_form_definitions",
    "content_from_json_bytes",
    "content_to_json_bytes",
    "dump_content",
    "dump_directory_payload",
    "form_definition",
    "load_content",
    "load_directory_payload",
]
