"""The installer's decisions for every platform, including those that cannot run here (Windows, macOS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from think2map.plugin.core import setup_plan as plan


def _which(found: dict[str, str]):
    return lambda name: found.get(name)


def test_python_candidates_on_windows_use_the_py_launcher_then_qgis_own_python():
    got = plan.python_candidates(
        "Windows", "", r"C:\OSGeo4W\apps\Python312", _which({"py": r"C:\Windows\py.exe", "python": r"C:\Py\python.exe"})
    )
    assert got == [("py", "-3"), (r"C:\Py\python.exe",), (str(Path(r"C:\OSGeo4W\apps\Python312") / "python.exe"),)]


def test_python_candidates_on_linux_and_macos_start_with_the_configured_one():
    got = plan.python_candidates("Linux", "/opt/py/bin/python3.12", "/usr", _which({"python3": "/usr/bin/python3"}))
    assert got == [("/opt/py/bin/python3.12",), ("/usr/bin/python3",)]  # QGIS's own is the same: listed once
    mac = plan.python_candidates("Darwin", "", "/Applications/QGIS.app/Contents/MacOS", _which({}))
    assert mac == [("/Applications/QGIS.app/Contents/MacOS/bin/python3",)]


def test_the_probe_accepts_python_3_10_and_later_only():
    assert plan.parse_probe("3.11\n") == (3, 11) and plan.usable((3, 11))
    assert not plan.usable(plan.parse_probe("3.9"))
    assert plan.parse_probe("Traceback ...") is None and not plan.usable(None)


@pytest.mark.parametrize(
    ("system", "machine", "smi", "gpu"),
    [
        ("Linux", "x86_64", "GPU 0: NVIDIA H200 (UUID: GPU-1)\n", "cuda"),
        ("Windows", "AMD64", "GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-2)\n", "cuda"),
        ("Linux", "x86_64", None, "cpu"),
        ("Linux", "x86_64", "No devices were found", "cpu"),
        ("Darwin", "arm64", None, "mps"),
        ("Darwin", "x86_64", None, "cpu"),
    ],
)
def test_gpu_detection(system, machine, smi, gpu):
    assert plan.detect_gpu(system, machine, smi) == gpu


@pytest.mark.parametrize(
    ("system", "gpu", "choice", "index"),
    [
        ("Linux", "cuda", "auto", None),  # PyPI's Linux torch carries CUDA
        ("Linux", "cpu", "auto", None),
        ("Windows", "cuda", "auto", "https://download.pytorch.org/whl/cu130"),
        ("Windows", "cpu", "auto", None),  # PyPI's Windows torch is the CPU build
        ("Windows", "cpu", "cuda", "https://download.pytorch.org/whl/cu130"),  # the user's override
        ("Windows", "cuda", "cpu", None),
        ("Darwin", "mps", "auto", None),
    ],
)
def test_torch_index(system, gpu, choice, index):
    assert plan.torch_index(system, gpu, choice) == index


def test_environment_paths_and_names():
    assert plan.env_python(Path("/d/envs/x"), "Linux") == Path("/d/envs/x/bin/python")
    assert plan.env_python(Path("C:/d/envs/x"), "Windows") == Path("C:/d/envs/x/Scripts/python.exe")
    a = plan.env_name((3, 11), b"torch==2.14.1\n", None)
    assert a.startswith("py311-") and a == plan.env_name((3, 11), b"torch==2.14.1\n", None)
    assert a != plan.env_name((3, 11), b"torch==2.15.0\n", None)  # new pins: a new environment
    assert a != plan.env_name((3, 11), b"torch==2.14.1\n", "https://download.pytorch.org/whl/cu130")


def test_pip_gets_qgis_proxy():
    assert plan.proxy_url(True, "HttpProxy", "proxy.example", 3128) == "http://proxy.example:3128"
    assert plan.proxy_url(True, "Socks5Proxy", "s", 1080, "me", "p@ss") == "socks5://me:p%40ss@s:1080"
    assert plan.proxy_url(False, "HttpProxy", "proxy.example", 3128) is None
    assert plan.proxy_url(True, "DefaultProxy", "ignored", 1) is None  # the system's: pip reads the environment
    cmd = plan.pip_install_command(Path("/e/bin/python"), Path("/p/req.txt"), None, "http://proxy.example:3128")
    assert cmd[-2:] == ["--proxy", "http://proxy.example:3128"] and ["-r", "/p/req.txt"] == cmd[7:9]


def test_progress_counts_packages_and_failures_are_classified():
    assert plan.requirement_count("# pins\ntorch==2.14.1\n\nnumpy==2.4.6\n") == 2
    assert plan.collected_package("Collecting torch==2.14.1 (from -r req.txt (line 3))") == "torch"
    assert plan.collected_package("Requirement already satisfied: numpy==2.4.6 in ./lib") == "numpy"
    assert plan.collected_package("  Downloading x.whl") is None
    assert (
        plan.pip_failure(["ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"])
        == "disk_full"
    )
    assert plan.pip_failure(["WARNING: Retrying ... Failed to establish a new connection"]) == "network"
    assert plan.pip_failure(["ERROR: No matching distribution found for torch==2.14.1"]) == "network"
    assert plan.pip_failure(["ERROR: a wheel is broken"]) == "pip_failed"
    assert plan.platform_family("Windows") == "windows" and plan.platform_family("Darwin") == "macos"
