"""What a VIN says about the car: its make (world manufacturer identifier) and model year."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

# World manufacturer identifiers (the VIN's first three characters) of makes sold in
# China; the rules file's [vehicle_makes] adds to or overrides them.
DEFAULT_MAKES: Mapping[str, str] = {
    "LFV": "FAW-Volkswagen", "LSV": "SAIC Volkswagen", "LSG": "SAIC-GM",
    "LBV": "BMW Brilliance", "LE4": "Beijing Benz", "LVS": "Changan Ford",
    "LVG": "GAC Toyota", "LFM": "FAW Toyota", "LHG": "GAC Honda", "LVH": "Dongfeng Honda",
    "LGB": "Dongfeng Nissan", "LRW": "Tesla (Shanghai)", "LGX": "BYD", "LVV": "Chery",
    "LGW": "Great Wall", "LYV": "Volvo (China)", "WBA": "BMW", "WDD": "Mercedes-Benz",
    "WVW": "Volkswagen", "WAU": "Audi", "5YJ": "Tesla", "YV1": "Volvo", "SAL": "Land Rover",
}

# Position 10 of a VIN: the model year, repeating every 30 years.
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"


def vin_make(vin: str, makes: Mapping[str, str] = DEFAULT_MAKES) -> str:
    """The make its world manufacturer identifier names, or ""."""
    return makes.get(vin[:3], "")


def vin_model_year(vin: str, now: datetime) -> int | None:
    """The model year of position 10: the latest year of its 30-year cycle that is not
    later than next year (cars of next year's model are sold this year)."""
    if len(vin) != 17 or vin[9] not in _YEAR_CODES:
        return None
    year = 1980 + _YEAR_CODES.index(vin[9])
    while year + 30 <= now.year + 1:
        year += 30
    return year
