"""``ip_access`` lists: comma-separated IPs, CIDR networks and ``a-b`` ranges."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=512)
def parse_networks(text: str) -> tuple[tuple[IPAddress, IPAddress], ...]:
    """Parse an ``ip_access`` value into inclusive address ranges. Raises ``ValueError``."""
    ranges: list[tuple[IPAddress, IPAddress]] = []
    for entry in (part.strip() for part in (text or "").split(",")):
        if not entry:
            continue
        try:
            ranges.append(_parse_entry(entry))
        except ValueError:
            raise ValueError(
                f'"{entry}" is not an IP address, CIDR network or a-b range.'
            ) from None
    return tuple(ranges)


def _parse_entry(entry: str) -> tuple[IPAddress, IPAddress]:
    if "/" in entry:
        network = ipaddress.ip_network(entry, strict=False)
        return network[0], network[-1]
    if "-" in entry:
        low_text, high_text = entry.split("-", 1)
        low, high = ipaddress.ip_address(low_text.strip()), ipaddress.ip_address(high_text.strip())
        if low.version != high.version or low > high:  # type: ignore[operator]
            raise ValueError(entry)
        return low, high
    address = ipaddress.ip_address(entry)
    return address, address


def ip_allowed(ip: str | None, ip_access: str) -> bool:
    """Whether ``ip`` is inside one of the networks of ``ip_access``. Unknown IPs never are."""
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
        networks = parse_networks(ip_access)
    except ValueError:
        return False
    return any(
        low.version == address.version and low <= address <= high  # type: ignore[operator]
        for low, high in networks
    )
