"""`bento containerize` progress: a line per step with the elapsed time, a live line on a terminal only."""

from __future__ import annotations

import io

from bento.cli.buildlog import BuildLog

ENGINE = ["Step 1/3 : FROM base\n", " ---> 1234\n", "Step 2/3 : RUN pip install x\n", "Collecting x\n",
          "Installing collected packages: x\n", " ---> Running in abc\n", "Step 3/3 : COPY src/ /src/\n",
          " ---> Using cache\n"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(stream: io.StringIO) -> str:
    ticks = iter(range(100))
    log = BuildLog("auto", stream, clock=lambda: float(next(ticks)))
    log.status("copying model m:1 into the build context")
    for line in ENGINE:
        log(line)
    log.close()
    return stream.getvalue()


def test_without_a_terminal_one_line_per_step() -> None:
    out = feed(io.StringIO())
    assert out.splitlines() == [
        "[   1.0s] copying model m:1 into the build context",
        "[   2.0s] Step 1/3 : FROM base",
        "[   3.0s] Step 2/3 : RUN pip install x",
        "[   4.0s] Step 3/3 : COPY src/ /src/",
        "          (cached)",
    ]
    assert "\x1b" not in out and "Collecting" not in out


def test_on_a_terminal_a_live_line_shows_the_step_output_and_is_cleared() -> None:
    out = feed(Terminal())
    assert "\r\x1b[K          Collecting x" in out
    assert "\r\x1b[K          Installing collected packages: x" in out
    # The live line is cleared before the next step is printed, and at the end.
    assert "Installing collected packages: x\r\x1b[K[   4.0s] Step 3/3" in out
    assert "Running in" not in out


def test_plain_passes_every_line() -> None:
    stream = io.StringIO()
    log = BuildLog("plain", stream)
    for line in ENGINE:
        log(line)
    assert stream.getvalue() == "".join(ENGINE)
