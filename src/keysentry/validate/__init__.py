"""Live-key validation and key management against the OpenRouter API.

Cheap to import: ``requests`` is loaded only when a key is actually probed. The management
client lives in :mod:`keysentry.validate.management` and the audit rules in
:mod:`keysentry.validate.audit`.
"""

from keysentry.validate.batch import validate_findings, validate_secrets
from keysentry.validate.cache import validation_from_dict, validation_to_dict
from keysentry.validate.settings import ValidationSettings

__all__ = [
    "ValidationSettings",
    "validate_findings",
    "validate_secrets",
    "validation_from_dict",
    "validation_to_dict",
]
