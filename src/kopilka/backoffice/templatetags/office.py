from django import template

from kopilka.backoffice.presenters import formatted

register = template.Library()


@register.filter
def lookup(mapping: dict, key):
    """mapping[key], or the key itself when the mapping has none (e.g. a reason code's name)."""
    return mapping.get(key, key) if mapping else key


@register.filter
def split_names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@register.filter
def field_named(form, name: str):
    """form[name]: a bound field picked by a name held in a variable."""
    return form[name]


@register.filter
def money(value) -> str:
    """An amount of roubles as people read it: grouped by thousands, two decimals, "₽" on the same line."""
    return formatted(value, "money")
