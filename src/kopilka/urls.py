from django.contrib import admin
from django.urls import include, path

from kopilka.api.routes import api
from kopilka.backoffice.views.widget import widget

urlpatterns = [
    path("admin/", admin.site.urls),
    path("office/", include("kopilka.backoffice.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("embed/analytics/<str:token>/", widget, name="analytics_widget"),
]
