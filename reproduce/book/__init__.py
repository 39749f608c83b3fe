"""The machinery of the book: the runner that executes every notebook with a parameter set and builds the HTML
(:mod:`.runner`, behind ``python -m reproduce book``), the registry of notebooks (:mod:`.notebooks`), a set's cost
before it runs (:mod:`.plan`) and its rehearsal on the CPU (:mod:`.rehearsal`), the claims the book checks
(:mod:`.claims`), each chapter's tables and sentences (:mod:`.chapters`, one module per chapter; their shared
formats in :mod:`.formatting`), the report's (:mod:`.summary`) and the figures (:mod:`.figures`). It sits above the
paper's parts and the analysis, which never import it."""
