"""Pages of the indicator catalogue, manual values and publication."""

from django.http import Http404

# Scaffold: each view below is replaced by its implementation (see docs/modules/kpis.md).


def catalogue(request, *args, **kwargs):
    raise Http404


def manual(request, *args, **kwargs):
    raise Http404


def manual_review(request, *args, **kwargs):
    raise Http404


def export(request, *args, **kwargs):
    raise Http404
