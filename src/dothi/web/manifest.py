"""The shell declares no operations of its own: the staff area is guarded by core's `core.staff_area.view`."""

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest

manifest = Manifest(name="web", label=_("Citizen app"))
