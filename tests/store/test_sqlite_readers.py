"""Reader connections: one per live thread, handed on when a thread ends, never stale, and
never in the writer's way."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from village_brain.store.sqlite_db import IDLE_READERS, Database

from support.waiting import wait_until

SCHEMA = "CREATE TABLE IF NOT EXISTS t (v INTEGER NOT NULL);"


@pytest.fixture
def db(tmp_path: Path):
    database = Database(tmp_path / "readers.sqlite3", SCHEMA)
    yield database
    database.close()


def write(db: Database, value: int) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO t (v) VALUES (?)", (value,))


def newest(db: Database) -> int | None:
    return db.reader().execute("SELECT max(v) FROM t").fetchone()[0]


def in_thread(action):
    found = []
    thread = threading.Thread(target=lambda: found.append(action()))
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return found[0]


def test_threads_that_come_and_go_reuse_the_readers_of_ended_threads(db):
    write(db, 1)
    answers = [in_thread(lambda: newest(db)) for _ in range(50)]
    assert answers == [1] * 50
    # A thread's reader goes back as the thread is torn down; should that ever end after
    # join(), the next thread may open a second one, but never one each.
    assert db.open_readers() <= 2


def test_readers_beyond_the_idle_few_are_closed_when_their_threads_end(db):
    write(db, 1)
    together = threading.Barrier(IDLE_READERS + 6)

    def read_while_the_others_read():
        newest(db)
        together.wait(timeout=30)

    threads = [threading.Thread(target=read_while_the_others_read) for _ in range(together.parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    wait_until(lambda: db.open_readers() == IDLE_READERS, what="the idle readers alone open")


def test_a_reader_handed_on_sees_what_was_committed_after_its_last_thread_read(db):
    write(db, 1)
    assert in_thread(lambda: newest(db)) == 1
    write(db, 2)
    assert in_thread(lambda: newest(db)) == 2


def test_readers_in_many_threads_at_once_all_see_the_committed_data(db):
    for value in range(1, 101):
        write(db, value)
    seen: list[int | None] = []
    together = threading.Barrier(8)

    def read():
        together.wait(timeout=30)
        seen.append(newest(db))

    threads = [threading.Thread(target=read) for _ in range(together.parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert seen == [100] * 8


def test_a_read_left_open_in_another_thread_never_blocks_the_writer(db):
    for value in range(1, 11):
        write(db, value)
    reading = threading.Event()
    done = threading.Event()

    def read_slowly():
        rows = db.reader().execute("SELECT v FROM t ORDER BY v")
        rows.fetchone()  # the statement stays open, holding its snapshot
        reading.set()
        done.wait(timeout=30)
        rows.close()

    reader = threading.Thread(target=read_slowly)
    reader.start()
    assert reading.wait(timeout=30)
    finished = threading.Event()
    writer = threading.Thread(target=lambda: (write(db, 11), finished.set()))
    writer.start()
    try:
        # The writer's busy timeout is 30 s: a writer kept waiting would not finish in 10.
        assert finished.wait(timeout=10), "the commit waited for an open read"
        assert newest(db) == 11
    finally:
        done.set()
        reader.join(timeout=30)
        writer.join(timeout=30)


def test_closing_the_database_closes_every_reader(db):
    in_thread(lambda: newest(db))
    newest(db)
    db.close()
    assert db.open_readers() == 0
