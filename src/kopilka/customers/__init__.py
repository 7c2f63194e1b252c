"""Members (SPEC §1): individuals and legal entities, with their regions and cities, tags, eligibility flags,
consents per channel, statuses and ids in other systems; their writes (`services`) and reads (`selectors`).

Owns: Member, ExternalId, Consent, MemberStatusChange, Region, City, Tag, EligibilityFlag.
May import: core. Imported by: every app above it.
Keeps true: a member's row is locked before it changes, and a refused write changes nothing; an individual
has a name, a phone or an e-mail, a legal entity a legal name and a valid ИНН, unique among those not
erased; `search_text` reflects the names and the ИНН; an erased member holds no personal data.
"""
