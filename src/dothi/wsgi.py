"""The WSGI application, for `dothi serve --server wsgi` (gunicorn's threaded workers): the pages and
APIs are synchronous Django, which a WSGI worker runs without the ASGI thread hand-off per request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dothi.settings")
application = get_wsgi_application()
