"""Whether a name is a secret's (a token, a signature, an app secret), and whether JSON text may
name one: the request journal's redaction (control/journal.py) asks both of every call."""

from __future__ import annotations

import functools

from openroster.dialects import ambiguity

#: Parameter, field and header names are secret when, lowercased without ``_`` and ``-``, they end
#: with one of these (``access_token``, ``appSecret``, ``x-acs-dingtalk-access-token``, ...) ...
_SECRET_SUFFIXES: tuple[str, ...] = ("token", "secret", "password", "signature", "authorization")
#: ... or are one of these; paging tokens are not credentials and stay readable.
_SECRET_NAMES = frozenset({"sign", "ticket", "suiteticket", "authcode", "tmpauthcode"})
_NOT_SECRET = frozenset({"pagetoken", "nextpagetoken"})
#: What every secret name holds once lowercased without ``_`` and ``-`` (:func:`secret_name`),
#: those holding another left out, as bytes.
_NAME_PARTS = {*_SECRET_SUFFIXES, *_SECRET_NAMES}
_SECRET_NEEDLES = tuple(
    n.encode() for n in sorted(_NAME_PARTS) if not any(o != n and o in n for o in _NAME_PARTS)
)
#: The only characters outside ASCII that lowercase to ASCII letters (KELVIN SIGN, LATIN CAPITAL
#: LETTER I WITH DOT ABOVE), as UTF-8 ...
_NON_ASCII_LETTERS = ("\u212a".encode(), "\u0130".encode())
#: ... and the JSON escape that can spell any letter.
_ESCAPE = b"\\u"
#: In a text longer than this (shorter, one pass over the whole text costs less), only the member
#: names are looked at for secret names, when there are few (``ambiguity.member_names``).
_NAMES_FROM = 1024


def secret_name(name: str) -> bool:
    key = name.lower().replace("_", "").replace("-", "")
    return key not in _NOT_SECRET and (key in _SECRET_NAMES or key.endswith(_SECRET_SUFFIXES))


def may_name_secrets(data: bytes) -> bool:
    """False when no member name in ``data`` can be a secret's (:func:`secret_name`): no secret
    name appears in the names (:func:`ambiguity.member_names`; a client sends the same few again
    and again, so their verdicts are kept), or else the whole text, lowercased without ``_`` and
    ``-`` (as a name is), and nothing in it could spell one otherwise. A few passes in C over the
    bytes, where walking the members of a 15 KB body took milliseconds. (``find``, not ``in``:
    ``bytes in bytes`` makes and drops a ``TypeError`` each time, about 1,500 instructions.)"""
    if len(data) > _NAMES_FROM and data.find(b"\\") < 0:  # one byte is found faster than two
        names = ambiguity.member_names(data)
        if names is not None:
            return _names_spell_secrets(b'"'.join(names))
    elif data.find(_ESCAPE) >= 0:
        return True
    return _spells_secrets(data)


def _spells_secrets(data: bytes) -> bool:
    if not data.isascii() and any(data.find(s) >= 0 for s in _NON_ASCII_LETTERS):
        return True
    folded = data.lower().replace(b"_", b"").replace(b"-", b"")
    return any(folded.find(n) >= 0 for n in _SECRET_NEEDLES)


_names_spell_secrets = functools.lru_cache(maxsize=256)(_spells_secrets)
