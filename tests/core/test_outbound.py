"""``core.outbound``: which hosts bypass the proxy, which proxy a URL uses."""

from __future__ import annotations

from core.config.outbound import Outbound
from core.outbound import bypasses_proxy, proxies_for


def test_no_proxy_matching() -> None:
    rules = ("localhost", ".internal.example", "example.org", "10.0.0.0/8", "192.168.1.7")
    assert bypasses_proxy("localhost", rules)
    assert bypasses_proxy("idp.internal.example", rules)
    assert bypasses_proxy("example.org", rules)
    assert bypasses_proxy("sso.example.org", rules)
    assert not bypasses_proxy("badexample.org", rules)
    assert bypasses_proxy("10.1.2.3", rules)
    assert bypasses_proxy("192.168.1.7", rules)
    assert not bypasses_proxy("127.0.0.1", rules)  # localhost does not cover it
    assert not bypasses_proxy("192.168.1.8", rules)
    assert bypasses_proxy("anything", ("*",))
    assert bypasses_proxy("idp.example.com", ("idp.example.com:443",))


def test_each_scheme_uses_its_own_proxy() -> None:
    outbound = Outbound(http_proxy="http://p:1", https_proxy="http://p:2", no_proxy=("direct",))
    assert proxies_for("http://idp/x", outbound) == {"http": "http://p:1"}
    assert proxies_for("https://idp/x", outbound) == {"https": "http://p:2"}
    assert proxies_for("https://direct/x", outbound) == {}
    assert proxies_for("https://idp/x", Outbound(http_proxy="http://p:1")) == {}
