"""Writes of the KPI module.

- `compute`: runs the calculators of the active automatic indicators for one period (and per ward)
  and upserts their `Value(method="auto")` with the inputs; one audit record per run.
- `compute_current`: the scheduler's hourly job (the current month, quarter and year of every city, and
  the previous ones during the first 7 days after they end).
- `enter_manual` / `decide_manual`: manual values with a source and evidence, approved by the council
  (four eyes: the decider is not the person who entered it).
- `set_publication`, `save_city_indicator`: a city's choices about an indicator.

Every service is keyword-only and runs in one transaction; bad input raises a `dothi.core.errors`
DomainError (translated, with `field=`) before anything is written.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import Conflict, InvalidInput, NotFound
from dothi.core.manifests import KpiValue, Period, registry
from dothi.core.models import AuditEvent, City, Commune
from dothi.core.parsing import clean_text
from dothi.core.permissions import require
from dothi.kpis import periods, selectors
from dothi.kpis.models import CityIndicator, Grain, Indicator, Value

logger = logging.getLogger(__name__)

VALUE_MAX = 1e15
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_EXTENSIONS = frozenset(
    {"pdf", "png", "jpg", "jpeg", "webp", "gif", "xlsx", "xls", "ods", "csv", "docx"}
)
GRACE_DAYS = 7  # the previous period is recomputed during the first days after it ends


# --- Computation ------------------------------------------------------------------------------------


@dataclass
class ComputeResult:
    computed: int = 0  # values stored with a number
    missing: int = 0  # values stored as missing (no data in the period)
    failed: int = 0  # calculators that raised (stored as missing, the error class in the note)
    seconds: float = 0.0
    # (indicator code, commune code or "", value or None, note) of every stored city-level value
    rows: list[tuple[str, str, float | None, str]] = field(default_factory=list)


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _clean_kpi(kv: Any) -> KpiValue:
    """A calculator's answer, made storable: a non-finite number is missing, never stored as such."""
    if not isinstance(kv, KpiValue):
        return KpiValue(None, note=_("The calculator returned no value."))
    value = _finite(kv.value)
    note = str(kv.note or "")
    if kv.value is not None and value is None:
        note = note or _("The calculator returned a value that is not a number.")
    if value is None and not note:
        note = _("No data in this period.")
    return KpiValue(
        value=value,
        numerator=_finite(kv.numerator),
        denominator=_finite(kv.denominator),
        sample_size=max(int(kv.sample_size or 0), 0),
        note=note[:300],
    )


def _apply(row: Value, kv: KpiValue, now: datetime) -> None:
    row.value = kv.value
    row.numerator = kv.numerator
    row.denominator = kv.denominator
    row.sample_size = kv.sample_size
    row.note = kv.note
    row.computed_at = now
    row.status = Value.Status.APPROVED


def _failure(exc: Exception) -> KpiValue:
    note = _("The calculation failed (%(error)s).") % {"error": type(exc).__name__}
    return KpiValue(None, note=note[:300])


def _fed_values(city: City, period) -> dict[str, KpiValue]:
    """Values other modules measure for indicators they declare no calculator for, e.g. a survey
    question bound to an indicator's code: every published read named "<module>.indicator_values",
    (city, period) -> {indicator code: KpiValue}. A failing source is logged and left out."""
    fed: dict[str, KpiValue] = {}
    for name in registry.provided_names(".indicator_values"):
        try:
            fed.update(registry.provided(name)(city, period) or {})
        except Exception:  # noqa: BLE001 - one module's failure must not stop the computation
            logger.exception("%s failed for %s %s", name, city.slug, period.start)
    return fed


def compute(
    *,
    actor,
    city: City,
    grain: Grain | str,
    start: date,
    wards: bool = False,
    codes: Iterable[str] | None = None,
    progress: Callable[[Indicator, int, int], None] | None = None,
) -> ComputeResult:
    """Compute every active automatic indicator of the city for the period starting at `start` (only
    `codes` when given: indicator or calculator codes), and per ward for the `per_ward` ones when
    `wards`. `actor=None` is the scheduler. `progress(indicator, done, total)` is called after each."""
    if actor is not None:
        require(actor, "kpis.compute", city)
    grain = periods._g(grain)
    period = periods.period(grain, start)
    began = time.monotonic()
    fed = _fed_values(city, period)
    inds = list(selectors.indicators(city, automatic=True))
    inds += [i for i in selectors.indicators(city, automatic=False) if i.code in fed]
    if codes is not None:
        wanted = {c.strip() for c in codes if c and c.strip()}
        unknown = wanted - {i.code for i in inds} - {i.calculator for i in inds}
        if unknown:
            raise InvalidInput(
                _("No automatic indicator has the code %(codes)s.") % {"codes": ", ".join(sorted(unknown))},
                field="codes", code="unknown_indicator",
            )
        inds = [i for i in inds if i.code in wanted or i.calculator in wanted]
    city_communes = set(Commune.objects.filter(province_id=city.province_code).values_list("pk", flat=True))
    result = ComputeResult()
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (v.indicator_id, v.commune_id): v
            for v in Value.objects.for_city(city).filter(
                method=Value.Method.AUTO, grain=grain.value, period_start=period.start,
                indicator__in=inds,
            )
        }
        new: list[Value] = []
        changed: list[Value] = []
        stale: list[int] = []
        for n, ind in enumerate(inds, start=1):
            calc = registry.kpi(ind.calculator) if ind.calculator else None
            ward_answers: dict | None = None
            if not ind.calculator:
                kv = _clean_kpi(fed[ind.code])
            elif calc is None:
                kv = KpiValue(None, note=_("No module measures this indicator any more."))
            else:
                try:
                    with transaction.atomic():
                        kv = _clean_kpi(calc.compute(city, period))
                except Exception as exc:  # noqa: BLE001 - one calculator's failure must not stop the others
                    logger.exception("KPI %s failed for %s %s", ind.code, city.slug, period.start)
                    kv = _failure(exc)
                    result.failed += 1
                if wards and ind.per_ward and calc.compute_wards is not None:
                    try:
                        with transaction.atomic():
                            ward_answers = dict(calc.compute_wards(city, period) or {})
                    except Exception:  # noqa: BLE001 - the city-level value stands; wards show as missing
                        logger.exception("KPI %s per ward failed for %s", ind.code, city.slug)
                        ward_answers = None
                        result.failed += 1
            places: list[tuple[str | None, KpiValue]] = [(None, kv)]
            if ward_answers is not None:
                for commune_id, wkv in ward_answers.items():
                    if str(commune_id) in city_communes:
                        places.append((str(commune_id), _clean_kpi(wkv)))
                returned = {p for p, _kv in places if p is not None}
                stale += [
                    v.pk for (iid, cid), v in existing.items()
                    if iid == ind.pk and cid and cid not in returned
                ]
            for commune_id, pkv in places:
                row = existing.get((ind.pk, commune_id))
                if row is None:
                    row = Value(city=city, indicator=ind, grain=grain.value, period_start=period.start,
                                period_end=period.end, commune_id=commune_id, method=Value.Method.AUTO)
                    new.append(row)
                else:
                    changed.append(row)
                _apply(row, pkv, now)
                if commune_id is None:
                    result.rows.append((ind.code, "", pkv.value, pkv.note))
                    if pkv.value is None:
                        result.missing += 1
                    else:
                        result.computed += 1
            if progress is not None:
                progress(ind, n, len(inds))
        if new:
            Value.objects.bulk_create(new, batch_size=500)
        if changed:
            Value.objects.bulk_update(
                changed,
                ["value", "numerator", "denominator", "sample_size", "note", "computed_at", "status"],
                batch_size=500,
            )
        if stale:
            Value.objects.filter(pk__in=stale).delete()
        result.seconds = round(time.monotonic() - began, 3)
        audit.record(
            actor=actor, action=AuditEvent.Action.UPDATE, city=city, object_type="kpis.period",
            object_id=f"{grain.value}:{period.start.isoformat()}",
            summary=_("Indicators computed for %(period)s") % {"period": periods.label(grain, period.start)},
            details={"operation": "kpis.compute", "grain": grain.value, "start": period.start.isoformat(),
                     "wards": wards,
                     "codes": sorted(codes) if codes is not None else None, "computed": result.computed,
                     "missing": result.missing, "failed": result.failed, "seconds": result.seconds},
        )
    return result


def due_periods(city: City, now: datetime | None = None) -> list[tuple[Grain, Period]]:
    """What the hourly job computes for a city: the current month, quarter and year (in the city's
    local dates), and the previous ones during the first `GRACE_DAYS` days after they end."""
    now = now or timezone.now()
    today = now.astimezone(ZoneInfo(city.time_zone or "Asia/Ho_Chi_Minh")).date()
    out: list[tuple[Grain, Period]] = []
    for grain in (Grain.MONTH, Grain.QUARTER, Grain.YEAR):
        current = periods.containing(grain, today)
        out.append((grain, current))
        if today < current.start + timedelta(days=GRACE_DAYS):
            out.append((grain, periods.shift(grain, current.start, -1)))
    return out


def compute_current(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduler's job: `due_periods` of every city with the kpis module, per ward too."""
    done = {"cities": 0, "periods": 0, "failed": 0}
    for city in City.objects.order_by("pk"):
        if not city.module_enabled("kpis"):
            continue
        done["cities"] += 1
        for grain, period in due_periods(city, now):
            result = compute(actor=None, city=city, grain=grain, start=period.start, wards=True)
            done["periods"] += 1
            done["failed"] += result.failed
    return done


# --- Manual values ----------------------------------------------------------------------------------


def parse_number(value: Any, *, field: str = "value") -> float:
    """A finite number; text may use the Vietnamese decimal comma ("12,5") or a dot, with spaces or
    dots grouping thousands ("1.234,5")."""
    if isinstance(value, bool):
        raise InvalidInput(_("Enter a number."), field=field, code="invalid_number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if not text:
            raise InvalidInput(_("Enter a number."), field=field, code="required")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")  # 1.234,5 -> 1234.5
        try:
            number = float(text)
        except ValueError:
            raise InvalidInput(
                _("%(text)r is not a number.") % {"text": value[:30]}, field=field, code="invalid_number"
            ) from None
    else:
        raise InvalidInput(_("Enter a number."), field=field, code="invalid_number")
    if not math.isfinite(number) or abs(number) > VALUE_MAX:
        raise InvalidInput(_("Enter a finite number."), field=field, code="invalid_number")
    return number


def _evidence(upload: Any) -> File | None:
    if upload in (None, ""):
        return None
    if not isinstance(upload, File) and not hasattr(upload, "read"):
        raise InvalidInput(_("This is not a file."), field="evidence", code="invalid_file")
    name = getattr(upload, "name", "") or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in EVIDENCE_EXTENSIONS:
        raise InvalidInput(
            _("The evidence must be a PDF, an image or a spreadsheet (%(exts)s).")
            % {"exts": ", ".join(sorted(EVIDENCE_EXTENSIONS))},
            field="evidence", code="file_type",
        )
    from dothi.core.uploads import read_limited

    too_big = InvalidInput(
        _("The file must be at most %(mb)d MB.") % {"mb": EVIDENCE_MAX_BYTES // (1024 * 1024)},
        field="evidence", code="file_too_big",
    )
    data = read_limited(upload, limit=EVIDENCE_MAX_BYTES, field="evidence", too_big=too_big)
    magic_ok = {
        "pdf": data.startswith(b"%PDF"),
        "png": data.startswith(b"\x89PNG"),
        "jpg": data.startswith(b"\xff\xd8\xff"),
        "jpeg": data.startswith(b"\xff\xd8\xff"),
        "gif": data.startswith(b"GIF8"),
        "webp": data[:4] == b"RIFF" and data[8:12] == b"WEBP",
        "xlsx": data.startswith(b"PK"),
        "ods": data.startswith(b"PK"),
        "docx": data.startswith(b"PK"),
        "xls": data.startswith(b"\xd0\xcf\x11\xe0"),
        "csv": b"\x00" not in data[:4096],
    }[ext]
    if not magic_ok:
        raise InvalidInput(
            _("The file's content does not match its type (.%(ext)s).") % {"ext": ext},
            field="evidence", code="file_type",
        )
    from django.core.files.base import ContentFile

    return ContentFile(data, name=name.rsplit("/", 1)[-1][-100:])


def _indicator(city: City, indicator: Indicator | str | None) -> Indicator:
    ind = selectors.indicator_by_code(city, indicator) if isinstance(indicator, str) else indicator
    if (
        ind is None or not ind.is_active
        or (ind.city_id is not None and ind.city_id != city.pk)
    ):
        raise InvalidInput(_("There is no such indicator."), field="indicator", code="unknown_indicator")
    return ind


def _commune(city: City, commune: Commune | str | None) -> Commune | None:
    if commune in (None, ""):
        return None
    code = commune.pk if isinstance(commune, Commune) else str(commune).strip()
    found = Commune.objects.filter(pk=code, province_id=city.province_code).first()
    if found is None:
        raise InvalidInput(_("This commune is not in the city."), field="commune", code="outside_city")
    return found


def enter_manual(
    *,
    actor,
    city: City,
    indicator: Indicator | str,
    grain: Grain | str | None = None,
    start: date | None = None,
    period: str | None = None,
    value: Any,
    commune: Commune | str | None = None,
    source: str,
    evidence: Any = None,
    note: str = "",
) -> Value:
    """Store a manual value awaiting the council's approval. The period is `grain` + `start`, or a
    `period` code ("2026", "2026-Q3", "2026-07")."""
    require(actor, "kpis.enter", city)
    ind = _indicator(city, indicator)
    if period is not None and period != "":
        grain, p = periods.parse(period)
    else:
        if grain is None or start is None:
            raise InvalidInput(_("Choose the period."), field="period", code="required")
        grain = periods._g(grain)
        p = periods.period(grain, start)
    number = parse_number(value)
    where = _commune(city, commune)
    source = clean_text(source, field="source", max_len=300, required=True,
                        message=_("Say where the figure comes from."))
    note = clean_text(note, field="note", max_len=300)
    upload = _evidence(evidence)
    with transaction.atomic():
        row = Value(
            city=city, indicator=ind, grain=grain.value, period_start=p.start, period_end=p.end,
            commune=where, value=number, method=Value.Method.MANUAL, status=Value.Status.PENDING,
            source=source, note=note, entered_by=actor, computed_at=timezone.now(),
        )
        row.save()
        if upload is not None:
            row.evidence.save(upload.name, upload, save=True)
        audit.record(
            actor=actor, action=AuditEvent.Action.CREATE, obj=row, city=city,
            summary=_("Manual value entered for %(code)s, %(period)s")
            % {"code": ind.code, "period": periods.label(grain, p.start)},
            details={"operation": "kpis.manual.enter", "indicator": ind.code, "grain": grain.value,
                     "start": p.start.isoformat(),
                     "commune": where.pk if where else None, "value": number, "source": source},
        )
    return row


def decide_manual(
    *, actor, value: Value | int, approve: bool, note: str = "", city: City | None = None
) -> Value:
    """Approve or reject a pending manual value. Approving supersedes the previously approved manual
    value of the same indicator, period and place. The decider must not be the person who entered it."""
    if not isinstance(value, Value):
        if city is None:
            raise InvalidInput(_("Choose the city."), field="city")
        found = selectors.manual_value(city, value)
        if found is None:
            raise NotFound(_("There is no such manual value."))
        value = found
    require(actor, "kpis.approve", value.city)
    if city is not None and value.city_id != city.pk:
        raise NotFound(_("There is no such manual value."))
    note = clean_text(note, field="note", max_len=500)
    if not approve and not note:
        raise InvalidInput(_("Say why the value is rejected."), field="note", code="required")
    with transaction.atomic():
        row = Value.objects.select_for_update().get(pk=value.pk)
        if row.method != Value.Method.MANUAL:
            raise InvalidInput(_("Only manual values are approved."), field="value")
        if row.status != Value.Status.PENDING:
            raise Conflict(_("This value has already been decided (%(status)s).")
                           % {"status": row.get_status_display()})
        if row.entered_by_id is not None and actor is not None and row.entered_by_id == actor.pk:
            raise PermissionDenied(_("You entered this value: another member of the council must decide it."))
        superseded = 0
        if approve:
            superseded = Value.objects.filter(
                city_id=row.city_id, indicator_id=row.indicator_id, grain=row.grain,
                period_start=row.period_start, commune_id=row.commune_id, method=Value.Method.MANUAL,
                status=Value.Status.APPROVED,
            ).update(status=Value.Status.SUPERSEDED)
        row.status = Value.Status.APPROVED if approve else Value.Status.REJECTED
        row.decided_by = actor
        row.decided_at = timezone.now()
        row.decision_note = note
        row.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit.record(
            actor=actor, action=AuditEvent.Action.UPDATE, obj=row,
            city=row.city, summary=(_("Manual value approved") if approve else _("Manual value rejected")),
            details={"operation": "kpis.manual.approve" if approve else "kpis.manual.reject",
                     "indicator_id": row.indicator_id, "grain": row.grain,
                     "start": row.period_start.isoformat(), "note": note, "superseded": superseded},
        )
    value.refresh_from_db()
    return value


# --- Publication and a city's settings ----------------------------------------------------------------


def set_publication(*, actor, city: City, indicator: Indicator | str, published: bool) -> CityIndicator:
    """Publish an indicator on the city's public page, or take it off."""
    require(actor, "kpis.approve", city)
    ind = _indicator(city, indicator)
    with transaction.atomic():
        setting, _created = CityIndicator.objects.get_or_create(city=city, indicator=ind)
        if setting.is_published != bool(published):
            setting.is_published = bool(published)
            setting.save(update_fields=["is_published"])
            audit.record(
                actor=actor, action=AuditEvent.Action.UPDATE, obj=setting, city=city,
                summary=(
                    _("Indicator %(code)s published") if published else _("Indicator %(code)s unpublished")
                ) % {"code": ind.code},
                details={"operation": "kpis.publish" if published else "kpis.unpublish",
                         "indicator": ind.code, "published": bool(published)},
            )
    return setting


def save_city_indicator(
    *,
    actor,
    city: City,
    indicator: Indicator | str,
    is_tracked: bool | None = None,
    is_published: bool | None = None,
    note_vi: str | None = None,
    note_en: str | None = None,
) -> CityIndicator:
    """Change the city's settings of an indicator (only the arguments given). Publishing needs the
    council (kpis.approve), like `set_publication`; the rest kpis.manage."""
    require(actor, "kpis.manage", city)
    if is_published is not None:
        require(actor, "kpis.approve", city)
    ind = _indicator(city, indicator)
    changes: dict[str, Any] = {}
    if is_tracked is not None:
        changes["is_tracked"] = bool(is_tracked)
    if is_published is not None:
        changes["is_published"] = bool(is_published)
    if note_vi is not None:
        changes["note_vi"] = clean_text(note_vi, field="note_vi", max_len=10_000)
    if note_en is not None:
        changes["note_en"] = clean_text(note_en, field="note_en", max_len=10_000)
    with transaction.atomic():
        setting, _created = CityIndicator.objects.get_or_create(city=city, indicator=ind)
        for k, v in changes.items():
            setattr(setting, k, v)
        setting.save()
        audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=setting, city=city,
                     summary=_("Settings of indicator %(code)s saved") % {"code": ind.code},
                     details={"operation": "kpis.city_indicator.save", "indicator": ind.code, **changes})
    return setting


# --- Benefits and evaluations (engineer B appends below) ----------------------------------------------
# Benefits of the programme's projects (for their return on investment) and issued evaluation reports.
# save_benefit / delete_benefit need kpis.manage (the council); issue_evaluation needs kpis.approve.

BENEFIT_YEAR_MIN, BENEFIT_YEAR_MAX = 2000, 2100
VND_MAX = 10**18  # fits a BigIntegerField
VND_GROUPED = r"^\d{1,3}(?:([., ])\d{3})?(?:\1\d{3})*$"  # 1.200.000 / 1,200,000 / 1 200 000


def parse_vnd(value: Any, *, field: str = "amount_vnd") -> int:
    """A whole amount of VND ≥ 0: an integer, or text with digits grouped by dots, commas or spaces in
    threes ("1.200.000", "1,200,000", "1 200 000"), optionally followed by "đ" or "VND". Anything else
    (decimals, "1.5", negative numbers) is refused: an amount of money is never guessed."""
    import re

    if isinstance(value, bool):
        raise InvalidInput(_("Enter an amount in VND."), field=field, code="invalid_amount")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", " ")
        for suffix in ("VNĐ", "VND", "vnđ", "vnd", "đồng", "đ", "₫"):
            if text.endswith(suffix):
                text = text[: -len(suffix)].strip()
                break
        if not text:
            raise InvalidInput(_("Enter an amount in VND."), field=field, code="required")
        if text.isdigit():
            number = int(text)
        elif re.match(VND_GROUPED, text):
            number = int("".join(c for c in text if c.isdigit()))
        else:
            raise InvalidInput(
                _("Write the amount as a whole number of VND, e.g. 1.200.000."), field=field,
                code="invalid_amount",
            )
    else:
        raise InvalidInput(_("Enter an amount in VND."), field=field, code="invalid_amount")
    if number < 0:
        raise InvalidInput(_("The amount cannot be negative."), field=field, code="invalid_amount")
    if number > VND_MAX:
        raise InvalidInput(_("The amount is too large."), field=field, code="invalid_amount")
    return number


def _whole_year(
    value: Any, *, field: str = "year", low: int = BENEFIT_YEAR_MIN, high: int = BENEFIT_YEAR_MAX
) -> int:
    try:
        year = int(str(value).strip()) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        year = None
    if year is None or not low <= year <= high:
        raise InvalidInput(
            _("The year must be between %(min)d and %(max)d.") % {"min": low, "max": high},
            field=field, code="invalid_year",
        )
    return year


def save_benefit(
    *,
    actor,
    city: City,
    project_code: str,
    year: Any,
    amount_vnd: Any,
    description_vi: str,
    description_en: str = "",
    kind: str = "saving",
    indicator_code: str = "",
    evidence: Any = None,
    benefit: Any = None,
):
    """Record (or, with `benefit`, change) a measured benefit of a programme project in one year."""
    from dothi.core.models import AuditEvent
    from dothi.kpis import roi
    from dothi.kpis.models import Benefit

    require(actor, "kpis.manage", city)
    row = None
    if benefit not in (None, ""):
        pk = benefit.pk if isinstance(benefit, Benefit) else benefit
        row = Benefit.objects.for_city(city).filter(pk=pk).first() if str(pk).isdigit() else None
        if row is None:
            raise NotFound(_("There is no such benefit."))
    code = clean_text(project_code, field="project_code", max_len=60, required=True,
                      message=_("Choose the project."))
    projects = {p["code"]: p for p in roi.project_costs(city)}
    if code not in projects:
        raise InvalidInput(_("The programme has no project with this code."), field="project_code",
                           code="unknown_project")
    year_n = _whole_year(year)
    amount = parse_vnd(amount_vnd)
    if str(kind) not in Benefit.Kind.values:
        raise InvalidInput(_("Choose a kind of benefit."), field="kind", code="invalid_choice")
    desc_vi = clean_text(description_vi, field="description_vi", max_len=300, required=True,
                         message=_("Describe the benefit."))
    desc_en = clean_text(description_en, field="description_en", max_len=300)
    ind_code = clean_text(indicator_code, field="indicator_code", max_len=80)
    if ind_code and selectors.indicator_by_code(city, ind_code) is None:
        raise InvalidInput(_("There is no such indicator."), field="indicator_code", code="unknown_indicator")
    file = _evidence(evidence)
    with transaction.atomic():
        created = row is None
        if created:
            row = Benefit(city=city, entered_by=actor if getattr(actor, "pk", None) else None)
        before = None if created else {"project_code": row.project_code, "year": row.year,
                                       "amount_vnd": row.amount_vnd}
        row.project_code, row.year, row.amount_vnd, row.kind = code, year_n, amount, str(kind)
        row.description_vi, row.description_en, row.indicator_code = desc_vi, desc_en, ind_code
        if file is not None:
            row.evidence.save(file.name, file, save=False)
        row.save()
        audit.record(
            actor=actor, action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE, obj=row,
            city=city,
            summary=_("Benefit of %(project)s in %(year)d recorded") % {"project": code, "year": year_n},
            details={"project_code": code, "year": year_n, "amount_vnd": amount, "kind": str(kind),
                     **({"before": before} if before else {})},
        )
    return row


def delete_benefit(*, actor, city: City, benefit: Any) -> None:
    """Delete a recorded benefit of the city (audited with what it was)."""
    from dothi.core.models import AuditEvent
    from dothi.kpis.models import Benefit

    require(actor, "kpis.manage", city)
    pk = benefit.pk if isinstance(benefit, Benefit) else benefit
    row = Benefit.objects.for_city(city).filter(pk=pk).first() if str(pk).isdigit() else None
    if row is None:
        raise NotFound(_("There is no such benefit."))
    with transaction.atomic():
        audit.record(
            actor=actor, action=AuditEvent.Action.DELETE, obj=row, city=city,
            summary=_("Benefit of %(project)s in %(year)d deleted") % {"project": row.project_code,
                                                                      "year": row.year},
            details={"project_code": row.project_code, "year": row.year, "amount_vnd": row.amount_vnd,
                     "description_vi": row.description_vi},
        )
        row.delete()


def evaluation_snapshot(city: City, year: int, *, rate: float | None = None) -> dict:
    """The evaluation of `year` and the programme's return on investment, as JSON to freeze."""
    from dothi.kpis import evaluation, roi

    result = evaluation.evaluate(city, year)
    rate = roi.default_rate(city) if rate is None else rate
    projects = roi.portfolio(city, rate)
    return {
        "version": 1,
        "year": year,
        "evaluation": result.to_dict(),
        # Each target's yearly values up to the year ({year: value}), for the report's charts.
        "series": [
            {str(y): v for y, v in evaluation.yearly_values(city, r, until=year).items()}
            for r in result.targets
        ],
        "roi": evaluation._jsonable({
            "rate": rate, "projects": [p.summary() for p in projects], "totals": roi.totals(projects),
        }),
    }


def issue_evaluation(*, actor, city: City, year: Any, title: str = "", title_en: str = "",
                     rate: Any = None):
    """Issue the evaluation report of `year` to the council: the evaluation and the return on investment
    as they stand now, frozen in `Evaluation.snapshot` (a later recomputation does not change it)."""
    from dothi.core.models import AuditEvent
    from dothi.kpis import roi
    from dothi.kpis.models import Evaluation

    require(actor, "kpis.approve", city)
    year_n = _whole_year(year, low=periods.YEAR_MIN, high=periods.YEAR_MAX)
    rate_pct = roi.parse_rate(rate, city=city)
    title_vi = clean_text(title, field="title", max_len=300)
    title_en = clean_text(title_en, field="title_en", max_len=300)
    if not title_vi:
        from django.utils import translation

        with translation.override("vi"):
            title_vi = _("Evaluation report %(year)d") % {"year": year_n}
        if not title_en:
            with translation.override("en"):
                title_en = _("Evaluation report %(year)d") % {"year": year_n}
    with transaction.atomic():
        snapshot = evaluation_snapshot(city, year_n, rate=rate_pct)
        row = Evaluation.objects.create(
            city=city, title_vi=title_vi, title_en=title_en, grain=Grain.YEAR,
            period_start=date(year_n, 1, 1), period_end=date(year_n + 1, 1, 1), snapshot=snapshot,
            issued_by=actor if getattr(actor, "pk", None) else None,
        )
        overall = snapshot["evaluation"].get("overall") or {}
        audit.record(
            actor=actor, action=AuditEvent.Action.CREATE, obj=row, city=city,
            summary=_("Evaluation report %(year)d issued") % {"year": year_n},
            details={"year": year_n, "targets": len(snapshot["evaluation"]["targets"]),
                     "score": overall.get("score"), "rate": rate_pct},
        )
    return row
