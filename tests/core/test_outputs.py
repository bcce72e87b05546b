"""``langson_comms.outputs``: atomic writes and the output-is-an-input check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from langson_comms.errors import ConfigError
from langson_comms.outputs import atomic_bytes_output, atomic_output, campaign_inputs, refuse_inputs


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "prepared.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(target) as handle:
        handle.write("half")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["prepared.csv"]


def test_a_new_file_appears_only_when_complete_with_the_old_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.csv"
    with atomic_output(target) as handle:
        handle.write("x\r\n")
        assert not target.exists()
    assert target.read_bytes() == b"x\r\n"
    target.chmod(0o640)
    with atomic_bytes_output(target) as raw:
        raw.write(b"y")
    assert target.read_bytes() == b"y" and target.stat().st_mode & 0o777 == 0o640
    with atomic_output(tmp_path / "secret.csv", permissions=0o600) as handle:
        handle.write("s")
    assert (tmp_path / "secret.csv").stat().st_mode & 0o777 == 0o600


def test_an_output_that_is_an_input_is_refused_naming_both(tmp_path: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text("x\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(source)
    os.link(source, tmp_path / "hard.csv")
    for alias in (source, tmp_path / "link.csv", tmp_path / "hard.csv",
                  tmp_path / "sub" / ".." / "list.csv"):
        with pytest.raises(ConfigError, match=r"--prepared .* is the input --audience .*list\.csv"):
            refuse_inputs([("--prepared", alias)], [("--audience", source)])
    with pytest.raises(ConfigError, match="each output needs its own file"):
        refuse_inputs([("--prepared", tmp_path / "o.csv"), ("--excluded", tmp_path / "o.csv")], [])
    refuse_inputs([("--prepared", tmp_path / "new.csv")], [("--audience", source)])  # fine


def test_campaign_inputs_are_the_file_and_the_files_it_names(tmp_path: Path) -> None:
    (tmp_path / "stations.csv").write_text("x\n", encoding="utf-8")
    campaign = tmp_path / "campaign.toml"
    campaign.write_text('[channels.b]\nstations = "stations.csv"\ntitle = "not a file"\n'
                        'files = ["stations.csv"]\n', encoding="utf-8")
    assert sorted(campaign_inputs(campaign)) == [
        ("campaign file", campaign),
        ("campaign.toml: channels.b.files[0]", tmp_path / "stations.csv"),
        ("campaign.toml: channels.b.stations", tmp_path / "stations.csv"),
    ]


def test_checking_many_outputs_resolves_each_path_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an export writes ~600 files: comparing every pair resolved each path ~600 times
    # (16 s of the demo's export step); each path is now resolved and stat'ed once
    source = tmp_path / "stations.csv"
    source.write_text("x\n", encoding="utf-8")
    outputs = [("export", tmp_path / "out" / f"{i}.ics") for i in range(300)]
    calls = 0
    resolve = Path.resolve

    def counting(self: Path, strict: bool = False) -> Path:
        nonlocal calls
        calls += 1
        return resolve(self, strict)

    monkeypatch.setattr(Path, "resolve", counting)
    refuse_inputs(outputs, [("stations", source)])
    assert calls <= len(outputs) + 1
    with pytest.raises(ConfigError, match=r"export .*x/\.\./7\.ics is also export .*out/7\.ics"):
        refuse_inputs([*outputs[:8], ("export", tmp_path / "out" / "x" / ".." / "7.ics")], [])
