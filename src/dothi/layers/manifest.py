from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest

manifest = Manifest(name="layers", label=_("Spatial layers"))
