from django import template

register = template.Library()


@register.filter
def lookup(mapping: dict, key):
    """mapping[key], or the key itself when the mapping has none (e.g. a reason code's name)."""
    return mapping.get(key, key) if mapping else key
