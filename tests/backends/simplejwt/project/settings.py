"""Settings of the simplejwt test backend: Django + DRF + djangorestframework-simplejwt, configured as
simplejwt's "Getting started" and "Blacklist app" pages show, with refresh-token rotation and
blacklisting after rotation on.

Environment (set by tests/backends/run.sh):
  TK_DATA_DIR     directory holding this run's SQLite database (a fresh one per run)
  TK_SECRET       signing key (run.sh makes a random one per run)
  TK_ACCESS_TTL   access-token lifetime in seconds (default 300)
  TK_REFRESH_TTL  refresh-token lifetime in seconds (default 3600)
"""
import os
from datetime import timedelta
from pathlib import Path

DATA_DIR = Path(os.environ.get("TK_DATA_DIR", "."))
SECRET_KEY = os.environ.get("TK_SECRET", "insecure-test-only-secret-key-of-at-least-32-bytes")

# DEBUG off: errors come back as a real deployment sends them (no HTML debug pages).
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "corsheaders",
    "rest_framework",
    # Listed for simplejwt's translated messages, as its Getting started page suggests.
    "rest_framework_simplejwt",
    # The blacklist app: refresh tokens are recorded as outstanding and can be blacklisted.
    "rest_framework_simplejwt.token_blacklist",
    "accounts",
]

MIDDLEWARE = [
    # django-cors-headers wants its middleware as high as possible, before CommonMiddleware.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "project.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "db.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": (
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ),
    # JSON only: the browsable API would need templates and static files this backend does not have.
    "DEFAULT_RENDERER_CLASSES": ("rest_framework.renderers.JSONRenderer",),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(os.environ.get("TK_ACCESS_TTL", "300"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=int(os.environ.get("TK_REFRESH_TTL", "3600"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}

# CORS (django-cors-headers): any loopback origin on any port, with credentials. The default
# CORS_ALLOW_HEADERS already hold "authorization" and "content-type". Exposing Date is a deployment
# choice: tokenkeeper reads it to estimate the clock skew between browser and server.
CORS_ALLOWED_ORIGIN_REGEXES = [r"^http://(127\.0\.0\.1|localhost):\d+$"]
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = ["Date"]

# The default (DEBUG-off) logging prints each request on stderr through runserver; keep it.
