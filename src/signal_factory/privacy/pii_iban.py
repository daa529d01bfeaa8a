"""IBAN validation against the SWIFT IBAN registry (ISO 13616): country, length, BBAN layout, mod-97.

A candidate must name a country that issues IBANs, have exactly that country's length, follow its BBAN
layout (digits where the registry says digits) and pass the ISO 7064 mod-97-10 check. The layout test
is what keeps hex/base32 ids out: a 16-character span id that starts ``be12`` is not a Belgian IBAN
because a Belgian BBAN is 12 digits. Runs only on the rare candidates the pre-screen lets through.
"""

from __future__ import annotations

import re

__all__ = ["BBAN_LAYOUTS", "IBAN_LENGTHS", "iban_ok"]

# BBAN layouts from the SWIFT IBAN registry: n = digits, a = upper-case letters, c = letters or digits.
BBAN_LAYOUTS = {
    "AD": "4n4n12c", "AE": "3n16n", "AL": "8n16c", "AT": "5n11n", "AZ": "4a20c", "BA": "3n3n8n2n",
    "BE": "3n7n2n", "BG": "4a4n2n8c", "BH": "4a14c", "BI": "5n5n11n2n", "BR": "8n5n10n1a1c",
    "BY": "4c4n16c", "CH": "5n12c", "CR": "4n14n", "CY": "3n5n16c", "CZ": "4n6n10n", "DE": "8n10n",
    "DJ": "5n5n11n2n", "DK": "4n9n1n", "DO": "4c20n", "EE": "2n2n11n1n", "EG": "4n4n17n",
    "ES": "4n4n1n1n10n", "FI": "3n11n", "FK": "2a12n", "FO": "4n9n1n", "FR": "5n5n11c2n", "GB": "4a6n8n",
    "GE": "2a16n", "GI": "4a15c", "GL": "4n9n1n", "GR": "3n4n16c", "GT": "4c20c", "HN": "4a20n",
    "HR": "7n10n", "HU": "3n4n1n15n1n", "IE": "4a6n8n", "IL": "3n3n13n", "IQ": "4a3n12n",
    "IS": "4n2n6n10n", "IT": "1a5n5n12c", "JO": "4a4n18c", "KW": "4a22c", "KZ": "3n13c", "LB": "4n20c",
    "LC": "4a24c", "LI": "5n12c", "LT": "5n11n", "LU": "3n13c", "LV": "4a13c", "LY": "3n3n15n",
    "MC": "5n5n11c2n", "MD": "2c18c", "ME": "3n13n2n", "MK": "3n10c2n", "MN": "4n12n", "MR": "5n5n11n2n",
    "MT": "4a5n18c", "MU": "4a2n2n12n3n3a", "NI": "4a20n", "NL": "4a10n", "NO": "4n6n1n", "OM": "3n16c",
    "PK": "4a16c", "PL": "8n16n", "PS": "4a21c", "PT": "4n4n11n2n", "QA": "4a21c", "RO": "4a16c",
    "RS": "3n13n2n", "RU": "9n5n15c", "SA": "2n18c", "SC": "4a2n2n16n3a", "SD": "2n12n", "SE": "3n16n1n",
    "SI": "5n8n2n", "SK": "4n6n10n", "SM": "1a5n5n12c", "SO": "4n3n12n", "ST": "8n11n2n", "SV": "4a20n",
    "TL": "3n14n2n", "TN": "2n3n13n2n", "TR": "5n1n16c", "UA": "6n19c", "VA": "3n15n", "VG": "4a16n",
    "XK": "4n10n2n", "YE": "4a4n18c",
}  # fmt: skip

_CLASSES = {"n": r"\d", "a": "[A-Z]", "c": "[A-Z0-9]"}


def _layout_regex(layout: str) -> re.Pattern[str]:
    parts = re.findall(r"(\d+)([nac])", layout)
    return re.compile("".join(f"{_CLASSES[cls]}{{{count}}}" for count, cls in parts), re.ASCII)


# country -> (IBAN length, compiled BBAN layout)
_REGISTRY = {
    cc: (4 + sum(int(n) for n in re.findall(r"\d+", layout)), _layout_regex(layout))
    for cc, layout in BBAN_LAYOUTS.items()
}
IBAN_LENGTHS = {cc: length for cc, (length, _) in _REGISTRY.items()}
_TO_NUMBER = {ord(c): str(ord(c) - 55) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}  # A=10 ... Z=35


def iban_ok(candidate: str) -> bool:
    """True if candidate (no spaces, any single case) is a valid IBAN of a registry country."""
    if not (candidate.isupper() or candidate.islower()):
        return False  # "Gb82West..." is a mixed-case token (base64 and the like), not how IBANs are written
    iban = candidate.upper()
    entry = _REGISTRY.get(iban[:2])
    if entry is None or len(iban) != entry[0] or not iban[2:4].isdigit():
        return False
    if entry[1].fullmatch(iban, 4) is None:
        return False
    return int((iban[4:] + iban[:4]).translate(_TO_NUMBER)) % 97 == 1
