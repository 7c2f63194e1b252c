"""Tasks that exist only for the tests: importable by path, as the worker needs."""

from django_tasks import task


@task(queue_name="periodic")
def echo_slot(slot: str) -> str:
    return slot


@task()
def add(a: int, b: int) -> int:
    return a + b
