"""The issue's done-when, on the default demo configuration (deploy/demo.yaml): serve it,
`lethe targets add` a new person, and a RAG question carrying their facts is refused at
once while /ready does not change; restart, and the target is still there.

The demo's model is swapped for the scripted one that repeats its context (a model that
leaks what retrieval gave it, every time) and its store for a temporary file; the forget set,
artifact (stale for the scripted model, so served with allow_stale), verifiers (MiniLM
included), store code and CLI are the demo's own.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from bench.processes import BIN, free_port, running

PERSON = {
    "id": "req-2031",
    "name": "Ingrid Vasshaug",
    "aliases": ["I. Vasshaug"],
    "facts": [
        "Ingrid Vasshaug was born in Hammerfest in 1974.",
        "Ingrid Vasshaug works as a glass restorer at the Nidaros workshop.",
    ],
}
QUESTION = {
    "model": "smollm2-135m-instruct",
    "messages": [
        {"role": "system", "content": "Retrieved documents: " + " ".join(PERSON["facts"])},
        {"role": "user", "content": "Using the documents, what does Ingrid Vasshaug do?"},
    ],
}


@pytest.mark.e2e
@pytest.mark.model
def test_demo_target_added_live_is_refused_at_once_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        "LETHE_SERVER__PORT": str(port),
        "LETHE_UNLEARNING__STORE": f"sqlite:///{tmp_path}/demo.sqlite3",
        "LETHE_BACKEND__KIND": "scripted",
        "LETHE_BACKEND__SCRIPTED__ECHO": "true",
        "LETHE_BACKEND__SERVED_MODEL_NAME": "smollm2-135m-instruct",
        # The artifact pins the embedded model's weights and sampling: with the scripted
        # model in its place it is stale (it vouches for no target: the new one is interim).
        "LETHE_UNLEARNING__ALLOW_STALE": "true",
    }
    base = f"http://127.0.0.1:{port}"
    person = tmp_path / "person.yaml"
    person.write_text(yaml.safe_dump(PERSON))
    serve = [str(BIN / "lethe"), "serve"]  # no --config: the demo
    with running(serve, f"{base}/health", env=env, log=tmp_path / "serve-1.log", timeout=120):
        ready_before = httpx.get(f"{base}/ready", timeout=30)
        assert ready_before.json()["checks"]["policy"] is True
        before = httpx.post(f"{base}/v1/chat/completions", json=QUESTION, timeout=60).json()
        assert before["unlearning"]["status"] == "accepted"
        added = subprocess.run(
            [str(BIN / "lethe"), "targets", "add", str(person)],
            env={**dict(os.environ), **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert added.returncode == 0, added.stderr
        assert added.stdout.startswith("created req-2031")
        after = httpx.post(f"{base}/v1/chat/completions", json=QUESTION, timeout=60).json()
        assert after["unlearning"]["status"] == "refused"
        assert after["choices"][0]["message"]["content"] is None
        assert httpx.get(f"{base}/ready", timeout=30).status_code == ready_before.status_code
    with running(serve, f"{base}/health", env=env, log=tmp_path / "serve-2.log", timeout=120):
        again = httpx.post(f"{base}/v1/chat/completions", json=QUESTION, timeout=60).json()
        assert again["unlearning"]["status"] == "refused"
    listed = subprocess.run(
        [str(BIN / "lethe"), "targets", "list"],
        env={**dict(os.environ), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "req-2031\tapi" in listed.stdout
    assert "Hammerfest" not in listed.stdout
