"""A small reader of deploy/Dockerfile: its stages, and what the image a stage builds runs with."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def stages(path: Path) -> list[Stage]:
    out: list[Stage] = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.IGNORECASE)
            assert m, line
            out.append(Stage(m.group(2) or str(len(out)), m.group(1)))
        elif out:
            out[-1].instructions.append((instruction, args.strip()))
    return out


@dataclass(frozen=True)
class Image:
    """What a container of a stage starts with: environment, user, entrypoint, command, health check."""

    env: dict[str, str]
    user: str | None
    entrypoint: list[str]
    cmd: list[str]
    healthcheck: list[str]
    instructions: list[tuple[str, str]]


def _env_pairs(args: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)=("[^"]*"|\S+)', args))


def image(path: Path, target: str) -> Image:
    """The image ``target`` builds, following its FROM chain through the file's own stages."""
    by_name = {s.name: s for s in stages(path)}
    chain: list[Stage] = []
    name: str | None = target
    while name in by_name:
        chain.insert(0, by_name[name])
        name = by_name[name].base
    env: dict[str, str] = {}
    user: str | None = None
    entrypoint: list[str] = []
    cmd: list[str] = []
    healthcheck: list[str] = []
    instructions = [i for s in chain for i in s.instructions]
    for instruction, args in instructions:
        if instruction == "ENV":
            env.update(_env_pairs(args))
        elif instruction == "USER":
            user = args
        elif instruction == "ENTRYPOINT":
            entrypoint = json.loads(args)
        elif instruction == "CMD":
            cmd = json.loads(args)
        elif instruction == "HEALTHCHECK":
            healthcheck = json.loads(args[args.index("CMD") + 3 :])
    return Image(env, user, entrypoint, cmd, healthcheck, instructions)
