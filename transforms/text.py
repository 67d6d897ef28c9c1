"""Bytes -> the normalised document text that every offset in the warehouse points into."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


class UnreadableDocument(ValueError):
    """The file is not a text notice fengong can read; the message says what it is."""


class NoItemsFound(ValueError):
    """The text decoded, but no numbered item with responsible units was found in it."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    # PDF and spreadsheets: (char_start, char_end, page, sheet, row) spans of `text`
    pages: tuple = ()


_BINARY_MAGIC = {
    b"%PDF": "a PDF file",
    b"PK\x03\x04": "a ZIP container (docx/xlsx?)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\xd0\xcf\x11\xe0": "an old MS Office binary (.doc/.xls; a .xls is read when named .xls)",
    b"\x1f\x8b": "a gzip archive",
}


# byte-order marks of the Unicode encodings Windows saves ("Unicode" in Notepad is UTF-16-LE): the
# mark, the codec, the name recorded in documents.encoding. UTF-32 first: its LE mark starts with UTF-16's.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be", "utf-16-be"),
)


def decode_bytes(data: bytes) -> DecodedText:
    """Decode UTF-8 (with or without BOM), UTF-16 or UTF-32 with a BOM, or GB18030/GBK; refuse binary
    and empty input."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError as e:
                raise UnreadableDocument(
                    f"the file starts with a {name.upper()} byte-order mark but is not valid {name.upper()} "
                    f"(at byte {e.start + len(bom)}); open it in a text editor and save it as UTF-8") from e
            if not text.strip():
                raise UnreadableDocument("the file is empty")
            return DecodedText(text, name)
    if not data.strip():
        raise UnreadableDocument("the file is empty")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise UnreadableDocument(f"the file is {what}, not a text notice; fengong reads .txt, .html, .docx, .pdf, "
                                     ".xlsx, .xls and .ods by their suffix (name the file by what it is, or convert it)")
    if b"\x00" in data[:4096]:
        raise UnreadableDocument("the file is binary (it contains NUL bytes), not a text notice; "
                                 "fengong reads .txt, .html, .docx, .pdf, .xlsx, .xls and .ods by their suffix")
    if data.startswith(b"\xef\xbb\xbf"):
        return DecodedText(data[3:].decode("utf-8"), "utf-8-sig")
    try:
        return DecodedText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return DecodedText(data.decode("gb18030"), "gb18030")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise UnreadableDocument("the file's text encoding could not be detected (not UTF-8, not GB18030)")
    return DecodedText(str(best), best.encoding)


_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\t]")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")


def normalise_text(text: str) -> str:
    """Line ends to \\n, odd spaces to ' ', zero-width marks removed, control characters dropped.

    Punctuation is *not* rewritten: parsers use character classes ((/(, :/:) so the stored
    text stays what the notice printed.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", text)
    text = _SPACES.sub(" ", text)
    # a printable line holds no category-C character (str.isprintable is false for all of them)
    return "\n".join(line if line.isprintable() else "".join(ch for ch in line if unicodedata.category(ch)[0] != "C")
                     for line in text.split("\n"))


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    try:
        return opencc.OpenCC("t2s")
    except Exception:  # opencc-python-reimplemented names configs with .json
        return opencc.OpenCC("t2s.json")


# Characters that only occur in traditional text; a cheap test before running OpenCC.
_TRAD_HINT = re.compile("[責單頭廳門會區縣與發設經濟國際們來時點務員這總導對關號辦環農業衛業護體醫協劃]")


def simplified_view(text: str) -> str:
    """The text converted to simplified characters, with exactly the same length.

    Offsets found in the simplified view are valid in the stored (original) text. OpenCC's
    phrase conversion can change lengths; when it does, convert character by character.
    """
    if not _TRAD_HINT.search(text):
        return text
    cc = _t2s()
    converted = cc.convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(c if len(c := cc.convert(ch)) == 1 else ch for ch in text)


_WHITESPACE_RUN = re.compile(r"[ \t\u3000]+")


def one_line_page(text: str, min_chars: int = 200, share: float = 0.6) -> str | None:
    """The line that holds most of a page saved on one line, else None."""
    longest = max(text.split("\n"), key=len)
    return longest if len(longest) >= min_chars and len(longest) >= share * len(text) else None


def unfolded_view(text: str, min_chars: int = 200, share: float = 0.6) -> str:
    """A page saved on one line (its line breaks flattened to spaces) read as lines: when one line
    holds most of the text, every run of spaces in it becomes line breaks, with exactly the same
    length, so offsets still point into the stored text. Other pages are returned as they are (a
    space inside an ordinary line is padding, 市 财政局, not a break)."""
    longest = one_line_page(text, min_chars, share)
    if longest is None or not _WHITESPACE_RUN.search(longest):
        return text
    at = text.index(longest)
    unfolded = _WHITESPACE_RUN.sub(lambda m: "\n" * len(m.group()), longest)
    return text[:at] + unfolded + text[at + len(longest):]
