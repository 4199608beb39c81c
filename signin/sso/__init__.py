"""Single sign-on through a browser redirect: the pieces every redirect driver shares (typed
options, the flow state kept between the start and the callback, turning an identity into a
user). The drivers themselves are :mod:`signin.drivers.openid` and :mod:`signin.drivers.oauth2`."""
