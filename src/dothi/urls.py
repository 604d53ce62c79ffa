from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from dothi.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("account/", include("dothi.identity.urls")),
    path("open311/v2/", include("dothi.reports.open311.urls")),
    path("ngsi-ld/v1/", include("dothi.sensing.ngsild.urls")),
    path("reports/", include("dothi.reports.urls")),
    path("appointments/", include("dothi.appointments.urls")),
    path("sensors/", include("dothi.sensing.urls")),
    path("alerts/", include("dothi.alerts.urls")),
    path("layers/", include("dothi.layers.urls")),
    path("ioc/", include("dothi.ioc.urls")),
    path("programme/", include("dothi.programme.urls")),
    path("kpis/", include("dothi.kpis.urls")),
    path("surveys/", include("dothi.surveys.urls")),
    path("", include("dothi.core.urls")),
    path("", include("dothi.web.urls")),
]

# Error pages in the shell's layout and the user's language.
handler400 = "dothi.web.views.bad_request"
handler403 = "dothi.web.views.forbidden"
handler404 = "dothi.web.views.not_found"
handler500 = "dothi.web.views.server_error"
