"""PostgreSQL functions that book a whole spend or accrual in one call (`statements.spend_at_once`, `accrue_at_once`).

Each statement inside a PL/pgSQL function of a READ COMMITTED transaction takes a fresh snapshot, so the lots read
after the account lock see everything committed before the lock was granted — the rule the Python path follows.
The functions refuse (write nothing) whenever the Python path has more to decide: no account yet, a replayed key,
a member who may not spend or earn, too few points, debts to settle from a new lot.
"""

from django.db import migrations, models
from django.db.models import F, Q

SPEND = """
CREATE OR REPLACE FUNCTION kopilka_spend(
    p_member bigint, p_points bigint, p_at timestamptz, p_policy text, p_ranks bigint[],
    p_key text, p_fingerprint text, p_source_kind text, p_source_ref text, p_reason_code text, p_comment text,
    p_actor text, p_now timestamptz,
    OUT outcome text, OUT entry_id bigint, OUT account bigint, OUT balance_after bigint, OUT detail text
) LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
    v_status text;
    v_lots bigint[];
    v_amounts bigint[];
    v_total bigint;
    v_categories bigint[];
    v_walk refcursor;
    v_lot record;
BEGIN
    SELECT a.id, a.balance, m.status, r.id, r.fingerprint
      INTO account, v_balance, v_status, entry_id, detail
      FROM ledger_account a
      JOIN customers_member m ON m.id = a.member_id
      LEFT JOIN ledger_entry r ON r.idempotency_key = p_key
     WHERE a.member_id = p_member
       FOR UPDATE OF a;
    IF NOT FOUND THEN outcome := 'no_account'; RETURN; END IF;
    IF entry_id IS NOT NULL THEN outcome := 'replay'; RETURN; END IF;
    IF v_status <> 'active' THEN outcome := 'inactive'; detail := v_status; RETURN; END IF;
    IF p_policy = 'category_fifo' THEN
        -- `p_ranks` has one row per redemption rank, in rank order: the ids of that rank's categories, padded with
        -- zeros to the widest. Within a rank, lots oldest first. When every rank has one category, each is read in
        -- the order of the lot_spendable index, so the walk stops at the lot that covers the spend. Lots of a
        -- category the caller does not know yet come last.
        v_total := 0;
        <<ranks>>
        FOREACH v_categories SLICE 1 IN ARRAY p_ranks || ARRAY[array_fill(NULL::bigint, ARRAY[array_length(p_ranks, 2)])]
        LOOP
            IF cardinality(v_categories) = 1 AND v_categories[1] IS NOT NULL THEN
                OPEN v_walk FOR
                    SELECT l.id, l.remaining - l.held AS free FROM ledger_lot l
                     WHERE l.account_id = account AND l.category_id = v_categories[1]
                       AND l.remaining > l.held AND NOT l.is_debt
                       AND l.activates_at <= p_at AND COALESCE(l.expires_at, 'infinity') > p_at
                     ORDER BY l.accrued_at, l.id;
            ELSE
                OPEN v_walk FOR
                    SELECT l.id, l.remaining - l.held AS free FROM ledger_lot l
                     WHERE l.account_id = account
                       AND CASE WHEN v_categories[1] IS NULL THEN l.category_id <> ALL (p_ranks)
                                ELSE l.category_id = ANY (v_categories) END
                       AND l.remaining > l.held AND NOT l.is_debt
                       AND l.activates_at <= p_at AND COALESCE(l.expires_at, 'infinity') > p_at
                     ORDER BY l.accrued_at, l.id;
            END IF;
            LOOP
                FETCH v_walk INTO v_lot;
                EXIT WHEN NOT FOUND;
                v_lots := v_lots || v_lot.id;
                v_amounts := v_amounts || LEAST(v_lot.free, p_points - v_total);
                v_total := v_total + LEAST(v_lot.free, p_points - v_total);
                EXIT WHEN v_total = p_points;
            END LOOP;
            CLOSE v_walk;
            EXIT ranks WHEN v_total = p_points;
        END LOOP;
    ELSE
        -- Soonest expiring first (no expiry last), then oldest: read with running sums, up to the covering lot.
        SELECT array_agg(s.id ORDER BY s.n), array_agg(LEAST(s.free, p_points - s.before) ORDER BY s.n),
               sum(LEAST(s.free, p_points - s.before))
          INTO v_lots, v_amounts, v_total
          FROM (SELECT l.id, l.remaining - l.held AS free,
                       row_number() OVER w AS n,
                       sum(l.remaining - l.held) OVER w - (l.remaining - l.held) AS before
                  FROM ledger_lot l
                 WHERE l.account_id = account AND l.remaining > l.held AND NOT l.is_debt
                   AND l.activates_at <= p_at AND COALESCE(l.expires_at, 'infinity') > p_at
                WINDOW w AS (ORDER BY l.expires_at ASC NULLS LAST, l.accrued_at, l.id ROWS UNBOUNDED PRECEDING)) s
         WHERE s.before < p_points;
    END IF;
    IF COALESCE(v_total, 0) < p_points THEN
        outcome := 'insufficient'; detail := COALESCE(v_total, 0)::text; RETURN;
    END IF;
    balance_after := v_balance - p_points;
    INSERT INTO ledger_entry (account_id, kind, amount, balance_after, source_kind, source_ref, reason_code, comment,
                              details, actor, idempotency_key, fingerprint, effective_at, created_at)
    VALUES (account, 'spend', -p_points, balance_after, p_source_kind, p_source_ref, p_reason_code, p_comment,
            jsonb_build_object('redemption_order', p_policy), p_actor, p_key, p_fingerprint, p_at, p_now)
    RETURNING id INTO entry_id;
    INSERT INTO ledger_allocation (entry_id, lot_id, amount)
    SELECT entry_id, m.lot_id, -m.amount FROM unnest(v_lots, v_amounts) WITH ORDINALITY AS m(lot_id, amount, n)
    ORDER BY m.n;
    UPDATE ledger_lot l SET remaining = l.remaining - m.amount
      FROM unnest(v_lots, v_amounts) AS m(lot_id, amount) WHERE l.id = m.lot_id;
    UPDATE ledger_account SET balance = balance_after, updated_at = p_now WHERE id = account;
    outcome := 'ok';
END
$$;
"""

ACCRUE = """
CREATE OR REPLACE FUNCTION kopilka_accrue(
    p_member bigint, p_points bigint, p_category bigint, p_at timestamptz, p_activates_at timestamptz,
    p_expires_at timestamptz, p_key text, p_fingerprint text, p_kind text,
    p_source_kind text, p_source_ref text, p_reason_code text, p_comment text, p_actor text, p_now timestamptz,
    OUT outcome text, OUT entry_id bigint, OUT account bigint, OUT lot_id bigint, OUT balance_after bigint, OUT detail text
) LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
    v_status text;
BEGIN
    SELECT a.id, a.balance, m.status, r.id, r.fingerprint
      INTO account, v_balance, v_status, entry_id, detail
      FROM ledger_account a
      JOIN customers_member m ON m.id = a.member_id
      LEFT JOIN ledger_entry r ON r.idempotency_key = p_key
     WHERE a.member_id = p_member
       FOR UPDATE OF a;
    IF NOT FOUND THEN outcome := 'no_account'; RETURN; END IF;
    IF entry_id IS NOT NULL THEN outcome := 'replay'; RETURN; END IF;
    IF v_status <> 'active' THEN outcome := 'inactive'; detail := v_status; RETURN; END IF;
    IF EXISTS (SELECT 1 FROM ledger_lot d WHERE d.account_id = account AND d.is_debt AND d.remaining < 0) THEN
        outcome := 'debts'; RETURN;
    END IF;
    balance_after := v_balance + p_points;
    INSERT INTO ledger_lot (account_id, category_id, source_kind, source_ref, amount, remaining, held, accrued_at,
                            activates_at, expires_at, is_debt)
    VALUES (account, p_category, p_source_kind, p_source_ref, p_points, p_points, 0, p_at, p_activates_at,
            p_expires_at, false)
    RETURNING id INTO lot_id;
    INSERT INTO ledger_entry (account_id, kind, amount, balance_after, lot_id, source_kind, source_ref, reason_code,
                              comment, actor, idempotency_key, fingerprint, effective_at, created_at)
    VALUES (account, p_kind, p_points, balance_after, lot_id, p_source_kind, p_source_ref, p_reason_code, p_comment,
            p_actor, p_key, p_fingerprint, p_at, p_now)
    RETURNING id INTO entry_id;
    UPDATE ledger_account SET balance = balance_after, updated_at = p_now WHERE id = account;
    outcome := 'ok';
END
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SPEND)
        schema_editor.execute(ACCRUE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS kopilka_spend")
        schema_editor.execute("DROP FUNCTION IF EXISTS kopilka_accrue")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_lot_debt_index")]

    operations = [
        migrations.AddIndex(
            model_name="lot",
            index=models.Index(fields=["account", "category", "accrued_at", "id"],
                               condition=Q(remaining__gt=F("held"), is_debt=False), name="lot_spendable"),
        ),
        migrations.RunPython(create, drop),
    ]
