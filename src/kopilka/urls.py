from django.contrib import admin
from django.urls import include, path

from kopilka.api.routes import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("office/", include("kopilka.backoffice.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
]
