from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry

manifest = Manifest(
    name="identity",
    encrypted_fields=("identity.User.id_number_enc", "identity.User.phone_enc"),
    label=_("Identity"),
    permissions={
        "identity.staff.manage": frozenset({"city_admin"}),
        "identity.citizen.view_personal": frozenset({"city_admin"}),
    },
    navigation=(
        NavEntry(
            label=_("My account"),
            url_name="identity:account",
            icon="person",
            area="citizen",
            order=900,
            description=_("See, download or delete your data"),
        ),
    ),
)
