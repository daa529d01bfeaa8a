"""Root-cause analysis: from an incident or failure signature, through the causal graph, to a cause, its
confidence and why, the blast radius and what to do (`analyze`, `render`, `explain`)."""
