"""`--help` describes every argument of every command, and says how short an id may be."""

from __future__ import annotations

import argparse
import subprocess
import sys

from shorts_desktop.cli import build_parser


def _commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                found += _commands(command)
    return found


def test_every_argument_of_every_command_has_a_description() -> None:
    commands = _commands(build_parser())
    assert len(commands) > 40  # the walk reached the nested commands
    undescribed = [f"{c.prog} {a.dest}" for c in commands for a in c._actions
                   if not isinstance(a, argparse._SubParsersAction) and not a.help]
    assert undescribed == []


def test_ids_say_whose_they_are_and_that_8_characters_do() -> None:
    by_prog = {c.prog: c for c in _commands(build_parser())}

    def id_help(prog: str) -> str:
        return next(str(a.help) for a in by_prog[prog]._actions if a.dest == "id")

    assert id_help("shorts-desktop promote").startswith("the upload's id")
    assert id_help("shorts-desktop job publish").startswith("the job's id")
    assert "first 8 characters" in id_help("shorts-desktop pause")
    shown = subprocess.run([sys.executable, "-m", "shorts_desktop", "--help"],
                           capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and "first 8 characters" in " ".join(shown.stdout.split())


def test_gui_offers_every_panel_of_the_window() -> None:
    from shorts_desktop.gui.main_window import PANELS

    gui = {c.prog: c for c in _commands(build_parser())}["shorts-desktop gui"]
    (panel,) = [a for a in gui._actions if a.dest == "panel"]
    assert list(panel.choices or []) == [name for name, *_ in PANELS]
