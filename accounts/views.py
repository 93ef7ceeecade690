"""Sign up; log in, log out and password change are Django's own views with the site's templates."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from accounts.forms import SignUpForm
from accounts.lockout import client_ip
from accounts.services import signup_attempt_register

log = logging.getLogger(__name__)


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    if request.method == "POST" and not signup_attempt_register(ip_address=client_ip(request)):
        return _too_many_signups(request)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            _("Welcome, %(name)s! Watch a few videos and your recommendations will follow.")
            % {"name": user.get_username()},
        )
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


def _too_many_signups(request: HttpRequest) -> HttpResponse:
    minutes = settings.SIGNUP_LIMIT_WINDOW_MINUTES
    log.warning("Sign-up refused: more than %d attempts from %s.", settings.SIGNUP_LIMIT_PER_IP, client_ip(request))
    message = ngettext(
        "Too many sign-up attempts from your network. Try again in %(minutes)d minute.",
        "Too many sign-up attempts from your network. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    context = {"heading": _("Sign-up paused"), "message": message}
    response = render(request, "registration/too_many_attempts.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
