import pytest
from django.core.management import call_command

from dothi.core import geo
from dothi.core.models import Commune, Province

pytestmark = pytest.mark.django_db


def test_counts_after_loading(admin_units):
    assert Province.objects.count() == 34
    assert Commune.objects.count() == 3321
    assert set(Province.objects.values_list("kind", flat=True)) == {"tỉnh", "thành phố trung ương"}
    assert set(Commune.objects.values_list("kind", flat=True)) == {"phường", "xã", "đặc khu"}
    assert Province.objects.get(code="01").name == "Thành phố Hà Nội"
    assert Province.objects.get(code="48").name == "Thành phố Đà Nẵng"


def test_danang_communes_have_centres_and_areas(admin_units):
    danang = Commune.objects.filter(province_id="48")
    assert danang.count() == 94
    assert not danang.filter(centre_lat__isnull=True).exists()
    hoang_sa = danang.get(kind="đặc khu")
    assert hoang_sa.name == "Đặc khu Hoàng Sa"
    assert hoang_sa.centre_lon > 111  # far offshore, in the Paracels
    # The two packages number some communes differently; those are matched by name.
    assert Commune.objects.filter(centre_lat__isnull=False).count() == 3321


def test_reloading_is_idempotent_and_repairs_edits(admin_units):
    Commune.objects.filter(code="20242").update(name="changed", centre_lat=None)
    assert geo.load_admin_units() == (34, 3321)
    assert Province.objects.count() == 34
    assert Commune.objects.count() == 3321
    hai_chau = Commune.objects.get(code="20242")
    assert hai_chau.name == "Phường Hải Châu"
    assert hai_chau.centre_lat is not None


def test_command_reports_counts(admin_units, capsys):
    call_command("load_admin_units")
    assert "34 provinces and 3321 communes" in capsys.readouterr().out
    assert Commune.objects.count() == 3321


def test_names_are_cleaned():
    # vietnam-provinces has "Phường  An Nhơn" (two spaces); the key matches across spellings.
    assert geo._clean_name("Phường  An Nhơn") == "Phường An Nhơn"
    assert geo._key("Xã Chân Mây – Lăng Cô") == geo._key("Xã Chân Mây - Lăng Cô") == "xachanmaylangco"
