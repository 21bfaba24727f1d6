"""Dependencies point one way (DESIGN.md): flows -> bot core; adapters and storage never
import flows; SDKs stay in their adapter. Checked on the source, so a stray import fails CI.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOW_MAY_IMPORT = {"bot.types", "bot.ui", "bot.flow", "bot.ports", "bot.records", "bot.digest", "bot.timing", "bot.i18n", "bot.tokens", "bot.people", "bot.mydata", "flows"}
COMPOSITION_ROOT = {"bot/cli.py", "bot/serve.py"}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
SDKS = {"slack_bolt": "adapters/slack", "slack_sdk": "adapters/slack", "botbuilder": "adapters/teams",
        "botframework": "adapters/teams", "msrest": "adapters/teams"}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def ours(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in {"bot", "flows", "adapters", "storage"} else None


@pytest.mark.parametrize("path", sources("flows"), ids=lambda p: p.name)
def test_flows_import_only_core_types_and_the_standard_library(path):
    bad = set()
    for module in imports(path):
        if ours(module):
            if not any(module == ok or module.startswith(ok + ".") for ok in FLOW_MAY_IMPORT):
                bad.add(module)
        elif module.split(".")[0] not in STDLIB:
            bad.add(module)
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("package,forbidden", [
    ("bot", {"adapters", "storage", "flows"}),
    ("storage", {"adapters", "flows"}),
    ("adapters", {"flows", "storage"}),
])
def test_layers_do_not_reach_sideways(package, forbidden):
    for path in sources(package):
        if str(path.relative_to(ROOT)) in COMPOSITION_ROOT:
            continue
        bad = {m for m in imports(path) if ours(m) in forbidden}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_sdks_stay_in_their_adapter():
    for package in ("bot", "flows", "storage", "adapters"):
        for path in sources(package):
            where = str(path.relative_to(ROOT))
            for module in imports(path):
                home = SDKS.get(module.split(".")[0])
                assert home is None or where.startswith(home), f"{where} imports {module}"


def test_the_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "flow.py"
    bad.write_text("from storage.repository import SqlStore\nimport slack_bolt\n")
    assert imports(bad) == {"storage.repository", "slack_bolt"}
