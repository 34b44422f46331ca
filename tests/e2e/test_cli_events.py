"""``openroster events``: subscribe, list, deliveries, replay and tail through the control plane of
a real server, with a receiver written from the protocol notes (tests/event_receivers.py)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from dingtalk_support import APPKEY
from sdk_support import cli, start_cli
from stream_support import raw_stream, world

import event_receivers as ind
from conftest import LiveServer
from openroster.core.people import users
from openroster.model.changes import ChangeRecord, EntityKind, Operation

pytestmark = pytest.mark.e2e

TENANT, APP = "cli-events", "cli-events-kso"


@pytest.fixture
def env(live: LiveServer) -> dict[str, str]:
    live.control.create_tenant(TENANT, apps=[{"client_id": APP, "client_secret": "cli-events-secret"}])
    return {"OPENROSTER_URL": live.base_url, "OPENROSTER_ADMIN_TOKEN": live.admin_token}


@pytest.fixture
def receiver(env: dict[str, str]) -> Iterator[ind.ReceiverServer]:
    with ind.serve(ind.WpsReceiver(APP, "cli-events-secret")) as server:
        yield server


def write(live: LiveServer, *entity_ids: str) -> None:
    with live.directory.writer() as tx:
        for entity_id in entity_ids:
            tx.record(
                ChangeRecord(TENANT, EntityKind.USER, Operation.CREATE, entity_id, ("name",), actor=APP)
            )


def test_subscribe_list_deliveries_and_replay(
    live: LiveServer, env: dict[str, str], receiver: ind.ReceiverServer, tmp_path: Path
) -> None:
    made = cli(
        "events", "subscribe", TENANT, "wps", APP, receiver.url, "--topic", "kso.user", env=env, home=tmp_path
    )
    assert made.returncode == 0, made.stderr
    sub = orjson.loads(made.stdout)
    assert (sub["kind"], sub["status"], sub["topics"]) == ("wps", "active", ["kso.user"])
    listed = cli("events", "list", TENANT, env=env, home=tmp_path)
    assert [(s["id"], s["missed"]) for s in orjson.loads(listed.stdout)] == [(sub["id"], 0)]
    write(live, "u1")
    live.control.flush(TENANT)
    receiver.wait_for(lambda events: len(events) == 1)

    def delivered() -> list[dict[str, object]]:
        done = cli("events", "deliveries", TENANT, "--status", "delivered", env=env, home=tmp_path)
        assert done.returncode == 0, done.stderr
        return list(orjson.loads(done.stdout))

    receiver.wait_for(lambda _: len(delivered()) == 1)
    replayed = cli(
        "events", "replay", TENANT, sub["id"], "--since", "2000-01-01T00:00:00", env=env, home=tmp_path
    )
    assert orjson.loads(replayed.stdout) == {"subscription": sub["id"], "replayed": 1}
    live.control.flush(TENANT)
    receiver.wait_for(lambda events: len(events) == 2)
    page = cli("events", "deliveries", TENANT, "--limit", "1", env=env, home=tmp_path)
    assert len(orjson.loads(page.stdout)) == 1


def test_tail_prints_the_changes_as_they_commit(
    live: LiveServer, env: dict[str, str], receiver: ind.ReceiverServer, tmp_path: Path
) -> None:
    sub = live.control.subscribe(TENANT, "wps", APP, receiver.url)
    live.control.subscription_action(TENANT, sub["id"], "pause")  # keeps the records from pruning
    cursor = live.control.changes(TENANT)["cursor"]
    write(live, "u1", "u2")
    done = cli("events", "tail", TENANT, "--after", str(cursor), "--count", "2", env=env, home=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "create user u1 (name) by cli-events-kso" in " ".join(lines[0].split()[1:])
    assert "u2" in lines[1]


def test_tail_as_its_own_process_prints_a_write_as_it_commits(
    live: LiveServer, env: dict[str, str], receiver: ind.ReceiverServer, tmp_path: Path
) -> None:
    sub = live.control.subscribe(TENANT, "wps", APP, receiver.url)
    live.control.subscription_action(TENANT, sub["id"], "pause")  # keeps the records from pruning
    lines: queue.Queue[str] = queue.Queue()
    written: list[str] = []
    with start_cli(
        "events", "tail", TENANT, "--count", "1", "--interval", "0.1", env=env, home=tmp_path
    ) as proc:
        out = proc.stdout
        assert out is not None
        reader = threading.Thread(target=lambda: [lines.put(line) for line in out], daemon=True)
        reader.start()
        try:
            # The tail starts at "now", whenever its process gets there: write until it shows one.
            for i in range(60):
                written.append(f"live{i}")
                item = users.NewUser(id=written[-1], user_name="L", dept_ids=(1,))
                users.create(live.directory, tenant_id=TENANT, item=item)
                try:
                    line = lines.get(timeout=1.0)
                    break
                except queue.Empty:
                    continue
            else:
                raise AssertionError("tail printed nothing for any of the writes")
            assert proc.wait(30) == 0  # --count 1: done after the line
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            reader.join(10)
    _time, operation, kind, entity_id = line.split()
    assert (operation, kind) == ("create", "user") and entity_id in written


def test_refusals_and_a_missing_token(live: LiveServer, env: dict[str, str], tmp_path: Path) -> None:
    missing = cli("events", "list", TENANT, env={"OPENROSTER_URL": live.base_url}, home=tmp_path)
    assert missing.returncode == 2 and "--admin-token" in missing.stderr
    wrong = cli("events", "list", TENANT, env={**env, "OPENROSTER_ADMIN_TOKEN": "nope"}, home=tmp_path)
    assert wrong.returncode == 1 and "401 unauthorized" in wrong.stderr
    unknown = cli("events", "replay", TENANT, "sub_nobody", env=env, home=tmp_path)
    assert unknown.returncode == 1 and "404 not_found" in unknown.stderr
    bad = cli("events", "subscribe", TENANT, "wps", APP, "not a url", env=env, home=tmp_path)
    assert bad.returncode == 1 and "url" in bad.stderr
    gone = cli("events", "list", TENANT, env={**env, "OPENROSTER_URL": "http://127.0.0.1:9"}, home=tmp_path)
    assert gone.returncode == 3 and "cannot reach" in gone.stderr


def test_server_and_token_from_a_profile(live: LiveServer, env: dict[str, str], tmp_path: Path) -> None:
    profiles = tmp_path / ".config" / "openroster" / "profiles.toml"
    profiles.parent.mkdir(parents=True)
    profiles.write_text(f'[default]\nurl = "{live.base_url}"\nadmin_token = "{live.admin_token}"\n')
    done = cli("events", "list", TENANT, home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == []


def test_a_stream_subscription_and_the_connected_clients(live: LiveServer, tmp_path: Path) -> None:
    world(live.directory)  # tenant acme with a DingTalk app
    env = {"OPENROSTER_URL": live.base_url, "OPENROSTER_ADMIN_TOKEN": live.admin_token}
    made = cli("events", "subscribe", "acme", "dingtalk_stream", APPKEY, env=env, home=tmp_path)
    assert made.returncode == 0, made.stderr
    sub = orjson.loads(made.stdout)
    assert (sub["kind"], sub["app"], sub["events"]) == ("dingtalk_stream", APPKEY, [])
    with raw_stream(live.base_url):
        listed = cli("events", "connections", "acme", env=env, home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (connected,) = orjson.loads(listed.stdout)
    assert connected["app"] == APPKEY and connected["connection_id"]
