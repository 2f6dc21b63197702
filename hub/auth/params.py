"""The syntax of OAuth's request parameters (RFC 6749 Appendix A, RFC 7636 4.1), checked before
Authlib reads them.

Authlib quotes some values back in its error descriptions and refuses to build a description
holding ``"``, ``\\`` or a control character (a ValueError: a 500). A value outside the syntax is
the client's mistake, so it gets a 400 naming the parameter, and the value is never echoed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

MAX_LENGTH = 2048  # far above any real value; a JWT (token) may be longer
TOKEN_MAX_LENGTH = 16 * 1024

VSCHAR = re.compile(r"[\x20-\x7e]*")
NQCHAR_WORDS = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*")
NAME_WORDS = re.compile(r"[A-Za-z0-9_]+( [A-Za-z0-9_]+)*")
# a URI reference's characters (RFC 3986 2): unreserved, reserved and percent escapes
URI = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
PKCE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
TOKEN_NAME = re.compile(r"[A-Za-z0-9\-._~:]+")

SYNTAX: dict[str, tuple[re.Pattern[str], str]] = {
    "client_id": (VSCHAR, "printable ASCII"),
    "client_secret": (VSCHAR, "printable ASCII"),
    "state": (VSCHAR, "printable ASCII"),
    "code": (VSCHAR, "printable ASCII"),
    "token": (VSCHAR, "printable ASCII"),
    "scope": (NQCHAR_WORDS, "scope names (printable ASCII without quotes or backslashes)"),
    "response_type": (NAME_WORDS, "letters, digits and _"),
    "grant_type": (TOKEN_NAME, "a grant type name"),
    "token_type_hint": (TOKEN_NAME, "a token type name"),
    "code_challenge_method": (TOKEN_NAME, "S256"),
    "redirect_uri": (URI, "a URI (no quotes, backslashes, spaces or control characters)"),
    "code_challenge": (PKCE, "43 to 128 letters, digits or - . _ ~ (RFC 7636)"),
    "code_verifier": (PKCE, "43 to 128 letters, digits or - . _ ~ (RFC 7636)"),
}


class BadParameter(ValueError):
    """An OAuth parameter outside its syntax; the message names it, never its value."""


def check_parameters(values: Mapping[str, Sequence[str]]) -> None:
    """Raise BadParameter for the first known parameter whose value breaks its syntax."""
    for name, given in values.items():
        rule = SYNTAX.get(name)
        if rule is None:
            continue
        pattern, expected = rule
        longest = TOKEN_MAX_LENGTH if name == "token" else MAX_LENGTH
        for value in given:
            if len(value) > longest:
                raise BadParameter(f"{name} is too long (at most {longest} characters)")
            if value and not pattern.fullmatch(value):
                raise BadParameter(f"{name} must be {expected}")
