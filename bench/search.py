"""The support console's member search on a large base (PostgreSQL), next to a bare indexed lookup.

Makes N members (default 1,000,000) with names, phones, e-mails, ИНН for legal entities and card numbers for half
of them, then times `search_members(q=...)` — what the console's search box runs — for each kind of input a
support agent types, on random members, and the same through the search page over HTTP (Django's test client, with
the template). The reference is a bare `SELECT id FROM customers_member WHERE phone = %s` on the same connection.

Prints one JSON line:
  members          how many members the base holds
  kinds            per kind of input: p50_ms, p99_ms over the samples
  reference_p50_ms the bare indexed lookup's median
  worst_p99_ms     the slowest kind's p99                           (goal: well under 1,000 ms)

Usage: .venv/bin/python bench/search.py [--database-url postgres://postgres@127.0.0.1:5432/kopilka_search_bench]
           [--members 1000000] [--samples 40]
The database named is dropped and created anew.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from common import log, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

LAST = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров",
        "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев",
        "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев",
        "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев",
        "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев",
        "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов",
        "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов", "Крылов", "Куликов", "Карпов",
        "Власов", "Мельников", "Денисов", "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев",
        "Тимофеев", "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров", "Калинин",
        "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов", "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов",
        "Пономарёв", "Голубев", "Кудрявцев", "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов"]
FIRST_M = ["Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Максим", "Евгений", "Иван", "Михаил", "Артём",
           "Николай", "Владимир", "Павел", "Роман", "Олег", "Игорь", "Денис", "Константин", "Юрий", "Виктор"]
FIRST_F = ["Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Анна", "Светлана", "Мария", "Екатерина", "Юлия",
           "Анастасия", "Марина", "Дарья", "Людмила", "Галина", "Виктория", "Ксения", "Полина", "Алина", "Вера"]




def make_members(count: int) -> None:
    """`count` members in set-based SQL: surnames by gender, a tenth legal entities with an ИНН, every other one
    with a card number; search_text as the application writes it (lower case, ё as е)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO customers_member (kind, status, last_name, first_name, middle_name, legal_name, inn, kpp,
                                          phone, email, gender, registration_source, registered_at, blocked_reason,
                                          created_at, updated_at, search_text)
            SELECT kind, 'active', last, first, '', legal, inn, '', '+79' || lpad(g::text, 9, '0'),
                   'member' || g || '@example.ru', '', 'bench', now() - (g % 700) * interval '1 day', '', now(), now(),
                   replace(lower(concat_ws(' ', NULLIF(last, ''), NULLIF(first, ''), NULLIF(legal, ''),
                                           NULLIF(inn, ''))), 'ё', 'е')
            FROM (
                SELECT g,
                       CASE WHEN g % 10 = 0 THEN 'legal' ELSE 'individual' END AS kind,
                       CASE WHEN g % 10 = 0 THEN '' WHEN g % 2 = 0
                            THEN (%(last)s::text[])[1 + (g::bigint * 7919) %% %(n_last)s] || 'а'
                            ELSE (%(last)s::text[])[1 + (g::bigint * 7919) %% %(n_last)s] END AS last,
                       CASE WHEN g % 10 = 0 THEN '' WHEN g % 2 = 0
                            THEN (%(first_f)s::text[])[1 + (g::bigint * 104729) %% %(n_first)s]
                            ELSE (%(first_m)s::text[])[1 + (g::bigint * 104729) %% %(n_first)s] END AS first,
                       CASE WHEN g % 10 = 0 THEN 'ООО «Салон ' || g || '»' ELSE '' END AS legal,
                       CASE WHEN g % 10 = 0 THEN lpad((7700000000 + g)::text, 10, '0') ELSE '' END AS inn
                FROM generate_series(1, %(count)s) g
            ) m
            """.replace("g % ", "g %% "),
            {"last": LAST, "n_last": len(LAST), "first_m": FIRST_M, "first_f": FIRST_F, "n_first": len(FIRST_M),
             "count": count},
        )
        cur.execute(
            """
            INSERT INTO customers_externalid (member_id, system, value)
            SELECT id, 'card', '77' || lpad(id::text, 11, '0') FROM customers_member WHERE id % 2 = 0
            """
        )
        cur.execute("ANALYZE")


def timed(samples: list, run) -> dict:
    times = []
    for sample in samples:
        started = time.perf_counter()
        run(sample)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kopilka_search_bench"))
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()

    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from kopilka.customers.selectors import search_members

    call_command("migrate", verbosity=0)
    log(f"making {args.members:,} members ...")
    started = time.perf_counter()
    make_members(args.members)
    log(f"  {time.perf_counter() - started:.0f} s")

    rng = random.Random(7)
    ids = [rng.randrange(1, args.members + 1) for _ in range(args.samples)]
    with connection.cursor() as cur:
        cur.execute("SELECT id, phone, email, inn, last_name, first_name FROM customers_member WHERE id = ANY(%s)",
                    [ids])
        rows = cur.fetchall()
    people = [r for r in rows if r[4]]
    legal = [r for r in rows if r[3]] or rows
    inputs = {
        "phone": [f"8 ({r[1][2:5]}) {r[1][5:8]}-{r[1][8:10]}-{r[1][10:]}" for r in rows],
        "email": [r[2].upper() for r in rows],
        "card": [f"77{r[0]:011d}" for r in rows],
        "inn": [r[3] for r in legal],
        "surname_and_name": [f"{r[4]} {r[5]}" for r in people],
        "surname_prefix": [r[4][:4] for r in people],
    }
    figures = {}
    for kind, samples in inputs.items():
        search_members(q=samples[0], limit=50)  # warm
        figures[kind] = timed(samples, lambda q: search_members(q=q, limit=50).items)
        log(f"  {kind}: {figures[kind]}")

    User.objects.create_superuser("bench", "bench@example.ru", "bench-password-1")
    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(username="bench"))
    client.get("/office/members/", {"q": inputs["surname_and_name"][0]})  # warm: templates, translations
    figures["page_surname_and_name"] = timed(
        inputs["surname_and_name"], lambda q: client.get("/office/members/", {"q": q}))
    log(f"  page_surname_and_name: {figures['page_surname_and_name']}")

    def bare(phone: str) -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT id FROM customers_member WHERE phone = %s", [phone])
            cur.fetchall()

    reference = timed([r[1] for r in rows], bare)
    print(json.dumps({
        "members": args.members, "kinds": figures, "reference_p50_ms": reference["p50_ms"],
        "worst_p99_ms": max(f["p99_ms"] for f in figures.values()),
    }))


if __name__ == "__main__":
    main()
