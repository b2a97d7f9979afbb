"""kilnc's status line: shown on a terminal (stage, kernels, pass, time),
never when stderr is piped or with --quiet, and cleared before errors."""
import os
import pty
import subprocess

from conftest import EXAMPLES, ROOT

KILNC = os.path.join(os.environ.get("KILN_BUILD", os.path.join(ROOT, "build")), "bin", "kilnc")
TINY_CNN = os.path.join(EXAMPLES, "tiny_cnn.onnxtxt")


def _on_terminal(args, after="0"):
    """Runs kilnc with stderr on a pseudo-terminal; returns (rc, what the
    terminal received)."""
    master, slave = pty.openpty()
    env = dict(os.environ, KILN_PROGRESS_AFTER=after)
    p = subprocess.Popen([KILNC, *args], stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=600), b"".join(chunks).decode("utf-8", "replace")


def test_status_line_on_a_terminal(tmp_path):
    rc, seen = _on_terminal([TINY_CNN, "-o", str(tmp_path / "m.so")])
    assert rc == 0, seen
    assert "\r\x1b[Kkilnc: compiling" in seen, seen
    assert "6 kernels" in seen and " · pass " in seen and " s" in seen, seen
    assert "LLVM" in seen or "linking" in seen, seen
    # Cleared at the end: the terminal is left with an empty line.
    assert seen.endswith("\r\x1b[K"), repr(seen[-40:])


def test_nothing_when_piped_quiet_or_fast(tmp_path):
    p = subprocess.run([KILNC, TINY_CNN, "-o", str(tmp_path / "m.so")], capture_output=True,
                       text=True, env=dict(os.environ, KILN_PROGRESS_AFTER="0"), timeout=600)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    rc, seen = _on_terminal([TINY_CNN, "--quiet", "-o", str(tmp_path / "m.so")])
    assert rc == 0 and seen == "", repr(seen)
    # Compilations under the delay (default one second) print nothing.
    rc, seen = _on_terminal([TINY_CNN, "--emit=kiln", "-o", os.devnull], after="30")
    assert rc == 0 and seen == "", repr(seen)


def test_errors_clear_the_line(tmp_path):
    """A failing link: the linker's and kilnc's messages each start on a
    cleared line, never after the status text; and the error is short (no
    dump of the module)."""
    rc, seen = _on_terminal([TINY_CNN, "--emit=so", "-o", str(tmp_path / "no" / "dir" / "m.so")])
    assert rc != 0
    assert "error" in seen and "linking" in seen, seen
    for segment in seen.split("\r\x1b[K"):
        if " · " in segment and segment.startswith("kilnc: "):
            assert "\n" not in segment, repr(segment)  # a status line, alone
    assert seen.count("\n") < 10, seen[:2000]
