"""Hostile values for Hypothesis: any Unicode, NUL, unpaired surrogates, bidi marks, emoji, ~100k strings."""

from __future__ import annotations

from hypothesis import strategies as st

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x00" * 8,
    "\u202e",
    "\u200f",
    "\u202eevil\u202c",
    "\u200b",
    "\ufeff",
    "\ufffd",
    "😀",
    "👩‍👩‍👧‍👦",
    "𝕏𝔂𝔃",
    "İ",
    "ß",
    "ﬀ",
    "Ω",
    "\r\n",
    "\n",
    "\t",
    "\x7f",
    "\x1b[31m",
    "\u2028",
    "\u3000",
    "０１２３４５",
    "١٢٣٤٥٦",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1",
    "'; DROP TABLE guance_account; --",
    "{{ 7*7 }}",
    "${7*7}",
    "%00",
    "%s%s%s%n",
    "../../etc/passwd",
    "\\",
    "//evil.example",
    "javascript:alert(1)",
    "null",
    "None",
    "true",
    "false",
    "[]",
    "{}",
    "0",
    "-1",
    "1e309",
    "NaN",
    "99999999999999999999999999",
    "\ud800",
    "a\udfffb",
    "\udbff\udfff",
]

# Lone surrogates (sent as their invalid UTF-8 bytes, see support.encode).
surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=4)


def _repeat_to(seed: str, length: int) -> str:
    return (seed * (length // len(seed) + 1))[:length]


# Very long values, up to about 100k characters (built by repetition: drawing each one is slow).
long_text = st.builds(
    _repeat_to,
    st.text(min_size=1, max_size=6) | st.sampled_from(["a", "😀", "\x00", "字"]),
    st.integers(min_value=1_000, max_value=100_000),
)


def hostile(max_length: int) -> st.SearchStrategy[str]:
    """Hostile values up to max_length characters."""
    return st.one_of(
        st.text(max_size=40),  # any code point but surrogates: NUL, controls, RTL marks, emoji, ...
        st.sampled_from(NASTY),
        st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), surrogates, st.text(max_size=5)),
        st.integers().map(str),
        st.floats(allow_nan=True).map(repr),
        long_text.map(lambda text: text[:max_length]),
    )


# In a form body: up to ~100k characters. In a URL: up to 2,000, since servers refuse longer request
# lines before the application (gunicorn: 4094 bytes), and a 10 MB query only measures the parser.
hostile_text = hostile(100_000)
hostile_url_text = hostile(2_000)


def values_for(candidates: list[str], anything: st.SearchStrategy[str] = hostile_text) -> st.SearchStrategy[str]:
    """A plausible value now and then (so validation goes deeper), else anything at all."""
    if not candidates:
        return anything
    return st.one_of(st.sampled_from(candidates), anything)


# How often a field appears: missing, once (most often), or repeated with different values.
presence = st.sampled_from(["once", "once", "once", "missing", "twice"])
field_names = st.text(max_size=12) | st.sampled_from(["csrf_token", "next", "submit", "send_code", "id", "__proto__"])
