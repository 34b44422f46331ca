"""Importing this module registers every WPS route (each module adds its own with ``@route``)."""

from __future__ import annotations

from openroster.dialects.wps import attr_defs, attributes, contacts, depts, users

MODULES = (attr_defs, attributes, contacts, depts, users)
