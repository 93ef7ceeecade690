"""Production settings: secure by default, `check --deploy` clean, refused keys.

Settings are read once per process, so the production behaviour is checked in subprocesses that
start from a production environment (DEBUG off, as .env.example configures it).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[1]

# Settings printed as JSON by a subprocess.
DUMP = """
import json, django
from django.conf import settings as s
django.setup()
names = [
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "LANGUAGE_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_HTTPONLY",
    "LANGUAGE_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "LANGUAGE_COOKIE_SAMESITE",
    "STORAGES", "SILENCED_SYSTEM_CHECKS", "CONTENT_SECURITY_POLICY",
]
out = {name: getattr(s, name) for name in names}
out["SECURE_PROXY_SSL_HEADER"] = getattr(s, "SECURE_PROXY_SSL_HEADER", None)
print(json.dumps(out))
"""


def env_example() -> dict[str, str]:
    """The variables of .env.example (the production stack's template)."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of .env.example with a freshly generated key; nothing of this shell's DJANGO_*."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CSP_"))}
    base.update(env_example())
    base.update(
        {
            "DJANGO_SETTINGS_MODULE": "recsite.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
            "VAR_DIR": str(tmp_path / "var"),
            "MODEL_DIR": str(tmp_path / "models"),
        }
    )
    base.update(overrides)
    return base


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def dump_settings(env: dict[str, str]) -> dict:
    done = run_python(DUMP, env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_env_example_turns_debug_off():
    assert env_example()["DJANGO_DEBUG"].lower() in {"0", "false", "no", "off"}


def test_debug_is_off_unless_asked_for(tmp_path):
    env = production_env(tmp_path)
    env.pop("DJANGO_DEBUG")
    values = dump_settings(env)
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True


def test_production_defaults_are_secure(tmp_path):
    values = dump_settings(production_env(tmp_path))
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^healthz$", "^readyz$"]
    assert values["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SECURE_HSTS_PRELOAD"] is False
    for cookie in ("SESSION", "CSRF", "LANGUAGE"):
        assert values[f"{cookie}_COOKIE_SECURE"] is True, cookie
        assert values[f"{cookie}_COOKIE_HTTPONLY"] is True, cookie
        assert values[f"{cookie}_COOKIE_SAMESITE"] == "Lax", cookie
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "recsite.storage.ManifestStaticStorage"
    # No proxy header is trusted unless one is named: a client could forge it.
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    directives = values["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]


def test_hsts_options_and_proxy_header_from_the_environment(tmp_path):
    values = dump_settings(
        production_env(
            tmp_path,
            DJANGO_SECURE_HSTS_SECONDS="600",
            DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
            DJANGO_SECURE_HSTS_PRELOAD="true",
            DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        )
    )
    assert values["SECURE_HSTS_SECONDS"] == 600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SILENCED_SYSTEM_CHECKS"] == []
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_still_warns_when_hsts_is_turned_off(tmp_path):
    """The check is real: weakening a setting in the environment makes it fail."""
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path, DJANGO_SECURE_HSTS_SECONDS="0", DJANGO_SECURE_COOKIES="false"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    for warning in ("security.W004", "security.W012", "security.W016"):
        assert warning in output


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(None, id="development-key"),
        pytest.param("example", id="env-example-placeholder"),
    ],
)
def test_refuses_to_start_with_a_known_key(tmp_path, key):
    env = production_env(tmp_path)
    if key is None:
        env.pop("DJANGO_SECRET_KEY")
    else:
        env["DJANGO_SECRET_KEY"] = env_example()["DJANGO_SECRET_KEY"]
    done = run_python("import django; django.setup()", env)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: Set DJANGO_SECRET_KEY"), done.stderr


def test_known_keys_are_accepted_in_development_mode(tmp_path):
    env = production_env(tmp_path, DJANGO_DEBUG="1")
    env.pop("DJANGO_SECRET_KEY")
    assert dump_settings(env)["DEBUG"] is True


def test_the_suite_runs_in_development_mode():
    """pyproject.toml sets DJANGO_DEBUG=1 before Django reads its settings (other tests rely on it)."""
    assert os.environ["DJANGO_DEBUG"] == "1"
    assert django_settings.SECURE_SSL_REDIRECT is False
    assert django_settings.SESSION_COOKIE_SECURE is False
