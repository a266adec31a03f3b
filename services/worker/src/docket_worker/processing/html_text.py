"""The text a reader sees in an HTML document, its <title> and its first <h1>, in one forward pass.

This is a small scanner, not an HTML parser: search needs the visible words, not a tree. Every step
moves forward through the markup, so the cost grows linearly with the file, whatever it holds. The
libraries we measured do not: Python 3.11's html.parser re-scans an unfinished tag from each "<"
(80 KB of "<a" take 10 s), and the tree builders of lxml and lexbor walk their stack of open elements
for every stray end tag (1.4 MB of "<div>" then "</p>" take minutes). A tag still open at the end of the
file ends the file, as in HTML5.
"""

from __future__ import annotations

import html
import re

# Elements whose content is never shown, and can hold markup of its own.
HIDDEN_CONTAINERS = frozenset({"template", "svg", "math", "object"})
# Elements whose content is raw text up to their end tag, never markup; and whether a reader sees it.
RAW_TEXT = {
    "script": False, "style": False, "iframe": False, "noembed": False, "noframes": False,
    "noscript": False, "title": False, "textarea": True, "xmp": True,
}  # fmt: skip
BLOCKS = frozenset(
    {
        "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
        "header", "footer", "pre", "blockquote", "table", "ul", "ol", "dd", "dt", "td", "th",
    }
)  # fmt: skip
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Single-character classes, searched forward: nothing for a regex engine to backtrack into.
_NAME_END = re.compile(r"[\s/>]")
_TAG_END_OR_QUOTE = re.compile(r"[>\"']")
_SPACE = " \t\n\r\f"


class _Scanner:
    def __init__(self, markup: str) -> None:
        self.markup = markup
        # ASCII-only lowering keeps every index the same (str.lower() can lengthen a string)
        self.lower = markup.translate(_ASCII_LOWER)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self.hidden = 0
        self.in_head = False
        self.h1_state = "before"  # "before" the first <h1>, "inside" it, or "after" it

    def run(self) -> None:
        markup, size = self.markup, len(self.markup)
        text_start = search = 0
        while search < size:
            lt = markup.find("<", search)
            if lt == -1:
                break
            if not self._opens_markup(lt):
                search = lt + 1  # a "<" before a space or a digit is text: it stays in the current run
                continue
            if lt > text_start:
                self._text(markup[text_start:lt])
            text_start = search = self._markup_at(lt)
        if text_start < size:
            self._text(markup[text_start:])

    def _opens_markup(self, lt: int) -> bool:
        following = self.markup[lt + 1 : lt + 3]
        first = following[1:] if following[:1] == "/" else following[:1]
        return following[:1] in ("!", "?") or (first.isascii() and first.isalpha())

    def _markup_at(self, lt: int) -> int:
        """Handle the tag, comment or declaration at ``lt``; the position just after it."""
        markup, size = self.markup, len(self.markup)
        if markup.startswith("<!--", lt):
            end = markup.find("-->", lt + 4)
            return size if end == -1 else end + 3
        if markup[lt + 1] in "!?":  # doctype, CDATA section, processing instruction: nothing visible
            end = markup.find(">", lt + 2)
            return size if end == -1 else end + 1
        closing = markup[lt + 1] == "/"
        name_start = lt + 2 if closing else lt + 1
        found = _NAME_END.search(markup, name_start)
        name_end = found.start() if found else size
        end = self._tag_end(name_end)
        if end == -1:
            return size
        name = self.lower[name_start:name_end]
        if closing:
            self._end_tag(name)
            return end + 1
        self_closing = markup[end - 1] == "/" and end - 1 >= name_end
        self._start_tag(name, self_closing)
        if name in RAW_TEXT and not self_closing:
            return self._raw_text(name, end + 1)
        return end + 1

    def _tag_end(self, pos: int) -> int:
        """The index of the ">" that ends the tag, skipping quoted attribute values; -1 at the end of file."""
        markup = self.markup
        while True:
            found = _TAG_END_OR_QUOTE.search(markup, pos)
            if found is None:
                return -1
            if found.group() == ">":
                return found.start()
            # only a quote after "=" opens a value; the look back stops at the previous quote at the latest
            before = found.start() - 1
            while before >= pos and markup[before] in _SPACE:
                before -= 1
            if before < pos or markup[before] != "=":
                pos = found.end()  # a quote inside a name or a bare value is just a character
                continue
            close = markup.find(found.group(), found.end())
            if close == -1:
                return -1
            pos = close + 1

    def _raw_text(self, name: str, pos: int) -> int:
        close = self.lower.find("</" + name, pos)
        end = len(self.markup) if close == -1 else close
        content = self.markup[pos:end]
        if name == "title":
            self.title.append(_unescape(content))
        elif RAW_TEXT[name] and not self.hidden and not self.in_head:
            self.parts.append(content if name == "xmp" else _unescape(content))
        return end

    def _start_tag(self, name: str, self_closing: bool) -> None:
        if name == "head":
            self.in_head = True
        elif name == "body":
            self.in_head = False
        elif name in HIDDEN_CONTAINERS and not self_closing:
            self.hidden += 1
        elif name == "h1" and self.h1_state == "before":
            self.h1_state = "inside"
        if name in BLOCKS:
            self.parts.append("\n")

    def _end_tag(self, name: str) -> None:
        if name == "head":
            self.in_head = False
        elif name in HIDDEN_CONTAINERS and self.hidden:
            self.hidden -= 1
        elif name == "h1" and self.h1_state == "inside":
            self.h1_state = "after"
        if name in BLOCKS:
            self.parts.append("\n")

    def _text(self, data: str) -> None:
        if self.hidden or self.in_head:
            return
        text = _unescape(data)
        self.parts.append(text)
        if self.h1_state == "inside":
            self.h1.append(text)


def _unescape(data: str) -> str:
    if "&" not in data:
        return data
    try:
        return html.unescape(data)
    except ValueError:  # a numeric reference longer than int() accepts: leave the text as written
        return data


def _one_line(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


def html_to_text(markup: str) -> tuple[str, str | None]:
    """The visible text (a line per block, spaces collapsed) and the title (<title>, else the first <h1>)."""
    scanner = _Scanner(markup)
    scanner.run()
    lines = (" ".join(line.split()) for line in "".join(scanner.parts).split("\n"))
    text = "\n".join(line for line in lines if line)
    return text, _one_line(scanner.title) or _one_line(scanner.h1) or None
