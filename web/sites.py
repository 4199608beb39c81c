"""The admin site. It has no sign-in of its own: its login page sends people to the one login
page (and so through :func:`signin.flow.sign_in`, second factor included), and its logout ends
that sign-in. Who may use it is :class:`web.middleware.SessionUserMiddleware`'s
``request.user``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from web.views import logout_page


class IdentityAdminSite(admin.AdminSite):
    site_header = "Identity and access"
    site_title = "Identity and access admin"
    index_title = "Users, roles, policies and tokens"
    #: Lists use the whole width (they fit a 1280-pixel screen); the index page navigates.
    enable_nav_sidebar = False

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """``/admin/login/``: the login page, coming back to the admin page asked for."""
        target = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('login-page')}?{urlencode({'redirect': target})}")

    @method_decorator(never_cache)
    @method_decorator(csrf_protect)
    def logout(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:  # type: ignore[override]
        """``/admin/logout/`` (POST, as Django's admin sends it): end the sign-in."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:index"))
        return logout_page(request)
