from django.shortcuts import render

from dothi.core.manifests import registry


def home(request):
    return render(request, "web/home.html", {"entries": registry.navigation("citizen")})
