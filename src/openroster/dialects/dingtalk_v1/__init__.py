"""DingTalk's new-generation API (``api.dingtalk.com/v1.0``), as the official ``alibabacloud-dingtalk``
SDK speaks it, over the same store and the same tokens as the ``/topapi`` dialect (docs/dingtalk-v1.md)."""

#: Every path of the generation starts with it.
PREFIX = "/v1.0/"
#: The header the access token travels in (the bare token, no ``Bearer``).
TOKEN_HEADER = "x-acs-dingtalk-access-token"  # noqa: S105  (a header name, not a secret)

#: Approve HR processes: regularization, dismission (``/v1.0/hrm/processes``, ``pendingDismission``).
HRM_PROCESS = "Hrm.Process.ReadWrite"
#: Add people waiting to join (``/v1.0/hrm/preentries``).
HRM_PREENTRY = "Pro.HrmPreentry.ReadWrite"
#: Search members and departments by name (``/v1.0/contact/*/search``).
ADDRESSLIST_SEARCH = "qyapi_addresslist_search"
#: Read the contacts' common records (``/v1.0/contact/empLeaveRecords``).
CONTACT_READ = "Contact.Common.Read"
#: The permissions this generation adds to the ``/topapi`` ones (``dialects/dingtalk/endpoint.py``).
PERMISSIONS: tuple[str, ...] = (HRM_PROCESS, HRM_PREENTRY, ADDRESSLIST_SEARCH, CONTACT_READ)
