"""``/ServiceProviderConfig``, ``/ResourceTypes``, ``/Schemas`` (RFC 7644 §4): exactly what is supported."""

from __future__ import annotations

from typing import Any

from openroster.dialects.scim import (
    CUSTOM_USER,
    DEPARTMENT,
    ENTERPRISE_USER,
    GROUP,
    LIST_RESPONSE,
    RESOURCE_TYPE,
    SERVICE_PROVIDER_CONFIG,
    USER,
    schema,
)
from openroster.dialects.scim.endpoint import Call, Reply, route
from openroster.dialects.scim.errors import ScimError
from openroster.dialects.scim.listing import COUNT_MAX

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


#: Each resource type: (id, endpoint, description, schema, its extensions).
_TYPES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("User", "/Users", "A person of the directory", USER, (ENTERPRISE_USER, CUSTOM_USER)),
    ("Group", "/Groups", "A department of the directory", GROUP, (DEPARTMENT,)),
)


def _types(base: str) -> dict[str, dict[str, Any]]:
    served = schema.served()
    return {
        name: {
            "schemas": [RESOURCE_TYPE],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": description,
            "schema": core,
            "schemaExtensions": [
                {"schema": extension, "required": False} for extension in extensions if extension in served
            ],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"},
        }
        for name, endpoint, description, core, extensions in _TYPES
    }


@route("GET", "/ResourceTypes", summary="The resource types served")
def resource_types(call: Call, _: None) -> Reply:
    return Reply(200, _list(list(_types(call.base).values())))


@route("GET", "/ResourceTypes/{id}", summary="One resource type")
def resource_type(call: Call, _: None) -> Reply:
    found = _types(call.base).get(call.path_param("id"))
    if found is None:
        raise ScimError(404, f"no ResourceType {call.path_param('id')!r}")
    return Reply(200, found)


@route("GET", "/Schemas", summary="The schemas served, with their attributes")
def schemas(call: Call, _: None) -> Reply:
    return Reply(200, _list([schema.render(urn, call.base) for urn in schema.served()]))


@route("GET", "/Schemas/{id}", summary="One schema")
def one_schema(call: Call, _: None) -> Reply:
    urn = call.path_param("id")
    if urn not in schema.served():
        raise ScimError(404, f"no Schema {urn!r}")
    return Reply(200, schema.render(urn, call.base))
