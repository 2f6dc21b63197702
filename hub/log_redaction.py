"""No credentials in the access log: uvicorn's access lines print the path *with* its query
string, where Open311's ``api_key`` travels (the spec puts it there) and where a careless
client puts ``access_token``, an OAuth ``code`` or a ``client_secret``. The filter rewrites
those parameters' values to ``[redacted]`` before any handler formats the line. Nor personal
data: phone, ID and card numbers, plates and flats in any other parameter (a search, an
Open311 filter) are masked by the hub's one detector (``hub.policy.free_text.scrub``).

Installed on the ``uvicorn.access`` logger by ``create_app`` (so it holds in every worker and
however the app is served: ``cityhub serve``, uvicorn directly, the tests' servers).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote_plus, unquote_plus

from hub.policy.free_text import scrub

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "[redacted]"
# parameter names (decoded, lower case) whose values are credentials
CREDENTIALS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "code",
        "code_verifier",
        "client_secret",
        "password",
        "secret",
        "signature",
        "sig",
    }
)
_PARAM = re.compile(r"(?P<name>[^&;=?#]+)=(?P<value>[^&;#]*)")


def redact_query(target: str) -> str:
    """``target`` (a path with its query) with credential parameters' values redacted."""
    path, sep, query = target.partition("?")
    if not sep:
        return target

    def hide(m: re.Match[str]) -> str:
        if unquote_plus(m["name"]).strip().lower() in CREDENTIALS:
            return f"{m['name']}={REDACTED}"
        value = unquote_plus(m["value"])
        scrubbed = scrub(value)
        if scrubbed == value:
            return m.group(0)
        return f"{m['name']}={quote_plus(scrubbed, safe='*')}"

    return path + sep + _PARAM.sub(hide, query)


class CredentialRedaction(logging.Filter):
    """Redacts credentials in the request target of uvicorn's access records (their args
    are ``(client, method, path_with_query, http_version, status)``) and in any other
    string argument that carries a query."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and "?" in a for a in args):
            record.args = tuple(
                redact_query(a) if isinstance(a, str) and "?" in a else a for a in args
            )
        if "?" in str(record.msg) and isinstance(record.msg, str):
            record.msg = redact_query(record.msg) if not record.args else record.msg
        return True


def redact_access_logs() -> None:
    """Put the filter on the access logger, once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, CredentialRedaction) for f in logger.filters):
        logger.addFilter(CredentialRedaction())
