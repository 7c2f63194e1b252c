"""`kopilka_accrue_many`: the accruals of one member booked by one call (`statements.accrue_many_at_once`).

It books each accrual through `kopilka_accrue` (the one definition of what an accrual books, migration 0004) and
stops at the first one that function leaves to the Python path (no account yet, a used key, a member who may not
earn, debts to settle), answering how many it booked before. A key taken meanwhile by a concurrent request breaks
the unique index: the function then books nothing ('collision') and the caller books one by one.
"""

from django.db import migrations

ACCRUE_MANY = """
CREATE OR REPLACE FUNCTION kopilka_accrue_many(
    p_member bigint, p_points bigint[], p_categories bigint[], p_at timestamptz, p_activates_at timestamptz[],
    p_expires_at timestamptz[], p_keys text[], p_fingerprints text[], p_kind text,
    p_source_kinds text[], p_source_refs text[], p_reason_code text, p_comment text, p_actor text, p_now timestamptz,
    OUT outcome text, OUT booked integer, OUT account bigint, OUT entry_ids bigint[], OUT lot_ids bigint[],
    OUT balances bigint[], OUT detail text
) LANGUAGE plpgsql AS $$
DECLARE
    v_one record;
BEGIN
    booked := 0;
    entry_ids := '{}';
    lot_ids := '{}';
    balances := '{}';
    BEGIN
        FOR i IN 1 .. cardinality(p_points) LOOP
            SELECT * INTO v_one FROM kopilka_accrue(
                p_member, p_points[i], p_categories[i], p_at, p_activates_at[i], p_expires_at[i], p_keys[i],
                p_fingerprints[i], p_kind, p_source_kinds[i], p_source_refs[i], p_reason_code, p_comment, p_actor,
                p_now);
            outcome := v_one.outcome;
            detail := v_one.detail;
            EXIT WHEN v_one.outcome <> 'ok';
            account := v_one.account;
            booked := i;
            entry_ids := entry_ids || v_one.entry_id;
            lot_ids := lot_ids || v_one.lot_id;
            balances := balances || v_one.balance_after;
        END LOOP;
    EXCEPTION WHEN unique_violation THEN
        outcome := 'collision'; booked := 0; entry_ids := '{}'; lot_ids := '{}'; balances := '{}';
    END;
END
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ACCRUE_MANY)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS kopilka_accrue_many")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_lot_spendable_column")]

    operations = [migrations.RunPython(create, drop)]
