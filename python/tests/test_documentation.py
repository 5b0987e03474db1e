"""The README as a front door: short, its links and its layout table true to the repository.

The pages of the site are checked by `make docs` (mkdocs in strict mode: broken links or
anchors, and pages left out of the navigation, fail the build); the README sits outside the
site's folder, so its links are checked here.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from fixtures.documentation import README, site_pages

from hermes.config import PROJECT_ROOT

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"```.*?```", re.S)


def _anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings, as mkdocs' toc extension makes them."""
    headings = re.findall(r"^#{1,6} (.+)$", _FENCE.sub("", page.read_text()), re.M)
    slugs = set()
    for heading in headings:
        text = re.sub(r"[`*]", "", heading).strip().lower()
        slugs.add(re.sub(r"[\s-]+", "-", re.sub(r"[^\w\s-]", "", text)).strip("-"))
    return slugs


def test_the_readme_is_short() -> None:
    assert len(README.read_text().splitlines()) <= 250


def test_every_relative_link_of_the_readme_resolves() -> None:
    text = _FENCE.sub("", README.read_text())
    links = [t for t in _LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    assert len(links) >= 10  # the tour's screenshot and the links into the site
    for link in links:
        path, _, anchor = link.partition("#")
        target = (README.parent / path) if path else README
        assert target.is_file(), f"README.md links to {link}: no such file"
        if anchor:
            assert anchor in _anchors(target), f"README.md links to {link}: no such heading"


def test_the_readme_links_every_page_of_the_site() -> None:
    linked = {t.partition("#")[0] for t in _LINK.findall(README.read_text())}
    pages = {str(p.relative_to(PROJECT_ROOT)) for p in site_pages()}
    assert pages <= linked, pages - linked
    assert (PROJECT_ROOT / "docs" / "tearsheet.png").is_file()


def test_the_layout_table_matches_the_folders() -> None:
    table = README.read_text().split("| where | what |", 1)[1].split("\n\n", 1)[0]
    paths = [
        path
        for row in table.splitlines()[2:]
        for path in re.findall(r"`([^`]+)`", row.split("|")[1])
    ]
    assert "python/hermes/cli" in paths and "python/hermes/flows" in paths
    for path in paths:
        assert (PROJECT_ROOT / path).exists(), f"README.md layout table: {path} does not exist"
    made_by_runs = {"lake", "target", "logs", "reports", "dbt_packages", "htmlcov", "site"}
    top = {
        p.name
        for p in PROJECT_ROOT.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and not p.name.endswith(".egg-info")
        and p.name not in made_by_runs
    }
    named = {p.split("/")[0] for p in paths}
    assert top <= named, f"folders missing from the README's layout table: {top - named}"


def _site_hooks() -> ModuleType:
    """docs/hooks.py, the mkdocs hooks that write the generated parts of the site."""
    spec = importlib.util.spec_from_file_location("site_hooks", PROJECT_ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_site_home_page_is_the_readme_with_site_links() -> None:
    hooks = _site_hooks()
    text = (
        "[Ingest](docs/ingest.md#backfill) ![A tearsheet](docs/tearsheet.png) "
        "see its [provenance](data/binance-ohlcv/PROVENANCE.md), "
        "[DuckLake](https://ducklake.select), [below](#documentation)"
    )
    assert hooks.readme_for_the_site(text) == (
        "[Ingest](ingest.md#backfill) ![A tearsheet](tearsheet.png) "
        "see its provenance (`data/binance-ohlcv/PROVENANCE.md`), "
        "[DuckLake](https://ducklake.select), [below](#documentation)"
    )


def test_the_cli_reference_documents_every_command() -> None:
    import typer.core

    from hermes.cli import app

    reference = _site_hooks().cli_reference()
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    names = sorted(group.commands)
    assert len(names) >= 15
    for name in names:
        assert f"### `hermes {name}`" in reference, name
    assert reference.startswith("## `hermes`")
    assert "* `--debug`: Show the full traceback of an error." in reference
