"""Fixtures of the KPI engine tests (import them into a test module): two communes of Đà Nẵng and one
of another province, without loading the 3,321 national units."""

from __future__ import annotations

import pytest

DN = {"name": "Thành phố Đà Nẵng", "kind": "thành phố", "codename": "da_nang"}
HCM = {"name": "Thành phố Hồ Chí Minh", "kind": "thành phố", "codename": "ho_chi_minh"}


@pytest.fixture(name="communes")
def communes_fixture(city):
    from dothi.core.models import Commune, Province

    dn, _ = Province.objects.get_or_create(code="48", defaults=DN)
    hcm, _ = Province.objects.get_or_create(code="79", defaults=HCM)
    rows = {
        "a": ("20194", dn, "Phường Hải Châu", "hai_chau"),
        "b": ("20257", dn, "Phường Sơn Trà", "son_tra"),
        "far": ("26734", hcm, "Phường Sài Gòn", "sai_gon"),
    }
    out = {}
    for key, (code, province, name, codename) in rows.items():
        out[key], _ = Commune.objects.get_or_create(
            code=code, defaults={"province": province, "name": name, "kind": "phường", "codename": codename}
        )
    return out
