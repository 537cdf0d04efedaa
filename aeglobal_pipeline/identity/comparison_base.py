"""What every comparison kind of matching.yaml shares: the feature columns it may name and the
base model (a name, validated columns, named levels)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Columns of the matching feature table (identity.features) the rules may refer to.
FEATURE_COLUMNS = (
    "given_name_norm", "family_name_norm", "full_name", "full_name_one_field", "family_first",
    "given_nick_groups",
    "name_tokens_key", "name_tokens", "given_initial", "family_initial", "email_match",
    "email_local_match", "email_work_domain", "phone_match", "mobile_match", "company_norm", "country_code",
    "city_norm", "postal_norm", "street_norm", "address_key", "name_script", "birthdate",
    "name_suffix", "given_name_known", "family_name_known", "email_names_holder",
    "given_name_latin", "family_name_latin", "name_latin_key", "salutation_sex",
)  # fmt: skip
# Per record, from the estate's name counts frozen with the model (identity.name_roles): its given
# name written as a given and as a family name, its family name written as each.
ROLE_COLUMNS = ("given_as_given", "given_as_family", "family_as_given", "family_as_family")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_columns(columns: list[str]) -> list[str]:
    unknown = [c for c in columns if c not in FEATURE_COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; known: {', '.join(FEATURE_COLUMNS)}")
    return columns


Column = Annotated[str, Field(description="a matching feature column")]


class _Comparison(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # Splink output column, shown in charts

    def columns(self) -> list[str]:
        return [v for k, v in self if k.endswith("column") and isinstance(v, str)]

    @model_validator(mode="after")
    def _known_columns(self):
        check_columns(self.columns())
        return self

    def level_ids(self) -> list[str]:
        """Names of the comparison levels in order (null level first); never_link_on uses them."""
        return []
