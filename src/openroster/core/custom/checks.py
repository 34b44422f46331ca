"""Custom attribute values checked against their definitions (the rules: ``attributes``'s docstring).

:func:`checked_batch` checks a whole batch_update, a person and a value at a time, and raises the
error naming the field; :func:`quick_batch` gives the same result for a batch that passes every
check, without the per-value bookkeeping that naming a field needs, and gives up (``None``) on
anything else, for :func:`checked_batch` to answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from openroster.core import validate
from openroster.core.runtime import limits
from openroster.model import errors
from openroster.model.entities import (
    AttributeDefinition,
    AttributeUpdate,
    AttributeValue,
    AttributeValueData,
    UrlValue,
    UserAttributeUpdate,
    ValueType,
)

#: A batch's checked values: ``(user_id, value)`` to set and ``(user_id, attr_id)`` to clear.
Checked = tuple[list[tuple[str, AttributeValue]], list[tuple[str, str]]]


def checked_batch(
    defs: Mapping[str, AttributeDefinition],
    updates: Sequence[UserAttributeUpdate],
    present: set[str],
    known_users: set[str],
    known_depts: set[int],
) -> Checked:
    """Every person of ``updates`` (each once, each in ``present``) and their values checked, in
    order; errors name ``users[i]...``. ``known_users`` / ``known_depts``: what a relation may name."""
    writes: list[tuple[str, AttributeValue]] = []
    clears: list[tuple[str, str]] = []
    seen_users: set[str] = set()
    for i, u in enumerate(updates):
        p = f"users[{i}]"
        if not u.user_id:
            raise errors.MissingField(f"{p}.user_id is required", field=f"{p}.user_id")
        if u.user_id in seen_users:
            raise errors.InvalidValue(
                f"{p}.user_id: user {u.user_id!r} appears twice in this batch", field=f"{p}.user_id"
            )
        seen_users.add(u.user_id)
        if u.user_id not in present:
            raise errors.NotFound(
                f"{p}.user_id: user {u.user_id!r} does not exist",
                field=f"{p}.user_id",
                entity=errors.Entity.USER,
            )
        validate.count(
            u.attrs,
            field=f"{p}.custom_attrs",
            limit=limits.ATTR_UPDATE_ATTRS_PER_USER_MAX,
            what="attribute",
            required=False,
        )
        for attr_id, value in checked_values(
            defs, u.attrs, field=p, known_users=known_users, known_depts=known_depts
        ):
            if value is None:
                clears.append((u.user_id, attr_id))
            else:
                writes.append((u.user_id, AttributeValue(attr_id=attr_id, value=value)))
    return writes, clears


class _Slow(Exception):
    """Raised inside :func:`quick_batch`: a value it leaves to :func:`checked_batch`."""


def quick_batch(
    defs: Mapping[str, AttributeDefinition],
    updates: Sequence[UserAttributeUpdate],
    present: set[str],
    known_users: set[str],
    known_depts: set[int],
) -> Checked | None:
    """:func:`checked_batch`'s result when the whole batch passes, or None: then something fails
    (or is a link only ``urlsplit`` can judge) and :func:`checked_batch` must answer it.

    The same checks as :func:`checked_value`, a value's branch inline, with no field named (no
    text per value, no call per value but a url's or departments'), and an option looked up in its
    definition's set of keys (made once a batch). A rule added to :func:`checked_value` must be
    added here too, or made a reason to give up: ``tests/unit/test_attr_quick_batch.py`` holds the
    two to the same answers."""
    writes: list[tuple[str, AttributeValue]] = []
    clears: list[tuple[str, str]] = []
    seen_users: set[str] = set()
    option_keys: dict[str, frozenset[str]] = {}
    text, option, relation_user, relation_depts = (
        ValueType.TEXT,
        ValueType.OPTION,
        ValueType.RELATION_USER,
        ValueType.RELATION_DEPTS,
    )
    text_max, per_user = limits.ATTR_TEXT_MAX, limits.ATTR_UPDATE_ATTRS_PER_USER_MAX
    try:
        for u in updates:
            uid = u.user_id
            if not uid or uid in seen_users or uid not in present or len(u.attrs) > per_user:
                return None
            seen_users.add(uid)
            seen: set[str] = set()
            for a in u.attrs:
                attr_id = a.attr_id
                definition = defs.get(attr_id)
                if definition is None or attr_id in seen:
                    return None
                seen.add(attr_id)
                vt = definition.value_type
                value: AttributeValueData | None
                if vt is text:
                    value = a.text
                    if value is None or len(value) > text_max:
                        return None
                elif vt is option:
                    value = a.option
                    if type(value) is not str:  # None, or what the option keys cannot hold
                        return None
                    if value:
                        keys = option_keys.get(attr_id)
                        if keys is None:
                            keys = option_keys[attr_id] = definition.option_keys()
                        if value not in keys:
                            return None
                elif vt is relation_user:
                    value = a.relation_user
                    if value is None or (value and value not in known_users):
                        return None
                elif vt is relation_depts:
                    value = _quick_depts(a.relation_depts, known_depts)
                else:
                    value = _quick_url(a)
                # An empty value clears ("", no departments); a UrlValue is never empty.
                if value:
                    writes.append((uid, AttributeValue(attr_id, value)))
                else:
                    clears.append((uid, attr_id))
    except _Slow:
        return None
    return writes, clears


def _quick_depts(raw: tuple[str, ...] | None, known_depts: set[int]) -> tuple[int, ...]:
    """:func:`checked_value`'s relation_depts (``()``: clear), each id a decimal string."""
    if raw is None or len(raw) > limits.ATTR_RELATION_DEPTS_MAX:
        raise _Slow
    ids: list[int] = []
    for x in raw:
        # validate.dept_id's test, for a string only (an int is the long way's to judge).
        if type(x) is not str or not x.isascii() or not x.isdigit() or len(x) > 18:
            raise _Slow
        dept = int(x)
        if dept not in known_depts or dept <= 0 or dept > limits.DEPT_ID_MAX:
            raise _Slow
        if dept not in ids:
            ids.append(dept)
    return tuple(ids)


def _quick_url(a: AttributeUpdate) -> UrlValue | None:
    """:func:`checked_value`'s url, for a plain ``http(s)://host`` link (:data:`_PLAIN_HTTP_LINK`)."""
    if not a.has_url or a.url_link is None:
        raise _Slow
    link = a.url_link.strip()
    if link == "":
        return None
    title = (a.url_title or "").strip()
    if (
        len(link) > limits.ATTR_URL_LINK_MAX
        or len(title) > limits.ATTR_URL_TITLE_MAX
        or not link.isprintable()
        or " " in link
        or not _PLAIN_HTTP_LINK.match(link)
    ):
        raise _Slow
    return UrlValue(title=title, link=link)


def checked_values(
    defs: Mapping[str, AttributeDefinition],
    attrs: Sequence[AttributeUpdate],
    *,
    field: str,
    known_users: set[str],
    known_depts: set[int],
) -> list[tuple[str, AttributeValueData | None]]:
    """One person's attribute updates checked against their definitions: ``(attr_id, value)``, in
    order; ``None`` clears the attribute. Errors name ``{field}.custom_attrs[j]``.

    ``known_users`` / ``known_depts``: the users and departments a relation may name.
    """
    out: list[tuple[str, AttributeValueData | None]] = []
    seen: set[str] = set()
    for j, a in enumerate(attrs):
        q = f"{field}.custom_attrs[{j}]"
        try:
            definition = defs.get(a.attr_id)
            if definition is None:
                raise errors.UnknownAttribute(
                    f"{q}.attr_id: attribute {a.attr_id!r} does not exist", field=f"{q}.attr_id"
                )
            if a.attr_id in seen:
                raise errors.InvalidValue(
                    f"{q}.attr_id: attribute {a.attr_id!r} appears twice", field=f"{q}.attr_id"
                )
            seen.add(a.attr_id)
            value = checked_value(definition, a, field=q, known_users=known_users, known_depts=known_depts)
            out.append((a.attr_id, value))
        except errors.CoreError as exc:
            raise exc.in_field(errors.Entity.ATTRIBUTE, a.attr_id) from None
    return out


def checked_value(
    definition: AttributeDefinition,
    a: AttributeUpdate,
    *,
    field: str,
    known_users: set[str],
    known_depts: set[int],
) -> AttributeValueData | None:
    """One attribute update checked against its definition: the value to store (``None``: clear it).

    Errors name ``{field}.<part>`` (``text``, ``option``, ...); ``known_users`` / ``known_depts``
    are the users and departments a relation may name.
    """
    vt = definition.value_type
    if vt is ValueType.TEXT:
        if a.text is None:
            raise errors.MissingField(
                f"{field}.text is required for text attribute {definition.id!r}", field=f"{field}.text"
            )
        if len(a.text) > limits.ATTR_TEXT_MAX:
            raise errors.AttributeValueMismatch(
                f"{field}.text is longer than {limits.ATTR_TEXT_MAX} characters", field=f"{field}.text"
            )
        return a.text if a.text != "" else None
    if vt is ValueType.OPTION:
        if a.option is None:
            raise errors.MissingField(
                f"{field}.option is required for option attribute {definition.id!r}", field=f"{field}.option"
            )
        if a.option == "":
            return None
        if all(o.key != a.option for o in definition.options):  # (no set built per value)
            allowed = ", ".join(repr(o.key) for o in definition.options)
            raise errors.AttributeValueMismatch(
                f"{field}.option: {a.option!r} is not an option of attribute {definition.id!r}"
                f" (options: {allowed})",
                field=f"{field}.option",
            )
        return a.option
    if vt is ValueType.RELATION_USER:
        if a.relation_user is None:
            raise errors.MissingField(
                f"{field}.relation_user is required for relation_user attribute {definition.id!r}",
                field=f"{field}.relation_user",
            )
        if a.relation_user == "":
            return None
        if a.relation_user not in known_users:
            raise errors.BrokenReference(
                f"{field}.relation_user: user {a.relation_user!r} does not exist",
                field=f"{field}.relation_user",
                entity=errors.Entity.USER,
            )
        return a.relation_user
    if vt is ValueType.RELATION_DEPTS:
        if a.relation_depts is None:
            raise errors.MissingField(
                f"{field}.relation_depts is required for relation_depts attribute {definition.id!r}",
                field=f"{field}.relation_depts",
            )
        validate.count(
            a.relation_depts,
            field=f"{field}.relation_depts",
            limit=limits.ATTR_RELATION_DEPTS_MAX,
            what="department",
            required=False,
        )
        ids: list[int] = []
        for k, raw in enumerate(a.relation_depts):
            dept = validate.dept_id(raw, field=f"{field}.relation_depts[{k}]")
            if dept not in known_depts:
                raise errors.BrokenReference(
                    f"{field}.relation_depts[{k}]: department {raw!r} does not exist",
                    field=f"{field}.relation_depts[{k}]",
                    entity=errors.Entity.DEPARTMENT,
                )
            if dept not in ids:
                ids.append(dept)
        return tuple(ids) if ids else None
    # url
    if not a.has_url or a.url_link is None:
        raise errors.MissingField(
            f"{field}.url is required for url attribute {definition.id!r}", field=f"{field}.url"
        )
    link = a.url_link.strip()
    title = (a.url_title or "").strip()
    if link == "":
        return None
    if len(link) > limits.ATTR_URL_LINK_MAX:
        raise errors.AttributeValueMismatch(
            f"{field}.url.link is longer than {limits.ATTR_URL_LINK_MAX} characters",
            field=f"{field}.url.link",
        )
    if len(title) > limits.ATTR_URL_TITLE_MAX:
        raise errors.AttributeValueMismatch(
            f"{field}.url.title is longer than {limits.ATTR_URL_TITLE_MAX} characters",
            field=f"{field}.url.title",
        )
    # The only character printable and a space is " " (U+0020): the scan runs on a bad link only.
    if not link.isprintable() or " " in link:
        bad = next(c for c in link if c.isspace() or not c.isprintable())
        raise errors.AttributeValueMismatch(
            f"{field}.url.link: {link!r} holds {bad!r}; a link has no spaces or control characters "
            "(percent-encode them)",
            field=f"{field}.url.link",
        )
    if not _is_http_link(link):
        raise errors.AttributeValueMismatch(
            f"{field}.url.link: {link!r} is not an http(s) link", field=f"{field}.url.link"
        )
    return UrlValue(title=title, link=link)


#: A link that is plainly ``http(s)://host`` (no user, port or IPv6 brackets) and a path, query or
#: fragment: what :func:`_is_http_link` accepts without taking it apart.
#: ASCII only: case-folding alone lets "ſ" (U+017F) match "s" and "K" (U+212A) match a letter.
_PLAIN_HTTP_LINK = re.compile(r"https?://[A-Za-z0-9.-]+(?:[/?#]|\Z)", re.IGNORECASE | re.ASCII)


def _is_http_link(link: str) -> bool:
    """``http://`` or ``https://``, a host, and (if any) a port that is a port number."""
    if _PLAIN_HTTP_LINK.match(link):
        return True
    try:
        parts = urlsplit(link)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port that is no number, or out of range; a malformed IPv6 host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and port_ok
