"""NGSI-LD routes under /ngsi-ld/v1/: every path with and without a trailing slash (clients send both)."""

from django.urls import path

from dothi.sensing.ngsild import views

app_name = "ngsild"


def _both(route: str, view, name: str) -> list:
    return [path(route, view, name=name), path(route + "/", view, name=name + "_slash")]


urlpatterns = [
    *_both("entities", views.entities_view, "entities"),
    *_both("entities/<str:entity_id>", views.entity_view, "entity"),
    *_both("entities/<str:entity_id>/attrs", views.attrs_view, "entity_attrs"),
    *_both("entityOperations/<str:operation>", views.batch_view, "batch"),
    *_both("types", views.types_view, "types"),
    *_both("types/<str:type_name>", views.type_view, "type"),
    *_both("temporal/entities", views.temporal_entities_view, "temporal_entities"),
    *_both("temporal/entities/<str:entity_id>", views.temporal_entity_view, "temporal_entity"),
]
