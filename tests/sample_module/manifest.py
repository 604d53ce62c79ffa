"""The sample module's manifest: one of everything a module can declare."""

from __future__ import annotations

from dothi.core import selectors
from dothi.core.manifests import KpiCalculator, KpiValue, Manifest, NavEntry, OpenDataset, Panel, Period
from dothi.core.models import City, Feedback, Organisation
from tests.sample_module.tasks import heartbeat

SUBJECT = "sample.visit"


def satisfaction(city: City, period: Period) -> KpiValue:
    """Share of visits rated 4 or 5: numerator, denominator and sample size travel with the value."""
    summary = selectors.feedback_summary(city, SUBJECT, period)
    satisfied = summary["distribution"][4] + summary["distribution"][5]
    total = summary["count"]
    return KpiValue(
        value=round(100 * satisfied / total, 1) if total else None,
        numerator=satisfied,
        denominator=total,
        sample_size=total,
        note="" if total else "no ratings in the period",
    )


def ratings_by_value(city: City):
    """Aggregate rows only; the open-data module suppresses groups below min_group_size."""
    distribution = {r: 0 for r in range(1, 6)}
    ratings = Feedback.objects.for_city(city).filter(subject_type=SUBJECT).values_list("rating", flat=True)
    for rating in ratings:
        distribution[rating] += 1
    return [{"rating": r, "count": n} for r, n in distribution.items()]


def organisations_panel(city: City) -> dict:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [o.commune.centre_lon, o.commune.centre_lat]},
            "properties": {"code": o.code, "name": o.name},
        }
        for o in Organisation.objects.for_city(city).select_related("commune")
        if o.commune and o.commune.centre_lon is not None
    ]
    return {"type": "FeatureCollection", "features": features}


def seed(city: City, rng, now) -> None:
    Organisation.objects.get_or_create(city=city, code="sample-lab", defaults={
        "name_vi": "Phòng thí nghiệm mẫu", "name_en": "Sample lab", "kind": Organisation.Kind.UNIVERSITY,
    })
    for n in range(6):
        Feedback.objects.create(
            city=city, subject_type=SUBJECT, subject_id=f"seed-{n}", rating=rng.randint(3, 5), created_at=now
        )


manifest = Manifest(
    name="sample",
    label="Sample",
    description="Exercises the manifest contract in tests.",
    kpis=(KpiCalculator(code="sample.visit_satisfaction", name="Visitor satisfaction", unit="%",
                        compute=satisfaction, standard_code="U4SSC-SC-EQ-1"),),
    datasets=(OpenDataset(code="sample-visit-ratings", title="Visit ratings", description="Ratings by value",
                          rows=ratings_by_value, min_group_size=5),),
    panels=(Panel(code="sample-organisations", title="Sample organisations", data=organisations_panel),),
    navigation=(NavEntry(label="Sample", url_name="core:notifications", area="staff", order=500,
                         roles=frozenset({"agency_staff"})),),
    permissions={"sample.widget.inspect": frozenset({"agency_staff"})},
    seeder=seed,
    seed_order=900,
    schedules={"heartbeat": (60, heartbeat)},
    feedback_subjects=(SUBJECT,),
)
