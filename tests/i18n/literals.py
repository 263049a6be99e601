"""Find words in templates that bypass the translation machinery.

Each template is read with Django's own Lexer. Its text is kept, everything a tag or a
variable produces is replaced by a placeholder without letters, and what sits inside
{% translate %} / {% blocktranslate %} (and comments) is dropped. The remaining HTML is
parsed: text a person reads, and the attributes read out or shown (aria-label, title,
alt, placeholder, data-label...), must then contain no words.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PLACEHOLDER = "\x00"
USER_ATTRIBUTES = {"aria-label", "title", "alt", "placeholder", "data-label", "data-answered-text", "value"}
# Words that are the same in every language: the product's name, file formats, the
# demo's development outbox marker.
ALLOWED_WORDS = {"Rapport", "CSV", "QR", "SMS", "TOTP", "STOP", "START"}
WORD = re.compile(r"[^\W\d_]{2,}")


def skeleton(source):
    parts = []
    depth = None  # the tag whose end closes a block we skip
    for token in Lexer(source).tokenize():
        if depth is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == depth:
                depth = None
            continue
        if token.token_type == TokenType.TEXT:
            parts.append(token.contents)
        elif token.token_type == TokenType.VAR:
            parts.append(PLACEHOLDER)
        elif token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0]
            if name in ("blocktranslate", "blocktrans"):
                depth = "endblocktranslate" if name == "blocktranslate" else "endblocktrans"
                parts.append(PLACEHOLDER)
            elif name == "comment":
                depth = "endcomment"
            elif name in ("translate", "trans"):
                parts.append("" if " as " in token.contents else PLACEHOLDER)
    return "".join(parts)


class _Words(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._raw = 0

    def _check(self, text, where):
        for word in WORD.findall(text.replace(PLACEHOLDER, " ")):
            if word not in ALLOWED_WORDS:
                self.found.append(f"{where}: {text.strip()[:80]!r}")
                return

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._raw += 1
        for name, value in attrs:
            if name in USER_ATTRIBUTES and value and not (tag == "input" and name == "value") and tag != "option":
                self._check(value, f"<{tag} {name}>")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._raw -= 1

    def handle_data(self, data):
        if not self._raw:
            self._check(data, "text")


def untranslated_literals(path):
    """The words of `path` a person would read in English whatever the language."""
    parser = _Words()
    parser.feed(skeleton(path.read_text(encoding="utf-8")))
    parser.close()
    return parser.found


def all_templates():
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))
