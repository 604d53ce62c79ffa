"""The global quantity catalogue every city starts with (seeded by migration 0002; a city edits its
own copies in the admin). (code, Vietnamese name, English name, unit, physical min, max, summed,
decimals)."""

from __future__ import annotations

CATALOGUE: tuple[tuple[str, str, str, str, float, float, bool, int], ...] = (
    ("pm25", "Bụi mịn PM2.5", "PM2.5", "µg/m³", 0, 1000, False, 1),
    ("pm10", "Bụi PM10", "PM10", "µg/m³", 0, 2000, False, 1),
    ("no2", "Nitơ điôxít (NO₂)", "Nitrogen dioxide (NO₂)", "µg/m³", 0, 2000, False, 1),
    ("o3", "Ôzôn (O₃)", "Ozone (O₃)", "µg/m³", 0, 1000, False, 1),
    ("co", "Cacbon monoxit (CO)", "Carbon monoxide (CO)", "µg/m³", 0, 100000, False, 0),
    ("so2", "Lưu huỳnh điôxít (SO₂)", "Sulphur dioxide (SO₂)", "µg/m³", 0, 5000, False, 1),
    ("aqi", "Chỉ số chất lượng không khí (VN_AQI)", "Air quality index (VN_AQI)", "", 0, 1000, False, 0),
    ("water_level", "Mực nước", "Water level", "m", -5, 20, False, 2),
    ("rainfall", "Lượng mưa", "Rainfall", "mm", 0, 500, True, 1),
    ("temperature", "Nhiệt độ", "Temperature", "°C", -20, 60, False, 1),
    ("humidity", "Độ ẩm", "Humidity", "%", 0, 100, False, 0),
    ("wind_speed", "Tốc độ gió", "Wind speed", "m/s", 0, 80, False, 1),
    ("wind_direction", "Hướng gió", "Wind direction", "°", 0, 360, False, 0),
    ("pressure", "Áp suất khí quyển", "Air pressure", "hPa", 800, 1100, False, 1),
    ("vehicle_count", "Lưu lượng xe", "Vehicle count", "veh", 0, 100000, True, 0),
    ("average_speed", "Tốc độ trung bình", "Average speed", "km/h", 0, 250, False, 1),
    ("noise", "Độ ồn", "Noise level", "dB(A)", 0, 140, False, 1),
)


def ensure_global_catalogue() -> int:
    """Create the global quantities that are missing (migration 0002 does it once; tests whose
    transactional flush emptied the table call this). Returns how many were created."""
    from dothi.sensing.models import Quantity

    created = 0
    for order, (code, name_vi, name_en, unit, low, high, summed, decimals) in enumerate(CATALOGUE, start=1):
        _, was_created = Quantity.objects.get_or_create(
            city=None,
            code=code,
            defaults={
                "name_vi": name_vi,
                "name_en": name_en,
                "unit": unit,
                "min_value": low,
                "max_value": high,
                "summed": summed,
                "decimals": decimals,
                "order": order * 10,
            },
        )
        created += was_created
    return created
