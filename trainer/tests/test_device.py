"""Loud failure: a GPU that is present but unusable ends the run with the reason, never a quiet
fall back to the cpu preset; AUTORESEARCH_DEVICE=cpu is the one way to the cpu preset there."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import prepare

TRAINER = Path(__file__).resolve().parents[1]
DRIVER_TOO_OLD = "RuntimeError: The NVIDIA driver on your system is too old (found version 11040)."


@pytest.fixture
def gpu_with_old_driver(monkeypatch):
    monkeypatch.delenv("AUTORESEARCH_DEVICE", raising=False)
    monkeypatch.setattr(prepare, "nvidia_gpu_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(prepare, "cuda_problem", lambda: DRIVER_TOO_OLD)


def test_a_present_but_unusable_gpu_fails_naming_the_reason(gpu_with_old_driver):
    with pytest.raises(SystemExit) as exit:
        prepare.device_type()
    message = str(exit.value)
    assert message.startswith(f"device: a GPU is present but CUDA is unusable: {DRIVER_TOO_OLD}")
    assert "AUTORESEARCH_DEVICE=cpu" in message


def test_asking_for_the_cpu_is_the_way_to_the_cpu_preset_there(gpu_with_old_driver, monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_DEVICE", "cpu")
    assert prepare.device_type() == "cpu"


def test_a_machine_without_a_gpu_trains_the_cpu_preset(monkeypatch):
    monkeypatch.delenv("AUTORESEARCH_DEVICE", raising=False)
    monkeypatch.setattr(prepare, "nvidia_gpu_present", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert prepare.device_type() == "cpu"


def test_an_unknown_device_is_refused(monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_DEVICE", "tpu")
    with pytest.raises(SystemExit, match="must be one of"):
        prepare.device_type()


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA works here: the request would train")
def test_train_py_asked_for_cuda_without_a_usable_one_exits_with_the_reason(tmp_path):
    env = dict(os.environ, AUTORESEARCH_DEVICE="cuda", AUTORESEARCH_CACHE=str(tmp_path), AUTORESEARCH_TIME_BUDGET="0")
    done = subprocess.run([sys.executable, "train.py"], cwd=TRAINER, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    reason = done.stderr.split("device: AUTORESEARCH_DEVICE=cuda but CUDA is unusable: ", 1)[1].splitlines()[0]
    assert reason.strip(), done.stderr  # e.g. "RuntimeError: Found no NVIDIA driver on your system ..."
    assert "---" not in done.stdout and not list(tmp_path.iterdir())  # no summary, nothing prepared
