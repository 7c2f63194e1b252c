"""An xlsx whose XML declares entities or refers outside is refused with a clear error, never expanded or fetched."""

import io
import re
import zipfile

import openpyxl
import pytest
from django.utils import translation

from kopilka.catalog import spreadsheet
from kopilka.core.errors import ValidationFailed

LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n')
EXTERNAL = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


SHARED_STRINGS = (
    b'<Override PartName="/xl/sharedStrings.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" />',
    b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    b'Target="sharedStrings.xml" Id="rIdStrings" />',
)


def _as_excel_saves_it(content: bytes) -> bytes:
    """The workbook with its text cells pointing into a shared strings table (xl/sharedStrings.xml), as Excel and
    1C save a workbook, instead of holding their text inline, as openpyxl writes it."""
    source = zipfile.ZipFile(io.BytesIO(content))
    strings: list[bytes] = []

    def shared(cell: re.Match) -> bytes:
        strings.append(cell[2])
        return cell[1] + b't="s"><v>%d</v></c>' % (len(strings) - 1)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'(<c [^>]*?)t="inlineStr"><is><t>(.*?)</t></is></c>', shared, data)
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", SHARED_STRINGS[0] + b"</Types>")
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", SHARED_STRINGS[1] + b"</Relationships>")
            target.writestr(item, data)
        target.writestr("xl/sharedStrings.xml", (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
            % (len(strings), len(strings)) + b"".join(b"<si><t>%s</t></si>" % text for text in strings) + b"</sst>"
        ))
    return out.getvalue()


def _poisoned(part: str, prolog: bytes, use: bytes) -> bytes:
    """The catalogue template, saved as Excel does, with one XML part given a DTD and an entity reference in its
    first text."""
    source = zipfile.ZipFile(io.BytesIO(_as_excel_saves_it(spreadsheet.template())))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
                body = body.replace(b"<t>", b"<t>" + use, 1).replace(b"<v>", b"<v>" + use, 1)
                data = prolog + body.lstrip()
            target.writestr(item, data)
    return out.getvalue()


def test_openpyxl_parses_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_a_workbook_with_a_shared_strings_table_reads_as_its_inline_twin():
    excel = _as_excel_saves_it(spreadsheet.template())

    assert b"inlineStr" not in zipfile.ZipFile(io.BytesIO(excel)).read("xl/worksheets/sheet1.xml")
    assert spreadsheet.read(excel) == spreadsheet.read(spreadsheet.template())


@pytest.mark.parametrize(
    "part", ["xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "[Content_Types].xml"]
)
@pytest.mark.parametrize(("prolog", "use"), [(LAUGHS, b"&lol3;"), (EXTERNAL, b"&xxe;")])
def test_entities_or_external_references_refuse_the_file(part, prolog, use):
    with pytest.raises(ValidationFailed) as refused:
        spreadsheet.read(_poisoned(part, prolog, use))

    assert refused.value.code == "unsafe_xml"
    with translation.override("en"):  # the message is resolved in the language in force (Russian by default)
        assert "entities" in str(refused.value.message)
