"""Importing this module registers every SCIM route (each module adds its own with ``@route``)."""

from __future__ import annotations

from openroster.dialects.scim import discovery, groups, search, users

MODULES = (discovery, users, groups, search)
