"""Where a page may send the browser next: same-origin paths only (``/login?next=…``).

A check on the raw string is not enough, because the browser does not go to the raw string: its
URL parser (WHATWG) first trims leading and trailing C0 controls and spaces, deletes every tab
and newline, and reads ``\\`` as ``/`` in http(s) URLs. So ``/\\t/evil`` (a tab) or ``/\\evil``
look like paths here and are ``//evil`` — another host — to the browser. ``safe_next`` parses
the value the way the browser will, accepts it only if it is a path-absolute reference whose
resolved path starts with exactly one ``/``, and returns that parsed, percent-encoded form, so
the browser is sent exactly what was checked. Everything else gives the default landing page.

The browser side does the same with the real parser: ``static/js/urls.js: safeNext``; a
Chromium test runs one corpus through both and compares the answers.
"""

from __future__ import annotations

#: The landing page when ``next`` is missing or refused.
DEFAULT_NEXT = "/"
#: Longer values are refused outright (ours are a path and a query string).
MAX_NEXT = 2048

_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_OR_NEWLINE = {0x09: None, 0x0A: None, 0x0D: None}
_SINGLE_DOT = {".", "%2e"}
_DOUBLE_DOT = {"..", ".%2e", "%2e.", "%2e%2e"}

# WHATWG percent-encode sets (on top of C0 controls and everything above U+007E).
_FRAGMENT_SET = frozenset(' "<>`')
_QUERY_SET = frozenset(' "#<>\'')  # the "special-query" set: http(s) also encode '
_PATH_SET = frozenset(' "#<>?`{}')


def _encode(text: str, extra: frozenset[str]) -> str:
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code > 0x7E or ch in extra:
            if 0xD800 <= code <= 0xDFFF:  # a lone surrogate: the parser makes it U+FFFD
                ch = "\ufffd"
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


def _resolve_path(path: str) -> str:
    """The path the browser ends up with: dot segments resolved, each segment encoded."""
    segments = path[1:].split("/")
    out: list[str] = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        folded = seg.lower()
        if folded in _DOUBLE_DOT:
            if out:
                out.pop()
            if last:
                out.append("")
        elif folded in _SINGLE_DOT:
            if last:
                out.append("")
        else:
            out.append(_encode(seg, _PATH_SET))
    return "/" + "/".join(out)


def safe_next(value: str | None, *, default: str = DEFAULT_NEXT) -> str:
    """The same-origin path to go to after login, or ``default`` if ``value`` is not one.

    Examples: ``/p/x/label?a=1#b`` → itself; ``//evil``, ``/\\evil``, ``/\\t/evil``,
    ``https://evil``, ``javascript:…``, ``/..//evil`` → ``default``; ``/a b`` → ``/a%20b``.
    """
    if not value or len(value) > MAX_NEXT:
        return default
    cleaned = value.strip(_C0_OR_SPACE).translate(_TAB_OR_NEWLINE)
    # Only path-absolute references: a scheme ("http:", "javascript:") or a relative path
    # never starts with a slash, and a second slash would start an authority (a host).
    if not cleaned or cleaned[0] not in "/\\":
        return default
    rest, has_fragment, fragment = cleaned.partition("#")
    path, has_query, query = rest.partition("?")
    path = path.replace("\\", "/")
    if path.startswith("//"):
        return default
    resolved = _resolve_path(path)
    if resolved.startswith("//"):  # "/..//evil": same host, but a path that reads as one
        return default
    out = resolved
    if has_query and query:
        out += "?" + _encode(query, _QUERY_SET)
    if has_fragment and fragment:
        out += "#" + _encode(fragment, _FRAGMENT_SET)
    return out
