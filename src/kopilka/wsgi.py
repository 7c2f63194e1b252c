"""WSGI entry point for gunicorn: `gunicorn kopilka.wsgi`.

The application refuses to be made (ImproperlyConfigured, with the explanation `kopilka serve` gives) when the
secret key is empty, published or weak and the platform is not in DEBUG: every way of serving it checks the key,
not only `kopilka serve`. The demo's key (random, in its data folder) will do.
"""

import os

from django.core.wsgi import get_wsgi_application

from kopilka.core import secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
secret_key.check_served()
application = get_wsgi_application()
