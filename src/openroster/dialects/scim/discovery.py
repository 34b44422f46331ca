"""``/ServiceProviderConfig``, ``/ResourceTypes``, ``/Schemas`` (RFC 7644 §4): exactly what is supported."""

from __future__ import annotations

from typing import Any

from openroster.dialects.scim import (
    ENTERPRISE_USER,
    LIST_RESPONSE,
    RESOURCE_TYPE,
    SERVICE_PROVIDER_CONFIG,
    USER,
    schema,
)
from openroster.dialects.scim.endpoint import Call, Reply, route
from openroster.dialects.scim.errors import ScimError
from openroster.dialects.scim.users import COUNT_MAX

_DOCS = "https://github.com/openroster/openroster/blob/main/docs/scim.md"


def _list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


@route("GET", "/ServiceProviderConfig", summary="What this service provider supports")
def service_provider_config(call: Call, _: None) -> Reply:
    return Reply(
        200,
        {
            "schemas": [SERVICE_PROVIDER_CONFIG],
            "documentationUri": _DOCS,
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": COUNT_MAX},
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "Bearer token",
                    "description": "The client_secret of an app with the scim scope, as a bearer token",
                    "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                    "documentationUri": _DOCS,
                    "primary": True,
                }
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": f"{call.base}/ServiceProviderConfig",
            },
        },
    )


def _user_type(base: str) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person of the directory",
        "schema": USER,
        "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
    }


@route("GET", "/ResourceTypes", summary="The resource types served")
def resource_types(call: Call, _: None) -> Reply:
    return Reply(200, _list([_user_type(call.base)]))


@route("GET", "/ResourceTypes/{id}", summary="One resource type")
def resource_type(call: Call, _: None) -> Reply:
    if call.path_param("id") != "User":
        raise ScimError(404, f"no ResourceType {call.path_param('id')!r}")
    return Reply(200, _user_type(call.base))


@route("GET", "/Schemas", summary="The schemas served, with their attributes")
def schemas(call: Call, _: None) -> Reply:
    return Reply(200, _list([schema.render(urn, call.base) for urn in schema.SCHEMAS]))


@route("GET", "/Schemas/{id}", summary="One schema")
def one_schema(call: Call, _: None) -> Reply:
    urn = call.path_param("id")
    if urn not in schema.SCHEMAS:
        raise ScimError(404, f"no Schema {urn!r}")
    return Reply(200, schema.render(urn, call.base))


@route("POST", "/.search", summary="Search every resource type at once: not supported (501)")
def search_everything(call: Call, _: Any) -> Reply:
    raise ScimError(501, "searching every resource type at once is not supported; POST /Users/.search")
