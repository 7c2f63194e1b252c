"""Which addresses a webhook may be sent to: a host whose every address is public, unless the endpoint allows
private ones. Loopback, private, link-local, shared, reserved, multicast and unspecified addresses are refused,
and so are IPv6 addresses that embed one (mapped IPv4). The host is resolved at save time and again at every
send (its DNS may change), and a send connects to an address checked here, never to one resolved later."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from kopilka.core.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an IP literal is itself)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def target(url: str, *, allow_private: bool) -> tuple[str, int, list[Address]]:
    """(host, port, addresses) a request to `url` may connect to; refuses an address that is not http(s), a host
    that does not resolve, and — unless `allow_private` — a host with any address that is not public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(_("A webhook address starts with http:// or https:// and names a host."),
                               code="webhook_address_invalid", details={"field": "url"})
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise ValidationFailed(_("The host %(host)s of the webhook address does not resolve.") % {"host": host},
                               code="webhook_host_unknown", details={"field": "url", "host": host}) from None
    private = [str(address) for address in addresses if not is_public(address)]
    if private and not allow_private:
        raise ValidationFailed(
            _("The webhook address %(host)s leads to a private or local address (%(addresses)s); only an "
              "administrator may allow such addresses.") % {"host": host, "addresses": ", ".join(private)},
            code="webhook_address_private", details={"field": "url", "host": host, "addresses": private},
        )
    return host, port, addresses
