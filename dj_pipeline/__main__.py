"""``python -m dj_pipeline ...`` is the ``dj`` command (useful where console scripts are not on PATH)."""

from dj_pipeline.cli import main

raise SystemExit(main())
