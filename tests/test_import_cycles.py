"""No import cycle between modules of `signal_factory` (lazy and TYPE_CHECKING imports count too)."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import grimp


def test_no_module_imports_itself_through_others() -> None:
    """Every import in src/signal_factory, at module level or inside a function, leaves an acyclic graph."""
    graph = grimp.build_graph("signal_factory", cache_dir=None)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert len(imports) > 100  # the whole package was read
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as e:
        cycle = " -> ".join(e.args[1])
        raise AssertionError(f"import cycle: {cycle}; fix: move what both need into the module the adapter "
                             "imports (the core), so the core never imports its adapter") from None
