from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest

manifest = Manifest(
    name="identity",
    label=_("Identity"),
    permissions={
        "identity.staff.manage": frozenset({"city_admin"}),
        "identity.citizen.view_personal": frozenset({"city_admin"}),
    },
)
