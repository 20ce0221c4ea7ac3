"""docs/gateway-api.md uses only commands and options `kura` has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost

DOC = Path(__file__).resolve().parents[2] / "docs" / "gateway-api.md"


ENDS = "|&;<>()\n"


def kura_invocations() -> list[list[str]]:
    """Each ``kura …`` of the page's shell blocks, continuation lines joined, up to the end of
    its line or the pipe, redirection or parenthesis that ends it (quotes may span lines)."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        lexer = shlex.shlex(block.replace("\\\n", " "), posix=True, punctuation_chars=ENDS)
        lexer.whitespace = " \t"
        lexer.whitespace_split = True
        words: list[str] | None = None
        starts = True  # a command starts here
        for token in lexer:
            ends = set(token) <= set(ENDS)
            if words is not None and ends:
                found.append(words)
                words = None
            elif words is not None:
                words.append(token)
            elif token == "kura" and starts:
                words = []
            starts = ends
        if words is not None:
            found.append(words)
    return found


def options_of(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def check(cli: click.Group, words: list[str]) -> str:
    """The command ``words`` run, failing on a command or option ``kura`` does not have."""
    command: click.Command = cli
    path: list[str] = []
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            assert name in options_of(command), f"kura {' '.join(path)}: no option {name}"
            flag = any(
                name in getattr(p, "opts", []) and getattr(p, "is_flag", False)
                for p in command.params
            )
            if "=" not in word and not flag and rest:
                rest.pop(0)  # the option's value
        elif isinstance(command, click.Group):
            assert word in command.commands, f"kura {' '.join(path)}: no command {word}"
            command = command.commands[word]
            path.append(word)
    assert not isinstance(command, click.Group), f"kura {' '.join(path)} is a group"
    return " ".join(path)


def test_the_page_runs_the_commands_each_step_needs() -> None:
    cli = build_cli(PluginHost(environ={}))
    assert {check(cli, words) for words in kura_invocations()} == {
        "regions",
        "gateway values",
        "gateway render",
        "instance render",
        "drift",
        "lb audit",
        "lb list",
    }


@pytest.mark.parametrize("words", kura_invocations(), ids=" ".join)
def test_every_kura_command_of_the_page_exists_with_its_options(words: list[str]) -> None:
    check(build_cli(PluginHost(environ={})), words)
