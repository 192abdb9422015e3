"""Tests for `identity-conformance plan generate` and `plan check`: exit 0 clean, 1 findings, 2 bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance._cli import main
from conformance.plans.generate import generate
from conformance.plans.load import load_plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "plan" / "plan.json"
IDENTIFY_THEN_TRACK = '        self._sdk.identify(user_id, {})\n        self._sdk.track("Signed In", _properties)\n'
TRACK_THEN_IDENTIFY = '        self._sdk.track("Signed In", _properties)\n        self._sdk.identify(user_id, {})\n'


def generated_then_broken(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """The example's generated module ``name`` with ``old`` replaced by ``new``, written to a file."""
    text = generate(load_plan(EXAMPLE))[name]
    assert old in text, f"the generator no longer writes {old!r}; update this mutant"
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


def test_generate_then_check_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plan generate` writes a module per source; `plan check` on them exits 0, end to end included."""
    assert main(["plan", "generate", str(EXAMPLE), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'web.py'} (client source 'web', 4 event(s))" in out
    wrappers = [arg for n in ("web", "backend", "worker") for arg in ("--wrapper", str(tmp_path / f"{n}.py"))]
    assert main(["plan", "check", str(EXAMPLE), *wrappers]) == 0
    out = capsys.readouterr().out
    assert out.count(": clean") == 3
    assert "end to end over adapter 'reference': every event arrived as the plan says" in out


def test_check_names_sources_left_unchecked(capsys: pytest.CaptureFixture[str]) -> None:
    """Checking one wrapper says which plan sources had no wrapper."""
    assert main(["plan", "check", str(EXAMPLE), "--wrapper", str(ROOT / "examples/plan/generated/web.py")]) == 0
    assert "not checked (no wrapper given): backend, worker" in capsys.readouterr().out


def test_a_generated_then_broken_wrapper_exits_1_with_the_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A generated client module edited to identify after the event exits 1 naming the rule and the event."""
    path = generated_then_broken(tmp_path, "web.py", IDENTIFY_THEN_TRACK, TRACK_THEN_IDENTIFY)
    assert main(["plan", "check", str(EXAMPLE), "--wrapper", str(path)]) == 1
    out = capsys.readouterr().out
    assert "1 finding(s)" in out
    assert "  wrapper.client.identify-before-event [web 'Signed In']: signed_in(" in out
    assert "end to end over adapter" not in out  # only once the wrappers are clean


def test_a_server_wrapper_that_drops_the_anonymous_id_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A generated server module edited to send anonymous_id=None exits 1 under ids-passed-through."""
    path = generated_then_broken(tmp_path, "backend.py", "anonymous_id=anonymous_user_id", "anonymous_id=None")
    assert main(["plan", "check", str(EXAMPLE), "--wrapper", str(path)]) == 1
    assert "wrapper.server.ids-passed-through [backend 'Product Viewed']" in capsys.readouterr().out


def test_a_clean_wrapper_over_a_faulty_sdk_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """With --adapter, a clean wrapper over an SDK that forgets the user exits 1 with the end-to-end finding."""
    code = main(["plan", "check", str(EXAMPLE), "--wrapper", str(ROOT / "examples/plan/generated/web.py"),
                 "--adapter", "mutant-identify-not-stamped"])  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    assert "end to end over adapter 'mutant-identify-not-stamped': 2 finding(s)" in out
    assert "wrapper.e2e.event-carries-user [web 'Signed In']" in out


def test_a_bad_plan_exits_2_naming_the_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plan generate` on a plan with an unknown action exits 2 naming the file and the entry, writing nothing."""
    data = json.loads(EXAMPLE.read_text())
    data["events"][1]["actions"] = ["Identify", "Track"]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(data))
    out = tmp_path / "out"
    assert main(["plan", "generate", str(plan), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"identity-conformance: error: plan {str(plan)!r}: events[1] 'Signed In' > actions[1]: "
                          "unknown action 'Track' of type str")  # fmt: skip
    assert not out.exists()


def test_an_out_path_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plan generate --out FILE` exits 2 saying a directory is needed."""
    path = tmp_path / "file"
    path.write_text("")
    assert main(["plan", "generate", str(EXAMPLE), "--out", str(path)]) == 2
    assert "is a file (0 bytes), not a directory" in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "message"), [
    (["--wrapper", "no_such_tracking_module"], "cannot import wrapper 'no_such_tracking_module'"),
    (["--wrapper", "conformance.plans.mutants"], "sets SOURCE to None of type NoneType"),
    (["--wrapper", "examples/plan/generated/web.py", "--wrapper", "examples/plan/generated/web.py"],
     "both implement source 'web'"),
    (["--wrapper", "examples/plan/generated/web.py", "--adapter", "nope"], "unknown adapter 'nope'"),
])  # fmt: skip
def test_bad_check_input_exits_2(extra: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """An unimportable wrapper, one without SOURCE, two for one source, or an unknown adapter exit 2 saying so."""
    monkeypatch.chdir(ROOT)
    assert main(["plan", "check", str(EXAMPLE), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("identity-conformance: error: ")
    assert message in err
