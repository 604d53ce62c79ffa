"""Pages of the evaluation: dashboard, indicator page, council report, ROI, public page."""

from django.http import Http404

# Scaffold: each view below is replaced by its implementation (see docs/modules/kpis.md).


def dashboard(request, *args, **kwargs):
    raise Http404


def indicator(request, *args, **kwargs):
    raise Http404


def report(request, *args, **kwargs):
    raise Http404


def issue(request, *args, **kwargs):
    raise Http404


def evaluations(request, *args, **kwargs):
    raise Http404


def evaluation(request, *args, **kwargs):
    raise Http404


def roi(request, *args, **kwargs):
    raise Http404


def roi_project(request, *args, **kwargs):
    raise Http404


def public(request, *args, **kwargs):
    raise Http404
