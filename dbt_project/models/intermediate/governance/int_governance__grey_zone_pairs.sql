-- Record pairs in the grey zone of match probability (or left there by a grey_zone decision),
-- as identity_conflicts rows: filed under the first record's person, with what became of the
-- pair. A pair involves two persons, so it is recomputed in full every build (about 100k rows at
-- 1M records, a fraction of a second); identity_conflicts then replaces only the rows that
-- changed.

with

person_links as (

    select * from {{ source('identity', 'person_links') }}

),

person_map as (

    select * from {{ source('identity', 'global_person_map') }}

),

thresholds as (

    select * from {{ source('rules', 'identity_thresholds') }}

),

grey_zone as (

    select
        'grey_zone_pair' as conflict_type,
        map_a.global_person_id,
        null::varchar as field,
        null::varchar as winner_value,
        null::varchar as winner_record_key,
        null::varchar[] as loser_values,
        null::varchar[] as loser_record_keys,
        'matching: grey zone ' || thresholds.grey_zone_lower || '–' || thresholds.match_probability as rule,
        person_links.record_key_a,
        person_links.record_key_b,
        person_links.match_probability,
        null::bigint as cluster_size,
        case when map_a.global_person_id = map_b.global_person_id then 'linked into one person'
             else 'kept apart: ' || map_b.global_person_id end as detail
    from person_links
    cross join thresholds
    left join person_map as map_a on map_a.record_key = person_links.record_key_a
    left join person_map as map_b on map_b.record_key = person_links.record_key_b
    where person_links.decision = 'grey_zone'
       or (person_links.decision is null
           and person_links.match_probability >= thresholds.grey_zone_lower
           and person_links.match_probability < thresholds.match_probability)

),

final as (

    select
        md5(concat_ws('|', conflict_type, global_person_id, field, record_key_a, record_key_b)) as conflict_id,
        *
    from grey_zone

)

select * from final
