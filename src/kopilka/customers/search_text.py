"""The normal form of text that members are found by.

Words are lower-cased, "ё" is read as "е" (people write both), and anything that is not a letter or a digit
separates words, so `ООО "Ромашка"` and `ооо ромашка` are the same words.
"""

from kopilka.customers.models import Member

SEARCH_TEXT_MAX_LENGTH = Member._meta.get_field("search_text").max_length


def words(text: str) -> list[str]:
    folded = text.lower().replace("ё", "е")
    return "".join(ch if ch.isalnum() else " " for ch in folded).split()


def member_search_text(member: Member) -> str:
    """The names, legal name and ИНН as normalised words, cut at a word boundary to fit the column."""
    parts = (member.last_name, member.first_name, member.middle_name, member.legal_name, member.inn)
    text = " ".join(words(" ".join(parts)))
    if len(text) > SEARCH_TEXT_MAX_LENGTH:
        text = text[: SEARCH_TEXT_MAX_LENGTH + 1].rsplit(" ", 1)[0][:SEARCH_TEXT_MAX_LENGTH]
    return text
