"""The study tool loop_speed: images per second of a benchmark family's training iteration."""

import loop_speed
import pytest
import torch


def test_times_data_and_every_step_mode_of_a_benchmark_model(capsys):
    threads = torch.get_num_threads()
    assert loop_speed.main(["--backbones", "resnet18", "--variants", "aib", "--rounds", "1",
                            "--steps", "1", "--threads", "1"]) == 0  # fmt: skip
    assert torch.get_num_threads() == 1
    torch.set_num_threads(threads)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("| backbone | variant | threads | data fixed | data fresh |")
    assert len(lines[1].split("|")) - 2 == 5 + len(loop_speed.MODES)
    row = lines[3].strip("| ").split(" | ")
    assert row[:3] == ["resnet18", "aib", "1"]
    assert all(float(value) > 0 for value in row[3:])


def test_round_robin_medians_and_bad_arguments(capsys):
    calls = []
    medians = loop_speed.time_round_robin(dict(a=lambda: calls.append("a")), rounds=3, calls=2)
    assert len(calls) == (3 + 1) * 2 and medians["a"] >= 0  # one warm-up round
    with pytest.raises(SystemExit):
        loop_speed.parse_args(["--threads", "0"])
    assert "must be >= 1" in capsys.readouterr().err
