"""URL matching keys (case URL-01) and a guard for links we display or follow.

The key is for matching only; the stored URL stays as fetched. It folds what
does not change the page (scheme, ``www.``, default port, trailing slash,
tracking and session parameters, parameter order, plain fragments, the case of
percent escapes) and keeps what can (path case, other parameters, ``#/`` and
``#!`` route fragments). Percent escapes of reserved characters are never
decoded, so ``%23`` stays ``%23`` and the key is idempotent.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "igshid",
        "yclid",
    }
)
SESSION_PARAMS = frozenset({"jsessionid", "phpsessid", "sid"})
SAFE_SCHEMES = frozenset({"http", "https"})

_UNRESERVED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)
_SUB_DELIMS = "!$&'()*+,;="
_PATH_SAFE = frozenset(_UNRESERVED | set(_SUB_DELIMS) | set(":@/"))
_QUERY_PART_SAFE = frozenset(_PATH_SAFE | set("?") - set("&="))
_FRAGMENT_SAFE = frozenset(_PATH_SAFE | set("?"))
_HEX = frozenset("0123456789abcdefABCDEF")
_SESSION_PATH_PARAM = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/;]*", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DEFAULT_PORTS = frozenset({"80", "443"})


def canonicalize_url(url: str) -> str:
    """The matching key of a URL; other schemes and unparsable text come back
    stripped but otherwise unchanged."""
    text = url.strip() if isinstance(url, str) else ""
    try:
        parts = urlsplit(text)
    except ValueError:
        logger.debug("Unparsable URL kept as is: %r", text)
        return text
    scheme = parts.scheme or ("https" if text.startswith("//") else "")
    if scheme not in SAFE_SCHEMES or not parts.netloc:
        return text
    netloc = _canonical_netloc(parts.netloc)
    path = _canonical_path(parts.path)
    query = _canonical_query(parts.query)
    fragment = _canonical_fragment(parts.fragment)
    return _join(netloc, path, query, fragment)


def safe_http_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) link, else None (javascript:, data:...)."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or _CONTROL.search(text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in SAFE_SCHEMES or not host:
        return None
    return text


def _canonical_netloc(netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    host, port = _split_port(hostport)
    host = host.lower().rstrip(".")
    while host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    port = port.lstrip("0") or ("0" if port else "")
    if port in _DEFAULT_PORTS:
        port = ""
    # Userinfo keeps its case (w3lib PR #230); it is rare on listing links.
    userinfo = _normalise_escapes(userinfo, _QUERY_PART_SAFE)
    return f"{userinfo}{at}{host}{':' if port else ''}{port}"


def _split_port(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):
        host, _, rest = hostport.partition("]")
        return f"{host}]", rest.removeprefix(":")
    host, _, port = hostport.partition(":")
    return host, port.lower()


def _canonical_path(path: str) -> str:
    # Escapes first, so that an escaped letter cannot hide a session id.
    path = _SESSION_PATH_PARAM.sub("", _normalise_escapes(path, _PATH_SAFE))
    return _remove_dot_segments(path).rstrip("/") or "/"


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for segment in segments:
        if segment == "..":
            if len(output) > 1:
                output.pop()
        elif segment != ".":
            output.append(segment)
    if segments[-1] in {".", ".."}:
        output.append("")
    return "/".join(output)


def _canonical_query(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, eq, value = pair.partition("=")
        key = _normalise_escapes(key, _QUERY_PART_SAFE)
        if _is_noise_param(key):
            continue
        kept.append(f"{key}{eq}{_normalise_escapes(value, _QUERY_PART_SAFE | {'='})}")
    return "&".join(sorted(kept))


def _is_noise_param(key: str) -> bool:
    name = key.lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS | SESSION_PARAMS


def _canonical_fragment(fragment: str) -> str:
    # "#/vacancy/101" and "#!/apply" are routes of a single-page app; "#apply" is
    # a place on the page.
    if not fragment.startswith(("/", "!")):
        return ""
    return _normalise_escapes(fragment, _FRAGMENT_SAFE)


def _normalise_escapes(text: str, safe: frozenset[str]) -> str:
    """Upper-case escapes, decode only unreserved characters, escape the rest."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%" and _is_hex_pair(text, i + 1):
            decoded = chr(int(text[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else text[i : i + 3].upper())
            i += 3
            continue
        out.append(char if char in safe else _quote(char))
        i += 1
    return "".join(out)


def _is_hex_pair(text: str, start: int) -> bool:
    pair = text[start : start + 2]
    return len(pair) == 2 and all(c in _HEX for c in pair)


def _quote(char: str) -> str:
    data = char.encode("utf-8", "surrogatepass")
    return "".join(f"%{byte:02X}" for byte in data)


def _join(netloc: str, path: str, query: str, fragment: str) -> str:
    url = f"https://{netloc}{path}"
    if query:
        url += f"?{query}"
    if fragment:
        url += f"#{fragment}"
    return url
