"""No import cycle between modules of `signal_factory` (lazy and TYPE_CHECKING imports count too), nor between
its packages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from graphlib import CycleError, TopologicalSorter

import grimp


@cache
def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("signal_factory", cache_dir=None)


def _assert_acyclic(imports: Mapping[str, Iterable[str]], what: str, fix: str) -> None:
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as e:
        raise AssertionError(f"{what} cycle: {' -> '.join(e.args[1])}; fix: {fix}") from None


def test_no_module_imports_itself_through_others() -> None:
    """Every import in src/signal_factory, at module level or inside a function, leaves an acyclic graph."""
    graph = _graph()
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert len(imports) > 100  # the whole package was read
    _assert_acyclic(imports, "import", "move what both need into the module the adapter imports (the core), "
                                       "so the core never imports its adapter")


def test_no_package_imports_itself_through_others() -> None:
    """Packages (enforcer, gates, stores, alerting, ingest, ...) form no circle either: each adapter depends on
    the core (model, privacy, controlplane), never the other way round."""
    graph = _graph()

    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    imports: dict[str, set[str]] = {}
    for module in graph.modules:
        deps = {package(d) for d in graph.find_modules_directly_imported_by(module)} - {package(module)}
        imports.setdefault(package(module), set()).update(deps)
    assert {"signal_factory.model", "signal_factory.stores", "signal_factory.enforcer"} <= imports.keys()
    _assert_acyclic(imports, "package import", "move the type both need into the package below them (model/, "
                                               "privacy/), so the core never imports its adapter")
