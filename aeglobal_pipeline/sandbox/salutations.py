"""The Salutation a record carries: filled from the person's sex at rates that differ by system.

CRM users pick a salutation on many Leads and Contacts; web forms that create Account Engagement
prospects rarely ask for one. EMEA's regional teams sometimes pick the local value their org's
picklist offers (Herr / Frau, M. / Mme, ...). A few records carry the other sex's salutation: a
slip, or the picklist's first value ("Mr.") left on a woman's record. Some carry a title that
names no sex (Dr., Prof., Mx.). Drawn from their own random stream, so adding the column left
every other value of a snapshot as it was.
"""

from __future__ import annotations

from random import Random

from aeglobal_pipeline.sandbox.names import Weighted

# Share of records with a salutation, per system (not tuned to any matching rule).
FILL_RATE = {"crm_emea": 0.55, "crm_na": 0.45, "crm_apac": 0.40, "ae_emea": 0.30, "ae_na": 0.22}
DEFAULT_FILL_RATE = 0.35
WRONG_SEX = 0.015  # the other sex's salutation (a slip, a picklist default)
NEUTRAL = (("Dr.", 0.04), ("Prof.", 0.005), ("Mx.", 0.003))
ENGLISH = {"m": Weighted(["Mr."], [1.0]), "f": Weighted(["Ms.", "Mrs.", "Miss"], [0.6, 0.3, 0.1])}
# Local picklist values where an org offers them (crm_emea), by the person's country's language.
LOCAL = {
    "de": {"m": "Herr", "f": "Frau"}, "fr": {"m": "M.", "f": "Mme"}, "es": {"m": "Sr.", "f": "Sra."},
    "it": {"m": "Sig.", "f": "Sig.ra"}, "nl": {"m": "Dhr.", "f": "Mevr."}, "pl": {"m": "Pan", "f": "Pani"},
    "pt": {"m": "Sr.", "f": "Sra."},
}  # fmt: skip
LOCAL_PICKLIST_ORGS = {"crm_emea"}
LOCAL_SHARE = 0.3


def salutation(rng: Random, source: str, sex: str, language: str) -> str:
    """The salutation one record of a person of `sex` (m / f) carries in `source`; "" for none."""
    if rng.random() >= FILL_RATE.get(source, DEFAULT_FILL_RATE):
        return ""
    draw = rng.random()
    for value, share in NEUTRAL:
        if draw < share:
            return value
        draw -= share
    typed = sex if rng.random() >= WRONG_SEX else ("f" if sex == "m" else "m")
    local = LOCAL.get(language)
    if local and source in LOCAL_PICKLIST_ORGS and rng.random() < LOCAL_SHARE:
        return local[typed]
    return ENGLISH[typed].pick(rng)
