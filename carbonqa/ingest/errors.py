"""Errors of :mod:`carbonqa.ingest`, one tree.

A failed *row* or a bad *file* is never an exception: it becomes a quarantine item and the rest of the
bundle goes on. Exceptions are only for what stops a whole bundle::

    BundleError                      anything that prevents ingesting a bundle at all
    ├── BundleNotFoundError          the path is not a directory
    └── ManifestError                manifest.json missing, unreadable or not the contract's
        ├── ManifestMissingError     no manifest.json in the bundle directory
        ├── ManifestInvalidError     not JSON, or a required field is missing / of the wrong type
        │   └── BundleIdError        ``bundle_id`` could climb out of a folder or not fit the store
        └── ContractVersionError     ``contract_version`` is not one this service speaks

:func:`carbonqa.ingest.ingest_bundle` catches :class:`BundleError` and returns an ``IngestResult`` with
outcome ``rejected`` and the message as reason; every message says what failed, where and how to fix it.
"""

from __future__ import annotations

from carbonqa.errors import InputError

__all__ = [
    "BundleError",
    "BundleNotFoundError",
    "ManifestError",
    "ManifestMissingError",
    "ManifestInvalidError",
    "BundleIdError",
    "ContractVersionError",
]


class BundleError(InputError):
    """A bundle cannot be ingested at all (base of every ingest error)."""


class BundleNotFoundError(BundleError):
    """The bundle path does not exist or is not a directory."""


class ManifestError(BundleError):
    """``manifest.json`` is missing, unreadable or does not follow CONTRACT.md §1."""


class ManifestMissingError(ManifestError):
    """The bundle directory has no ``manifest.json``."""


class ManifestInvalidError(ManifestError):
    """``manifest.json`` is not valid JSON or lacks a required field."""


class BundleIdError(ManifestInvalidError):
    """``bundle_id`` is ``..``, holds a path separator or control character, or is too long (issue 14)."""


class ContractVersionError(ManifestError):
    """``contract_version`` in the manifest is not supported."""
