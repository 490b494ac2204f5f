"""Where a webhook POST may connect: public addresses only, checked on the address connected to.

A webhook URL comes from the signed directory, but a partner's DNS (or
whoever takes over its domain) decides what the host name resolves to. A
name that resolves to 127.0.0.1, 10.x, 169.254.169.254 or ::1 would turn
the deliverer into a way to POST into Haven's own network (the broker's
management API, a cloud metadata service). So the name is resolved once,
every address is checked, and the connection goes to that very address,
with SNI and the certificate check for the host name: a DNS answer that
changes between check and connect (rebinding) never reaches the socket.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses to connect to, as text. A seam for tests;
# the default asks the system's resolver once.
Resolver = Callable[[str, int], Sequence[str]]

# NAT64 (RFC 6052): 64:ff9b::a.b.c.d reaches the IPv4 address a.b.c.d.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class BlockedAddressError(OSError):
    """The webhook's host resolves to an address Haven will not connect to.

    An OSError, so a POST treats it as an unreachable partner (retry tiers,
    then the next partner). The message names the kind of address, never
    the address or the URL.
    """


def system_resolver(host: str, port: int) -> Sequence[str]:
    """The host's TCP addresses, in the system resolver's order, each once."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except UnicodeError:
        # A name IDNA cannot encode: unreachable, like a name that does not
        # resolve (an OSError, so the POST's thread reports it, never raises).
        raise OSError("the webhook host is not a valid DNS name") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why Haven does not connect to `address` (a word for the log), or None if it may."""
    if address.is_unspecified or address.is_multicast:
        # Never a webhook server: 0.0.0.0 reaches this machine itself on
        # Linux, and multicast is no one in particular. Not even for tests.
        return "unspecified" if address.is_unspecified else "multicast"
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return refusal(inner, allow_private=allow_private)
    if allow_private or address.is_global:
        return None
    # is_global is False for loopback, RFC 1918, link-local, unique-local,
    # CGNAT (100.64/10), 0/8, documentation and reserved ranges alike.
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    return "private"


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a POST may connect to, and how host names are resolved."""

    # For the test suite's own HTTPS server on 127.0.0.1 only
    # (HAVEN_WEBHOOK_ALLOW_PRIVATE=1): in production it would let a
    # directory entry or a partner's DNS reach Haven's internal network.
    allow_private: bool = False
    resolver: Resolver = system_resolver

    def addresses(self, host: str, port: int) -> tuple[IPAddress, ...]:
        """The host's addresses, resolved once; all of them refused if any one is refused.

        One refused address refuses the host: a name that mixes a public
        and an internal address is not a partner's server.
        """
        answers = self.resolver(host, port)  # OSError: no such name, a connection failure
        try:
            found = tuple(ipaddress.ip_address(text) for text in answers)
        except ValueError:
            raise BlockedAddressError(
                "the resolver gave something that is not an address"
            ) from None
        if not found:
            raise BlockedAddressError("the host has no address")
        for address in found:
            why = refusal(address, allow_private=self.allow_private)
            if why is not None:
                raise BlockedAddressError(f"the host resolves to a {why} address")
        return found
