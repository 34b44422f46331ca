"""The SCIM 2.0 dialect (RFC 7643 schema, RFC 7644 protocol): its paths and schema names.

Like the other dialect packages, this module imports nothing, so naming a path does not
load FastAPI or the store. docs/scim.md describes what the dialect supports.
"""

PREFIX = "/scim/v2"
MEDIA_TYPE = "application/scim+json"

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#: openroster's extension of a Group: the department's parent.
DEPARTMENT = "urn:openroster:params:scim:schemas:extension:department:2.0:Group"
#: openroster's extension of a User: the tenant's custom attributes, each typed as its definition.
CUSTOM_USER = "urn:openroster:params:scim:schemas:extension:custom:2.0:User"
#: The resources' own schemas, whose attributes sit at the top level (an extension's in its object).
CORE = frozenset({USER, GROUP})
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
