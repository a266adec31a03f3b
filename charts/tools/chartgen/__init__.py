"""Generate what the Docket charts share, so it is written once: the JSON schemas and the README
parameter tables.

    make charts-docs                          # rewrite the generated files
    PYTHONPATH=charts/tools python -m chartgen --check   # exit 1 if one is stale (the tests check it too)

* ``values.schema.json`` of every chart is built from the definitions in ``schema`` (assembly),
  ``sections`` (what the service charts share), ``jobs`` (migration and backup) and ``settings`` (the
  ``config``/``secrets`` keys). Objects reject unknown keys, so a typo fails ``helm install`` with a
  message naming it.
* ``README.md`` of every chart carries a parameter table between the ``<!-- parameters:start -->`` and
  ``<!-- parameters:end -->`` markers (``readme``), built from the comment above each key of
  ``values.yaml`` (``values_file``).
"""
