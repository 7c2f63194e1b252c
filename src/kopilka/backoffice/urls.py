from django.urls import path

from kopilka.backoffice.views import (
    analytics,
    approvals,
    audit_log,
    campaign_results,
    campaigns,
    catalog,
    home,
    programme,
    support,
)

app_name = "backoffice"

urlpatterns = [
    path("", home.home, name="home"),
    path("members/", support.search, name="search"),
    path("members/<int:member_id>/", support.member, name="member"),
    path("members/<int:member_id>/compensate/", support.compensate, name="compensate"),
    path("members/<int:member_id>/<slug:code>/", support.operate, name="operate"),
    path("compensations/", approvals.compensations, name="compensations"),
    path("compensations/<int:request_id>/decide/", approvals.decide, name="decide"),
    path("audit/", audit_log.audit_log, name="audit"),
    path("settings/", programme.programme_settings, name="programme"),
    path("campaigns/", campaigns.campaigns, name="campaigns"),
    path("campaign-new/", campaigns.new_campaign, name="campaign_new"),
    path("campaign-eligible/", campaigns.eligible_count, name="eligible_count"),
    path("campaigns/<slug:code>/", campaigns.campaign, name="campaign"),
    path("campaigns/<slug:code>/results/", campaign_results.page, name="campaign_results"),
    path("campaigns/<slug:code>/results/<slug:table>.<str:fmt>", campaign_results.download,
         name="campaign_results_download"),
    path("campaigns/<slug:code>/<str:action>/", campaigns.lifecycle, name="lifecycle"),
    path("catalog/", catalog.catalog, name="catalog"),
    path("catalog/template.xlsx", catalog.catalog_template, name="catalog_template"),
    path("catalog/export.xlsx", catalog.catalog_export, name="catalog_export"),
    path("catalog/products/<str:sku>/", catalog.product, name="product"),
    path("analytics/", analytics.page, {"kind": "dashboard"}, name="analytics_dashboard"),
    path("analytics/snapshots/<int:snapshot_id>/status/", analytics.status, name="analytics_status"),
    path("analytics/snapshots/<int:snapshot_id>/<slug:table>.<str:fmt>", analytics.download,
         name="analytics_download"),
    path("analytics/widgets/", analytics.widget_links, name="analytics_widgets"),
    path("analytics/<slug:kind>/", analytics.page, name="analytics"),
    path("analytics/<slug:kind>/share/", analytics.share, name="analytics_share"),
]
