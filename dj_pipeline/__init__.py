"""dj_pipeline: a local-first pipeline that turns a DJ's library into analysed, recommendable data."""

__version__ = "0.1.0"
