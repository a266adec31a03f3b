"""Regular expressions the OpenAPI schema states and the server applies, read alike by both.

The server checks patterns with Python's ``re`` (through msgspec); clients and fuzzers read them as
ECMA-262, as JSON Schema says. Two differences matter, so these patterns avoid them:

* ``\\s`` is a different set in each (Python counts ``\\x1c``-``\\x1f``, ECMA-262 counts ``\\ufeff``):
  the classes below are spelled out;
* Python's ``$`` also matches just before a final newline: where the last class could stop short
  of one, ``$(?!\\n)`` ends the pattern.
"""

from __future__ import annotations

# what Python's str.isspace() and str.strip() count as white space
WHITESPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# PostgreSQL text cannot hold NUL
WITHOUT_NUL = r"^[^\x00]*$"
# not blank once stripped, and no NUL
SEARCH_TEXT = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"
_NOT_IN_EMAIL = rf"@\x00-\x20\x7f{WHITESPACE}\ufeff"
EMAIL = rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}]+$(?!\n)"
# a name shown to people (workspace, token): no control characters, not blank
DISPLAY_NAME = rf"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f{WHITESPACE}][^\x00-\x1f\x7f]*$(?!\n)"
# a tag: ASCII letters, digits and a few joiners, starting with a letter or digit (spelt out: \w is
# Unicode-wide in Python and ASCII in ECMA-262)
TAG = r"^[A-Za-z0-9_][A-Za-z0-9_ .:/+#&-]*$(?!\n)"
# a UUID in its canonical, hyphenated form (any case)
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$(?!\n)"
