"""Where a webhook may point. A URL the clinic admin types is one our servers will POST
to, so it must not reach inside our own network (server-side request forgery): the
metadata service at 169.254.169.254, Redis on loopback, a database on a private range.

Every address the host resolves to must be public. The check runs when the admin saves
the URL and again before every delivery (a DNS name can be pointed somewhere else after
it was saved), and deliveries never follow redirects. WEBHOOKS_ALLOW_PRIVATE_ADDRESSES
lifts the address check for development and tests, whose receivers live on loopback;
production leaves it off."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def _addresses(host, port):
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ValidationError(_("The host of this URL could not be found."), code="unresolvable") from None
    return {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}


def _is_public(address):
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def destination_check(url):
    """Raise ValidationError unless `url` is http(s) with a host whose every address is
    public (or private addresses are allowed by settings)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter a URL that starts with https:// or http://."), code="scheme")
    if parts.username or parts.password:
        raise ValidationError(_("Leave the user name and password out of the URL."), code="credentials")
    if getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False):
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError(_("The port of this URL is not valid."), code="port") from None
    if not all(_is_public(a) for a in _addresses(parts.hostname, port)):
        raise ValidationError(
            _("This URL points to a private or local network address; use an address reachable on the internet."),
            code="private",
        )
