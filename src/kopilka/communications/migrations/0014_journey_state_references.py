"""A journey visit's journey and version are checked per statement instead of by row-level foreign keys.

Every visit of an entry names the same journey and version: a row-level foreign key checked (and share-locked) those
two rows once per visit, 200,000 lookups for 100,000 members entering at once. On PostgreSQL an AFTER INSERT
statement trigger checks the statement's distinct (journey, version) pairs, locks each version as a foreign key
would (FOR KEY SHARE), and checks more than a foreign key could: the version is one of the visit's journey. A visit
never changes its journey or version (a row trigger refuses it), and a version or journey with visits is not
deleted (row triggers refuse it; Django deletes a journey's visits before the journey itself). SQLite checks each
inserted row and keeps no delete guard, since the test runner empties tables with DELETE in name order.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL = """
CREATE FUNCTION kopilka_journey_state_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_state bigint;
BEGIN
    PERFORM 1 FROM communications_journeyversion v
     WHERE v.id IN (SELECT DISTINCT version_id FROM inserted) ORDER BY v.id FOR KEY SHARE;
    SELECT i.state INTO v_state
      FROM (SELECT journey_id, version_id, MIN(id) AS state FROM inserted GROUP BY journey_id, version_id) i
      LEFT JOIN communications_journeyversion v ON v.id = i.version_id AND v.journey_id = i.journey_id
     WHERE v.id IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'journey visit ' || v_state || ' names a version that is not of its journey';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER journey_state_references AFTER INSERT ON communications_journeystate
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION kopilka_journey_state_references();

CREATE FUNCTION kopilka_journey_state_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.journey_id <> OLD.journey_id OR NEW.version_id <> OLD.version_id THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'journey visit ' || OLD.id || ' keeps its journey and version';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER journey_state_kept BEFORE UPDATE OF journey_id, version_id ON communications_journeystate
    FOR EACH ROW EXECUTE FUNCTION kopilka_journey_state_kept();

CREATE FUNCTION kopilka_journey_visited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id <> OLD.id)
       AND EXISTS (SELECT 1 FROM communications_journeystate WHERE journey_id = OLD.id) THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'journey ' || OLD.id || ' has visits: ' || TG_OP || ' refused';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER journey_visited BEFORE DELETE OR UPDATE OF id ON communications_journey
    FOR EACH ROW EXECUTE FUNCTION kopilka_journey_visited();

CREATE FUNCTION kopilka_journey_version_visited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.journey_id <> OLD.journey_id)
       AND EXISTS (SELECT 1 FROM communications_journeystate WHERE version_id = OLD.id) THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'journey version ' || OLD.id || ' has visits: ' || TG_OP || ' refused';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER journey_version_visited BEFORE DELETE OR UPDATE OF id, journey_id ON communications_journeyversion
    FOR EACH ROW EXECUTE FUNCTION kopilka_journey_version_visited();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS journey_state_references ON communications_journeystate;
DROP TRIGGER IF EXISTS journey_state_kept ON communications_journeystate;
DROP TRIGGER IF EXISTS journey_visited ON communications_journey;
DROP TRIGGER IF EXISTS journey_version_visited ON communications_journeyversion;
DROP FUNCTION IF EXISTS kopilka_journey_state_references, kopilka_journey_state_kept, kopilka_journey_visited,
    kopilka_journey_version_visited;
"""

SQLITE = """
CREATE TRIGGER journey_state_references BEFORE INSERT ON communications_journeystate
WHEN NOT EXISTS (SELECT 1 FROM communications_journeyversion
                 WHERE id = NEW.version_id AND journey_id = NEW.journey_id)
BEGIN
    SELECT RAISE(ABORT, 'a journey visit names a version that is not of its journey');
END;
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS journey_state_references")


class Migration(migrations.Migration):
    dependencies = [("communications", "0013_campaign_notice_chunks")]

    operations = [
        migrations.AlterField(
            model_name="journeystate",
            name="journey",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="states", to="communications.journey"),
        ),
        migrations.AlterField(
            model_name="journeystate",
            name="version",
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="states", to="communications.journeyversion"),
        ),
        migrations.RunPython(create, drop),
    ]
