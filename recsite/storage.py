"""Static files: WhiteNoise's compressed manifest storage, each file's URL worked out once per process.

Every page asks for the same handful of static URLs (stylesheets, scripts, icons), and the manifest
storage works each out afresh: the hashed name from the manifest, then the URL joined and quoted, a
few dozen microseconds a page. The manifest is read when a process starts and does not change until
it restarts (a deploy runs ``collectstatic`` and restarts the workers), so the URL of a name is kept
after its first lookup. A name missing from the manifest still raises, every time, as before.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

# More distinct names than a site has static files: past it, URLs are worked out each time.
URLS_KEPT = 4096


class ManifestStaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[tuple[str, bool], str] = {}

    def url(self, name: str, force: bool = False) -> str:
        if force:
            return super().url(name, force=True)
        key = (name, settings.DEBUG)  # the storage serves unhashed names while DEBUG is on
        found = self._urls.get(key)
        if found is None:
            found = super().url(name)
            if len(self._urls) < URLS_KEPT:
                self._urls[key] = found
        return found
