"""An xlsx whose XML declares entities or refers outside is refused with a clear error, never expanded or fetched."""

import io
import zipfile

import openpyxl
import pytest

from kopilka.catalog import spreadsheet
from kopilka.core.errors import ValidationFailed

LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n')
EXTERNAL = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def _poisoned(part: str, prolog: bytes, use: bytes) -> bytes:
    """The catalogue template with one XML part given a DTD and an entity reference in its first text."""
    source = zipfile.ZipFile(io.BytesIO(spreadsheet.template()))
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


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/worksheets/sheet1.xml", "[Content_Types].xml"])
@pytest.mark.parametrize(("prolog", "use"), [(LAUGHS, b"&lol3;"), (EXTERNAL, b"&xxe;")])
def test_entities_or_external_references_refuse_the_file(part, prolog, use):
    with pytest.raises(ValidationFailed) as refused:
        spreadsheet.read(_poisoned(part, prolog, use))

    assert refused.value.code == "unsafe_xml"
    assert "entities" in str(refused.value.message)
