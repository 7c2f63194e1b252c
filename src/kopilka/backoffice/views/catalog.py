"""The catalogue for marketers: browse (all products, or the redemption shop: partner products members buy with
points), download the xlsx template, the catalogue or the shop, import a workbook (the "partner product" column puts
a product in the shop), or change one product on its page."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kopilka.backoffice.access import CHANGES, requires
from kopilka.catalog import services, spreadsheet
from kopilka.catalog.models import Product, ProductGroup
from kopilka.core import audit
from kopilka.core.errors import ValidationFailed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 20 * 1024 * 1024
PER_PAGE = 100


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Workbook (xlsx)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(gettext_lazy("The file is larger than 20 MB."))
        return upload


def _download(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@requires("catalog.view_product", methods=CHANGES)
def catalog(request):
    form, report = ImportForm(), None
    if request.method == "POST":
        if not request.user.has_perms(["catalog.add_product", "catalog.change_product"]):
            raise PermissionDenied
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                with transaction.atomic():  # the import and its audit event together
                    result = spreadsheet.import_products(form.cleaned_data["file"].read())
                    summary = _("Catalogue imported: %(created)d new, %(updated)d updated.") % {
                        "created": result.created, "updated": result.updated}
                    audit.record(request.user, "catalog.imported", summary, target="catalog.product",
                                 details={"file": form.cleaned_data["file"].name, "created": result.created,
                                          "updated": result.updated})
            except ValidationFailed as refused:
                labels = dict(spreadsheet.COLUMNS)
                report = {"message": refused.message, "errors": [
                    {**e, "column": labels.get(e["column"], e["column"])} for e in refused.details.get("errors", [])]}
            else:
                messages.success(request, summary)
                return redirect("backoffice:catalog")
    query = request.GET.get("q", "").strip()
    shop = request.GET.get("shop") == "1"
    products = Product.objects.select_related("group").order_by("sku")
    if query:
        products = products.filter(Q(sku__icontains=query) | Q(name__icontains=query))
    if shop:
        products = products.filter(is_partner=True)
    page = Paginator(products, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "backoffice/catalog.html",
                  {"form": form, "report": report, "page": page, "q": query, "shop": shop})


@requires("catalog.view_product")
def catalog_template(request):
    return _download(spreadsheet.template(), "catalogue-template.xlsx")


@requires("catalog.view_product")
def catalog_export(request):
    shop = request.GET.get("shop") == "1"
    return _download(spreadsheet.export(shop_only=shop), "redemption-shop.xlsx" if shop else "catalogue.xlsx")


class ProductForm(forms.Form):
    """One product's fields as the catalogue's services take them (the SKU is the product's key and stays)."""

    name = forms.CharField(label=pgettext_lazy("column", "Name"), max_length=Product._meta.get_field("name").max_length)
    price = forms.DecimalField(label=pgettext_lazy("column", "Price, ₽"), min_value=0, max_digits=14, decimal_places=2)
    group = forms.ChoiceField(label=gettext_lazy("Group"), required=False)
    is_partner = forms.BooleanField(label=gettext_lazy("Partner product (the redemption shop)"), required=False)
    is_active = forms.BooleanField(label=gettext_lazy("On sale"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "—"), *ProductGroup.objects.order_by("path").values_list("code", "name")]


@requires("catalog.view_product", methods=CHANGES)
def product(request, sku: str):
    """A product's page: its stored values in a form; a change (catalog.change_product) is saved through the
    catalogue's services with its audit event (naming the fields that changed) in one transaction."""
    found = get_object_or_404(Product.objects.select_related("group"), sku=sku)
    initial = {"name": found.name, "price": found.price, "group": found.group.code if found.group else "",
               "is_partner": found.is_partner, "is_active": found.is_active}
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not request.user.has_perm("catalog.change_product"):
            raise PermissionDenied
        if form.is_valid():
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                with transaction.atomic():
                    services.upsert_products([{"sku": sku, **form.cleaned_data}])
                    audit.record(request.user, "catalog.product_changed",
                                 _("Changed product %(sku)s: %(fields)s") % {"sku": sku, "fields": ", ".join(
                                     sorted(changed)) or "—"},
                                 target=f"catalog.product:{found.pk}", details={"fields": sorted(changed)})
            except ValidationFailed as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, _("Product %(sku)s saved.") % {"sku": sku})
                return redirect("backoffice:product", sku=sku)
    return render(request, "backoffice/product.html", {"form": form, "product": found})
