from django.contrib import admin
from django.urls import include, path

from kopilka.api.routes import api
from kopilka.backoffice.views.widget import widget
from kopilka.communications.mailings.views import follow_link, open_pixel
from kopilka.communications.views import sms_delivery_report, unsubscribe_page

urlpatterns = [
    path("admin/", admin.site.urls),
    path("office/", include("kopilka.backoffice.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("embed/analytics/<str:token>/", widget, name="analytics_widget"),
    path("u/<str:token>/", unsubscribe_page, name="unsubscribe"),
    path("t/o/<str:token>.gif", open_pixel, name="tracking_open"),
    path("t/c/<str:token>/", follow_link, name="tracking_click"),
    path("channels/sms/reports", sms_delivery_report, name="sms_delivery_report"),
]
