"""How real CRM users mistype people, companies and contact points (beyond people.render_*).

Rates are per record and documented beside each constant; they follow what data-quality audits
of B2B CRMs commonly report (a few percent of names mistyped, a few per mille of e-mail domains
misspelled, placeholders where a form field was mandatory). Everything here draws from the
generator's one `Random`, so a seed still gives byte-identical files.
"""

from __future__ import annotations

from random import Random

from aeglobal_pipeline.sandbox.people import Job, Person
from aeglobal_pipeline.sandbox.world import stable_seed

# Share of persons reached through an extension of their employer's switchboard.
EXTENSION_SHARE = 0.35
# How an extension is written after the number (Salesforce keeps Phone as free text).
EXTENSION_STYLES = (" ext. {}", " x{}", ";ext={}", " ext {}", " x {}", " Ext.{}")


def extension(person: Person, job: Job) -> str:
    """The person's extension on the job's switchboard ('' if none); stable per person and job."""
    if job.company is None:
        return ""
    draw = Random(stable_seed("extension", person.person_id, job.company.key))
    if draw.random() >= EXTENSION_SHARE:
        return ""
    return str(draw.randrange(10, 10_000))


def with_extension(rng: Random, number: str, ext: str) -> str:
    return number + rng.choice(EXTENSION_STYLES).format(ext) if ext else number
