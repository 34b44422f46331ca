"""Clients for the APIs openroster speaks; they work against the real platforms too."""

from openroster.client.errors import ApiError, AuthenticationError, OpenrosterClientError
from openroster.client.wps import WpsClient

__all__ = ["ApiError", "AuthenticationError", "OpenrosterClientError", "WpsClient"]
