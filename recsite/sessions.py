"""Django's database sessions, read with one hand-written query instead of through the ORM.

Every page a logged-in viewer opens reads their session, and compiling ``Session.objects.get(...)``
costs more CPU than running the query. This store reads the same row of the same table under the
same rule (the key, not expired) with one ``SELECT`` (``videos.rows`` builds the instance as the ORM
would); writing, expiry and clearing are Django's own. ``SESSION_ENGINE = "recsite.sessions"``.
Sessions stay in the database (no cache): a log-out or a password change ends a session at once on
every worker, whatever happens to Redis.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from videos import rows


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        model = self.model
        connection = connections[router.db_for_read(model)]
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {rows.columns(model, 's')} FROM {quote(model._meta.db_table)} s"
                f" WHERE s.{quote('session_key')} = %s AND s.{quote('expire_date')} > %s",
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            found = cursor.fetchall()
        if not found:
            self._session_key = None  # as Django's store: the key is unknown or expired
            return None
        return rows.instances(model, found, "s")[0]
