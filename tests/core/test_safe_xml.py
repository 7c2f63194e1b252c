"""XML is read through one door: real CommerceML files parse; a DTD, an entity (internal, external or parameter)
or a malformed document is refused with a ValidationFailed a user can read, never expanded or fetched."""

from pathlib import Path

import pytest
from django.utils import translation

from kopilka.core import safe_xml
from kopilka.core.errors import ValidationFailed

# Real 1C exchange files, read in place from the shared fixtures beside the checkout (../shared/fixtures).
COMMERCEML = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "commerceml"
CML = "{urn:1C.ru:commerceml_2}"
needs_fixtures = pytest.mark.skipif(not COMMERCEML.is_dir(), reason=f"no CommerceML fixtures at {COMMERCEML}")

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<x>&xxe;</x>
"""
PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % remote SYSTEM "file:///etc/passwd"> %remote;]>
<x/>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">
<x/>
"""
UNSAFE = {"billion laughs": LAUGHS, "external entity": EXTERNAL, "parameter entity": PARAMETER,
          "external DTD": EXTERNAL_DTD}


@needs_fixtures
def test_a_commerceml_catalogue_with_a_bom_and_a_namespace_parses():
    path = COMMERCEML / "carono_php-commerceml" / "import.xml"

    root = safe_xml.parse(path).getroot()

    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert (root.tag, root.get("ВерсияСхемы")) == (f"{CML}КоммерческаяИнформация", "2.07")
    goods = root.findall(f"{CML}Каталог/{CML}Товары/{CML}Товар")
    assert len(goods) == 2 and all(good.findtext(f"{CML}Наименование") for good in goods)
    assert safe_xml.parse(path.read_bytes()).getroot().get("ВерсияСхемы") == "2.07"  # the same from bytes
    with path.open("rb") as file:
        assert len(safe_xml.parse(file).getroot().findall(f".//{CML}Товар")) == 2  # and from an open file


@needs_fixtures
def test_a_windows_1251_order_from_a_site_parses_into_text():
    root = safe_xml.parse(COMMERCEML / "carono_php-commerceml" / "orders.xml").getroot()

    assert (root.tag, root.get("ВерсияСхемы")) == ("КоммерческаяИнформация", "2.03")
    assert [(d.findtext("Номер"), d.findtext("ХозОперация")) for d in root.iter("Документ")][0] == (
        "20", "Заказ товара")


@needs_fixtures
def test_a_large_offers_package_is_read_element_by_element():
    (path,) = (COMMERCEML / "gillbeits_commerceml").glob("offers___*.xml")
    offers, ids = 0, set()

    for _event, element in safe_xml.iterparse(path):
        if element.tag == f"{CML}Предложение":
            offers += 1
            ids.add(element.findtext(f"{CML}Ид"))
            element.clear()

    assert offers == len(ids) == 978


@pytest.mark.parametrize("document", UNSAFE.values(), ids=UNSAFE.keys())
@pytest.mark.parametrize("form", ["bytes", "path", "iterparse"])
def test_entities_external_references_and_dtds_are_refused(tmp_path, document, form):
    path = tmp_path / "poisoned.xml"
    path.write_bytes(document)
    seen = []

    with pytest.raises(ValidationFailed) as refused:
        if form == "bytes":
            safe_xml.parse(document)
        elif form == "path":
            safe_xml.parse(path)
        else:
            seen.extend(safe_xml.iterparse(path, events=("start", "end")))

    assert (refused.value.code, refused.value.details, seen) == ("unsafe_xml", {}, [])
    with translation.override("en"):
        assert str(refused.value.message) == (
            "The file declares XML entities or external references, which are not accepted.")
    with translation.override("ru"):
        assert str(refused.value.message) == (
            "В файле объявлены XML-сущности или внешние ссылки — такие файлы не принимаются.")


@pytest.mark.parametrize(("language", "message"), [
    ("en", "The file is not well-formed XML: line 3, column 8."),
    ("ru", "Файл не является правильно построенным XML: строка 3, столбец 8."),
])
def test_a_document_that_is_not_xml_is_refused_with_where_reading_stopped(language, message):
    with translation.override(language), pytest.raises(ValidationFailed) as refused:
        safe_xml.parse(b"<?xml version='1.0'?>\n<a>\n  <b></a>")

    assert (refused.value.code, refused.value.details) == ("not_xml", {"line": 3, "column": 8})
    assert str(refused.value.message) == message
