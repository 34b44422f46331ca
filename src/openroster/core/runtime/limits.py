"""Every documented limit, in one place (docs/wps.md quotes these)."""

from __future__ import annotations

#: Users each server process keeps in its cache by default: a cached, rendered person takes
#: about 4 KB, so 50,000 of them stay well inside a 300 MB server (docs/benchmarks.md,
#: docs/deploy.md).
DEFAULT_MAX_USERS = 50_000
#: Users per ``POST /v7/users/batch_read``.
BATCH_READ_USERS_MAX = 100
#: Users per custom-attribute ``batch_update``.
ATTR_UPDATE_USERS_MAX = 100
#: Attributes per user in one custom-attribute ``batch_update``.
ATTR_UPDATE_ATTRS_PER_USER_MAX = 100
#: Users per custom-attribute value ``batch_read``.
ATTR_READ_USERS_MAX = 50
#: Definitions per ``batch_create``.
ATTR_DEFS_CREATE_MAX = 50
#: Custom attributes a tenant may define.
ATTR_DEFS_PER_TENANT_MAX = 200
#: Options of one option attribute.
ATTR_OPTIONS_MAX = 200
#: Characters in a text attribute value.
ATTR_TEXT_MAX = 1000
#: Characters in a url attribute's title / link.
ATTR_URL_TITLE_MAX = 200
ATTR_URL_LINK_MAX = 2048
#: Departments in one relation_depts value.
ATTR_RELATION_DEPTS_MAX = 50
#: Departments a user can belong to.
USER_DEPTS_MAX = 20
#: Characters in a name (user, department, attribute, option).
NAME_MAX = 200
#: Depth of the department tree (root is depth 1).
DEPT_DEPTH_MAX = 15
#: The largest department id (18 decimal digits: every id fits the stores' 64-bit integers).
DEPT_ID_MAX = 10**18 - 1
#: The largest order value (a department's place among its siblings, a member's in a department).
ORDER_MAX = 2**31 - 1
#: Request body size, in bytes.
BODY_MAX_BYTES = 1024 * 1024
#: Body of a control-plane snapshot import (admin only, read after the token check).
SNAPSHOT_BODY_MAX_BYTES = 256 * 1024 * 1024
#: Request line and headers together, in bytes.
HEAD_MAX_BYTES = 64 * 1024
#: Query parameters of one request.
QUERY_PARAMS_MAX = 100
#: Seconds a client may take to send a request's head (from connecting, or from its first byte).
HEAD_TIMEOUT_SECONDS = 10.0
#: Seconds a client may take to send a request's body, after its head.
BODY_TIMEOUT_SECONDS = 30.0
#: Lifetime of an access token, in seconds.
TOKEN_TTL_SECONDS = 7200
#: Failed credential attempts at the token endpoints allowed per client id, per source address,
#: per window (``serve --credential-failures-*``; docs/security.md).
CREDENTIAL_FAILURES_PER_CLIENT = 10
CREDENTIAL_FAILURES_PER_ADDRESS = 50
CREDENTIAL_FAILURES_WINDOW_SECONDS = 60.0
#: Allowed skew of a signature's date header, in seconds.
SIGNATURE_WINDOW_SECONDS = 15 * 60
#: Items per page of a paged list (``page_size``): the default and the maximum.
PAGE_SIZE_DEFAULT = 10
PAGE_SIZE_MAX = 50
#: The largest item offset a page may start at (an integer every JSON client reads exactly).
OFFSET_MAX = 2**53
#: Values per user lookup (``by_emails``, ``by_phones``, ``by_ex_user_ids``).
USER_LOOKUP_MAX = 100
#: Users per batch write (``batch_enable``, ``batch_disable``, ``batch_update_dept``, ``batch_update_order``).
USER_BATCH_WRITE_MAX = 100
#: Departments per ``depts/batch_read`` and ``by_ex_dept_ids``; users per ``members/batch_read``.
DEPT_BATCH_READ_MAX = 100
#: Leaders of one department.
DEPT_LEADERS_MAX = 20
#: Definitions per custom-attribute ``batch_update`` / ``batch_delete``.
ATTR_DEFS_BATCH_MAX = 50
#: How far the control plane may move the server's clock from real time: 100 years either way.
CLOCK_OFFSET_MAX_SECONDS = 100 * 365.25 * 86_400
#: Change-log entries the store keeps (``serve --change-retention``); older ones are pruned.
CHANGE_RETENTION_DEFAULT = 100_000

#: Python's switch interval in a server process, ms (``serve --switch-interval``; Python's own is
#: 5). The writer threads run a job's Python for milliseconds at a time. Each time the event loop
#: gives the interpreter lock up (a system call: epoll, a socket's recv and send, the cache's
#: SQLite poll), a busy writer takes it, and the loop gets it back when the writer next gives it
#: up, or is asked to after the switch interval. A read makes several such calls, so beside a
#: write load its latency grew by a few switch intervals (docs/write-path.md, "Reads beside
#: writes").
SWITCH_INTERVAL_MS = 1.0
