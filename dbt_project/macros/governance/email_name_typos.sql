{% macro email_name_typos(value_votes) -%}
    {#- A probable typo in an e-mail address only one record holds, judged against the person's
        own names: a select of (global_person_id, value_norm, suspicion) from `value_votes` (per
        person, field and form: value_frequency, form_rank, and two spellings of the form,
        form_value and form_value_other). int_governance__candidates keeps such an address on
        its own record (never copied) and reports it to stewards. -#}
with

name_spellings as (

    -- The person's valid name forms, folded, also transliterated (Müller: muller and mueller);
    -- is_top: the form no other form of its field outnumbers, held by two or more independent
    -- records or the person's only spelling (of two single spellings nobody knows the typo).
    select
        global_person_id, field,
        value_frequency = max(value_frequency) over (partition by global_person_id, field)
            and (value_frequency >= 2 or count(*) over (partition by global_person_id, field) = 1) as is_top,
        list_distinct([
            {{ fold_text('form_value') }},
            {{ fold_text('form_value_other') }},
            {{ fold_text(transliterate_umlauts('lower(form_value)')) }},
            {{ fold_text(transliterate_umlauts('lower(form_value_other)')) }}
        ]) as spellings
    from {{ value_votes }}
    where field in ('given_name', 'family_name') and form_rank = 0

),

name_words as (

    -- Every word of those names, and the best-supported given and family names run together
    -- (patriciatraore, traorepatricia, ptraore), as an address writes them without a separator.
    select global_person_id, is_top, word
    from (
        select
            global_person_id, is_top,
            unnest(flatten(list_transform(spellings, lambda spelling: regexp_split_to_array(spelling, '[^a-z]+')))) as word
        from name_spellings
        union all
        select given.global_person_id, true as is_top, unnest([
            regexp_replace(given_spelling, '[^a-z]+', '', 'g') || regexp_replace(family_spelling, '[^a-z]+', '', 'g'),
            regexp_replace(family_spelling, '[^a-z]+', '', 'g') || regexp_replace(given_spelling, '[^a-z]+', '', 'g'),
            left(regexp_replace(given_spelling, '[^a-z]+', '', 'g'), 1) || regexp_replace(family_spelling, '[^a-z]+', '', 'g')
        ]) as word
        from (select global_person_id, unnest(spellings) as given_spelling
              from name_spellings where field = 'given_name' and is_top) as given
        inner join (select global_person_id, unnest(spellings) as family_spelling
                    from name_spellings where field = 'family_name' and is_top) as family
            on family.global_person_id = given.global_person_id
    )
    where length(word) >= 2

),

email_words as (

    -- The words of the local part of each e-mail form only one record holds (digits, dots,
    -- dashes and underscores separate them).
    select global_person_id, value_norm, word
    from (
        select
            global_person_id, value_norm,
            unnest(regexp_split_to_array(split_part(lower(trim(form_value)), '@', 1), '[^a-z]+')) as word
        from {{ value_votes }}
        -- a role mailbox (form_rank 1) is never copied anyway
        where field = 'email' and value_frequency = 1 and form_rank = 0
    )
    where length(word) >= 4

)

    -- A probable typo in an address only one record holds: a word of its local part within one
    -- edit (two for a name of eight letters or more) of the person's best-supported given or
    -- family name (two records or more), that is none of the person's names (also with ue/oe/ae
    -- for ü/ö/ä), nor one of them with an initial or the start of another name beside it
    -- (jsmith, chrissmith; not eduadromacedo), nor is part of one (a short form). Valid on its
    -- own record, never copied to another; a finding for stewards.
    select
        email_words.global_person_id,
        email_words.value_norm,
        min('local part "' || email_words.word || '" is ' || damerau_levenshtein(email_words.word, name_words.word)
            || ' edit(s) from the person''s name "' || name_words.word || '"') as suspicion
    from email_words
    inner join name_words
        on name_words.global_person_id = email_words.global_person_id
        and name_words.is_top
        and length(name_words.word) >= 4
        and email_words.word <> name_words.word
        and damerau_levenshtein(email_words.word, name_words.word)
            <= case when length(name_words.word) >= 8 then 2 else 1 end
    where not exists (
        select 1 from name_words as known
        where known.global_person_id = email_words.global_person_id
          and (known.word in (email_words.word, regexp_replace(email_words.word, '([aou])e', '\1', 'g'))
               or contains(known.word, email_words.word)
               or (length(known.word) >= 3 and contains(email_words.word, known.word)
                   and (length(replace(email_words.word, known.word, '')) <= 1
                        or exists (select 1 from name_words as beside
                                   where beside.global_person_id = email_words.global_person_id
                                     and starts_with(beside.word, replace(email_words.word, known.word, ''))))))
    )
    group by email_words.global_person_id, email_words.value_norm
{%- endmacro %}
