"""The one way the platform parses XML: 1C's CommerceML files and whatever XML comes later.

Every document is read by defusedxml with its document type declaration refused outright. Without a DTD there is
no entity to expand (the "billion laughs"), no external entity or external subset to fetch (`file:///etc/passwd`,
a URL) and no parameter entity; CommerceML and the other formats the platform reads never declare one, so no real
file is refused. A refused document is a `ValidationFailed` with the code `unsafe_xml` (the message the xlsx import
gives for the same refusal); a document that is not well-formed XML is a `ValidationFailed` with the code `not_xml`
naming the line and column where reading stopped.

Importing xml.etree, xml.dom, xml.sax, xml.parsers.expat or lxml anywhere else in `src` is refused by ruff (the
banned-api rule in pyproject.toml): what a parser needs is added here.
"""

from collections.abc import Iterator, Sequence
from io import BytesIO
from os import PathLike
from typing import IO, Any
from xml.etree.ElementTree import Element, ElementTree, ParseError

import defusedxml.ElementTree as defused
from defusedxml import DefusedXmlException
from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ValidationFailed

__all__ = ["Element", "ElementTree", "Source", "iterparse", "parse", "refusal"]

# A path, an open binary file or the document itself.
Source = str | PathLike[str] | IO[bytes] | bytes | bytearray | memoryview

UNSAFE_MESSAGE = _("The file declares XML entities or external references, which are not accepted.")
# What defusedxml is told: entities and external references are refused by its defaults already; a DTD is
# refused too, so that nothing a DTD can declare or refer to is ever looked at.
_DEFUSED = {"forbid_dtd": True, "forbid_entities": True, "forbid_external": True}


def parse(source: Source) -> ElementTree:
    """The whole document as a tree (`.getroot()` is its root element); ValidationFailed when it is refused or
    is not XML."""
    try:
        return defused.parse(_stream(source), **_DEFUSED)
    except (DefusedXmlException, ParseError) as error:
        raise refusal(error) from error


def iterparse(source: Source, events: Sequence[str] = ("end",)) -> Iterator[tuple[str, Any]]:
    """(event, element) pairs as the document is read, for files too large to hold whole: clear each element once
    it is handled (`element.clear()`), or the tree grows as with `parse`. An "end" element is complete; a "start"
    one has only its tag and attributes; "start-ns" gives (prefix, uri). The refusal comes when reading reaches
    the DTD, before any element after it; a file opened from a path is closed when the iteration ends or stops."""
    try:
        yield from defused.iterparse(_stream(source), events=events, **_DEFUSED)
    except (DefusedXmlException, ParseError) as error:
        raise refusal(error) from error


def refusal(error: BaseException) -> ValidationFailed:
    """The error a user is shown for a document that `error` (defusedxml's or the XML parser's) refused."""
    if isinstance(error, ParseError):
        line, column = error.position
        return ValidationFailed(
            # The column as an editor counts it, from 1 (expat counts from 0).
            _("The file is not well-formed XML: line %(line)d, column %(column)d.") % {
                "line": line, "column": column + 1},
            code="not_xml", details={"line": line, "column": column + 1},
        )
    return ValidationFailed(UNSAFE_MESSAGE, code="unsafe_xml")


def _stream(source: Source) -> str | PathLike[str] | IO[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        return BytesIO(source)
    return source
